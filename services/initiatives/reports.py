"""Reports the initiatives service issues as documents: the council's list of undecided motions.

Twice a year the regional council is told which motions are still undecided (KL 5:35: a
motion is to be decided within a year of being raised). The document is rendered from the
report's JSON (GET /reports/undecided-motions), so both say the same.
"""
from __future__ import annotations

from typing import Any, Mapping

from shared.pdf import Document

STATES = {
    "submitted": "inkommen", "registered": "registrerad", "in_preparation": "under beredning",
    "answer_drafted": "svar framtaget", "scheduled": "på föredragningslista",
    "proposed": "förslag till beslut lämnat", "decided": "beslutad", "final": "beslutad, justerad",
    "dispatched": "expedierad", "closed": "avslutad", "withdrawn": "återkallad",
}


def undecided_motions_pdf(report: Mapping[str, Any], issuer: str) -> bytes:
    """REDOVISNING AV EJ AVGJORDA MOTIONER on the report's day, oldest first."""
    on = report["on"]
    doc = Document(title=f"Ej avgjorda motioner {on}", header_left=issuer,
                   header_right=f"EJ AVGJORDA MOTIONER {on}", author=issuer)
    doc.title_block(issuer, "REDOVISNING AV EJ AVGJORDA MOTIONER", [f"Per {on}"])
    doc.text("En motion ska om möjligt beredas så att fullmäktige kan fatta beslut inom ett år från det att "
             "motionen väcktes. Motioner som inte har avgjorts ska redovisas för fullmäktige två gånger per år "
             "(kommunallagen 5 kap. 35 §).")
    doc.facts([("Ej avgjorda motioner", str(report["count"])),
               ("Väckta för ett år sedan eller mer", str(report["past_one_year"]))])
    if not report["motions"]:
        doc.text("Det finns inga ej avgjorda motioner.")
        return doc.to_bytes()
    waited = [motion for motion in report["motions"] if motion["past_one_year"]]
    others = [motion for motion in report["motions"] if not motion["past_one_year"]]
    for heading, motions in (("Har väntat ett år eller mer", waited), ("Har väntat kortare tid än ett år", others)):
        if motions:
            doc.heading(f"{heading} ({len(motions)})")
            doc.table(["Dnr", "Motion", "Motionärer", "Väckt", "Ett år", "Läge nu"],
                      [[motion.get("diary_number") or "–", motion["title"], submitters(motion), motion["submitted_on"],
                        motion["one_year_on"], STATES.get(motion["state"], motion["state"])] for motion in motions],
                      widths=(25, 45, 30, 23, 23, 24))
    return doc.to_bytes()


def submitters(motion: Mapping[str, Any]) -> str:
    return ", ".join(f"{s['name']} ({s['party']})" if s.get("party") else s["name"]
                     for s in motion.get("submitters") or [])


def undecided_motions_filename(on: str) -> str:
    return f"ej-avgjorda-motioner-{on}.pdf"
