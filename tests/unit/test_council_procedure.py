"""The council's procedure in the aggregates: two levels, attendance, quorum, votes, reservations, jäv."""
from __future__ import annotations

from datetime import date, datetime, timezone
from dataclasses import replace
from typing import Any

import pytest

from services.initiatives.domain import Initiative, State
from services.meetings.domain import Meeting
from shared.application import CaseApplication
from shared.errors import InvalidRequest, RuleBroken
from shared.procedure import check_decision_level

ACTOR = "Sara Sekreterare"
RUN, RS, RF = "Regionala utvecklingsnämnden", "Regionstyrelsen", "Regionfullmäktige"
CHAIN = {"addressed_to": RF, "preparing_bodies": [RUN, RS]}


def level(body: str, outcome: str = "considered_answered", proposal_to: str | None = None,
          proposals: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    check_decision_level(body=body, outcome=outcome, proposal_to=proposal_to, proposals=proposals, **CHAIN)


def test_a_motion_is_proposed_by_each_preparing_body_in_turn_and_concluded_by_the_council() -> None:
    level(RUN, proposal_to=RS)
    level(RS, proposal_to=RF, proposals=[{"body": RUN}])
    level(RF, proposals=[{"body": RUN}, {"body": RS}])
    level("regionfullmäktige", proposals=[{"body": "regionala utvecklingsnämnden"}, {"body": RS}])  # any case
    level(RUN, outcome="tabled")  # a body's own procedural decision


@pytest.mark.parametrize("body, outcome, proposal_to, proposals, rule", [
    (RUN, "considered_answered", None, [], "two-levels"),  # a committee cannot conclude a motion to the council
    (RF, "approved", None, [{"body": RUN}], "two-levels"),  # the council decides before regionstyrelsen proposed
    (RS, "approved", RF, [], "two-levels"),  # regionstyrelsen proposes before the committee did
    (RF, "approved", RS, [{"body": RUN}, {"body": RS}], "two-levels"),  # the council proposes to no one
    (RUN, "approved", RS, [{"body": RUN}], "two-levels"),  # the committee proposed already in this round
    ("Kulturnämnden", "approved", RF, [], "referred-bodies"),  # a body the case was not referred to
])
def test_a_decision_the_procedure_forbids_is_refused_naming_the_rule(
        body: str, outcome: str, proposal_to: str | None, proposals: list[dict[str, Any]], rule: str) -> None:
    with pytest.raises(RuleBroken) as refused:
        level(body, outcome, proposal_to, proposals)
    assert refused.value.rule == rule and refused.value.problem()["rule"] == rule


def test_a_proposal_goes_to_the_next_body_and_proposes_a_conclusion() -> None:
    for proposal_to in (RUN, RF):  # backwards, or past regionstyrelsen
        with pytest.raises(InvalidRequest) as elsewhere:
            level(RUN if proposal_to == RF else RS, proposal_to=proposal_to, proposals=[{"body": RUN}][:proposal_to == RUN])
        assert elsewhere.value.errors[0]["field"] == "proposal_to"
    with pytest.raises(InvalidRequest) as tabled:
        level(RUN, outcome="tabled", proposal_to=RS)
    assert tabled.value.errors[0]["field"] == "outcome"


def motion() -> Initiative:
    initiative = Initiative(kind="motion", title="Samverkan", text="…", proposal_clauses=[], submitted_on=date(2021, 3, 15),
                            submitters=[{"name": "M", "party": "KD"}], addressed_to=RF, actor=ACTOR)
    initiative.register(diary="RUN", diary_number="RUN 2021-0001", registered_on=date(2021, 3, 16), actor=ACTOR)
    initiative.refer_for_preparation(preparers=[{"name": "H"}], due_date=None, referred_on=date(2021, 4, 20),
                                     preparing_bodies=[RUN, RS], actor=ACTOR)
    initiative.draft_answer(answer={"summary": "s"}, actor=ACTOR)
    return initiative


def test_a_motions_proposals_make_it_proposed_until_the_council_decides() -> None:
    initiative = motion()
    initiative.schedule_for_decision(body=RUN, meeting="RUN 2021-11-15", meeting_date=date(2021, 11, 15), actor=ACTOR)
    initiative.record_decision(outcome="considered_answered", paragraph="§ 45", text="t", decided_on=date(2021, 11, 15),
                               proposal_to=RS, actor=ACTOR)
    assert initiative.state is State.PROPOSED and initiative.schedule is None
    assert initiative.standing == f"proposed by {RUN} 2021-11-15 § 45, awaiting {RS}"
    assert initiative.allowed_commands() == ("schedule_for_decision", "refer_for_preparation", "withdraw")
    initiative.schedule_for_decision(body=RF, meeting="RF", meeting_date=None, actor=ACTOR)
    with pytest.raises(RuleBroken):
        initiative.record_decision(outcome="approved", paragraph="§ 3", text="t", decided_on=date(2021, 11, 30),
                                   actor=ACTOR)
    initiative.unschedule(reason="utgår", actor=ACTOR)
    assert initiative.state is State.PROPOSED  # back to waiting, its proposal kept
    initiative.schedule_for_decision(body=RS, meeting="RS", meeting_date=None, actor=ACTOR)
    initiative.record_decision(outcome="considered_answered", paragraph="§ 9", text="t", decided_on=date(2021, 12, 7),
                               proposal_to=RF, actor=ACTOR)
    initiative.schedule_for_decision(body=RF, meeting="RF", meeting_date=None, actor=ACTOR)
    initiative.record_decision(outcome="referred_back", paragraph="§ 4", text="t", decided_on=date(2022, 2, 15),
                               actor=ACTOR)
    assert initiative.state is State.IN_PREPARATION and initiative.proposals == []  # prepared anew


def test_a_case_with_no_preparing_bodies_keeps_one_level() -> None:
    one_level = {"addressed_to": RUN, "preparing_bodies": [], "proposals": []}
    check_decision_level(body="RUN", outcome="approved", proposal_to=None, **one_level)  # whoever it is put before
    with pytest.raises(RuleBroken) as proposing:
        check_decision_level(body=RUN, outcome="approved", proposal_to=RF, **one_level)
    assert proposing.value.rule == "two-levels"
    initiative = motion()
    with pytest.raises(InvalidRequest) as addressed:
        initiative.refer_for_preparation(preparers=[{"name": "H"}], due_date=None, referred_on=date(2021, 5, 1),
                                         preparing_bodies=[RF], actor=ACTOR)
    assert addressed.value.errors[0]["field"] == "preparing_bodies.0"


MEMBERS = [
    {"name": "Ordförande", "role": "chair", "party": "S"}, {"name": "Anna", "role": "member", "party": "S"},
    {"name": "Bo", "role": "member", "party": "KD"}, {"name": "Cecilia", "role": "member", "party": "M"},
    {"name": "Dan", "role": "member", "party": "KD"}, {"name": "Ersättare", "role": "substitute", "party": "KD"},
    {"name": "Adjungerad", "role": "co_opted", "party": None},
]


def open_meeting(present: list[dict[str, Any]], members: list[dict[str, Any]] = MEMBERS) -> Meeting:
    meeting = Meeting(body_id=__import__("uuid").uuid4(), body=RF, title="RF", place=None, link=None, actor=ACTOR,
                      starts_at=datetime(2022, 2, 15, 8, tzinfo=timezone.utc))
    meeting.convene(convened_on=date(2022, 2, 1), actor=ACTOR)
    meeting.add_item(item_id="i", title="Motion", diary_number="RUN 2021-0001", goal_area=None, actor=ACTOR)
    meeting.record_attendance(present=present, members=members, actor=ACTOR)
    meeting.open(actor=ACTOR)
    return meeting


def decide(meeting: Meeting, **minutes: Any) -> dict[str, Any]:
    meeting.decide_item(item_id="i", paragraph_number=1, outcome="approved", text="Bifalls.", actor=ACTOR, **minutes)
    return meeting.paragraphs[-1]


def names(*people: str, serving: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [{"name": p, "serving_for": (serving or {}).get(p)} for p in people]


def refused(error: type, meeting: Meeting, **minutes: Any) -> Any:
    with pytest.raises(error) as caught:
        decide(meeting, **minutes)
    return caught.value


def test_attendance_is_checked_against_the_bodys_members_on_the_day() -> None:
    meeting = open_meeting(names("Ordförande", "Anna", "Ersättare", "Adjungerad", serving={"Ersättare": "Bo"}))
    assert meeting.seats == 5 and meeting.attendance[0] == {"name": "Ordförande", "role": "chair", "party": "S",
                                                            "serving_for": None}
    for present, field in [
        (names("Okänd"), "present.0.name"),
        (names("Anna", "anna"), "present.1.name"),
        (names("Anna", "Ersättare", serving={"Ersättare": "Anna"}), "present.1.serving_for"),  # Anna is present
        (names("Bo", serving={"Bo": "Anna"}), "present.0.serving_for"),  # a member serves for no one
        (names("Ersättare", serving={"Ersättare": "Adjungerad"}), "present.0.serving_for"),  # not a member
    ]:
        with pytest.raises(InvalidRequest) as bad:
            open_meeting(present)
        assert bad.value.errors[0]["field"] == field


def test_without_a_quorum_the_body_cannot_decide() -> None:
    two_and_a_guest = open_meeting(names("Ordförande", "Anna", "Adjungerad", "Ersättare"))  # Ersättare not serving
    assert refused(RuleBroken, two_and_a_guest).rule == "quorum"
    three = open_meeting(names("Ordförande", "Anna", "Ersättare", serving={"Ersättare": "Bo"}))
    assert decide(three)["vote"] is None  # 3 of 5 serve: a quorum
    with_jav = open_meeting(names("Ordförande", "Anna", "Ersättare", serving={"Ersättare": "Bo"}))
    assert refused(RuleBroken, with_jav, recused=["Anna"]).rule == "quorum"  # 2 of 5 take part in this item
    assert refused(InvalidRequest, with_jav, recused=["Dan"]).errors[0]["field"] == "recused.0"  # not present


TWO_PROPOSALS = [{"by": "Regiondirektören", "text": "Bifalls."}, {"by": "Bo", "by_member": True, "text": "Avslås."}]


def ballots(**votes: str) -> dict[str, Any]:
    return {"yes_proposal": 1, "no_proposal": 2, "ballots": [{"member": m, "vote": v} for m, v in votes.items()]}


def test_a_vote_counts_each_member_taking_part_and_a_tie_takes_the_chairs_casting_vote() -> None:
    meeting = open_meeting(names("Ordförande", "Anna", "Bo", "Cecilia", "Dan"))
    tie = ballots(Ordförande="yes", Anna="yes", Bo="no", Dan="no", Cecilia="abstain")
    assert refused(RuleBroken, meeting, proposals=TWO_PROPOSALS, vote=tie).rule == "casting-vote"
    against_the_chair = {**tie, "casting_vote": "no"}
    assert refused(InvalidRequest, meeting, proposals=TWO_PROPOSALS, vote=against_the_chair).errors[0]["field"] == \
        "vote.casting_vote"
    missing = ballots(Ordförande="yes", Anna="yes", Bo="no", Dan="no")
    assert "missing: Cecilia" in refused(InvalidRequest, meeting, proposals=TWO_PROPOSALS, vote=missing).errors[0][
        "message"]
    stranger = ballots(Ordförande="yes", Anna="yes", Bo="no", Dan="no", Cecilia="no", Ersättare="no")
    assert refused(InvalidRequest, meeting, proposals=TWO_PROPOSALS, vote=stranger).errors[0]["field"] == \
        "vote.ballots.5.member"
    assert refused(InvalidRequest, meeting, proposals=TWO_PROPOSALS[:1], vote=tie).errors[0]["field"] == "vote"
    not_tied = {**ballots(Ordförande="yes", Anna="yes", Bo="no", Dan="no", Cecilia="no"), "casting_vote": "yes"}
    assert refused(InvalidRequest, meeting, proposals=TWO_PROPOSALS, vote=not_tied).errors[0]["field"] == \
        "vote.casting_vote"

    paragraph = decide(meeting, proposals=TWO_PROPOSALS, vote={**tie, "casting_vote": "yes"},
                       reservations=[{"by": "KD", "party_group": True, "reason": "Vi ville avslå."}])
    assert {k: paragraph["vote"][k] for k in ("yes", "no", "abstain", "result")} == \
        {"yes": 2, "no": 2, "abstain": 1, "result": "yes"}


def test_only_a_member_who_took_part_and_voted_against_may_reserve() -> None:
    meeting = open_meeting(names("Ordförande", "Anna", "Bo", "Cecilia", "Dan", "Adjungerad"))
    vote = ballots(Ordförande="yes", Anna="yes", Bo="no", Cecilia="abstain", Dan="yes")
    cases = [
        ({"by": "Anna"}, RuleBroken),  # voted for the decision
        ({"by": "Cecilia"}, RuleBroken),  # abstained: took no part in the decision
        ({"by": "Adjungerad"}, InvalidRequest),  # present, no vote
        ({"by": "Okänd"}, InvalidRequest),  # no member
        ({"by": "KD", "party_group": True}, RuleBroken),  # Dan of KD voted yes
        ({"by": "C", "party_group": True}, InvalidRequest),  # no one of the group takes part
    ]
    for reservation, error in cases:
        refused(error, meeting, proposals=TWO_PROPOSALS, vote=vote, reservations=[reservation])
    assert decide(meeting, proposals=TWO_PROPOSALS, vote=vote, reservations=[{"by": "Bo", "reason": None}])[
        "reservations"] == [{"by": "Bo", "reason": None}]


def test_a_member_with_jav_neither_votes_nor_counts() -> None:
    meeting = open_meeting(names("Ordförande", "Anna", "Bo", "Cecilia"))
    vote = ballots(Ordförande="yes", Anna="yes", Bo="no", Cecilia="no")
    assert refused(InvalidRequest, meeting, proposals=TWO_PROPOSALS, vote=vote, recused=["Cecilia"]).errors[0][
        "field"] == "vote.ballots.3.member"
    assert decide(meeting, proposals=TWO_PROPOSALS, vote=ballots(Ordförande="yes", Anna="yes", Bo="no"),
                  recused=["Cecilia"])["recused"] == ["Cecilia"]


def test_a_body_whose_members_are_not_on_record_takes_the_attendance_as_given() -> None:
    meeting = open_meeting(names("Anna Ordförande", "Veronica Kerr"), members=[])
    assert meeting.seats is None
    vote = ballots(**{"Anna Ordförande": "yes", "Okänd": "no"})
    proposals = [TWO_PROPOSALS[0], {**TWO_PROPOSALS[1], "by": "Veronica Kerr"}]
    assert refused(InvalidRequest, meeting, proposals=proposals, vote=vote).errors[0]["field"] == \
        "vote.ballots.1.member"  # a vote by someone not present is refused all the same
    assert decide(meeting)["outcome"] == "approved"


class StoredApp(CaseApplication):
    name = "procedure"


def test_events_stored_before_the_minutes_recorded_more_read_back_with_empty_records() -> None:
    """Version 1 of ItemDecided, AttendanceRecorded and ReferredForPreparation are upcast when read."""
    app = StoredApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    meeting = open_meeting(names("Anna"), members=[])
    decide(meeting)
    initiative = motion()
    for body, proposal_to in ((RUN, RS), (RS, RF), (RF, None)):
        initiative.schedule_for_decision(body=body, meeting=body, meeting_date=None, actor=ACTOR, meeting_id="m")
        initiative.record_decision(outcome="approved", paragraph="§ 2", text="t", decided_on=date(2022, 2, 15),
                                   proposal_to=proposal_to, actor=ACTOR)
    initiative.finalise(minutes_adjusted_on=date(2022, 2, 18), actor=ACTOR)
    initiative.dispatch(recipients=[{"name": "M"}], dispatched_on=date(2022, 2, 21), actor=ACTOR)
    assert initiative.enclosures == [{"kind": "extract_of_minutes", "meeting_id": "m", "paragraph": "§ 2",
                                      "title": f"Protokollsutdrag {RF} 2022-02-15 § 2"}]
    app.save(meeting, initiative)
    added = ("seats", "proposal_to", "proposals", "vote", "reservations", "recused", "preparing_bodies",
             "addressed_to", "enclosures", "class_version")
    for aggregate in (meeting, initiative):
        replayed = None
        for stored in app.recorder.select_events(aggregate.id):
            state = app.mapper.transcoder.decode(stored.state)
            if state.get("class_version") == 2:  # as version 1 stored it
                state = {name: value for name, value in state.items() if name not in added}
            replayed = app.mapper.to_domain_event(replace(stored, state=app.mapper.transcoder.encode(state))).mutate(
                replayed)
        if isinstance(replayed, Meeting):
            assert replayed.seats is None and replayed.paragraphs[0]["proposals"] == []
            assert replayed.paragraphs[0]["vote"] is None and replayed.attendance[0]["serving_for"] is None
        else:
            assert replayed.preparing_bodies == [] and replayed.state is State.DISPATCHED
            assert replayed.enclosures == []


def test_roles_typed_in_swedish_count_as_the_memberships_words_and_names_are_spelt_as_present() -> None:
    meeting = open_meeting([{"name": "Anna Ordförande", "role": "Ordförande"}, {"name": "Bo", "role": "ledamot"},
                            {"name": "Eva", "role": "ersättare"}], members=[])
    assert [a["role"] for a in meeting.attendance] == ["chair", "member", "substitute"]
    tie = {**ballots(**{"anna ordförande": "yes", "BO": "no"}), "casting_vote": "yes"}  # Eva, not serving, no vote
    paragraph = decide(meeting, proposals=[TWO_PROPOSALS[0], {"by": "bo", "by_member": True, "text": "Avslås."}],
                       vote=tie, reservations=[{"by": "bo"}])
    assert [b["member"] for b in paragraph["vote"]["ballots"]] == ["Anna Ordförande", "Bo"]
    assert paragraph["reservations"] == [{"by": "Bo"}] and paragraph["proposals"][1]["by"] == "Bo"


def test_a_member_whose_role_changes_on_the_day_holds_one_seat() -> None:
    changing = [{**MEMBERS[1], "role": "member"}, {**MEMBERS[1], "role": "vice_chair"}]
    meeting = open_meeting(names("Ordförande", "Anna", "Bo"), members=[*MEMBERS[:1], *changing, *MEMBERS[2:]])
    assert meeting.seats == 5
    assert decide(meeting)["outcome"] == "approved"  # 3 of 5


def test_an_appeal_period_ending_on_a_holiday_runs_to_the_next_working_day() -> None:
    from shared.clock import statutory_last_day
    assert statutory_last_day(date(2025, 12, 9)) == date(2025, 12, 9)  # a Tuesday
    assert statutory_last_day(date(2025, 12, 24)) == date(2025, 12, 29)  # julafton, juldagen, annandagen, a weekend
    assert statutory_last_day(date(2025, 6, 20)) == date(2025, 6, 23)  # midsommarafton
    assert statutory_last_day(date(2026, 1, 3)) == date(2026, 1, 5)  # a Saturday
    assert statutory_last_day(date(2025, 1, 6)) == date(2025, 1, 7)  # trettondedag jul
    meeting = open_meeting(names("Anna"), members=[])
    decide(meeting)
    meeting.appoint_adjusters(adjusters=["Anna"], actor=ACTOR)
    meeting.close(actor=ACTOR)
    meeting.sign_minutes(adjuster="Anna", signed_on=date(2025, 12, 2), actor=ACTOR)
    meeting.record_public_notice(notice_on=date(2025, 12, 3), actor=ACTOR)  # three weeks later: julafton
    [appeal] = [r for r in meeting.reminders() if r.kind == "appeal_period_ended"]
    assert appeal.due_on == date(2025, 12, 30) and appeal.details["appeal_period_last_day"] == "2025-12-29"


def test_a_reminder_marked_done_by_its_role_leaves_the_list_once() -> None:
    from shared.errors import CommandNotAllowed, Forbidden, NotFound
    meeting = open_meeting(names("Anna"), members=[])
    decide(meeting)
    meeting.close(actor=ACTOR)  # not adjusted: the secretary is reminded 14 days after the meeting
    assert meeting.raise_due_reminders(today=date(2022, 3, 1), actor=ACTOR) == 1
    [reminder] = meeting.open_reminders()
    with pytest.raises(Forbidden):
        meeting.mark_reminder_done(key=reminder["key"], roles={"registrar"}, actor="Rut")
    with pytest.raises(NotFound):
        meeting.mark_reminder_done(key="no-such-key", roles={"secretary"}, actor=ACTOR)
    meeting.mark_reminder_done(key=reminder["key"], roles={"secretary", "registrar"}, actor=ACTOR)
    assert meeting.open_reminders() == [] and meeting.reminders_done[reminder["key"]]["by"] == ACTOR
    with pytest.raises(CommandNotAllowed):
        meeting.mark_reminder_done(key=reminder["key"], roles={"secretary"}, actor=ACTOR)
    assert meeting.raise_due_reminders(today=date(2022, 3, 2), actor=ACTOR) == 0  # done is not raised again
