"""A case's documents (handlingar) with their files, through the real service on each store: upload,
register, read back with the hash checked; every bad input refused with nothing written."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from services.initiatives.service import InitiativesService
from shared import clock
from tests.integration.conftest import running
from tests.support import files
from tests.support.files import document, upload, uploaded
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.services import Api, api_for, assert_problem, free_port, service_config

LIMIT = 64 * 1024  # FILE_MAX_BYTES of these tests' services


@pytest.fixture
def config(infrastructure: Infrastructure, store_config: dict[str, Any]) -> dict[str, Any]:
    infrastructure.purge_inboxes()
    return service_config(infrastructure.amqp_uri, store_config, FILE_MAX_BYTES=LIMIT)








def test_a_document_is_registered_with_its_file_and_read_back_as_uploaded(api: Api) -> None:
    case = submit(api)
    content = files.pdf("Motion: Samverkan behöver stärkas")
    file = uploaded(api, content, files.PDF, "  Motion   Kerr\u00a0och Boström.pdf")
    assert file == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "media_type": files.PDF,
                    "filename": "Motion Kerr och Boström.pdf"}
    assert uploaded(api, content, files.PDF, "again.pdf")["sha256"] == file["sha256"]  # stored once

    shown = api.command(f"/initiatives/{case['id']}/documents", "registrar",
                        document(file, secret_under="OSL 21 kap. 7 §"))

    [registered] = shown["documents"]
    assert registered["file"] == file and registered["secret_under"] == "OSL 21 kap. 7 §"
    assert registered["registered_on"] == clock.today().isoformat() and registered["dated"] == "2025-05-17"
    read = api.get(f"/initiatives/{case['id']}/documents/{registered['document_id']}/file", "auditor")
    assert read.status_code == 200 and read.content == content
    assert read.headers["Content-Type"] == files.PDF
    assert "filename*=UTF-8''Motion%20Kerr%20och%20Bostr%C3%B6m.pdf" in read.headers["Content-Disposition"]
    event = api.get(f"/initiatives/{case['id']}/history").json()["events"][-1]
    assert event["type"] == "Initiative.DocumentRegistered"
    assert event["payload"]["file"] == file and event["payload"]["document_id"] == registered["document_id"]
    assert api.get(f"/initiatives/{case['id']}", "case_officer").json()["documents"] == [registered]


def test_every_allowed_type_is_taken_and_a_document_may_come_without_a_file(api: Api) -> None:
    for media_type, content in files.samples().items():
        assert uploaded(api, content, media_type, "bilaga")["media_type"] == media_type
    case = submit(api)
    shown = api.command(f"/initiatives/{case['id']}/documents", "case_officer",
                        document(kind="tjansteskrivelse", direction="drawn_up", counterpart=None))
    assert shown["documents"][0]["file"] is None and shown["documents"][0]["direction"] == "drawn_up"


def test_bad_uploads_are_refused_naming_the_problem_and_store_nothing(api: Api) -> None:
    case = submit(api)
    version = case["version"]
    too_large = b"a" * (LIMIT + 1)
    problem = assert_problem(upload(api, too_large, files.TEXT, "stor.txt"), 413)
    assert problem["errors"][0]["field"] == "body"
    not_a_pdf = b"GIF89a pretending to be a PDF"
    assert assert_problem(upload(api, not_a_pdf, files.PDF), 415)["errors"][0]["field"] == "Content-Type"
    png_as_pdf = files.image("PNG")
    assert assert_problem(upload(api, png_as_pdf, files.PDF), 415)["errors"][0]["field"] == "Content-Type"
    assert assert_problem(upload(api, b"MZ\x90\x00", "application/x-msdownload"), 415)["errors"][0]["field"] \
        == "Content-Type"
    assert assert_problem(upload(api, b"", files.PDF), 400)["errors"][0]["field"] == "body"
    chunked = api.request("POST", "/files", "registrar", params={"filename": "Motion.pdf"},
                          data=iter([files.pdf(), b"% more"]), headers={"Content-Type": files.PDF})
    assert "Content-Length" in assert_problem(chunked, 411)["detail"]  # never read short or as empty
    for name in ("../../etc/passwd", "C:\\temp\\motion.pdf", "rad\nbrytning.pdf", "", None):
        assert assert_problem(upload(api, files.pdf(), files.PDF, name), 400)["errors"][0]["field"] == "filename"
    assert_problem(upload(api, files.pdf(), files.PDF, role="auditor"), 403)
    assert_problem(upload(api, files.pdf(), files.PDF, role="secretary"), 403)

    for refused in (too_large, not_a_pdf, png_as_pdf):  # none of them was stored: no command may name it
        never = {"sha256": hashlib.sha256(refused).hexdigest(), "filename": "x.pdf"}
        problem = assert_problem(api.post(f"/initiatives/{case['id']}/documents", "registrar", document(never)), 400)
        assert problem["errors"][0]["field"] == "file.sha256"
    assert api.get(f"/initiatives/{case['id']}").json()["version"] == version


def test_bad_registrations_are_refused_and_leave_the_case_as_it_was(api: Api) -> None:
    case = submit(api)
    file = uploaded(api, files.pdf(), files.PDF, "Motion.pdf")
    path = f"/initiatives/{case['id']}/documents"
    tomorrow = clock.today().toordinal() + 1
    from datetime import date

    for body, field in [
        (document(file, kind="protokoll"), "kind"),
        (document(file, direction="sideways"), "direction"),
        (document(file, counterpart=None), "counterpart"),
        (document(file, direction="outgoing", counterpart=None), "counterpart"),
        (document(file, dated=date.fromordinal(tomorrow).isoformat()), "dated"),
        (document(file, dated="1899-12-31"), "dated"),
        (document(file, title=""), "title"),
        (document(file, secret_under="x" * 201), "secret_under"),
        (document({**file, "sha256": "not-a-hash"}), "file.sha256"),
        (document({**file, "filename": "../Motion.pdf"}), "file.filename"),
    ]:
        problem = assert_problem(api.post(path, "registrar", body), 400)
        assert field in {error["field"] for error in problem["errors"]}, (field, problem)
    # a case officer registers documents drawn up, not those received or sent
    assert_problem(api.post(path, "case_officer", document(file)), 403)
    assert_problem(api.post(path, "auditor", document(file)), 403)
    assert_problem(api.post("/initiatives/5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10/documents", "registrar",
                            document(file)), 404)
    assert api.get(f"/initiatives/{case['id']}").json()["version"] == case["version"]
    assert_problem(api.get(f"{path}/5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10/file"), 404)


def test_a_file_altered_in_the_store_is_refused_on_read(api: Api, config: dict[str, Any],
                                                        infrastructure: Infrastructure) -> None:
    case = submit(api)
    content = "Remissvar: vi tillstyrker.\n".encode()
    file = uploaded(api, content, files.TEXT, "Remissvar.txt")
    shown = api.command(f"/initiatives/{case['id']}/documents", "registrar", document(file, kind="remissvar"))
    altered = "Remissvar: vi avstyrker!!\n".encode()
    if config["PERSISTENCE"] == "sqlite":
        Path(config["DATA_DIR"], "files", file["sha256"][:2], file["sha256"]).write_bytes(altered)
    else:
        with infrastructure.connect(autocommit=True) as connection:
            connection.execute(f'UPDATE "{config["POSTGRES_SCHEMA"]}".files SET content = %s WHERE sha256 = %s',
                               (altered, file["sha256"]))

    response = api.get(f"/initiatives/{case['id']}/documents/{shown['documents'][0]['document_id']}/file")

    problem = assert_problem(response, 500)
    assert problem["type"] == "/problems/file-corrupted" and file["sha256"] in problem["detail"]
    assert altered not in response.content


def test_the_answer_may_rest_on_a_document_registered_on_the_case(api: Api) -> None:
    case = submit(api)
    drive(api, case["id"], "referral")
    shown = api.command(f"/initiatives/{case['id']}/documents", "case_officer",
                        document(kind="tjansteskrivelse", direction="drawn_up", counterpart=None))
    document_id = shown["documents"][0]["document_id"]
    from services.initiatives.demo import seed_000

    answer = seed_000()["answer"]
    basis = [{"title": "Tjänsteskrivelse", "document_id": document_id}]
    drafted = api.command(f"/initiatives/{case['id']}/answer", "case_officer", {**answer, "basis_documents": basis})
    assert drafted["answer"]["basis_documents"][0]["document_id"] == document_id
    unknown = [{"title": "Okänd", "document_id": "5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10"}]
    problem = assert_problem(api.post(f"/initiatives/{case['id']}/answer", "case_officer",
                                      {**answer, "basis_documents": unknown}), 400)
    assert problem["errors"][0]["field"] == "basis_documents.0.document_id"
    assert api.get(f"/initiatives/{case['id']}").json()["version"] == drafted["version"]


@pytest.fixture
def second_instance(container_factory: Any, container: Any, config: dict[str, Any]) -> Iterator[Api]:
    second = {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}
    instance = running(container_factory, InitiativesService, second)
    next(instance)
    yield api_for(second)
    next(instance, None)


def test_instances_on_postgresql_share_their_files(api: Api, config: dict[str, Any], request: Any) -> None:
    if config["PERSISTENCE"] != "postgres":
        pytest.skip("instances share files through PostgreSQL; on SQLite one instance owns the directory")
    other = request.getfixturevalue("second_instance")
    case = submit(api)
    content = files.image("JPEG")
    file = uploaded(api, content, files.JPEG, "Foto.jpg")
    shown = api.command(f"/initiatives/{case['id']}/documents", "registrar", document(file, kind="ovrigt"))
    read = other.get(f"/initiatives/{case['id']}/documents/{shown['documents'][0]['document_id']}/file")
    assert read.status_code == 200 and read.content == content


def test_the_archive_package_holds_every_file_of_the_case_and_check_archive_verifies_them(
        api: Api, tmp_path: Path) -> None:
    import json
    import zipfile

    from click.testing import CliRunner

    from shared.cli import main as cases

    case = drive(api, submit(api)["id"], "registration")
    motion, reply = files.pdf("Motion om samverkan"), "Remissvar från Umeå kommun".encode()
    for content, media_type, name in ((motion, files.PDF, "Motion.pdf"), (reply, files.TEXT, "Remissvar.txt")):
        api.command(f"/initiatives/{case['id']}/documents", "registrar",
                    document(uploaded(api, content, media_type, name), title=name))
    sha256 = {name: hashlib.sha256(content).hexdigest() for name, content in (("motion", motion), ("reply", reply))}

    stored = api.get(f"/files/{sha256['motion']}", "auditor")
    assert stored.status_code == 200 and stored.content == motion
    assert_problem(api.get(f"/files/{sha256['motion']}", "secretary"), 403)  # others read through the case
    assert_problem(api.get(f"/files/{'0' * 64}", "auditor"), 404)
    assert_problem(api.get("/files/..%2F..%2Fetc%2Fpasswd", "auditor"), 404)

    package = tmp_path / "case.zip"
    exported = CliRunner().invoke(cases, ["export", case["diary_number"], "--output", str(package), "--token",
                                          "test-auditor", f"--service=initiatives={api.base_url}"])
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(package) as opened:
        assert opened.read(f"files/{sha256['motion']}") == motion and opened.read(f"files/{sha256['reply']}") == reply
        manifest = json.loads(opened.read("manifest.json"))
    assert {(d["sha256"], tuple(d["filenames"])) for d in manifest["documents"]} == {
        (sha256["motion"], ("Motion.pdf",)), (sha256["reply"], ("Remissvar.txt",))}
    checked = CliRunner().invoke(cases, ["check-archive", str(package)])
    assert checked.exit_code == 0 and "intact" in checked.output, checked.output
