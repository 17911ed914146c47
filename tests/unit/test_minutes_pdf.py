"""The minutes as PDF (protokoll, protokollsutdrag), read back with pypdf: Swedish words, in their order."""
from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from services.meetings.minutes import (
    extract_filename, extract_pdf, minutes_filename, minutes_pdf, paragraph_of, paragraph_range,
)
from shared import pdf

BODY = "Regionala utvecklingsnämnden"


def held_meeting(**changes: Any) -> dict[str, Any]:
    """A meeting as GET /meetings/<id> shows it, with every field the minutes can show."""
    meeting = {
        "id": "0b6f2c1e-2a57-4f0e-9d8c-3f0d7b1a9e11",
        "body": BODY,
        "title": "Regionala utvecklingsnämndens sammanträde 2025-11-12",
        "starts_at": "2025-11-12T09:00:00+01:00",
        "place": "Regionens hus, Umeå",
        "state": "adjusted",
        "attendance": [
            {"name": "Veronica Kerr", "role": "member", "party": "KD"},
            {"name": "Anna Ordförande", "role": "chair", "party": "S"},
            {"name": "Per Boström", "role": "member", "party": "KD"},
            {"name": "Lisa Ledamot", "role": "member", "party": "V"},
            {"name": "Erik Ersättare", "role": "substitute", "party": "M", "serving_for": "Maria Moderat"},
            {"name": "Sara Sekreterare", "role": "secretary"},
            {"name": "Kommunförbundet (adjungerad)", "role": "co_opted"},
        ],
        "agenda": [],
        "paragraphs": [
            {
                "item_id": "a", "paragraph": "§ 45", "outcome": "considered_answered",
                "text": "Initiativärendet anses besvarat.", "diary_number": "RUN 2025-0001",
                "title": "Svar på initiativärende om samverkan med civilsamhället", "proposal_to": None,
                "proposals": [{"by": "Förvaltningen", "text": "Initiativärendet anses besvarat."}],
                "vote": None, "reservations": [], "recused": [],
            },
            {
                "item_id": "b", "paragraph": "§ 46", "outcome": "approved",
                "text": "Regionfullmäktige föreslås anta samverkansöverenskommelsen 2023–2026 – ”i sin helhet”.",
                "diary_number": "RUN 374-2021", "title": "Samverkansöverenskommelse med länets kommuner",
                "proposal_to": "Regionfullmäktige",
                "proposals": [
                    {"by": "Anna Ordförande", "text": "Bifall till förvaltningens förslag."},
                    {"by": "Veronica Kerr", "text": "Återremiss för vidare beredning."},
                ],
                "vote": {
                    "yes_proposal": 1, "no_proposal": 2,
                    "ballots": [
                        {"member": "Anna Ordförande", "vote": "yes"},
                        {"member": "Lisa Ledamot", "vote": "yes"},
                        {"member": "Veronica Kerr", "vote": "no"},
                        {"member": "Per Boström", "vote": "no"},
                        {"member": "Erik Ersättare", "vote": "abstain"},
                    ],
                    "yes": 2, "no": 2, "abstain": 1, "casting_vote": "yes", "result": "yes",
                },
                "reservations": [
                    {"by": "KD", "party_group": True, "reason": "Ärendet borde ha återremitterats."},
                    {"by": "Per Boström", "party_group": False, "reason": None},
                ],
                "recused": ["Lisa Ledamot"],
            },
            {
                "item_id": "c", "paragraph": "§ 47", "outcome": "tabled", "text": "Ärendet bordläggs.",
                "diary_number": None, "title": "Rapport om RUS", "proposal_to": None,
                "proposals": [], "vote": None, "reservations": [], "recused": [],
            },
        ],
        "adjusters": ["Anna Ordförande", "Veronica Kerr"],
        "signatures": {"Anna Ordförande": "2025-11-17", "Veronica Kerr": "2025-11-18"},
        "adjusted_on": "2025-11-18",
        "public_notice_on": "2025-11-19",
    }
    meeting.update(changes)
    return meeting


def older_meeting() -> dict[str, Any]:
    """A meeting recorded before votes, reservations, recusals and parties were kept (as the demo's)."""
    return {
        "body": BODY, "title": "Sammanträde", "starts_at": "2025-03-01T08:30:00+00:00", "place": None,
        "state": "closed",
        "attendance": [{"name": "Ordförande (exempel)", "role": "chair"}, {"name": "Veronica Kerr", "role": None}],
        "paragraphs": [{"item_id": "a", "paragraph": "§ 3", "outcome": "referred_back", "text": "Återremitteras.",
                        "diary_number": "RUN 2025-0007", "title": "Ett ärende"}],
        "adjusters": ["Veronica Kerr"], "signatures": {}, "adjusted_on": None, "public_notice_on": None,
    }


def read(document: bytes) -> tuple[list[str], str]:
    """The pages' text, and all of it with lines joined by single spaces."""
    assert document.startswith(b"%PDF-")
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(document)).pages]
    return pages, re.sub(r"\s+", " ", " ".join(pages))


def in_order(text: str, *parts: str) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not found after position {at}: …{text[at:at + 300]}…"
        at = found + len(part)


def test_the_protokoll_has_the_swedish_layout_in_order() -> None:
    pages, text = read(minutes_pdf(held_meeting()))
    in_order(
        text,
        BODY, "PROTOKOLL", "Sammanträdesdatum 2025-11-12",
        "Plats och tid", "Regionens hus, Umeå, 2025-11-12 kl. 09.00",
        "Beslutande", "Anna Ordförande (S), ordförande", "Veronica Kerr (KD), ledamot",
        "Erik Ersättare (M) (ersättare för Maria Moderat)",
        "Övriga närvarande", "Sara Sekreterare, sekreterare", "Kommunförbundet (adjungerad), adjungerad",
        "Justerare", "Anna Ordförande och Veronica Kerr",
        "Justeringens plats och tid", "Justerat 2025-11-18",
        "Paragrafer", "§ 45–47",
        "Underskrifter", "Sekreterare", "Sara Sekreterare", "Ordförande", "Anna Ordförande",
        "Justerare", "Anna Ordförande", "Justerat 2025-11-17", "Justerare", "Veronica Kerr", "Justerat 2025-11-18",
        "ANSLAG/BEVIS", "Protokollet är justerat. Justeringen har tillkännagivits genom anslag.",
        "Datum då anslaget sätts upp", "2025-11-19", "Datum då anslaget tas ned", "2025-12-10",
        "Förvaringsplats för protokollet",
        "§ 45 Svar på initiativärende om samverkan med civilsamhället", "Dnr RUN 2025-0001",
        "Förslag till beslut", "Förvaltningen: Initiativärendet anses besvarat.",
        "Beslut", "Utfall: anses besvarad", "Initiativärendet anses besvarat.",
        "§ 46 Samverkansöverenskommelse med länets kommuner", "Dnr RUN 374-2021",
        "Yrkanden", "Förslag 1 – Anna Ordförande (S): Bifall till förvaltningens förslag.",
        "Förslag 2 – Veronica Kerr (KD): Återremiss för vidare beredning.",
        "Omröstning", "Ja-röst för förslag 1 (Anna Ordförande (S)), nej-röst för förslag 2 (Veronica Kerr (KD)).",
        "Ledamot Parti Ja Nej Avstår", "Anna Ordförande S X", "Veronica Kerr KD X", "Erik Ersättare M X",
        "Summa 2 2 1",
        "Omröstningen utfaller med 2 ja-röster mot 2 nej-röster; 1 avstår.",
        "Rösterna är lika. Ordföranden använder sin utslagsröst för ja.",
        "Resultat: ja. Regionala utvecklingsnämnden har därmed beslutat enligt förslag 1",
        "Beslut", "Utfall: bifalls",
        "Regionfullmäktige föreslås anta samverkansöverenskommelsen 2023–2026 – ”i sin helhet”.",
        "Beslutet är ett förslag till Regionfullmäktige.",
        "Reservation", "Ledamöterna för KD reserverar sig mot beslutet: Ärendet borde ha återremitterats.",
        "Per Boström (KD) reserverar sig mot beslutet.",
        "Jäv", "Lisa Ledamot deltar inte i handläggningen av ärendet på grund av jäv.",
        "§ 47 Rapport om RUS", "Utfall: bordläggs", "Ärendet bordläggs.",
    )
    assert "Ej justerat" not in text and "EJ JUSTERAT" not in text
    assert "§ 47 Rapport om RUS Dnr" not in text  # no diary number, no line for it
    assert "Förslag till beslut" not in text[text.index("§ 47 Rapport"):]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Sida {number} av {len(pages)}" in page
    assert pages[0].index("ANSLAG/BEVIS") < len(pages[0])  # the first page holds the signatures and the notice
    assert "§ 45 Svar" not in pages[0]


def test_until_adjusted_the_protokoll_says_so_on_every_page() -> None:
    meeting = held_meeting(state="closed", adjusted_on=None, public_notice_on=None,
                           signatures={"Anna Ordförande": "2025-11-17"})
    pages, text = read(minutes_pdf(meeting))
    in_order(text, "PROTOKOLL", "EJ JUSTERAT", "Protokollet är ännu inte justerat",
             "Justeringens plats och tid", "Ej justerat",
             "Justerare", "Anna Ordförande", "Justerat 2025-11-17", "Justerare", "Veronica Kerr", "Har inte justerat",
             "ANSLAG/BEVIS", "Protokollet är inte justerat", "Datum då anslaget sätts upp –")
    assert "tillkännagivits genom anslag" not in text
    for page in pages[1:]:
        assert "Ej justerat" in page


def test_an_older_meeting_without_the_new_fields_still_renders() -> None:
    pages, text = read(minutes_pdf(older_meeting()))
    in_order(text, BODY, "PROTOKOLL", "Sammanträdesdatum 2025-03-01", "EJ JUSTERAT",
             "Plats och tid", "2025-03-01 kl. 09.30",  # 08:30 UTC is 09.30 in Sweden
             "Beslutande", "Ordförande (exempel), ordförande", "Veronica Kerr",
             "Justerare", "Veronica Kerr", "Paragrafer", "§ 3", "Underskrifter",
             "§ 3 Ett ärende", "Dnr RUN 2025-0007", "Beslut", "Utfall: återremitteras", "Återremitteras.")
    for absent in ("Övriga närvarande", "Omröstning", "Reservation", "Jäv", "Yrkanden", "förslag till"):
        assert absent not in text
    bare = read(minutes_pdf({"body": BODY}))[1]  # nothing but a name: still a document
    in_order(bare, BODY, "PROTOKOLL", "Beslutande –", "Justerare Inga utsedda", "ANSLAG/BEVIS")


def test_an_extract_of_one_paragraph() -> None:
    pages, text = read(extract_pdf(held_meeting(), "§ 46"))
    in_order(
        text,
        BODY, "PROTOKOLLSUTDRAG", "Sammanträdesdatum 2025-11-12", "Utdrag ur protokollet, § 46",
        "Organ", BODY, "Sammanträde", "Regionala utvecklingsnämndens sammanträde 2025-11-12",
        "Paragraf", "§ 46", "Dnr", "RUN 374-2021",
        "§ 46 Samverkansöverenskommelse med länets kommuner", "Yrkanden", "Omröstning", "utslagsröst för ja",
        "Beslut", "Utfall: bifalls", "Beslutet är ett förslag till Regionfullmäktige.",
        "Reservation", "Ledamöterna för KD", "Jäv", "Lisa Ledamot",
        "Justering och anslag", "Justerare", "Anna Ordförande och Veronica Kerr",
        "Justeringsdatum", "2025-11-18", "Justeringen anslagen", "2025-11-19", "Anslaget tas ned", "2025-12-10",
        "Utdragsbestyrkande",
    )
    assert "§ 45" not in text and "§ 47" not in text
    assert "Ej justerat" not in text
    assert all(f"Sida {n} av {len(pages)}" in page for n, page in enumerate(pages, start=1))
    short = read(extract_pdf(held_meeting(), "45"))[1]
    in_order(short, "PROTOKOLLSUTDRAG", "§ 45 Svar på initiativärende", "Utfall: anses besvarad",
             "Utdragsbestyrkande")
    assert "Omröstning" not in short and "Reservation" not in short
    with pytest.raises(LookupError):
        extract_pdf(held_meeting(), "§ 99")


def test_paragraphs_and_file_names() -> None:
    meeting = held_meeting()
    assert paragraph_of(meeting, 46)["item_id"] == "b"
    assert paragraph_of(meeting, "§46")["item_id"] == "b"
    assert paragraph_of(meeting, "x") is None and paragraph_of({}, 1) is None
    assert paragraph_range(meeting["paragraphs"][:1]) == "§ 45"
    assert minutes_filename(meeting) == "protokoll-regionala-utvecklingsnamnden-2025-11-12.pdf"
    assert extract_filename(meeting, "§ 46") == \
        "protokollsutdrag-regionala-utvecklingsnamnden-2025-11-12-paragraf-46.pdf"


def test_the_document_module_wraps_long_text_and_numbers_its_pages() -> None:
    doc = pdf.Document(title="Rapport", header_left="Region Västerbotten", header_right="RAPPORT")
    doc.title_block("Region Västerbotten", "RAPPORT", ["Obesvarade motioner"])
    doc.facts([("Antal", "3"), ("Flera rader", ["en", "två"])])
    doc.table(["Dnr", "Rubrik"], [[f"RUN 2025-{n:04d}", "Samverkan – ”åäö” " * 6] for n in range(60)],
              widths=(40, 130))
    doc.text("Slut.\r\nRad\tmed tabb")
    pages, text = read(doc.to_bytes())
    assert len(pages) >= 2 and f"Sida 2 av {len(pages)}" in pages[1]
    assert "Region Västerbotten" in pages[1] and "RAPPORT" in pages[1]  # the running header
    in_order(text, "Obesvarade motioner", "Antal 3", "Flera rader en två", "Dnr Rubrik", "RUN 2025-0000",
             "Samverkan – ”åäö”", "RUN 2025-0059", "Slut.")


def test_a_missing_font_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv(pdf.FONT_DIR_VARIABLE, str(tmp_path))
    with pytest.raises(pdf.FontMissing, match="fonts-dejavu-core"):
        pdf.Document(title="x")


def test_the_minutes_are_issued_once_closed_and_an_extract_once_adjusted() -> None:
    from datetime import date, datetime, timezone
    from uuid import uuid4

    from services.meetings.domain import Meeting
    from shared.errors import CommandNotAllowed, NotFound

    actor = "Sara Sekreterare"
    held = Meeting(body_id=uuid4(), body=BODY, title="Möte", starts_at=datetime(2025, 3, 1, 9, tzinfo=timezone.utc),
                   place=None, link=None, actor=actor)
    held.add_item(item_id="i0", title="Ärende", diary_number=None, goal_area=None, actor=actor)
    held.convene(convened_on=date(2025, 2, 20), actor=actor)
    held.open(actor=actor)
    held.decide_item(item_id="i0", paragraph_number=12, outcome="approved", text="Bifall.", actor=actor)
    with pytest.raises(CommandNotAllowed) as refused:
        held.check_minutes_issued()
    assert refused.value.problem()["detail"] == "The minutes are issued once the meeting is closed; the meeting is open."
    assert refused.value.problem()["command"] == "issue_minutes" and "close" in refused.value.allowed
    held.appoint_adjusters(adjusters=["Veronica Kerr"], actor=actor)
    held.close(actor=actor)
    held.check_minutes_issued()
    assert held.paragraph(12)["title"] == "Ärende"
    with pytest.raises(NotFound):
        held.paragraph(13)
    with pytest.raises(CommandNotAllowed, match="once they are adjusted; the meeting is closed"):
        held.check_extract_issued()
    held.sign_minutes(adjuster="Veronica Kerr", signed_on=date(2025, 3, 3), actor=actor)
    held.check_minutes_issued()
    held.check_extract_issued()


def test_a_service_renders_in_a_thread_so_its_hub_goes_on_meanwhile() -> None:
    """Under eventlet (as every service runs), the hub serves other work while a long protokoll renders."""
    import time

    import eventlet
    from eventlet import patcher

    from shared.pdf import rendered

    assert patcher.is_monkey_patched("thread")  # the suite runs as the services do (tests/conftest.py)
    long = held_meeting()
    long["paragraphs"] = long["paragraphs"] * 30
    ticks: list[float] = []

    def ticker() -> None:
        while True:
            ticks.append(time.perf_counter())
            eventlet.sleep(0.005)

    beside = eventlet.spawn(ticker)
    eventlet.sleep(0)
    started = time.perf_counter()
    document = rendered(minutes_pdf, long)
    finished = time.perf_counter()
    beside.kill()
    assert document.startswith(b"%PDF") and len(read(document)[0]) > 10
    assert len([tick for tick in ticks if started < tick < finished]) >= 3  # on the hub: none at all
