"""A small aggregate and application for unit tests of shared.application, on eventsourcing's in-memory store."""
from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from shared.application import CaseApplication
from shared.domain import TracedAggregate


class Docket(TracedAggregate):
    @event("Opened")
    def __init__(self, *, title: str, actor: str) -> None:
        self.title = title
        self.entries: list[str] = []

    @event("Entered")
    def enter(self, text: str, actor: str) -> None:
        self.entries.append(text)


class DocketApp(CaseApplication):
    """Opens a docket for every event it is sent, as a service's policy records what another's event causes."""

    name = "dockets"
    source = "dockets"
    published = (Docket,)

    def when(self, source: str, envelope: dict[str, Any]) -> list[Docket]:
        return [Docket(title=envelope["type"], actor=source)]
