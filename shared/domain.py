"""What aggregates of every service share."""
from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any, ClassVar
from uuid import uuid4

from eventsourcing.domain import Aggregate

from shared.context import current
from shared.errors import CommandNotAllowed


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

    @classmethod
    def _create(cls, event_class: Any, **kwargs: Any) -> Any:
        return super()._create(event_class, **_traced(kwargs))

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        super().trigger_event(event_class, **_traced(kwargs))


def _traced(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Work that names no chain (a timer, a script) starts one of its own: every new event has a correlation."""
    work = current()
    return {"correlation_id": work.correlation_id or str(uuid4()), "causation_id": work.causation_id, **kwargs}


class CommandsByState:
    """An aggregate whose state decides which commands it takes: one table, read by rule and 409 alike."""

    commands_by_state: ClassVar[dict[Any, tuple[str, ...]]]
    state: Enum

    def allowed_commands(self) -> tuple[str, ...]:
        return self.commands_by_state[self.state]

    def check_allows(self, command: str) -> None:
        if command not in self.allowed_commands():
            raise CommandNotAllowed(command, self.state.value, self.allowed_commands())
