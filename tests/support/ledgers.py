"""A small application whose policy writes other services' events into ledgers, for tests of the inbox."""
from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from shared.application import CaseApplication
from shared.errors import CaseError
from tests.support.dockets import Docket


class Ledger(Docket):
    """A docket per diary number, its title: the lines other services' events wrote in it."""

    @staticmethod
    def create_id(title: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"ledger/{title}")


class Refused(CaseError):
    title = "Refused"


class LedgerApp(CaseApplication):
    """Writes each event's position in its case's ledger, opening the ledger with the case's first
    event; refuses an event of the type "Refuse"."""

    name = "ledgers"
    source = "ledgers"
    published = (Docket,)
    inbox_sources = ("meetings",)

    def when(self, source: str, envelope: dict[str, Any]) -> list[Ledger]:
        if envelope["type"] == "Refuse":
            raise Refused("not this one")
        number = envelope["diary_number"]
        if self.exists(Ledger.create_id(number)):
            ledger = self.repository.get(Ledger.create_id(number))
        else:
            ledger = Ledger(title=number, actor=source)
        ledger.enter(str(envelope["position"]), actor=source)
        return [ledger]

    def lines(self, number: str) -> list[int]:
        return [int(line) for line in self.repository.get(Ledger.create_id(number)).entries]


class FailingAt(LedgerApp):
    """Applying the event at `failing_position` fails (not a refusal by a case) `failures_left` times,
    in a run and alone alike."""

    failing_position = 2
    failures_left = 1_000_000

    def when(self, source: str, envelope: dict[str, Any]) -> list[Ledger]:
        if envelope["position"] == self.failing_position and self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("the store went away")
        return super().when(source, envelope)


def counting_saves(app: CaseApplication) -> list[int]:
    """The number of events of each insert into the store from now on (one insert is one transaction)."""
    inserts: list[int] = []
    insert_events = app.recorder.insert_events

    def counted(stored_events: Any, **kwargs: Any) -> Any:
        inserts.append(len(stored_events))
        return insert_events(stored_events, **kwargs)

    app.recorder.insert_events = counted  # type: ignore[method-assign]
    return inserts
