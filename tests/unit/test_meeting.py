"""The Body and Meeting aggregates' rules, without a store."""
from __future__ import annotations

from datetime import date, datetime, timezone
from uuid import uuid4

import pytest

from services.meetings.domain import Body, Meeting, MeetingState
from shared.application import replay
from shared.errors import CommandNotAllowed, InvalidRequest

ACTOR = "Sara Sekreterare"


def body() -> Body:
    return Body(name="Regionala samverkansrådet", kind="collaboration_council", convener="Region Västernorrland",
                format="digital", cadence="ca 1 gång/månad", purpose=None, actor=ACTOR)


def meeting(*titles: str) -> Meeting:
    held = Meeting(body_id=uuid4(), body="RSR", title="Möte", starts_at=datetime(2025, 3, 1, 9, tzinfo=timezone.utc),
                   place=None, link=None, actor=ACTOR)
    for number, title in enumerate(titles):
        held.add_item(item_id=f"i{number}", title=title, diary_number=f"RUN 2025-{number:04d}", goal_area=None,
                      actor=ACTOR)
    return held


def opened(*titles: str) -> Meeting:
    held = meeting(*titles)
    held.convene(convened_on=date(2025, 2, 20), actor=ACTOR)
    held.open(actor=ACTOR)
    return held


def test_membership_is_answered_for_a_date() -> None:
    council = body()
    council.add_member(membership_id="m1", member={"name": "Kommun A", "role": "member"},
                       from_date=date(2024, 1, 1), actor=ACTOR)
    council.end_membership(membership_id="m1", to_date=date(2024, 12, 31), actor=ACTOR)
    assert [m["name"] for m in council.members_on(date(2024, 12, 31))] == ["Kommun A"]
    assert council.members_on(date(2025, 1, 1)) == []
    with pytest.raises(InvalidRequest):
        council.add_member(membership_id="m1", member={"name": "X", "role": "member"},
                           from_date=date(2025, 1, 1), actor=ACTOR)


def test_the_agenda_numbers_active_items_in_order() -> None:
    held = meeting("A", "B", "C")
    held.withdraw_item(item_id="i1", reason="utgår", actor=ACTOR)
    held.reorder_items(item_ids=["i2", "i0"], actor=ACTOR)
    assert [(i["number"], i["title"]) for i in held.agenda] == [(1, "C"), (2, "A")]
    with pytest.raises(InvalidRequest):
        held.add_item(item_id="i9", title="igen", diary_number="RUN 2025-0000", goal_area=None, actor=ACTOR)


def test_the_agenda_is_fixed_once_the_meeting_opens() -> None:
    held = opened("A")
    with pytest.raises(CommandNotAllowed) as refused:
        held.add_item(item_id="x", title="sent", diary_number=None, goal_area=None, actor=ACTOR)
    assert refused.value.state == "open"


def test_a_decision_carries_the_case_and_its_paragraph_and_an_item_is_decided_once() -> None:
    held = opened("A")
    held.decide_item(item_id="i0", paragraph_number=22, outcome="considered_answered", text="…", actor=ACTOR)
    decided = held.collect_events()[-1]
    assert (decided.paragraph, decided.diary_number, decided.body) == ("§ 22", "RUN 2025-0000", "RSR")
    with pytest.raises(CommandNotAllowed):
        held.decide_item(item_id="i0", paragraph_number=23, outcome="approved", text="…", actor=ACTOR)


def test_adjustment_needs_every_adjuster_and_lists_the_decisions() -> None:
    held = opened("A", "B")
    held.decide_item(item_id="i0", paragraph_number=1, outcome="approved", text="…", actor=ACTOR)
    held.decide_item(item_id="i1", paragraph_number=2, outcome="tabled", text="…", actor=ACTOR)
    held.appoint_adjusters(adjusters=["Anna", "Bo"], actor=ACTOR)
    held.close(actor=ACTOR)
    held.sign_minutes(adjuster="Anna", signed_on=date(2025, 3, 5), actor=ACTOR)
    assert held.state is MeetingState.CLOSED
    with pytest.raises(CommandNotAllowed):
        held.sign_minutes(adjuster="Anna", signed_on=date(2025, 3, 5), actor=ACTOR)
    held.sign_minutes(adjuster="Bo", signed_on=date(2025, 3, 6), actor=ACTOR)
    events = held.collect_events()
    assert held.state is MeetingState.ADJUSTED and held.adjusted_on == date(2025, 3, 6)
    assert [d["outcome"] for d in events[-1].decisions] == ["approved", "tabled"]
    assert vars(replay(events)) == vars(held)
    assert held.allowed_commands() == ("record_public_notice",)
    held.record_public_notice(notice_on=date(2025, 3, 7), actor=ACTOR)
    assert held.allowed_commands() == ()  # nothing left: the page offers no notice form again
    with pytest.raises(CommandNotAllowed):
        held.record_public_notice(notice_on=date(2025, 3, 8), actor=ACTOR)


def test_a_meeting_sent_in_utc_is_on_its_swedish_day() -> None:
    """00:30 on 2 January in Stockholm, sent as 23:30 UTC on 1 January: the case is told 2 January."""
    held = Meeting(body_id=uuid4(), body="RSR", title="Möte", starts_at=datetime(2028, 1, 1, 23, 30, tzinfo=timezone.utc),
                   place=None, link=None, actor=ACTOR)
    held.add_item(item_id="i1", title="Ärende", diary_number="RUN 2028-0001", goal_area=None, actor=ACTOR)
    added = held.collect_events()[-1]
    assert added.meeting_date == date(2028, 1, 2) and held.local_date == date(2028, 1, 2)
