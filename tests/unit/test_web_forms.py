"""The web app's forms: the body a form sends, where the service's messages are shown, and the
findings' areas as the evaluation page writes and reads them."""
from __future__ import annotations

from services.web.forms import CommandForm, Field, field_errors
from services.web.pages.agreements import RECORD_REPLY
from services.web.pages.evaluations import FINDINGS, PLAN, areas_text
from services.web.words import message

AREAS = [
    {"name": "Samverkan", "challenges": ["Stuprör", "Brist på struktur"], "opportunities": ["Ökat förtroende"],
     "next_steps": ["Tydligare ledarskap"]},
    {"name": "Uppföljning och lärande", "challenges": ["Ingen systematik"], "opportunities": [],
     "next_steps": ["Förbättra inrapporteringen"]},
]


def test_a_dotted_field_is_sent_nested_and_its_messages_are_shown_beside_it() -> None:
    body = PLAN.body({"title": "Utvärdering", "kind": "dialogue", "subject.kind": "body",
                      "subject.reference": "5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10", "subject.title": ""})
    assert body == {"title": "Utvärdering", "kind": "dialogue",
                    "subject": {"kind": "body", "reference": "5c2a2f0e-9b7d-4c1e-8a63-1f0d3b6e2a10"}}
    by_field, general = field_errors({"errors": [
        {"field": "subject.reference", "message": "the id of the agreement"},
        {"field": "responsible.1.name", "message": "Missing data for required field."}]}, PLAN)
    assert by_field == {"subject.reference": ["Överenskommelsens id behövs (som i dess adress)."],
                        "responsible": ["Rad 2: Måste fyllas i."]}
    assert general == []
    missing, _ = field_errors({"errors": [{"field": "subject", "message": "Missing data for required field."}]}, PLAN)
    assert missing == {"subject.kind": ["Måste fyllas i."]}  # the object as a whole: beside its first field


def test_a_field_in_the_path_names_the_item_and_is_not_sent() -> None:
    typed = {"consultation_id": "ab12/../x", "party": "Malå kommun", "received_on": "2022-07-01",
             "diary_number": "RUN 374-2021"}
    assert RECORD_REPLY.address({"id": "A"}, typed) == "/agreements/A/consultations/ab12%2F..%2Fx/replies"
    assert "consultation_id" not in RECORD_REPLY.body(typed)
    assert RECORD_REPLY.unchosen({**typed, "consultation_id": " "}) == {"consultation_id": ["Måste fyllas i."]}
    assert CommandForm("x", "X", "s", "/x", ("strategist",), (Field("a", "A"),)).unchosen({}) == {}


def test_findings_areas_are_written_one_a_line_and_read_back_as_they_were() -> None:
    written = areas_text(AREAS)
    assert written.splitlines() == [
        "Samverkan; Stuprör | Brist på struktur; Ökat förtroende; Tydligare ledarskap",
        "Uppföljning och lärande; Ingen systematik; ; Förbättra inrapporteringen",
    ]
    assert FINDINGS.body({"areas": written + "\n\n", "conclusion": "Fortsatt aktuell"}) == {
        "areas": AREAS, "conclusion": "Fortsatt aktuell"}
    assert FINDINGS.body({"areas": "; Utan namn"})["areas"] == [{"challenges": ["Utan namn"]}]  # the service says
    assert "areas" not in FINDINGS.body({"areas": "  \n"})


def test_the_services_reasons_in_swedish() -> None:
    assert message("Umeå kommun signed on 2022-10-15") == "Umeå kommun skrev under 2022-10-15"
    assert message("a relevance review is already due on 2024-09-30") == \
        "En aktualitetsprövning är redan planerad till 2024-09-30"
    assert message("must not precede 2025-01-01 (signing or the last change)") == \
        "Får inte infalla före 2025-01-01 (undertecknandet eller den senaste ändringen)."
    assert message("something new") == "something new"


def test_a_vote_is_sent_nested_with_its_swedish_words_and_a_ballots_error_names_its_line() -> None:
    from services.web.pages.meetings import BY_COMMAND
    form = BY_COMMAND["decide_item"]
    body = form.body({"item_id": "i", "outcome": "approved", "text": "Bifalls.", "vote.yes_proposal": "1",
                      "vote.no_proposal": "2", "vote.ballots": "Anna; Ja\nBo; avstår\n", "recused": "Cia\n",
                      "reservations": "KD; Parti; Vi ville avslå; helt.\nJa;; Egen."})
    assert body.pop("reservations") == [{"by": "KD", "party_group": True, "reason": "Vi ville avslå; helt."},
                                        {"by": "Ja", "reason": "Egen."}]  # a member named Ja stays Ja
    assert body == {"outcome": "approved", "text": "Bifalls.", "recused": ["Cia"], "vote": {
        "yes_proposal": 1, "no_proposal": 2, "ballots": [{"member": "Anna", "vote": "yes"},
                                                            {"member": "Bo", "vote": "abstain"}]}}
    by_field, general = field_errors({"errors": [
        {"field": "vote.ballots.1.member", "message": "Bo is not a member taking part"},
        {"field": "vote.casting_vote", "message": "the vote is not tied"}]}, form)
    assert by_field == {"vote.ballots": ["Rad 2: Bo is not a member taking part"],
                        "vote.casting_vote": ["the vote is not tied"]} and general == []
