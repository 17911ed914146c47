"""Effective dates: every event's business date is named beside its events, and reads take events up to a date."""
from __future__ import annotations

import importlib
from datetime import date, datetime, timezone
from typing import Any

import pytest


from shared.context import also
from shared.domain import TracedAggregate
from shared.envelope import describe, effective_on, effective_on_of, is_mapped

DOMAIN_MODULES = ("services.initiatives.domain", "services.letters_of_intent.domain", "services.meetings.domain",
                  "services.evaluations.domain", "shared.reminders", "shared.inbox", "shared.serials")

# The library's base event, and its default creation event (every aggregate here names its own).
NOT_PUBLISHED = {"Event", "Created"}


def every_event_class() -> list[type]:
    found = []
    for name in DOMAIN_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, TracedAggregate) and value.__module__ == name:
                for attribute in vars(value).values():
                    if isinstance(attribute, type) and issubclass(attribute, TracedAggregate.Event) \
                            and attribute.__qualname__.startswith(value.__qualname__ + ".") \
                            and attribute.__qualname__.rsplit(".", 1)[-1] not in NOT_PUBLISHED:
                        found.append(attribute)
    return found


def test_every_event_class_names_its_business_date_or_says_it_has_none() -> None:
    events = every_event_class()
    assert len(events) > 50
    unmapped = [cls.__qualname__ for cls in events if not is_mapped(cls)]
    assert unmapped == [], f"name their business date (or None) in the aggregate's effective_dates: {unmapped}"


def test_the_named_fields_exist_on_the_events() -> None:
    from shared.envelope import date_field

    for cls in every_event_class():
        field = date_field(cls)
        if field is not None:
            assert field in cls.__dataclass_fields__, f"{cls.__qualname__}.{field}"


def _initiative() -> Any:
    from services.initiatives.domain import Initiative

    return Initiative(kind="motion", title="T", text="x", proposal_clauses=["att"], submitters=[{"name": "A"}],
                      submitted_on=date(2021, 3, 1), addressed_to="Regionfullmäktige", actor="a")


def test_the_effective_date_is_the_events_own_then_its_business_date_then_the_day_it_was_recorded() -> None:
    initiative = _initiative()
    initiative.register(diary="RUN", diary_number="RUN 2021-0001", registered_on=date(2021, 3, 2), actor="a")
    initiative.refer_for_preparation(preparers=[{"name": "P"}], due_date=None, referred_on=date(2021, 3, 3),
                                     actor="a")
    initiative.draft_answer(answer={"summary": "s"}, actor="a")
    with also(effective_on=date(2021, 9, 1), imported={"by": "r", "file": "f.json", "sha256": "0" * 64,
                                                       "imported_at": "2026-12-02T08:00:00+00:00"}):
        initiative.draft_answer(answer={"summary": "t"}, actor="a")
    events = initiative.collect_events()
    assert [effective_on(e) for e in events[:3]] == [date(2021, 3, 1), date(2021, 3, 2), date(2021, 3, 3)]
    from shared import clock

    assert effective_on(events[3]) == clock.local_date(events[3].timestamp)
    assert effective_on(events[4]) == date(2021, 9, 1)
    described = describe(events[4])
    assert described["effective_on"] == "2021-09-01" and described["imported"]["file"] == "f.json"
    assert "effective_on" not in described["payload"] and "imported" not in described["payload"]
    assert describe(events[1])["imported"] is None


def test_an_event_recorded_late_at_night_takes_effect_on_the_swedish_day() -> None:
    envelope = {"type": "Initiative.AnswerDrafted", "occurred_at": "2025-12-31T23:30:00+00:00", "payload": {}}
    assert effective_on_of(envelope) == date(2026, 1, 1)


def test_an_envelope_kept_from_before_the_field_reads_its_business_date_from_the_payload() -> None:
    import services.initiatives.domain  # noqa: F401 - registers the aggregate's table

    envelope = {"type": "Initiative.Registered", "occurred_at": "2026-12-02T08:00:00+00:00",
                "payload": {"registered_on": "2021-03-02"}}
    assert effective_on_of(envelope) == date(2021, 3, 2)
    assert effective_on_of({**envelope, "effective_on": "2021-03-05"}) == date(2021, 3, 5)


def test_what_happens_in_a_meeting_takes_effect_on_the_meetings_day() -> None:
    from uuid import uuid4

    from services.meetings.domain import Meeting

    meeting = Meeting(body_id=uuid4(), body="Nämnden", title="M", place=None, link=None, actor="s",
                      starts_at=datetime(2025, 11, 12, 8, tzinfo=timezone.utc))
    meeting._opened(actor="s")
    scheduled, opened = meeting.collect_events()
    assert effective_on(opened) == date(2025, 11, 12)
    assert effective_on(scheduled) == date(2025, 11, 12)  # recorded after it was held: it was there by its day
    from shared import clock

    ahead = Meeting(body_id=uuid4(), body="Nämnden", title="M", place=None, link=None, actor="s",
                    starts_at=datetime(2999, 1, 4, 8, tzinfo=timezone.utc))
    (planned,) = ahead.collect_events()
    assert effective_on(planned) == clock.local_date(planned.timestamp)  # scheduled ahead: planned when recorded


def drafted_case(on: date) -> Any:
    from datetime import timedelta

    from services.initiatives.domain import Initiative

    case = Initiative(kind="initiative", title="T", text="t", proposal_clauses=[], submitters=[{"name": "K"}],
                      submitted_on=on, addressed_to="Nämnden", actor="r")
    case.register(diary="RUN", diary_number=f"RUN {on.year}-0001", registered_on=on, actor="r")
    case.refer_for_preparation(preparers=[{"name": "P"}], due_date=on + timedelta(days=60), referred_on=on, actor="r")
    case.draft_answer(answer={"summary": "s", "proposed_outcome": "approved", "proposal": "p"}, actor="c")
    return case


def test_a_case_scheduled_for_a_meeting_ahead_still_shows_what_happens_before_it_in_effect_today() -> None:
    from datetime import timedelta

    from shared import clock

    today = clock.today()
    case = drafted_case(today)
    case.schedule_for_decision(body="Nämnden", meeting="M", meeting_date=today + timedelta(days=30), actor="s")
    case.register_document(document_id="d1", kind="remissvar", direction="incoming", title="Svar", dated=today,
                           counterpart="Umeå kommun", file=None, registered_on=today, secret_under=None, actor="r")
    events = case.collect_events()
    assert [effective_on(e) for e in events] == [today] * len(events)  # the meeting ahead takes effect when planned

    recorded_late = drafted_case(date(2025, 5, 17))
    recorded_late.schedule_for_decision(body="Nämnden", meeting="M", meeting_date=date(2025, 11, 12), actor="s")
    assert effective_on(recorded_late.collect_events()[-1]) == date(2025, 11, 12)  # after the meeting: its day


def test_in_effect_takes_each_aggregates_events_up_to_the_first_that_took_effect_later() -> None:
    from shared.timeline import case_timeline

    def envelope(version: int, effective: str, occurred: str, kind: str = "Initiative.X") -> dict[str, Any]:
        return {"source": "initiatives", "aggregate_id": "a", "aggregate_version": version, "position": version,
                "type": kind, "event_id": f"e{version}", "occurred_at": occurred, "effective_on": effective,
                "diary_number": "RUN 2021-0001", "payload": {}}

    feed = [envelope(1, "2021-03-01", "2026-12-02T08:00:00+00:00"),
            envelope(2, "2021-05-01", "2026-12-02T08:00:01+00:00"),
            envelope(3, "2026-12-02", "2026-12-02T08:00:02+00:00"),   # recorded today, no business date
            envelope(4, "2021-06-01", "2026-12-02T08:00:03+00:00")]   # after it in version: not in effect before
    on = case_timeline({"initiatives": feed}, "RUN 2021-0001", in_effect_on=date(2021, 6, 30))
    assert [e["aggregate_version"] for e in on] == [1, 2]
    assert [e["aggregate_version"] for e in case_timeline({"initiatives": feed}, "RUN 2021-0001",
                                                         in_effect_on=date(2026, 12, 2))] == [1, 2, 4, 3]


def test_a_history_query_takes_as_of_or_in_effect_on_never_both() -> None:
    from shared.errors import InvalidRequest
    from shared.http import load
    from shared.schemas import HistoryQuery

    assert load(HistoryQuery(), {"in_effect_on": "2025-11-12"})["in_effect_on"] == date(2025, 11, 12)
    with pytest.raises(InvalidRequest) as refused:
        load(HistoryQuery(), {"in_effect_on": "2025-11-12", "as_of": "3"})
    assert refused.value.problem()["errors"][0]["field"] == "in_effect_on"
    with pytest.raises(InvalidRequest) as refused:
        load(HistoryQuery(), {"in_effect_on": "3025-11-12"})
    assert refused.value.problem()["errors"][0]["field"] == "in_effect_on"
