"""Secrecy (sekretess, OSL) against the real services, RabbitMQ and stores: a marked answer section is
withheld from every role not cleared, from search, from the public feed and from what RabbitMQ carries;
lifting the marking shows it again; the audit service's reads and the public archive withhold it too."""
from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from services.initiatives.demo import seed_000
from shared.cli import main as cases
from tests.integration.conftest import audit_reading
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.services import Api, assert_problem
from tests.support.subscriber import EventSubscriber

OSL = "OSL 21 kap. 7 §"
NOT_CLEARED = ("secretary", "strategist")
CLEARED = ("registrar", "case_officer", "auditor")


def secret_word() -> str:
    return "hemligord" + uuid.uuid4().hex[:8]  # a word no other case of the store holds


def answered(api: Api, word: str, **extra: Any) -> dict[str, Any]:
    """A case referred for preparation, and an answer whose summary holds `word`."""
    case = drive(api, submit(api)["id"], "referral")
    answer = {**seed_000()["answer"], "summary": f"Uppgifter om enskild: {word}.", **extra}
    return api.command(f"/initiatives/{case['id']}/answer", "case_officer", answer)


def search_hits(api: Api, role: str, word: str) -> list[dict[str, Any]]:
    response = api.get("/search", role, params={"q": word})
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def drafted_in_feed(api: Api, role: str, case_id: str) -> dict[str, Any]:
    response = api.get("/events", role, params={"after": 0, "limit": 1000})
    assert response.status_code == 200, response.text
    return next(e for e in response.json()["events"]
                if e["aggregate_id"] == case_id and e["type"] == "Initiative.AnswerDrafted")


def test_a_marked_section_is_withheld_from_roles_not_cleared_until_the_marking_is_lifted(api: Api) -> None:
    word = secret_word()
    case = answered(api, word)
    assert search_hits(api, "strategist", word)  # found while nothing is marked

    marked = api.command(f"/initiatives/{case['id']}/secrecy", "registrar",
                         {"target": "answer.summary", "provision": OSL, "reason": "uppgifter om enskild"})
    assert marked["secrecy"]["answer.summary"]["provision"] == OSL
    assert word in marked["answer"]["summary"]  # the registrar is cleared

    for role in NOT_CLEARED:
        shown = api.get(f"/initiatives/{case['id']}", role).json()
        assert shown["answer"]["summary"] is None and word not in str(shown)
        assert shown["redactions"] == [{"target": "answer.summary", "provision": OSL}]
        assert shown["answer"]["proposal"] == seed_000()["answer"]["proposal"]  # only the marked section
        listed = api.get("/initiatives", role, params={"diary_number": case["diary_number"]}).json()
        assert word not in str(listed) and listed["initiatives"][0]["redactions"]
        history = api.get(f"/initiatives/{case['id']}/history", role).json()
        assert word not in str(history)
        drafted = next(e for e in history["events"] if e["type"] == "Initiative.AnswerDrafted")
        assert drafted["redactions"] == [{"target": "answer.summary", "provision": OSL}]
        as_of = api.get(f"/initiatives/{case['id']}/history", role, params={"as_of": str(case["version"])}).json()
        assert word not in str(as_of), "a state before the marking is covered by it too"
        assert search_hits(api, role, word) == []
    for role in CLEARED:
        shown = api.get(f"/initiatives/{case['id']}", role).json()
        assert word in shown["answer"]["summary"] and shown["redactions"] == []
        assert search_hits(api, role, word) == [], "secret text is kept out of search for everyone"
    for role in NOT_CLEARED:  # the public feed, as other systems of the region read it
        drafted = drafted_in_feed(api, role, case["id"])
        assert drafted["payload"]["answer"]["summary"] is None and word not in str(drafted)
        assert drafted["redactions"] == [{"target": "answer.summary", "provision": OSL}]
    for role in CLEARED:  # e.g. `cases timeline` and the auditor's `cases export`, which read whole feeds
        drafted = drafted_in_feed(api, role, case["id"])
        assert word in drafted["payload"]["answer"]["summary"] and "redactions" not in drafted

    lifted = api.command(f"/initiatives/{case['id']}/secrecy/lifted", "registrar",
                         {"target": "answer.summary", "reason": "Sekretessprövning: kan lämnas ut"})
    assert lifted["secrecy"] == {}
    shown = api.get(f"/initiatives/{case['id']}", "secretary").json()
    assert word in shown["answer"]["summary"] and shown["redactions"] == []
    assert word in drafted_in_feed(api, "strategist", case["id"])["payload"]["answer"]["summary"]
    assert search_hits(api, "strategist", word)
    events = api.get(f"/initiatives/{case['id']}/history", "secretary").json()["events"]
    assert [e["type"] for e in events[-2:]] == ["Initiative.SecrecyMarked", "Initiative.SecrecyLifted"]
    assert events[-1]["payload"]["provision"] == OSL


def test_bad_markings_are_refused_naming_the_field_and_write_nothing(api: Api) -> None:
    case = answered(api, secret_word(), gender_equality=None)
    path = f"/initiatives/{case['id']}/secrecy"
    for body, field in [
        ({"target": "answer.summary"}, "provision"),
        ({"target": "answer.summary", "provision": "   "}, "provision"),
        ({"target": "answer.nonsense", "provision": OSL}, "target"),
        ({"target": "answer.gender_equality", "provision": OSL}, "target"),  # this answer has none
        ({"target": f"document:{uuid.uuid4()}", "provision": OSL}, "target"),
        ({"provision": OSL}, "target"),
    ]:
        problem = assert_problem(api.post(path, "registrar", body), 400)
        assert [e["field"] for e in problem["errors"]] == [field], (body, problem)
    problem = assert_problem(api.post(f"{path}/lifted", "registrar", {"target": "answer.summary", "reason": "…"}), 400)
    assert [e["field"] for e in problem["errors"]] == ["target"]
    assert_problem(api.post(path, "secretary", {"target": "answer.summary", "provision": OSL}), 403)
    assert api.get(f"/initiatives/{case['id']}", "registrar").json()["version"] == case["version"]

    marked = api.command(path, "registrar", {"target": "answer.summary", "provision": OSL})
    again = api.command(path, "registrar", {"target": "answer.summary", "provision": OSL})
    assert again["version"] == marked["version"] == case["version"] + 1, "the same marking again writes nothing"

    drafting = drive(api, submit(api)["id"], "referral")
    refused = api.post(f"/initiatives/{drafting['id']}/answer", "case_officer",
                       {**seed_000()["answer"], "secret_sections": {"summary": OSL, "proposal": " "}})
    problem = assert_problem(refused, 400)
    assert [e["field"] for e in problem["errors"]] == ["secret_sections.proposal"]
    assert api.get(f"/initiatives/{drafting['id']}", "registrar").json()["version"] == drafting["version"]


@pytest.fixture
def subscriber(infrastructure: Infrastructure) -> Iterator[EventSubscriber]:
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    yield subscriber
    subscriber.delete()


def test_a_subscriber_receives_a_draft_with_secret_sections_redacted(api: Api, subscriber: EventSubscriber) -> None:
    word = secret_word()
    case = drive(api, submit(api)["id"], "referral")
    answer = {**seed_000()["answer"], "resources_and_financing": f"Kostnad för enskild: {word}",
              "secret_sections": {"resources_and_financing": OSL}}
    drafted = api.command(f"/initiatives/{case['id']}/answer", "case_officer", answer)
    assert drafted["version"] == case["version"] + 2  # the draft and its marking, in one save

    received = subscriber.collect([case["id"]], drafted["version"])
    assert word not in str(received)
    answer_event = next(e for e in received if e["type"] == "Initiative.AnswerDrafted")
    assert answer_event["payload"]["answer"]["resources_and_financing"] is None
    assert answer_event["payload"]["answer"]["summary"] == seed_000()["answer"]["summary"]
    assert answer_event["redactions"] == [{"target": "answer.resources_and_financing", "provision": OSL}]
    marking = next(e for e in received if e["type"] == "Initiative.SecrecyMarked")
    assert marking["payload"]["target"] == "answer.resources_and_financing" and marking["payload"]["provision"] == OSL
    assert word in api.get(f"/initiatives/{case['id']}", "case_officer").json()["answer"]["resources_and_financing"]


def test_the_audit_service_withholds_secret_content_from_roles_not_cleared_and_exports_for_the_public(
        api: Api, config: dict[str, Any], container_factory: Any, tmp_path: Path) -> None:
    word = secret_word()
    case = answered(api, word)
    api.command(f"/initiatives/{case['id']}/secrecy", "registrar", {"target": "answer.summary", "provision": OSL})
    audit = audit_reading(container_factory, config["AMQP_URI"], {"initiatives": api.base_url}, tmp_path / "a")
    where = f"/cases/{case['diary_number']}"

    for role in NOT_CLEARED:
        timeline = audit.get(f"{where}/timeline", role).json()
        assert timeline["events"] and word not in str(timeline)
        drafted = next(e for e in timeline["events"] if e["type"] == "Initiative.AnswerDrafted")
        assert drafted["redactions"] == [{"target": "answer.summary", "provision": OSL}]
        before_marking = audit.get(f"{where}/timeline", role, params={"as_of": drafted["occurred_at"]}).json()
        assert before_marking["events"] and word not in str(before_marking)
        states = audit.get(f"{where}/states", role).json()
        assert states["aggregates"] and word not in str(states)
    for role in ("auditor", "case_officer"):
        assert word in str(audit.get(f"{where}/timeline", role).json())
        assert word in str(audit.get(f"{where}/states", role).json())

    auditors = audit.get(f"{where}/archive")
    public = audit.get(f"{where}/archive", params={"audience": "public"})
    assert auditors.status_code == public.status_code == 200, (auditors.text, public.text)
    assert_problem(audit.get(f"{where}/archive", params={"audience": "everyone"}), 400)
    auditors_files = _unzipped(auditors.content)
    public_files = _unzipped(public.content)
    assert word in "".join(auditors_files.values()) and "marked secret" in auditors_files["README.txt"]
    assert word not in "".join(public_files.values())
    assert not any(name.startswith("events/") for name in public_files)
    assert OSL in public_files["README.txt"] and OSL in public_files["manifest.json"]
    for content, name in ((public.content, "public.zip"), (auditors.content, "auditor.zip")):
        (tmp_path / name).write_bytes(content)
        checked = CliRunner().invoke(cases, ["check-archive", str(tmp_path / name)])
        assert checked.exit_code == 0, checked.output
        assert ("public package" in checked.output) == (name == "public.zip")

    exported = CliRunner().invoke(cases, ["export", case["diary_number"], "--public", "--output",
                                          str(tmp_path / "cli.zip"), "--token", "test-auditor",
                                          f"--service=initiatives={api.base_url}"])
    assert exported.exit_code == 0 and "for the public" in exported.output, exported.output
    assert word not in "".join(_unzipped((tmp_path / "cli.zip").read_bytes()).values())
    exported = CliRunner().invoke(cases, ["export", case["diary_number"], "--output", str(tmp_path / "all.zip"),
                                          "--token", "test-auditor", f"--service=initiatives={api.base_url}"])
    assert exported.exit_code == 0, exported.output
    assert word in _unzipped((tmp_path / "all.zip").read_bytes())["timeline.json"]


def _unzipped(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return {name: package.read(name).decode("utf-8", "replace") for name in package.namelist()}


def test_the_web_app_says_what_was_withheld_and_under_which_provision(
        api: Api, config: dict[str, Any], container_factory: Any, infrastructure: Infrastructure) -> None:
    from services.web.service import WebService
    from tests.integration.test_web_app import Browser
    from tests.support.web import web_config

    word = secret_word()
    case = answered(api, word)
    api.command(f"/initiatives/{case['id']}/secrecy", "registrar", {"target": "answer.summary", "provision": OSL})
    web = container_factory(WebService, web_config(infrastructure.amqp_uri, {"initiatives": api.base_url}))
    web.start()
    for token, sees in (("test-secretary", False), ("test-case-officer", True)):
        browser = Browser(f"http://{web.config['WEB_SERVER_ADDRESS']}")
        assert browser.sign_in(token).status_code == 200
        page = browser.get(f"/arenden/{case['id']}")
        assert page.status_code == 200
        assert (word in page.text) is sees
        assert (f"Sekretess enligt {OSL}" in page.text) is not sees
        assert (f"Sekretessmarkerad enligt {OSL}" in page.text) is sees


def test_a_document_registered_secret_keeps_its_diary_entry_and_withholds_its_title_and_file(
        api: Api, config: dict[str, Any], container_factory: Any, tmp_path: Path) -> None:
    from tests.support.files import document, uploaded
    from tests.support import files

    word = secret_word()
    case = drive(api, submit(api)["id"], "registration")
    secret_file = uploaded(api, files.pdf(f"Remissvar {word}"), files.PDF, "remissvar.pdf")
    public_file = uploaded(api, files.pdf(f"Motion {secret_word()}"), files.PDF, "motion.pdf")
    api.command(f"/initiatives/{case['id']}/documents", "registrar", document(public_file))
    shown = api.command(f"/initiatives/{case['id']}/documents", "registrar",
                        document(secret_file, kind="remissvar", title=f"Remissvar om {word}", secret_under=OSL))
    secret_id = shown["documents"][1]["document_id"]
    assert shown["secrecy"][f"document:{secret_id}"]["provision"] == OSL

    seen = api.get(f"/initiatives/{case['id']}", "secretary").json()
    assert word not in str(seen)
    public_entry, secret_entry = seen["documents"]
    assert secret_entry["title"] is None and secret_entry["file"] is None
    assert secret_entry["redacted"] == {"provision": OSL}
    assert secret_entry["counterpart"] == document()["counterpart"] and secret_entry["kind"] == "remissvar"
    assert public_entry["title"] == document()["title"] and "redacted" not in public_entry
    assert seen["redactions"] == [{"target": f"document:{secret_id}", "provision": OSL}]
    file_path = f"/initiatives/{case['id']}/documents/{secret_id}/file"
    assert_problem(api.get(file_path, "secretary"), 403)
    assert api.get(file_path, "case_officer").status_code == 200
    assert api.get(f"/initiatives/{case['id']}/documents/{public_entry['document_id']}/file",
                   "strategist").status_code == 200
    registered = [e for e in api.get("/events", "strategist", params={"after": 0, "limit": 1000}).json()["events"]
                  if e["aggregate_id"] == case["id"] and e["type"] == "Initiative.DocumentRegistered"]
    assert len(registered) == 2 and word not in str(registered)
    assert registered[1]["redactions"] == [{"target": f"document:{secret_id}", "provision": OSL}]

    audit = audit_reading(container_factory, config["AMQP_URI"], {"initiatives": api.base_url}, tmp_path / "a")
    public = audit.get(f"/cases/{case['diary_number']}/archive", params={"audience": "public"})
    auditors = audit.get(f"/cases/{case['diary_number']}/archive")
    assert public.status_code == auditors.status_code == 200
    public_files, auditors_files = _unzipped(public.content), _unzipped(auditors.content)
    assert f"files/{secret_file['sha256']}" not in public_files and f"files/{public_file['sha256']}" in public_files
    assert f"files/{secret_file['sha256']}" in auditors_files
    assert word not in "".join(public_files.values())
    (tmp_path / "public.zip").write_bytes(public.content)
    checked = CliRunner().invoke(cases, ["check-archive", str(tmp_path / "public.zip")])
    assert checked.exit_code == 0 and "public package" in checked.output, checked.output


def test_other_services_reading_over_rpc_are_not_cleared(api: Api, config: dict[str, Any]) -> None:
    from nameko.standalone.rpc import ServiceRpcProxy

    word = secret_word()
    case = answered(api, word)
    api.command(f"/initiatives/{case['id']}/secrecy", "registrar", {"target": "answer.summary", "provision": OSL})
    with ServiceRpcProxy("initiatives", {"AMQP_URI": config["AMQP_URI"]}) as initiatives:
        shown = [initiatives.get_initiative_by_id(case["id"]),
                 initiatives.get_initiative_by_diary_number(case["diary_number"])]
    for view in shown:
        assert view["answer"]["summary"] is None and word not in str(view)
        assert view["redactions"] == [{"target": "answer.summary", "provision": OSL}]


def test_a_document_made_secret_before_the_case_had_a_diary_number_is_withheld_by_the_audit_service_too(
        api: Api, config: dict[str, Any], container_factory: Any, tmp_path: Path) -> None:
    """Its registration names no case (no diary number yet); the case's timeline holds it all the same (an
    event of an aggregate that names the case), and the markings read from the timeline cover it."""
    from tests.support.files import document

    word = secret_word()
    case = submit(api)
    api.command(f"/initiatives/{case['id']}/documents", "registrar",
                document(title=f"Skrivelse om {word}", secret_under=OSL))
    case = drive(api, case["id"], "registration")
    audit = audit_reading(container_factory, config["AMQP_URI"], {"initiatives": api.base_url}, tmp_path / "a")
    where = f"/cases/{case['diary_number']}"
    states = audit.get(f"{where}/states", "strategist").json()
    assert states["aggregates"] and word not in str(states)
    assert word in str(audit.get(f"{where}/states", "auditor").json())
    public = audit.get(f"{where}/archive", params={"audience": "public"})
    assert public.status_code == 200 and word not in "".join(_unzipped(public.content).values())
