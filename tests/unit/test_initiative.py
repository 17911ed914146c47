"""The Initiative aggregate's rules, without a store."""
from __future__ import annotations

from datetime import date

import pytest

from services.initiatives.domain import (
    ALLOWED_COMMANDS,
    Initiative,
    State,
    default_due_date,
    format_diary_number,
)
from shared.application import replay
from shared.errors import CommandNotAllowed, InvalidRequest
from shared.serials import Serial

ACTOR = "Rut Registrator"


def submitted(kind: str = "initiative", submitted_on: date = date(2025, 5, 17)) -> Initiative:
    return Initiative(
        kind=kind, title="Samverkan med civilsamhället", text="…",
        proposal_clauses=["att ge regionala utvecklingsnämnden i uppdrag att …"],
        submitters=[{"name": "Veronica Kerr", "party": "KD"}, {"name": "Per Boström", "party": "KD"}],
        submitted_on=submitted_on, addressed_to="Regionala utvecklingsnämnden", actor=ACTOR,
    )


def prepared(kind: str = "initiative") -> Initiative:
    initiative = submitted(kind)
    initiative.register(diary="RUN", diary_number="RUN 2025-0001", registered_on=date(2025, 5, 19), actor=ACTOR)
    initiative.refer_for_preparation(
        preparers=[{"name": "Kerstin Hamre", "title": "samordnare"}],
        due_date=date(2025, 10, 31), referred_on=date(2025, 5, 20), actor=ACTOR,
    )
    initiative.draft_answer(answer={"summary": "…", "proposed_outcome": "considered_answered"}, actor=ACTOR)
    return initiative


def scheduled() -> Initiative:
    initiative = prepared()
    initiative.schedule_for_decision(body="RUN", meeting="RUN 2025-11-12", meeting_date=date(2025, 11, 12), actor=ACTOR)
    return initiative


def decide(initiative: Initiative, outcome: str) -> None:
    initiative.record_decision(outcome=outcome, paragraph="§ 142", text="…", decided_on=date(2025, 11, 12), actor=ACTOR)


def test_a_case_runs_from_submission_to_closure_and_every_step_is_an_event() -> None:
    initiative = scheduled()
    decide(initiative, "considered_answered")
    initiative.finalise(minutes_adjusted_on=date(2025, 11, 17), actor=ACTOR)
    initiative.dispatch(recipients=[{"name": "Veronica Kerr", "party": "KD"}], dispatched_on=date(2025, 11, 18), actor=ACTOR)
    initiative.close(closed_on=date(2025, 11, 18), actor=ACTOR)

    events = initiative.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Submitted", "Registered", "ReferredForPreparation", "AnswerDrafted",
        "ScheduledForDecision", "DecisionRecorded", "Finalised", "Dispatched", "Closed",
    ]
    assert all(e.actor == ACTOR for e in events)
    assert initiative.state is State.CLOSED
    assert initiative.decision["outcome"] == "considered_answered"
    assert initiative.decision["body"] == "RUN"


def test_replaying_the_events_gives_the_same_state() -> None:
    initiative = scheduled()
    decide(initiative, "tabled")
    copy = replay(initiative.collect_events())
    assert vars(copy) == vars(initiative)


@pytest.mark.parametrize("state_builder, command, arguments", [
    (submitted, "refer_for_preparation", dict(preparers=[], due_date=date(2026, 1, 1), referred_on=date(2025, 6, 1))),
    (submitted, "record_decision", dict(outcome="approved", paragraph=None, text="…", decided_on=date(2025, 6, 1))),
    (prepared, "dispatch", dict(recipients=[{"name": "X"}], dispatched_on=date(2025, 6, 1))),
    (scheduled, "register", dict(diary="RUN", diary_number="RUN 2025-0002", registered_on=date(2025, 6, 1))),
])
def test_a_command_that_does_not_fit_the_state_is_refused_naming_state_and_allowed_commands(
    state_builder, command, arguments
) -> None:
    initiative = state_builder()
    version = initiative.version
    with pytest.raises(CommandNotAllowed) as refused:
        getattr(initiative, command)(actor=ACTOR, **arguments)
    assert refused.value.state == initiative.state.value
    assert refused.value.allowed == sorted(ALLOWED_COMMANDS[initiative.state])
    assert initiative.state.value in str(refused.value)
    assert initiative.version == version


def test_referred_back_returns_to_preparation_and_tabled_stays_scheduled() -> None:
    tabled = scheduled()
    decide(tabled, "tabled")
    assert tabled.state is State.SCHEDULED
    decide(tabled, "referred_back")
    assert tabled.state is State.IN_PREPARATION
    assert [d["outcome"] for d in tabled.decisions] == ["tabled", "referred_back"]
    with pytest.raises(CommandNotAllowed):
        tabled.finalise(minutes_adjusted_on=date(2025, 12, 1), actor=ACTOR)


def test_a_decision_is_final_only_after_the_minutes_are_adjusted() -> None:
    initiative = scheduled()
    decide(initiative, "approved")
    with pytest.raises(CommandNotAllowed):
        initiative.dispatch(recipients=[{"name": "X"}], dispatched_on=date(2025, 11, 13), actor=ACTOR)
    initiative.finalise(minutes_adjusted_on=date(2025, 11, 17), actor=ACTOR)
    assert initiative.state is State.FINAL


def test_withdrawal_is_possible_while_undecided_only() -> None:
    initiative = scheduled()
    initiative.withdraw(reason="Återkallad av förslagsställarna", withdrawn_on=date(2025, 9, 1), actor=ACTOR)
    assert initiative.state is State.WITHDRAWN
    decided = scheduled()
    decide(decided, "rejected")
    with pytest.raises(CommandNotAllowed):
        decided.withdraw(reason="för sent", withdrawn_on=date(2025, 12, 1), actor=ACTOR)


def test_a_motion_is_due_one_year_after_it_was_raised_by_default() -> None:
    motion = submitted("motion", submitted_on=date(2024, 2, 29))
    motion.register(diary="RF", diary_number="RF 2024-0007", registered_on=date(2024, 3, 1), actor=ACTOR)
    motion.refer_for_preparation(preparers=[], due_date=None, referred_on=date(2024, 3, 4), actor=ACTOR)
    assert motion.due_date == date(2025, 2, 28)
    assert default_due_date(motion.kind, date(2025, 5, 17)) == date(2026, 5, 17)


def test_an_initiative_needs_a_due_date_and_it_cannot_precede_the_referral() -> None:
    initiative = submitted()
    initiative.register(diary="RUN", diary_number="RUN 2025-0001", registered_on=date(2025, 5, 19), actor=ACTOR)
    with pytest.raises(InvalidRequest) as missing:
        initiative.refer_for_preparation(preparers=[], due_date=None, referred_on=date(2025, 5, 20), actor=ACTOR)
    assert missing.value.errors[0]["field"] == "due_date"
    with pytest.raises(InvalidRequest) as early:
        initiative.refer_for_preparation(preparers=[], due_date=date(2025, 5, 1), referred_on=date(2025, 5, 20), actor=ACTOR)
    assert early.value.errors[0]["field"] == "due_date"


def test_overdue_means_undecided_past_the_due_date() -> None:
    initiative = prepared()
    assert not initiative.is_overdue(date(2025, 10, 31))
    assert initiative.is_overdue(date(2025, 11, 1))
    initiative.schedule_for_decision(body="RUN", meeting="m", meeting_date=None, actor=ACTOR)
    decide(initiative, "approved")
    assert not initiative.is_overdue(date(2026, 1, 1))


def test_diary_numbers_follow_the_configured_format() -> None:
    assert format_diary_number("{diary} {year}-{serial:04d}", diary="RUN", year=2025, serial=42) == "RUN 2025-0042"
    assert format_diary_number("{diary} {serial}-{year}", diary="RUN", year=2021, serial=374) == "RUN 374-2021"


def test_a_diary_serial_counts_per_diary_and_year() -> None:
    serial = Serial("diary/RUN", 2025)
    serial.issue()
    serial.issue()
    assert serial.last == 2
    assert Serial.create_id("diary/RUN", 2025) == serial.id
    assert Serial.create_id("diary/RUN", 2026) != serial.id


def test_a_case_taken_off_the_agenda_waits_for_another_meeting() -> None:
    initiative = scheduled()
    initiative.unschedule(reason="Utgick ur föredragningslistan", actor=ACTOR)
    assert initiative.state is State.ANSWER_DRAFTED and initiative.schedule is None
    with pytest.raises(CommandNotAllowed):
        initiative.unschedule(reason="igen", actor=ACTOR)
