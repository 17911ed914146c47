"""An in-memory view of every aggregate's current state, caught up from the notification log.

Each read first applies whatever was recorded since the last position seen, so a
view is never behind its own store, and several instances of a service sharing one
database each see every write. Ids have gaps (TECH-NOTES): always read after the
last position, never at position + 1.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

TAggregate = TypeVar("TAggregate", bound=Aggregate)

BATCH_SIZE = 500


class AggregateIndex(Generic[TAggregate]):
    def __init__(
        self,
        app: Application,
        aggregate_class: type[TAggregate],
        on_event: Callable[[TAggregate, Any, int], None] | None = None,
    ):
        self.app = app
        self.aggregate_class = aggregate_class
        self.position = 0
        self.aggregates: dict[UUID, TAggregate] = {}
        self.on_event = on_event
        self._lock = threading.Lock()

    def catch_up(self) -> int:
        with self._lock:
            while True:
                notifications = self.app.recorder.select_notifications(
                    start=self.position, limit=BATCH_SIZE, inclusive_of_start=False
                )
                for notification in notifications:
                    self._apply(notification)
                    self.position = notification.id
                if len(notifications) < BATCH_SIZE:
                    return self.position

    def _apply(self, notification: Any) -> None:
        domain_event = self.app.mapper.to_domain_event(notification)
        if not isinstance(domain_event, self.aggregate_class.Event):  # type: ignore[arg-type]
            return
        current = self.aggregates.get(domain_event.originator_id)
        aggregate = domain_event.mutate(current)
        self.aggregates[domain_event.originator_id] = aggregate
        if self.on_event is not None:
            self.on_event(aggregate, domain_event, notification.id)

    def all(self) -> list[TAggregate]:
        self.catch_up()
        return list(self.aggregates.values())
