"""Reminders (bevakning): each kind's rule in its aggregate — due on its day and not before, raised
once, no longer applying when the state no longer calls for it — and the shared parts: the list of
reminders in the read model, the timer's routine, and commands meeting a reminder saved meanwhile."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from services.initiatives.application import InitiativesApplication
from services.initiatives.domain import Initiative
from services.letters_of_intent.domain import CollaborationAgreement
from services.meetings.domain import Meeting
from shared.application import replay
from shared.errors import CommandNotAllowed, ConcurrentChange
from shared.reminders import RemindingAggregate, months_after
from tests.unit.test_initiative import decide, prepared, submitted
from tests.unit.test_letters_and_agreements import agreement
from tests.unit.test_meeting import opened

ACTOR = "timer"


def due_on(aggregate: RemindingAggregate, today: date) -> list[str]:
    return [reminder.kind for reminder in aggregate.due_reminders(today)]


def raised_kinds(aggregate: RemindingAggregate) -> list[str]:
    return [event.kind for event in aggregate.pending_events if isinstance(event, RemindingAggregate.ReminderRaised)]


def open_kinds(aggregate: RemindingAggregate) -> list[str]:
    return [raised["kind"] for raised in aggregate.open_reminders()]


def test_months_after_keeps_the_day_or_takes_the_month_s_last() -> None:
    assert months_after(date(2025, 5, 17), 11) == date(2026, 4, 17)
    assert months_after(date(2025, 3, 31), 11) == date(2026, 2, 28)
    assert months_after(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert months_after(date(2025, 12, 15), 1) == date(2026, 1, 15)


# --- initiatives -----------------------------------------------------------------------------


def test_the_preparation_reminder_falls_due_the_day_after_the_due_date_and_is_raised_once() -> None:
    case = prepared()  # due 2025-10-31
    assert due_on(case, date(2025, 10, 31)) == []
    assert case.next_reminder_due() == date(2025, 11, 1)
    assert case.raise_due_reminders(today=date(2025, 11, 1), actor=ACTOR) == 1
    [raised] = [e for e in case.pending_events if isinstance(e, Initiative.ReminderRaised)]
    assert (raised.kind, raised.key, raised.due_on, raised.role, raised.diary_number, raised.title) == (
        "preparation_due_passed", "preparation_due_passed:2025-10-31", date(2025, 11, 1), "case_officer",
        "RUN 2025-0001", "Samverkan med civilsamhället")
    assert case.raise_due_reminders(today=date(2025, 11, 20), actor=ACTOR) == 0
    assert case.next_reminder_due() is None
    assert open_kinds(case) == ["preparation_due_passed"]
    again = replay(case.collect_events())
    assert again.reminders_raised == case.reminders_raised and again.raise_due_reminders(
        today=date(2026, 1, 1), actor=ACTOR) == 0


def test_a_new_due_date_is_a_new_preparation_reminder_and_the_old_one_stops_applying() -> None:
    case = prepared()
    case.raise_due_reminders(today=date(2025, 11, 1), actor=ACTOR)
    case.refer_for_preparation(preparers=[{"name": "Kerstin Hamre"}], due_date=date(2025, 12, 15),
                               referred_on=date(2025, 11, 3), actor="Rut")
    assert open_kinds(case) == []  # the raised reminder concerned the old due date
    assert case.next_reminder_due() == date(2025, 12, 16)
    assert case.raise_due_reminders(today=date(2025, 12, 16), actor=ACTOR) == 1
    assert sorted(case.reminders_raised) == ["preparation_due_passed:2025-10-31", "preparation_due_passed:2025-12-15"]


def test_a_decided_or_withdrawn_case_calls_for_no_reminder() -> None:
    case = prepared()
    case.raise_due_reminders(today=date(2025, 11, 1), actor=ACTOR)
    case.schedule_for_decision(body="Regionala utvecklingsnämnden", meeting="RUN 2025-11-12", meeting_date=date(2025, 11, 12), actor="Sara")
    decide(case, "considered_answered")
    assert case.reminders() == [] and open_kinds(case) == []
    withdrawn = prepared("motion")
    withdrawn.withdraw(reason="återkallad", withdrawn_on=date(2025, 6, 1), actor="Rut")
    assert withdrawn.raise_due_reminders(today=date(2027, 1, 1), actor=ACTOR) == 0


def test_an_undecided_motion_is_reminded_of_at_11_months_and_at_a_year() -> None:
    motion = submitted("motion", submitted_on=date(2025, 5, 17))  # not even registered: still undecided
    assert due_on(motion, date(2026, 4, 16)) == []
    assert motion.raise_due_reminders(today=date(2026, 4, 17), actor=ACTOR) == 1
    assert motion.next_reminder_due() == date(2026, 5, 17)
    assert motion.raise_due_reminders(today=date(2026, 5, 16), actor=ACTOR) == 0
    assert motion.raise_due_reminders(today=date(2026, 5, 17), actor=ACTOR) == 1
    assert raised_kinds(motion) == ["motion_undecided_11_months", "motion_undecided_one_year"]
    assert {r["role"] for r in motion.open_reminders()} == {"registrar"}
    assert submitted("initiative").reminders() == []  # an initiative has no such limit


def test_a_decision_gains_legal_force_once_in_the_meeting_that_took_it() -> None:
    case = prepared()
    case.schedule_for_decision(body="Regionala utvecklingsnämnden", meeting="RUN 2025-11-12", meeting_date=date(2025, 11, 12), actor="Sara",
                               meeting_id="m1")
    decide(case, "considered_answered")
    with pytest.raises(CommandNotAllowed):  # the minutes are not adjusted yet
        case.gain_legal_force(on=date(2025, 12, 9), meeting_id="m1", actor=ACTOR)
    case.finalise(minutes_adjusted_on=date(2025, 11, 17), actor="Sara")
    with pytest.raises(CommandNotAllowed):
        case.gain_legal_force(on=date(2025, 12, 9), meeting_id="another meeting", actor=ACTOR)
    case.gain_legal_force(on=date(2025, 12, 9), meeting_id="m1", actor=ACTOR)
    assert case.legal_force_on == date(2025, 12, 9)
    assert type(case.pending_events[-1]).__qualname__ == "Initiative.DecisionGainedLegalForce"
    with pytest.raises(CommandNotAllowed):
        case.gain_legal_force(on=date(2025, 12, 9), meeting_id="m1", actor=ACTOR)


# --- meetings ---------------------------------------------------------------------------------


def adjusted_meeting() -> Meeting:
    held = opened("A", "B")  # on 2025-03-01
    held.decide_item(item_id="i0", paragraph_number=12, outcome="approved", text="Bifall.", actor="Sara")
    held.decide_item(item_id="i1", paragraph_number=13, outcome="referred_back", text="Återremiss.", actor="Sara")
    held.appoint_adjusters(adjusters=["Kerr"], actor="Sara")
    held.close(actor="Sara")
    return held


def test_minutes_not_adjusted_are_reminded_of_14_days_after_the_meeting_until_adjusted() -> None:
    held = adjusted_meeting()
    assert due_on(held, date(2025, 3, 14)) == []
    assert held.raise_due_reminders(today=date(2025, 3, 15), actor=ACTOR) == 1
    [raised] = held.open_reminders()
    assert (raised["kind"], raised["role"], raised["due_on"]) == (
        "minutes_not_adjusted", "secretary", date(2025, 3, 15))
    held.sign_minutes(adjuster="Kerr", signed_on=date(2025, 3, 20), actor="Sara")
    assert open_kinds(held) == [] and held.next_reminder_due() is None
    scheduled = Meeting(body_id=held.body_id, body="RSR", title="Möte", starts_at=held.starts_at, place=None,
                        link=None, actor="Sara")
    scheduled.cancel(reason="inställt", actor="Sara")
    assert scheduled.reminders() == []


def test_the_appeal_period_ends_three_weeks_after_the_notice_with_the_meeting_s_decisions() -> None:
    held = adjusted_meeting()
    held.sign_minutes(adjuster="Kerr", signed_on=date(2025, 3, 5), actor="Sara")
    assert held.reminders() == []  # adjusted, no notice yet
    held.record_public_notice(notice_on=date(2025, 3, 6), actor="Sara")
    assert due_on(held, date(2025, 3, 27)) == []  # the last day to appeal: three weeks from the notice
    assert held.raise_due_reminders(today=date(2025, 3, 28), actor=ACTOR) == 1
    [raised] = held.open_reminders()
    assert (raised["kind"], raised["role"], raised["due_on"]) == ("appeal_period_ended", "registrar", date(2025, 3, 28))
    assert raised["details"]["decisions"] == [
        {"diary_number": "RUN 2025-0000", "paragraph": "§ 12", "outcome": "approved", "proposal_to": None},
        {"diary_number": "RUN 2025-0001", "paragraph": "§ 13", "outcome": "referred_back", "proposal_to": None}]
    assert held.raise_due_reminders(today=date(2026, 1, 1), actor=ACTOR) == 0


# --- letters of intent: consultations ----------------------------------------------------------


def consulted() -> CollaborationAgreement:
    shared_agreement = agreement("Umeå kommun", "Åsele kommun")
    shared_agreement.open_consultation(consultation_id="c1", title="Remiss", recipients=None,
                                       reply_by=date(2022, 6, 30), diary_number="RUN 374-2021", actor="Stina")
    return shared_agreement


def test_a_consultation_reminds_seven_days_before_its_deadline_and_after_it() -> None:
    consultation = consulted()
    consultation.record_reply(consultation_id="c1", party="Umeå kommun", received_on=date(2022, 6, 1),
                              diary_number="RUN 374-2021", summary=None, actor="Stina")
    assert due_on(consultation, date(2022, 6, 22)) == []
    assert due_on(consultation, date(2022, 6, 23)) == ["consultation_reply_due_in_7_days"]
    assert consultation.raise_due_reminders(today=date(2022, 6, 23), actor=ACTOR) == 1
    assert due_on(consultation, date(2022, 6, 30)) == []
    assert consultation.raise_due_reminders(today=date(2022, 7, 1), actor=ACTOR) == 1
    [passed] = [r for r in consultation.open_reminders() if r["kind"] == "consultation_reply_deadline_passed"]
    assert passed["role"] == "strategist" and passed["diary_number"] == "RUN 374-2021"
    assert passed["details"]["waiting_for"] == ["Åsele kommun"]
    consultation.record_reply(consultation_id="c1", party="Åsele kommun", received_on=date(2022, 7, 4),
                              diary_number="RUN 374-2021", summary=None, actor="Stina")
    assert open_kinds(consultation) == [] and consultation.next_reminder_due() is None


def test_a_consultation_answered_by_everyone_in_time_reminds_of_nothing() -> None:
    consultation = consulted()
    for party in ("Umeå kommun", "Åsele kommun"):
        consultation.record_reply(consultation_id="c1", party=party, received_on=date(2022, 6, 1),
                                  diary_number="RUN 374-2021", summary=None, actor="Stina")
    assert consultation.raise_due_reminders(today=date(2023, 1, 1), actor=ACTOR) == 0


# --- the shared parts, on the in-memory store --------------------------------------------------


def registered_case(app: InitiativesApplication, **submission: Any) -> Initiative:
    case = app.submit_initiative(actor="Hans", **{**vars_of(submitted()), **submission})
    app.register_initiative(case.id, actor="Rut", registered_on=date(2025, 5, 19))
    return app.get_initiative(case.id)


def vars_of(case: Initiative) -> dict[str, Any]:
    return {"kind": case.kind.value, "title": case.title, "text": case.text, "proposal_clauses": case.proposal_clauses,
            "submitters": case.submitters, "submitted_on": case.submitted_on, "addressed_to": case.addressed_to}


def test_the_timer_s_routine_raises_what_is_due_once_and_the_list_shows_what_still_applies() -> None:
    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    late = registered_case(app)
    app.refer_for_preparation(late.id, actor="Rut", preparers=[{"name": "Kerstin"}], due_date=date(2025, 10, 31),
                              referred_on=date(2025, 5, 20))
    in_time = registered_case(app)
    app.refer_for_preparation(in_time.id, actor="Rut", preparers=[{"name": "Kerstin"}], due_date=date(2026, 3, 1),
                              referred_on=date(2025, 5, 20))
    motion = registered_case(app, kind="motion", submitted_on=date(2024, 10, 1))

    assert app.raise_due_reminders(date(2025, 11, 1)) == 3  # the late preparation, the motion's 11 months and year
    assert app.raise_due_reminders(date(2025, 11, 1)) == 0
    listed = app.list_reminders({"limit": 10}).items
    assert [(r["kind"], r["aggregate_id"]) for r in listed] == [
        ("motion_undecided_11_months", str(motion.id)), ("motion_undecided_one_year", str(motion.id)),
        ("preparation_due_passed", str(late.id))]
    assert listed[2]["link"] == f"/initiatives/{late.id}" and listed[2]["due_on"] == "2025-11-01"
    assert [r["kind"] for r in app.list_reminders({"role": "case_officer"}).items] == ["preparation_due_passed"]
    assert len(app.list_reminders({"due_before": date(2025, 11, 1)}).items) == 3
    assert len(app.list_reminders({"due_before": date(2025, 10, 31)}).items) == 2
    first = app.list_reminders({"limit": 2})
    assert len(first.items) == 2 and len(app.list_reminders({"limit": 2, "cursor": first.next_cursor}).items) == 1

    app.withdraw_initiative(motion.id, actor="Rut", reason="återkallad", withdrawn_on=date(2025, 11, 2))
    assert [r["kind"] for r in app.list_reminders({}).items] == ["preparation_due_passed"]
    assert app.raise_due_reminders(date(2026, 3, 2)) == 1  # the other case's preparation, now late too
    assert {UUID(r["aggregate_id"]) for r in app.list_reminders({}).items} == {late.id, in_time.id}


def test_a_command_meeting_only_a_reminder_saved_meanwhile_runs_again_and_one_meeting_a_person_s_change_is_409(
) -> None:
    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    case = registered_case(app)
    app.refer_for_preparation(case.id, actor="Rut", preparers=[{"name": "Kerstin"}], due_date=date(2025, 10, 31),
                              referred_on=date(2025, 5, 20))
    real_load = app.load

    def refer(actor: str, due_date: date) -> Initiative:
        return app.refer_for_preparation(case.id, actor=actor, preparers=[{"name": "Kerstin"}], due_date=due_date,
                                         referred_on=date(2025, 11, 3))

    def meanwhile(change: Any) -> None:
        """`change` is saved by someone else between the next command's load and its save."""
        def load(aggregate_id: UUID, aggregate_class: type) -> Any:
            loaded = real_load(aggregate_id, aggregate_class)
            app.load = real_load  # type: ignore[method-assign]
            change()
            return loaded
        app.load = load  # type: ignore[method-assign]

    meanwhile(lambda: app.raise_due_reminders(date(2025, 11, 1)))
    referred = refer("Rut", date(2025, 12, 1))
    assert referred.due_date == date(2025, 12, 1)
    assert list(referred.reminders_raised) == ["preparation_due_passed:2025-10-31"]

    meanwhile(lambda: refer("Rut", date(2026, 1, 15)))
    with pytest.raises(ConcurrentChange):
        refer("Hans", date(2026, 2, 1))
    assert app.get_initiative(case.id).due_date == date(2026, 1, 15)
    assert [type(e).__qualname__ for e in app.events.get(case.id)][-3:] == [
        "Initiative.ReminderRaised", "Initiative.ReferredForPreparation", "Initiative.ReferredForPreparation"]


def meetings_event(position: int, type_: str, payload: dict[str, Any], diary_number: str | None = None) -> dict:
    return {"position": position, "type": type_, "aggregate_id": "meeting-1", "actor": "Sara",
            "diary_number": diary_number, "event_id": f"event-{position}", "payload": payload}


def test_the_end_of_the_appeal_period_gives_legal_force_to_each_case_decided_there_once() -> None:
    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    case = registered_case(app)
    app.refer_for_preparation(case.id, actor="Rut", preparers=[{"name": "Kerstin"}], due_date=date(2025, 10, 31),
                              referred_on=date(2025, 5, 20))
    app.draft_answer(case.id, actor="Hans", summary="…", proposed_outcome="considered_answered", proposal="…")
    number = app.get_initiative(case.id).diary_number
    decisions = [{"diary_number": number, "paragraph": "§ 1", "outcome": "considered_answered"},
                 {"diary_number": "RUN 2099-0001", "paragraph": "§ 2", "outcome": "approved"},
                 {"diary_number": "RUN 2099-0002", "paragraph": "§ 3", "outcome": "referred_back"},
                 {"diary_number": "RUN 2099-0003", "paragraph": "§ 4", "outcome": "approved",
                  "proposal_to": "Regionfullmäktige"}]
    for event in (
        meetings_event(1, "Meeting.ItemAdded", {"body": "Regionala utvecklingsnämnden", "meeting": "RUN 2025-11-12",
                                                "meeting_date": "2025-11-12"}, number),
        meetings_event(2, "Meeting.ItemDecided", {"outcome": "considered_answered", "paragraph": "§ 1", "text": "…",
                                                  "decided_on": "2025-11-12", "body": "Regionala utvecklingsnämnden"},
                       number),
        meetings_event(3, "Meeting.MinutesAdjusted", {"adjusted_on": "2025-11-17", "decisions": decisions[:1]}),
    ):
        assert app.apply_inbound("meetings", event) == "applied"
    reminder = {"kind": "minutes_not_adjusted", "key": "k", "due_on": "2025-11-26", "role": "secretary",
                "diary_number": None, "title": "RUN 2025-11-12", "text": "…", "details": {}}
    assert app.apply_inbound("meetings", meetings_event(4, "Meeting.ReminderRaised", reminder)) == "ignored"

    appeal = meetings_event(5, "Meeting.ReminderRaised", {
        **reminder, "kind": "appeal_period_ended", "due_on": "2025-12-09", "details": {"decisions": decisions}})
    assert app.apply_inbound("meetings", appeal) == "applied"
    assert app.get_initiative(case.id).legal_force_on == date(2025, 12, 9)
    [incident] = app.list_incidents({}).items  # the unknown case; neither a referral back nor a proposal stands
    assert (incident["diary_number"], incident["event_type"]) == ("RUN 2099-0001", "Meeting.ReminderRaised")
    assert app.apply_inbound("meetings", appeal) == "duplicate"
    assert [type(e).__qualname__ for e in app.events.get(case.id)][-1] == "Initiative.DecisionGainedLegalForce"
