"""Reminders (bevakning): what an aggregate's state calls for on a day, raised as events, each once.

An aggregate that reminds (`RemindingAggregate`) says which reminders its present state calls
for (`reminders()`: kind, a key unique per occurrence, the day it falls due, the role it is for).
`raise_due_reminders(today)` records a `ReminderRaised` event for each one due and not raised
before; the event's apply method records its key, so the aggregate itself knows what it has
raised, and two instances raising the same reminder at once conflict on the aggregate's version:
the loser reloads, finds the key raised and raises nothing. A restart raises nothing again either.

A raised reminder still applies while the state still calls for it (a case decided, a reply
received, minutes adjusted: it no longer does) and until someone with its role marks it done
(kvitterar den): an event too, so the list shows what is left to look at. The read side is here too: the list of raised
reminders that still apply (a row per reminder), and the column (`next_reminder_due`) by which a
service's timer finds the aggregates with a reminder due, without loading any other
(CaseApplication.raise_due_reminders, shared.operations).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from shared.domain import TracedAggregate
from shared.errors import CommandNotAllowed, Forbidden, NotFound
from shared.readmodel import Listing, Row

NEXT_REMINDER_DUE = "next_reminder_due"  # the column of an aggregate's row: its earliest reminder not yet raised
REMINDERS = "reminders"  # the listing of raised reminders that still apply, in every service that raises them


def months_after(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day (31 March + 11 months: 28 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Reminder:
    """Something a role is to look at from a day on, because of an aggregate's state."""

    kind: str
    key: str  # unique per occurrence: raised once (a new due date is a new occurrence, with a new key)
    due_on: date
    role: str
    text: str
    details: Mapping[str, Any] = field(default_factory=dict)  # JSON: strings, numbers, lists, objects
    diary_number: str | None = None  # the case it concerns, when not the aggregate's own
    title: str | None = None  # what it concerns, when not the aggregate's title


class RemindingAggregate(TracedAggregate):
    """An aggregate whose state calls for reminders: it raises each one once, as an event."""

    # key -> the reminder as raised; a class-level empty default, so aggregates stored before
    # reminders existed replay as having raised none (not annotated: eventsourcing would make an
    # annotated class attribute an argument of the aggregate's constructor).
    reminders_raised = MappingProxyType({})
    reminders_done = MappingProxyType({})  # key -> who marked it done, and when
    # A reminder belongs to the day it fell due; marking it done to the day it was marked.
    effective_dates = {"ReminderRaised": "due_on", "ReminderDone": None}

    class ReminderRaised(TracedAggregate.Event):
        kind: str
        key: str
        due_on: date
        role: str
        diary_number: str | None
        title: str
        text: str
        details: dict[str, Any]
        actor: str
        # Saved by a timer, never in conflict with a person's command: a command that meets only
        # reminders saved meanwhile is run again (CaseApplication.change).
        in_background: ClassVar[bool] = True

        def apply(self, aggregate: Any) -> None:
            aggregate.reminders_raised = {**aggregate.reminders_raised, self.key: {
                "kind": self.kind, "key": self.key, "due_on": self.due_on, "role": self.role,
                "diary_number": self.diary_number, "title": self.title, "text": self.text,
                "details": dict(self.details), "raised_at": self.timestamp,
            }}

    class ReminderDone(TracedAggregate.Event):
        key: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.reminders_done = {**aggregate.reminders_done, self.key: {
                "by": self.actor, "at": self.timestamp}}

    def reminders(self) -> list[Reminder]:
        """Every reminder the present state calls for, due or not yet (a rule of the aggregate, no clock)."""
        raise NotImplementedError

    def due_reminders(self, today: date) -> list[Reminder]:
        return [r for r in self.reminders() if r.due_on <= today and r.key not in self.reminders_raised]

    def next_reminder_due(self) -> date | None:
        """The earliest day a reminder not yet raised falls due (None: nothing waits)."""
        return min((r.due_on for r in self.reminders() if r.key not in self.reminders_raised), default=None)

    def raise_due_reminders(self, *, today: date, actor: str) -> int:
        """Raises each reminder due by `today` that was not raised before; returns how many."""
        due = self.due_reminders(today)
        for reminder in due:
            self.trigger_event(
                type(self).ReminderRaised, kind=reminder.kind, key=reminder.key, due_on=reminder.due_on,
                role=reminder.role, diary_number=reminder.diary_number or getattr(self, "diary_number", None),
                title=reminder.title or getattr(self, "title", ""), text=reminder.text,
                details=dict(reminder.details), actor=actor,
            )
        return len(due)

    def open_reminders(self) -> list[Mapping[str, Any]]:
        """The reminders raised that still apply: those the present state still calls for, not marked done."""
        called_for = {reminder.key for reminder in self.reminders()}
        return [raised for key, raised in self.reminders_raised.items()
                if key in called_for and key not in self.reminders_done]

    def mark_reminder_done(self, *, key: str, roles: Iterable[str], actor: str) -> None:
        """Someone with the reminder's role has looked at it: it leaves the list."""
        raised = self.reminders_raised.get(key)
        if raised is None:
            raise NotFound(f"No reminder {key} was raised here")
        if raised["role"] not in roles:
            raise Forbidden(f"The reminder is for the role {raised['role']}")
        if key in self.reminders_done:
            raise CommandNotAllowed("mark_reminder_done", f"marked done already by {self.reminders_done[key]['by']}",
                                    [])
        if key not in {reminder.key for reminder in self.reminders()}:
            raise CommandNotAllowed("mark_reminder_done", "it no longer applies", [])
        self.trigger_event(type(self).ReminderDone, key=key, actor=actor)


# --- the read side --------------------------------------------------------------------------


def next_reminder_column(aggregate: RemindingAggregate) -> dict[str, str | None]:
    """The column of the aggregate's row by which the timer finds it when a reminder falls due."""
    due = aggregate.next_reminder_due()
    return {NEXT_REMINDER_DUE: due.isoformat() if due is not None else None}


def reminders_listing(aggregate: type[RemindingAggregate], path: str) -> Listing:
    """The list of raised reminders that still apply, a row each, by due day; `path` is where one
    aggregate is read over HTTP ("/initiatives")."""

    def rows(reminding: RemindingAggregate) -> Sequence[Row]:
        return [reminder_row(reminding, raised, path) for raised in reminding.open_reminders()]

    return Listing(REMINDERS, aggregate, rows, per_item=True, noun="reminder",
                   columns={"role": "text", "due_on": "text", "kind": "text"})


def reminder_row(reminding: RemindingAggregate, raised: Mapping[str, Any], path: str) -> Row:
    due_on = raised["due_on"].isoformat()
    view = {
        "kind": raised["kind"], "key": raised["key"], "due_on": due_on, "role": raised["role"],
        "diary_number": raised["diary_number"], "title": raised["title"], "text": raised["text"],
        "details": raised["details"], "raised_at": raised["raised_at"].isoformat(),
        "aggregate": type(reminding).__name__, "aggregate_id": str(reminding.id),
        "link": f"{path}/{reminding.id}",
    }
    return Row(sort_key=due_on, key=raised["key"], view=view,
               columns={"role": raised["role"], "due_on": due_on, "kind": raised["kind"]})
