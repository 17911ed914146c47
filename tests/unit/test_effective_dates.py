"""Effective dates: every event's business date is named beside its events, and reads take events up to a date."""
from __future__ import annotations

import importlib
from datetime import date, datetime, timezone
from typing import Any


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
    from shared import clock

    assert effective_on(scheduled) == clock.local_date(scheduled.timestamp)  # planned when it was recorded
