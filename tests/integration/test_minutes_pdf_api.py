"""The minutes as PDF over HTTP, on both stores: the protokoll once the meeting is closed, an extract
(protokollsutdrag) of a paragraph once the minutes are adjusted."""
from __future__ import annotations

import io
import re

import requests
from pypdf import PdfReader

from tests.support.meetings import advance, establish_body, meeting_steps
from tests.support.services import Api, assert_problem


def pdf_text(response: requests.Response, filename: str) -> str:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f"inline; filename={filename}"
    assert response.content.startswith(b"%PDF-")
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))


def test_the_protokoll_once_closed_and_an_extract_once_adjusted(meetings_api: Api) -> None:
    body = establish_body(meetings_api)
    steps = meeting_steps(meetings_api, body["id"], "RUN 2025-0001")
    meeting = advance(steps, "decision")
    path = f"/meetings/{meeting['id']}"
    assert [p["paragraph"] for p in meeting["paragraphs"]] == ["§ 1"]
    minutes_name = "protokoll-regionala-utvecklingsnamnden-2025-11-12.pdf"
    extract_name = "protokollsutdrag-regionala-utvecklingsnamnden-2025-11-12-paragraf-1.pdf"

    early = assert_problem(meetings_api.get(f"{path}/minutes.pdf"), 409)
    assert early["detail"] == "The minutes are issued once the meeting is closed; the meeting is open."
    assert early["command"] == "issue_minutes" and early["state"] == "open" and "close" in early["allowed_commands"]
    assert_problem(meetings_api.get(f"{path}/paragraphs/1/extract.pdf"), 409)

    advance(steps, "closing")
    text = pdf_text(meetings_api.get(f"{path}/minutes.pdf", "registrar"), minutes_name)
    for part in ("Regionala utvecklingsnämnden", "PROTOKOLL", "Sammanträdesdatum 2025-11-12", "EJ JUSTERAT",
                 "Plats och tid Regionens hus, Umeå, 2025-11-12 kl. 09.00", "Beslutande",
                 "Ordförande (exempel) (S), ordförande", "Per Boström (KD), ledamot",
                 "Justerare Ordförande (exempel) och Veronica Kerr", "Paragrafer § 1", "ANSLAG/BEVIS",
                 "§ 1 Svar på initiativärende om samverkan med civilsamhället", "Dnr RUN 2025-0001",
                 "Utfall: anses besvarad", "Initiativärendet anses besvarat."):
        assert part in text, part
    closed = assert_problem(meetings_api.get(f"{path}/paragraphs/1/extract.pdf"), 409)
    assert closed["detail"] == "An extract of the minutes is issued once they are adjusted; the meeting is closed."
    assert closed["allowed_commands"] == ["appoint_adjusters", "sign_minutes"]

    advance(steps, "signature_2")
    extract = pdf_text(meetings_api.get(f"{path}/paragraphs/1/extract.pdf", "case_officer"), extract_name)
    for part in ("PROTOKOLLSUTDRAG", "Paragraf § 1", "Dnr RUN 2025-0001", "§ 1 Svar på initiativärende",
                 "Justerare Ordförande (exempel) och Veronica Kerr", "Justeringsdatum 2025-11-17",
                 "Justeringen anslagen Ännu inte anslagen", "Utdragsbestyrkande"):
        assert part in extract, part
    assert "Ej justerat" not in extract and "EJ JUSTERAT" not in extract
    assert_problem(meetings_api.get(f"{path}/paragraphs/2/extract.pdf"), 404)
    assert_problem(meetings_api.get(f"{path}/paragraphs/x/extract.pdf"), 404)

    advance(steps, "public_notice")
    text = pdf_text(meetings_api.get(f"{path}/minutes.pdf"), minutes_name)
    assert "EJ JUSTERAT" not in text and "Ej justerat" not in text
    for part in ("Justeringens plats och tid Justerat 2025-11-17",
                 "Protokollet är justerat. Justeringen har tillkännagivits genom anslag.",
                 "Datum då anslaget sätts upp 2025-11-18", "Datum då anslaget tas ned 2025-12-09",
                 "Förvaringsplats för protokollet"):
        assert part in text, part
    extract = pdf_text(meetings_api.get(f"{path}/paragraphs/1/extract.pdf"), extract_name)
    assert "Justeringen anslagen 2025-11-18" in extract and "Anslaget tas ned 2025-12-09" in extract

    assert_problem(meetings_api.get("/meetings/00000000-0000-0000-0000-000000000000/minutes.pdf"), 404)
    assert_problem(meetings_api.get(f"{path}/minutes.pdf", None), 401)
    documented = meetings_api.get("/openapi.json").json()["paths"]
    assert documented["/meetings/{meeting_id}/minutes.pdf"]["get"]["responses"]["200"]["content"] == {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    assert "/meetings/{meeting_id}/paragraphs/{number}/extract.pdf" in documented
