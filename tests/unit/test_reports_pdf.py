"""The council's report of undecided motions as a document (KL 5:35)."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader

from services.initiatives.reports import undecided_motions_filename, undecided_motions_pdf


def text_of(document: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages))


def test_the_report_lists_each_undecided_motion_and_marks_those_past_a_year() -> None:
    report = {"on": "2026-06-30", "count": 2, "past_one_year": 1, "motions": [
        {"diary_number": "RUN 2025-0003", "title": "Samverkan behöver stärkas mellan region Västerbotten och kommunerna!",
         "submitters": [{"name": "Motionär (exempel)", "party": "KD"}], "submitted_on": "2025-03-10",
         "one_year_on": "2026-03-10", "past_one_year": True, "state": "proposed"},
        {"diary_number": "RUN 2026-0001", "title": "Kollektivtrafik i inlandet", "submitters": [{"name": "Ann"}],
         "submitted_on": "2026-02-01", "one_year_on": "2027-02-01", "past_one_year": False, "state": "in_preparation"},
    ]}
    text = text_of(undecided_motions_pdf(report, "Region Västerbotten"))
    for part in ("Region Västerbotten", "REDOVISNING AV EJ AVGJORDA MOTIONER", "Per 2026-06-30",
                 "kommunallagen 5 kap. 35 §", "Ej avgjorda motioner 2", "Väckta för ett år sedan eller mer 1",
                 "Har väntat ett år eller mer (1)", "RUN 2025-0003", "Motionär (exempel) (KD)", "2026-03-10",
                 "förslag till beslut lämnat", "Har väntat kortare tid än ett år (1)", "RUN 2026-0001", "2027-02-01",
                 "under beredning", "Sida 1 av 1"):
        assert part in text, part
    assert text.index("ett år eller mer") < text.index("RUN 2025-0003") < text.index("kortare tid") < \
        text.index("RUN 2026-0001")
    assert undecided_motions_filename("2026-06-30") == "ej-avgjorda-motioner-2026-06-30.pdf"


def test_a_report_with_no_undecided_motion_says_so() -> None:
    text = text_of(undecided_motions_pdf({"on": "2026-06-30", "count": 0, "past_one_year": 0, "motions": []}, "R"))
    assert "Det finns inga ej avgjorda motioner." in text and "Ej avgjorda motioner 0" in text
