"""The audit service's case index: diary number → the aggregates of every service that concern it.

Kept in the audit service's own store (SQLite by default, PostgreSQL as an option). Fed from
every service's events over RabbitMQ, one inbox per source (shared.inbox: single active
consumer, one message at a time, in the order the source published), and caught up from
the sources' feeds when the service starts and every `AUDIT_CATCH_UP_SECONDS` (events
published before its queues existed, or anything the broker lost). An entry and the source's
position are written in one transaction, and a position already recorded is skipped, so
each event takes effect once whichever way it arrives. The index only says where to look:
every timeline, state and verification is recomputed from the services' records.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterable, Mapping

from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment

from services.audit.oparl import OBJECTS, Projector, Reader
from shared.application import _is_envelope
from shared.audit import ServiceClient
from shared.errors import ConcurrentChange
from shared.readmodel import Condition, Listing, PositionMoved, Row, construct_view
from shared.timeline import named_cases

log = logging.getLogger(__name__)

FEED_PAGE = 1000


def _entry_view(entry: Mapping[str, Any]) -> Row:
    return Row(sort_key=f"{entry['service']}/{entry['aggregate_id']}", view=entry,
               columns={"diary_number": entry["diary_number"], "service": entry["service"]})


CASES = Listing("cases", object, _entry_view, noun="case",  # type: ignore[arg-type]
                columns={"diary_number": "text", "service": "text"})


class CaseIndex:
    """The index and its positions in each source; the inbox's `app` for every source."""

    def __init__(self, env: Mapping[str, str], sources: Mapping[str, ServiceClient], gate: Any,
                 region_name: str = "Regionen", oparl_base_url: str = ""):
        """`gate` runs the store's calls off eventlet's hub (shared.store); HTTP stays green."""
        self.factory = InfrastructureFactory.construct(env=Environment("audit", dict(env)))
        self.gate = gate
        self.view = gate.call(construct_view, gate.call(self.factory.tracking_recorder), "audit", [CASES, OBJECTS])
        self.oparl = Projector()  # the OParl objects (services.audit.oparl), kept with the index
        self.oparl_reader = Reader(self.view, gate, region_name, oparl_base_url)
        self.sources = dict(sources)
        self.inbox_failures: dict[str, dict[str, Any]] = {}
        self._locks = {name: threading.Lock() for name in self.sources}
        # Whether the index has every event of a source up to its position, so that the next message
        # of its queue can follow on: not before its first catch-up from the feed, nor after a message
        # was given up.
        self._continuous = {name: False for name in self.sources}

    # --- what concerns a case ------------------------------------------------------------

    def aggregates_of(self, diary_number: str) -> list[tuple[str, str, str]]:
        """(service, aggregate id, type) of every aggregate with an event naming the case."""
        found, after = [], None
        while True:
            entries, after = self.gate.call(self.view.page, CASES, after=after, limit=500,
                                            conditions=[Condition("diary_number", "=", diary_number)])
            found += [(e["service"], e["aggregate_id"], e["type"]) for e in entries]
            if after is None:
                return found

    def positions(self) -> dict[str, int]:
        return {name: self._position(name) for name in self.sources}

    def _position(self, source: str) -> int:
        return self.gate.call(self.view.max_tracking_id, source) or 0

    # --- fed by the inboxes --------------------------------------------------------------

    def apply_inbound(self, source: str, envelope: Any) -> str:
        """A message of the source's queue: applied once, after everything before it."""
        if source not in self._locks or not _is_envelope(envelope):
            log.warning("not an event envelope from %s: %r", source, envelope if isinstance(envelope, dict) else "")
            return "rejected"
        with self._locks[source]:
            if not self._continuous[source]:
                self._catch_up(source)  # what the queue may not hold (before it existed, or given up)
            position = self._position(source)
            if envelope["position"] <= position:
                return "duplicate"
            entries = list(self._entries(source, [envelope]))
            self._apply(entries, source, envelope["position"], position)
            return "applied" if entries else "ignored"

    def give_up_inbound(self, source: str, envelope: Any, error: Exception) -> None:
        """An event the index could not take: the next message first catches up from the feed, which
        meets the event again in order (and its error in the log), rather than passing over it."""
        log.error("audit index could not apply %s event %r: %s", source, envelope, error)
        self._continuous[source] = False

    # --- caught up from the feeds --------------------------------------------------------

    def catch_up(self, source: str) -> int:
        """Reads the source's feed after the recorded position to its end; returns the position reached."""
        with self._locks[source]:
            return self._catch_up(source)

    def _catch_up(self, source: str) -> int:
        client = self.sources[source]
        after = self._position(source)
        while True:
            page = client.get("/events", after=after, limit=FEED_PAGE)
            if page["last_position"] <= after:
                self._continuous[source] = True
                return after
            self._apply(list(self._entries(source, page["events"])), source, page["last_position"], after)
            after = page["last_position"]

    def _apply(self, entries: list[tuple[Listing, str, int, Row]], source: str, position: int, start: int) -> None:
        """Entries and the source's new position in one transaction, if the position is still `start`."""
        try:
            self.gate.call(self.view.apply, entries, Tracking(application_name=source, notification_id=position),
                           start=start)
        except PositionMoved:
            self._continuous[source] = False
            raise ConcurrentChange(f"another audit instance indexed {source} meanwhile; reading again") from None

    def catch_up_all(self) -> dict[str, str]:
        """Every source caught up; a source that cannot be read (or the store) is named, the others go on."""
        failures = {}
        for source in self.sources:
            try:
                self.catch_up(source)
            except Exception as error:  # noqa: BLE001 - named, and tried again on the next catch-up
                failures[source] = f"{type(error).__name__}: {error}"
        return failures

    def _entries(self, source: str, envelopes: Iterable[dict[str, Any]]) -> list[tuple[Listing, str, int, Row]]:
        """The case index's entries and the OParl objects the envelopes change, written in one transaction."""
        envelopes = list(envelopes)
        return [*self._case_entries(source, envelopes), *self.oparl.rows(source, envelopes, self._objects)]

    def _objects(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {row["id"]: row["view"] for row in self.gate.call(self.view.rows_with, OBJECTS, "id", keys)}

    def _case_entries(self, source: str, envelopes: Iterable[dict[str, Any]]) -> Iterable[tuple[Listing, str, int, Row]]:
        for envelope in envelopes:
            if not isinstance(envelope.get("aggregate_id"), str) or not isinstance(envelope.get("type"), str):
                continue  # not something an auditor could be pointed to
            for diary_number in sorted(named_cases(envelope)):
                entry = {"diary_number": diary_number, "service": source, "aggregate_id": envelope["aggregate_id"],
                         "type": envelope["type"].split(".")[0]}
                yield CASES, f"{diary_number}\x1f{source}\x1f{envelope['aggregate_id']}", envelope["position"], \
                    _entry_view(entry)

    def close(self) -> None:
        self.gate.call(self.factory.close)
