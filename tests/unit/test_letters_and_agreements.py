"""The LetterOfIntent and CollaborationAgreement aggregates' rules, without a store."""
from __future__ import annotations

from datetime import date

import pytest

from services.letters_of_intent.domain import CollaborationAgreement, LetterOfIntent, LetterState
from shared.application import replay
from shared.errors import CommandNotAllowed, InvalidRequest

ACTOR = "Stina Strateg"


def letter() -> LetterOfIntent:
    return LetterOfIntent(title="Avsiktsförklaring", counterparts=[{"name": "Samforma"}], purpose="…", areas=[],
                          responsible_officials=[], signed_on=date(2024, 3, 1), review_on=None, diary_number=None,
                          actor=ACTOR)


def agreement(*parties: str) -> CollaborationAgreement:
    return CollaborationAgreement(title="Överenskommelse", summary="…", diary_number="KS 2022-0092-106",
                                  period_from=date(2023, 1, 1), period_to=date(2026, 12, 31),
                                  parties=list(parties), required_parties=None, actor=ACTOR)


def test_an_interim_report_fixes_the_follow_ups_of_its_period() -> None:
    signed = letter()
    for number, on in enumerate([date(2024, 12, 1), date(2025, 2, 1), date(2025, 6, 1)]):
        signed.add_follow_up(follow_up_id=str(number), kind="meeting", on=on, text="…", involved=[],
                             diary_number=None, actor=ACTOR)
    signed.compile_interim_report(report_id="r", title="Delrapport", period_from=date(2025, 1, 1),
                                  period_to=date(2025, 12, 31), compiled_on=date(2026, 1, 10), actor=ACTOR)
    signed.add_follow_up(follow_up_id="late", kind="contact", on=date(2025, 7, 1), text="…", involved=[],
                         diary_number=None, actor=ACTOR)
    assert [f["follow_up_id"] for f in signed.reports[0]["follow_ups"]] == ["1", "2"]
    assert vars(replay(signed.collect_events())) == vars(signed)


def test_a_terminated_letter_takes_no_follow_ups_and_a_paused_one_is_not_renewed() -> None:
    paused = letter()
    paused.pause(reason="paus", on=date(2025, 1, 1), actor=ACTOR)
    with pytest.raises(CommandNotAllowed):
        paused.renew(reason="x", on=date(2025, 2, 1), review_on=date(2027, 1, 1), actor=ACTOR)
    paused.terminate(reason="slut", on=date(2025, 3, 1), actor=ACTOR)
    assert paused.state is LetterState.TERMINATED
    with pytest.raises(CommandNotAllowed):
        paused.add_follow_up(follow_up_id="x", kind="meeting", on=date(2025, 4, 1), text="…", involved=[],
                             diary_number=None, actor=ACTOR)


def test_the_agreement_is_in_force_when_every_party_has_signed() -> None:
    shared_agreement = agreement("Umeå kommun", "Åsele kommun")
    shared_agreement.sign(party="Umeå kommun", signed_by="A", signed_on=date(2022, 11, 1), decided_by=None, actor=ACTOR)
    assert shared_agreement.in_force_on is None
    shared_agreement.sign(party="Åsele kommun", signed_by="B", signed_on=date(2022, 12, 1), decided_by=None, actor=ACTOR)
    assert shared_agreement.in_force_on == date(2022, 12, 1)
    with pytest.raises(CommandNotAllowed):
        shared_agreement.sign(party="Umeå kommun", signed_by="A", signed_on=date(2023, 1, 1), decided_by=None,
                              actor=ACTOR)


def test_the_agreement_is_in_force_from_the_latest_signature_of_the_required_parties() -> None:
    partial = CollaborationAgreement(title="Ö", summary="…", diary_number="KS 1", period_from=date(2023, 1, 1),
                                     period_to=date(2026, 12, 31), parties=["A", "B", "C"],
                                     required_parties=["A", "B"], actor=ACTOR)
    partial.sign(party="B", signed_by="b", signed_on=date(2023, 3, 1), decided_by=None, actor=ACTOR)
    partial.sign(party="A", signed_by="a", signed_on=date(2023, 1, 15), decided_by=None, actor=ACTOR)
    assert partial.in_force_on == date(2023, 3, 1)
    with pytest.raises(InvalidRequest):
        partial.sign(party="C", signed_by="c", signed_on=date(2027, 1, 1), decided_by=None, actor=ACTOR)


@pytest.mark.parametrize("change, field", [
    ({"period_to": date(2022, 1, 1)}, "period_to"),
    ({"parties": ["A", "A"]}, "parties"),
    ({"required_parties": ["Z"]}, "required_parties"),
])
def test_an_agreement_refuses_an_impossible_period_or_parties(change: dict, field: str) -> None:
    arguments = dict(title="Ö", summary="…", diary_number="KS 1", period_from=date(2023, 1, 1),
                     period_to=date(2026, 12, 31), parties=["A", "B"], required_parties=None, actor=ACTOR)
    with pytest.raises(InvalidRequest) as refused:
        CollaborationAgreement(**{**arguments, **change})
    assert refused.value.errors[0]["field"] == field


def test_reviews_fall_due_once() -> None:
    shared_agreement = agreement("Umeå kommun")
    shared_agreement.schedule_review(review_id="r1", kind="relevance", title="Aktualitetsprövning 2024",
                                     due_on=date(2024, 9, 30), actor=ACTOR)
    assert shared_agreement.announce_due_reviews(today=date(2024, 9, 29), actor=ACTOR) == 0
    assert shared_agreement.announce_due_reviews(today=date(2024, 9, 30), actor=ACTOR) == 1
    assert shared_agreement.announce_due_reviews(today=date(2024, 10, 30), actor=ACTOR) == 0


def test_a_consultation_reply_must_carry_its_diary_number_and_come_from_a_recipient() -> None:
    consulted = agreement("Umeå kommun", "Åsele kommun")
    consulted.open_consultation(consultation_id="c", title="Remiss", recipients=["Umeå kommun", "Åsele kommun"],
                                reply_by=date(2022, 6, 30), diary_number="RUN 374-2021", actor=ACTOR)
    with pytest.raises(InvalidRequest):
        consulted.record_reply(consultation_id="c", party="Umeå kommun", received_on=date(2022, 6, 1),
                               diary_number="RUN 375-2021", summary=None, actor=ACTOR)
    consulted.record_reply(consultation_id="c", party="Umeå kommun", received_on=date(2022, 6, 1),
                           diary_number="RUN 374-2021", summary=None, actor=ACTOR)
    assert consulted.overdue_recipients("c", date(2022, 6, 30)) == []
    assert consulted.overdue_recipients("c", date(2022, 7, 1)) == ["Åsele kommun"]
