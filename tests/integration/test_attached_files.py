"""Files elsewhere, the same way as a case's documents (shared.files): a letter's follow-up, an agreement's
consultation reply and an evaluation's report carry uploaded files, read back with the hash checked."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from services.evaluations.demo import seed_003_findings
from services.letters_of_intent.demo import load_agreement
from tests.support import files
from tests.support.infrastructure import Infrastructure
from tests.support.services import Api, assert_problem

PLAN = {"title": "Halvtidsutvärdering", "kind": "mid_term",
        "subject": {"kind": "body", "reference": "5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10",
                    "title": "Regionala samverkansrådet"},
        "period_from": "2023-01-01", "period_to": "2024-12-31",
        "responsible": [{"name": "Kerstin Hamre", "title": "samordnare"}]}
LETTER = {"title": "Avsiktsförklaring Samforma", "counterparts": [{"name": "Samforma"}], "purpose": "Samverkan",
          "signed_on": "2024-01-10"}




def reference(file: dict[str, Any]) -> dict[str, str]:
    return {"sha256": file["sha256"], "filename": file["filename"]}


def test_a_follow_up_carries_files_and_the_interim_report_keeps_them(letters_api: Api) -> None:
    letter = letters_api.command("/letters", "strategist", LETTER)
    minutes = files.docx()
    file = files.uploaded(letters_api, minutes, files.DOCX, "Minnesanteckningar 2024-02-01.docx", role="strategist")
    path = f"/letters/{letter['id']}"
    version = letter["version"]
    unknown = {"sha256": hashlib.sha256(b"never uploaded").hexdigest(), "filename": "x.pdf"}
    follow_up = {"kind": "meeting", "on": "2024-02-01", "text": "Möte om gemensamma projekt"}
    problem = assert_problem(letters_api.post(f"{path}/follow-ups", "strategist",
                                              {**follow_up, "files": [reference(file), unknown]}), 400)
    assert problem["errors"][0]["field"] == "files.1.sha256"
    assert letters_api.get(path).json()["version"] == version

    letter = letters_api.command(f"{path}/follow-ups", "strategist", {**follow_up, "files": [reference(file)]})
    assert letter["follow_ups"][0]["files"] == [file]
    report = letters_api.command(f"{path}/reports", "strategist",
                                 {"title": "Delrapport 1", "period_from": "2024-01-01", "period_to": "2024-03-31"})
    assert report["reports"][0]["follow_ups"][0]["files"] == [file]
    read = letters_api.get(f"{path}/files/{file['sha256']}")
    assert read.status_code == 200 and read.content == minutes and read.headers["Content-Type"] == files.DOCX
    assert_problem(letters_api.get(f"{path}/files/{'b' * 64}"), 404)
    assert_problem(letters_api.get(f"{path}/files/not-a-hash"), 404)
    event = letters_api.get(f"{path}/history").json()["events"][1]
    assert event["type"] == "LetterOfIntent.FollowedUp" and event["payload"]["files"] == [file]


def test_a_consultation_reply_carries_files(letters_api: Api, letters_config: dict[str, Any],
                                            infrastructure: Infrastructure) -> None:
    agreement = load_agreement(lambda path, body: letters_api.command(path, "strategist", body), signing=0)
    consultation = agreement["consultations"][0]
    content = files.pdf("Remissvar från Åsele kommun")
    file = files.uploaded(letters_api, content, files.PDF, "Remissvar Åsele.pdf", role="strategist")
    reply = {"party": "Åsele kommun", "received_on": "2022-06-20", "diary_number": consultation["diary_number"],
             "files": [reference(file)]}
    shown = letters_api.command(
        f"/agreements/{agreement['id']}/consultations/{consultation['consultation_id']}/replies", "strategist", reply)
    assert shown["consultations"][0]["replies"]["Åsele kommun"]["files"] == [file]
    read = letters_api.get(f"/agreements/{agreement['id']}/files/{file['sha256']}")
    assert read.status_code == 200 and read.content == content

    altered = content.replace(b"%PDF", b"%PDX", 1)
    if letters_config["PERSISTENCE"] == "sqlite":
        Path(letters_config["DATA_DIR"], "files", file["sha256"][:2], file["sha256"]).write_bytes(altered)
    else:
        with infrastructure.connect(autocommit=True) as connection:
            connection.execute(f'UPDATE "{letters_config["POSTGRES_SCHEMA"]}".files SET content = %s '
                               "WHERE sha256 = %s", (altered, file["sha256"]))
    problem = assert_problem(letters_api.get(f"/agreements/{agreement['id']}/files/{file['sha256']}"), 500)
    assert problem["type"] == "/problems/file-corrupted"


def test_an_evaluation_report_carries_files(evaluations_api: Api) -> None:
    evaluation = evaluations_api.command("/evaluations", "strategist", PLAN)
    path = f"/evaluations/{evaluation['id']}"
    evaluations_api.command(f"{path}/start", "strategist", {"started_on": "2025-01-15"})
    report = files.pdf("Halvtidsutvärdering")
    sheet = files.xlsx()
    attached = [files.uploaded(evaluations_api, report, files.PDF, "Utvärderingsrapport.pdf", role="strategist"),
                files.uploaded(evaluations_api, sheet, files.XLSX, "Enkätsvar.xlsx", role="strategist")]
    assert_problem(evaluations_api.request("POST", "/files", "registrar", params={"filename": "x.pdf"},
                                           data=report, headers={"Content-Type": files.PDF}), 403)
    findings = {**seed_003_findings(), "files": [reference(file) for file in attached]}
    revised = evaluations_api.command(f"{path}/findings", "strategist", findings)
    assert revised["findings"]["files"] == attached
    completed = evaluations_api.command(f"{path}/completion", "strategist", {"completed_on": "2025-03-01"})
    assert completed["findings"]["files"] == attached
    for file, content in zip(attached, (report, sheet)):
        read = evaluations_api.get(f"{path}/files/{file['sha256']}", "registrar")
        assert read.status_code == 200 and read.content == content
    # completed: the findings, files included, can no longer change (409 before the files are looked at)
    assert_problem(evaluations_api.post(f"{path}/findings", "strategist",
                                        {**findings, "files": [{"sha256": "c" * 64, "filename": "x.pdf"}]}), 409)
