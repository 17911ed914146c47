"""The web app's documents (handlingar), secrecy markings and a case read as in effect on a day, with a
real web app in front of the real initiatives and audit services: the list of a case's documents and
a file downloaded through the web app, a document registered through the multipart form (and bad
files shown beside the field, with nothing registered), a secret document withheld from a secretary
and shown to the registrar, a section marked and lifted through the forms, and an imported case as
it was in effect on a day."""
from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from services.initiatives.demo import seed_000
from services.web.service import WebService
from tests.integration.conftest import audit_reading, running
from tests.support import files
from tests.support.files import document, uploaded
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import Api, service_config
from tests.support.web import Web, options, section, web_config

LIMIT = 64 * 1024  # FILE_MAX_BYTES of these tests' initiatives service
OSL = "OSL 21 kap. 7 §"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "import-motion-2021.json"


@pytest.fixture
def store_config(tmp_path: Any) -> dict[str, Any]:
    """One store: what is tested here is the web app, which keeps no data."""
    return {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def config(infrastructure: Infrastructure, store_config: dict[str, Any]) -> dict[str, Any]:
    infrastructure.purge_inboxes()
    return service_config(infrastructure.amqp_uri, store_config, FILE_MAX_BYTES=LIMIT)


@pytest.fixture
def audit_api(container_factory: Any, config: dict[str, Any], api: Api, tmp_path: Path) -> Api:
    return audit_reading(container_factory, config["AMQP_URI"], {"initiatives": api.base_url}, tmp_path / "a")


@pytest.fixture
def web_url(container_factory: Any, infrastructure: Infrastructure, api: Api, audit_api: Api) -> Iterator[str]:
    config = web_config(infrastructure.amqp_uri, {"initiatives": api.base_url, "audit": audit_api.base_url})
    for _ in running(container_factory, WebService, config):
        yield f"http://{config['WEB_SERVER_ADDRESS']}"






def send_with_file(web: Web, path: str, form: dict[str, str], filename: str, content: bytes,
                   media_type: str | None) -> requests.Response:
    """The document form as a browser sends it: multipart/form-data with the chosen file."""
    part = (filename, content) if media_type is None else (filename, content, media_type)
    return web.session.post(web.base_url + path, data=form, files={"file": part}, headers={"Origin": web.base_url},
                            allow_redirects=False, timeout=60)


def documents_of(page: str) -> str:
    return section(page, 'id="handlingar"', "</section>")


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def registered(api: Api, case_id: str) -> list[dict[str, Any]]:
    return api.get(f"/initiatives/{case_id}", "registrar").json()["documents"]


def test_the_case_lists_its_documents_and_a_file_is_downloaded_through_the_web_app(web_url: str, api: Api) -> None:
    case = drive(api, submit(api)["id"], "registration")
    content = files.pdf("Motion: Samverkan behöver stärkas")
    file = uploaded(api, content, files.PDF, "Motion Kerr och Boström.pdf")
    shown = api.command(f"/initiatives/{case['id']}/documents", "registrar", document(file))
    api.command(f"/initiatives/{case['id']}/documents", "case_officer",
                document(kind="tjansteskrivelse", direction="drawn_up", counterpart=None, title="Tjänsteskrivelse"))
    [with_file, _] = registered(api, case["id"])

    web = Web(web_url).sign_in("strategist")  # a reader: no forms, the list and the file
    listed = documents_of(web.get(f"/arenden/{case['id']}"))
    row = section(listed, f'<tr id="handling-{with_file["document_id"]}"', "</tr>")
    assert len(content) < 1024
    size = f"{len(content)} byte"
    assert text_of(row).split() == (f"{shown['documents'][0]['registered_on']} motion inkommande 2025-05-17 från "
                                    f"Veronica Kerr (KD) Motion om samverkan med kommunerna Motion Kerr och Boström.pdf "
                                    f"(PDF, {size})").split()
    link = f'/arenden/{case["id"]}/handlingar/{with_file["document_id"]}/fil'
    assert f'href="{link}"' in row
    assert "tjänsteskrivelse upprättad" in text_of(listed) and "ingen fil" in text_of(listed)

    download = web.session.get(web.base_url + link, timeout=60)
    assert download.status_code == 200
    assert download.content == content and hashlib.sha256(download.content).hexdigest() == file["sha256"]
    assert download.headers["Content-Type"] == files.PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "Bostr%C3%B6m.pdf" in download.headers["Content-Disposition"]

    missing = web.session.get(web.base_url + f'/arenden/{case["id"]}/handlingar/{case["id"]}/fil', timeout=60)
    assert missing.status_code == 404 and "Traceback" not in missing.text


def test_a_document_is_registered_with_its_file_through_the_form_and_bad_files_are_shown_beside_the_field(
        web_url: str, api: Api) -> None:
    case = drive(api, submit(api)["id"], "registration")
    web = Web(web_url).sign_in("registrar")
    page = web.get(f"/arenden/{case['id']}")
    form = section(page, 'id="form-register_document"', "</form>")
    assert 'enctype="multipart/form-data"' in form and '<input type="file" id="register_document-file"' in form
    assert ("remissvar", "remissvar") in options(page, "register_document-kind")
    assert ("drawn_up", "upprättad") in options(page, "register_document-direction")
    fields = {"kind": "remissvar", "direction": "incoming", "title": "Remissvar från Umeå kommun",
              "dated": "2025-06-02", "counterpart": "Umeå kommun"}
    path = f"/arenden/{case['id']}/register_document"

    # not its type: a text file sent as a PDF; too large: over the service's FILE_MAX_BYTES
    for content, media_type, status, expected in (
            (b"Remissvar som text, inte PDF\n", files.PDF, 415, "Filen är inte av en typ som tas emot"),
            (files.pdf("x") + b"%" * LIMIT, files.PDF, 413, "Filen är för stor: högst 64,0 kB."),
            (b"", files.TEXT, 400, "Filen är tom.")):
        refused = send_with_file(web, path, fields, "remissvar.pdf", content, media_type)
        assert refused.status_code == status, refused.text[:2000]
        shown = section(refused.text, 'id="form-register_document"', "</form>")
        assert re.search(r'<label for="register_document-file">Fil.*?<p class="error" id="register_document-file-error-1">'
                         + re.escape(expected), shown, re.S), shown
        assert 'id="register_document-file" name="file" aria-describedby="register_document-file-hint ' \
               'register_document-file-error-1" aria-invalid="true"' in shown
        assert 'value="Remissvar från Umeå kommun"' in shown  # as typed
        assert '<div class="problem" role="alert"><p></p></div>' not in refused.text.replace("\n", "")
        assert refused.text.count('role="alert"') == 0  # said beside the field only
        assert "Traceback" not in refused.text
    assert registered(api, case["id"]) == []

    # a field the service names, with a good file: beside the field, nothing registered
    content = "Remissvar från Umeå kommun\nVi tillstyrker förslaget.\n".encode()
    no_title = send_with_file(web, path, {**fields, "title": ""}, "remissvar.txt", content, None)  # type from the name
    assert no_title.status_code == 400
    assert 'id="register_document-title-error-1">Måste fyllas i.</p>' in no_title.text
    assert registered(api, case["id"]) == []

    done = send_with_file(web, path, fields, "Remissvar Umeå.txt", content, "application/octet-stream")
    assert done.status_code == 303 and done.headers["Location"] == f"/arenden/{case['id']}"
    [entry] = registered(api, case["id"])
    assert entry["file"] == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
                             "media_type": files.TEXT, "filename": "Remissvar Umeå.txt"}
    assert (entry["kind"], entry["direction"], entry["counterpart"]) == ("remissvar", "incoming", "Umeå kommun")
    listed = documents_of(web.get(done.headers["Location"]))
    assert "Remissvar från Umeå kommun" in listed and "Remissvar Umeå.txt" in listed

    # the case officer registers documents drawn up only: the service's 403 said on the page, nothing written
    officer = Web(web_url).sign_in("case_officer")
    refused = officer.send(path, {**fields, "title": "Inkommen skrivelse"})
    assert refused.status_code == 403
    assert "En handläggare registrerar bara handlingar som upprättats här" in refused.text
    assert len(registered(api, case["id"])) == 1


def test_a_secret_document_is_withheld_from_a_secretary_and_shown_to_the_registrar(web_url: str, api: Api) -> None:
    case = drive(api, submit(api)["id"], "registration")
    content = files.pdf("Remissvar med uppgifter om enskild")
    file = uploaded(api, content, files.PDF, "remissvar-enskild.pdf")
    web = Web(web_url).sign_in("registrar")
    done = send_with_file(web, f"/arenden/{case['id']}/register_document",
                          {"kind": "remissvar", "direction": "incoming", "title": "Remissvar om enskild person",
                           "dated": "2025-06-02", "counterpart": "Socialtjänsten", "secret_under": OSL},
                          "remissvar-enskild.pdf", content, files.PDF)
    assert done.status_code == 303, done.text[:2000]
    [entry] = registered(api, case["id"])
    assert entry["secret_under"] == OSL and entry["file"]["sha256"] == file["sha256"]
    link = f'/arenden/{case["id"]}/handlingar/{entry["document_id"]}/fil'

    secretary = Web(web_url).sign_in("secretary")
    listed = documents_of(secretary.get(f"/arenden/{case['id']}"))
    assert f"Sekretess enligt {OSL}: rubrik och fil visas inte." in text_of(listed)
    assert "Remissvar om enskild person" not in listed and link not in listed and "remissvar-enskild.pdf" not in listed
    assert "från Socialtjänsten" in text_of(listed) and "2025-06-02" in listed  # the diary entry stays public
    withheld = secretary.session.get(secretary.base_url + link, timeout=60)
    assert withheld.status_code == 403 and withheld.content != content
    assert "Handlingen omfattas av sekretess" in withheld.text
    assert f"Handlingen omfattas av sekretess enligt {OSL}. Din roll får inte läsa den." in html.unescape(withheld.text)

    registrar = documents_of(web.get(f"/arenden/{case['id']}"))
    assert "Remissvar om enskild person" in registrar and f"Sekretessmarkerad enligt {OSL}" in registrar
    assert f'href="{link}"' in registrar
    assert web.session.get(web.base_url + link, timeout=60).content == content


def test_a_section_is_marked_secret_and_lifted_through_the_forms(web_url: str, api: Api) -> None:
    case = drive(api, submit(api)["id"], "referral")
    summary = "Uppgifter om enskild i sammanfattningen."
    api.command(f"/initiatives/{case['id']}/answer", "case_officer", {**seed_000()["answer"], "summary": summary})
    api.command(f"/initiatives/{case['id']}/documents", "registrar", document())
    web = Web(web_url).sign_in("registrar")
    page = web.get(f"/arenden/{case['id']}")
    targets = options(page, "mark_secret-target")
    assert ("answer.summary", "Svaret: Sammanfattning") in targets
    assert any(value.startswith("document:") and text.startswith("Handling: Motion om samverkan med kommunerna")
               for value, text in targets)
    assert 'id="form-lift_secrecy"' not in page  # nothing is marked yet

    no_provision = web.send(f"/arenden/{case['id']}/mark_secret", {"target": "answer.summary", "provision": ""})
    assert no_provision.status_code == 400
    marking_form = section(no_provision.text, 'id="form-mark_secret"', "</form>")
    assert re.search(r'id="mark_secret-provision-error-1">[^<]+</p>', marking_form)
    assert api.get(f"/initiatives/{case['id']}", "registrar").json()["secrecy"] == {}

    web.command(f"/arenden/{case['id']}/mark_secret", {"target": "answer.summary", "provision": OSL,
                                                       "reason": "Uppgifter om enskild"})
    assert api.get(f"/initiatives/{case['id']}", "registrar").json()["secrecy"]["answer.summary"]["provision"] == OSL
    secretary = Web(web_url).sign_in("secretary")
    assert summary not in secretary.get(f"/arenden/{case['id']}")
    assert f"Sekretess enligt {OSL}" in secretary.get(f"/arenden/{case['id']}")

    page = web.get(f"/arenden/{case['id']}")
    assert options(page, "lift_secrecy-target") == [("answer.summary", f"Svaret: Sammanfattning – {OSL}")]
    no_reason = web.send(f"/arenden/{case['id']}/lift_secrecy", {"target": "answer.summary", "reason": ""})
    assert no_reason.status_code == 400
    assert 'id="lift_secrecy-reason-error-1">Måste fyllas i.</p>' in no_reason.text
    web.command(f"/arenden/{case['id']}/lift_secrecy", {"target": "answer.summary",
                                                        "reason": "Sekretessprövning: uppgiften kan lämnas ut"})
    assert api.get(f"/initiatives/{case['id']}", "registrar").json()["secrecy"] == {}
    shown = secretary.get(f"/arenden/{case['id']}")
    assert summary in shown and "Sekretess enligt" not in shown

    # a document the answer names as a basis: marked through the form, withheld there too
    [motion] = registered(api, case["id"])
    api.command(f"/initiatives/{case['id']}/answer", "case_officer", {
        **seed_000()["answer"], "summary": summary,
        "basis_documents": [{"title": "Motionen om samverkan", "document_id": motion["document_id"]}]})
    web.command(f"/arenden/{case['id']}/mark_secret", {"target": f"document:{motion['document_id']}",
                                                       "provision": OSL})
    basis = section(section(secretary.get(f"/arenden/{case['id']}"), 'id="svar"', "</section>"),
                    "<h3>Beslutsunderlag</h3>", "</ul>")
    assert "Motionen om samverkan" not in basis and f"Sekretess enligt {OSL}" in basis
    assert f'href="#handling-{motion["document_id"]}"' in basis
    basis = section(section(web.get(f"/arenden/{case['id']}"), 'id="svar"', "</section>"),
                    "<h3>Beslutsunderlag</h3>", "</ul>")
    assert f'<a href="#handling-{motion["document_id"]}">Motionen om samverkan</a>' in basis
    timeline = eventually(lambda: section(web.get(f"/arenden/{case['id']}"), 'id="tidslinje"', "</section>"),
                          lambda found: "Sekretessmarkering hävd" in found)
    assert f"Sekretessmarkerat – svaret: sammanfattning ({OSL})" in text_of(timeline)
    assert "Sekretessmarkering hävd – svaret: sammanfattning" in text_of(timeline)


def test_an_imported_case_is_shown_as_in_effect_on_a_day_and_its_timeline_says_it_was_imported(
        web_url: str, api: Api, audit_api: Api) -> None:
    imported = api.request("POST", "/imports", "registrar", params={"filename": EXAMPLE.name},
                           data=EXAMPLE.read_bytes(), headers={"Content-Type": "application/json"})
    assert imported.status_code == 201, imported.text
    [record] = imported.json()["records"]
    web = Web(web_url).sign_in("registrar")
    path = f"/arenden/{record['id']}"
    eventually(lambda: audit_api.get(f"/cases/{record['diary_number']}/timeline").json().get("events", []),
               lambda events: len(events) == 9)

    in_effect = web.get(path, per="2021-11-23", grund="gallande")
    assert 'id="arendets-lage">beslutat<' in in_effect
    assert 'data-basis="gallande">(som det gällde den 2021-11-23' in in_effect
    assert 'value="gallande" checked' in in_effect
    assert 'class="command"' not in in_effect  # a day's view is read only
    timeline = section(in_effect, 'id="tidslinje"', "</section>")
    assert "(som det gällde den 2021-11-23)" in timeline
    assert timeline.count("<li ") == 6  # submitted … decided: not yet adjusted, dispatched, closed
    assert f"importerad från {EXAMPLE.name}" in timeline and "gällde från 2021-03-03" in timeline

    recorded = web.get(path, per="2021-11-23", grund="registrerat")
    assert 'id="per-error">Det fanns inte då.</p>' in recorded  # recorded today: nothing of it existed then
    before = web.get(path, per="2020-12-31", grund="gallande")  # in effect before it was raised
    assert 'id="per-error">Det gällde inte ännu den dagen.</p>' in before and 'class="asof"' not in before
    now = web.get(path)
    assert 'id="arendets-lage">avslutat<' in now and 'class="asof"' not in now
    assert section(now, 'id="tidslinje"', "</section>").count(f"importerad från {EXAMPLE.name}") == 9


def test_a_form_over_the_web_apps_own_limit_gets_a_413_page_and_registers_nothing(
        container_factory: Any, infrastructure: Infrastructure, api: Api) -> None:
    config = web_config(infrastructure.amqp_uri, {"initiatives": api.base_url}, WEB_MAX_BODY_BYTES=16 * 1024)
    for _ in running(container_factory, WebService, config):
        web = Web(f"http://{config['WEB_SERVER_ADDRESS']}").sign_in("registrar")
        case = drive(api, submit(api)["id"], "registration")
        refused = send_with_file(web, f"/arenden/{case['id']}/register_document",
                                 {"kind": "remissvar", "direction": "incoming", "title": "Remissvar",
                                  "dated": "2025-06-02", "counterpart": "Umeå kommun"},
                                 "remissvar.pdf", files.pdf("x") + b"%" * (32 * 1024), files.PDF)
        assert refused.status_code == 413
        assert "Det du skickade är för stort" in refused.text and "högst 16,0 kB" in refused.text
        assert "Traceback" not in refused.text
        assert registered(api, case["id"]) == []
