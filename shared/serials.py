"""Serial numbers that are never issued twice: diary numbers, minute paragraphs.

One counter aggregate per scope and year. Issuing a number is saved in the same
transaction as the aggregate that takes it; a second instance issuing the same
number at the same instant fails on the counter's version and tries again.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError
from kombu.utils.functional import retry_over_time

from shared.domain import TracedAggregate

T = TypeVar("T")


class Serial(TracedAggregate):
    effective_dates = {"Opened": None, "Issued": None, "Advanced": None}

    @staticmethod
    def create_id(scope: str, year: int) -> UUID:
        return uuid5(NAMESPACE_URL, f"/serials/{scope}/{year}")

    @event("Opened")
    def __init__(self, scope: str, year: int):
        self.scope = scope
        self.year = year
        self.last = 0

    @event("Issued")
    def issue(self) -> None:
        self.last += 1

    def continue_after(self, serial: int) -> bool:
        """Numbers taken elsewhere (cases imported from an older diary): the next issued follows the highest.
        False, and nothing recorded, when the counter is already past it."""
        if serial <= self.last:
            return False
        self._advanced(last=serial)
        return True

    @event("Advanced")
    def _advanced(self, last: int) -> None:
        self.last = last


def serial_counter(app: Application, scope: str, year: int) -> Serial:
    """The counter of a scope and year, as stored (a new one, unsaved, when none is)."""
    try:
        return app.repository.get(Serial.create_id(scope, year))
    except AggregateNotFoundError:
        return Serial(scope, year)


def next_serial(app: Application, scope: str, year: int) -> Serial:
    """The counter with its next number issued (not yet saved)."""
    try:
        serial = app.repository.get(Serial.create_id(scope, year))
    except AggregateNotFoundError:
        serial = Serial(scope, year)
    serial.issue()
    return serial


def retrying_on_conflict(function: Callable[..., T], *args: Any) -> T:
    """Runs load → issue → save again when another instance saved first."""
    return retry_over_time(
        function, IntegrityError, args=args,
        max_retries=50, interval_start=0, interval_step=0.01, interval_max=0.05,
    )
