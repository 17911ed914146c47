"""What aggregates of every service share."""
from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar
from uuid import uuid4

from eventsourcing.domain import Aggregate

from shared.context import current
from shared.errors import CommandNotAllowed


# Every traced aggregate class by name (Initiative, Meeting...): an envelope's type names its event's table.
AGGREGATES: dict[str, type] = {}


class TracedAggregate(Aggregate):
    """An aggregate whose every event records the chain of work it belongs to (docs/events.md).

    `correlation_id` and `causation_id` are taken from shared.context when the event is
    triggered and stored with it, so every later read and republication shows them; the
    event methods never see them (eventsourcing passes a method only its own parameters).
    They are keyword-only with defaults: an event stored before they existed reads back
    with both None (the class attribute), and its stored JSON, hence its hash, is untouched.
    """

    class Event(Aggregate.Event):
        correlation_id: str | None = dataclasses.field(default=None, kw_only=True)
        causation_id: str | None = dataclasses.field(default=None, kw_only=True)
        # The business date the step took effect, where the payload carries none of its own (an imported
        # answer draft), and where the event came from (an import's who, file, hash and moment): see
        # shared.envelope.effective_on. Both None for events stored before them, as for the two above.
        effective_on: date | None = dataclasses.field(default=None, kw_only=True)
        imported: dict[str, Any] | None = dataclasses.field(default=None, kw_only=True)

    # Which payload field holds each event's business date (its effective date), by event name; None: the
    # event has none, and takes effect on the day it was recorded (or on its own `effective_on`). Every
    # aggregate declares the table beside its events; tests/unit/test_effective_dates.py checks that every
    # event is named. A subclass's table adds to its bases' (shared.envelope.effective_on reads them all).
    # (Not annotated: eventsourcing would make an annotated class attribute a constructor argument.)
    effective_dates = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        AGGREGATES[cls.__qualname__] = cls

    @classmethod
    def _create(cls, event_class: Any, **kwargs: Any) -> Any:
        return super()._create(event_class, **_traced(kwargs))

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        super().trigger_event(event_class, **_traced(kwargs))


def _traced(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Work that names no chain (a timer, a script) starts one of its own: every new event has a correlation."""
    work = current()
    traced = {"correlation_id": work.correlation_id or str(uuid4()), "causation_id": work.causation_id}
    if work.effective_on is not None:
        traced["effective_on"] = work.effective_on
    if work.imported is not None:
        traced["imported"] = dict(work.imported)
    return {**traced, **kwargs}


class CommandsByState:
    """An aggregate whose state decides which commands it takes: one table, read by rule and 409 alike."""

    commands_by_state: ClassVar[dict[Any, tuple[str, ...]]]
    state: Enum

    def allowed_commands(self) -> tuple[str, ...]:
        return self.commands_by_state[self.state]

    def check_allows(self, command: str) -> None:
        if command not in self.allowed_commands():
            raise CommandNotAllowed(command, self.state.value, self.allowed_commands())
