"""The audit service's case index: diary number → the aggregates of every service that concern it.

Kept in the audit service's own store (SQLite by default, PostgreSQL as an option). Fed from
every service's events over RabbitMQ, one inbox per source (shared.inbox: single active
consumer, in the order the source published; a backlog in runs of INBOX_RUN), and caught up from
the sources' feeds when the service starts and every `AUDIT_CATCH_UP_SECONDS` (events
published before its queues existed, or anything the broker lost). An entry and the source's
position are written in one transaction, and a position already recorded is skipped, so
each event takes effect once whichever way it arrives. The index only says where to look:
every timeline, state and verification is recomputed from the services' records.

The OParl objects (services.audit.oparl) follow the same feeds with positions of their own
(`oparl/meetings`, `oparl/initiatives`), read by a follower of their own (`catch_up_oparl`, woken by
every inbox message, then reading its source as far as the message's position, and by a timer, then
reading every source to its end): only ever from the feed, after OParl's own position, so no event
can be passed over, and never on the inboxes' path, so the case index never waits for OParl. A store
indexed before OParl existed reads each feed from its start for it, and an event OParl cannot take
holds OParl in that source (never the case index) until it can. Each OParl write also moves one
position that every OParl write moves (`oparl`), compare-and-set, so the two sources' writes of one
object (a Person, a Paper) are one after the other, even across instances.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Mapping

from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.utils import Environment

from services.audit.oparl import OBJECTS, EventFailed, Projector, Reader
from shared.audit import ServiceClient
from shared.envelope import is_envelope
from shared.errors import ConcurrentChange
from shared.readmodel import Condition, Listing, PositionMoved, Row, construct_view
from shared.timeline import named_cases

log = logging.getLogger(__name__)

FEED_PAGE = 1000
OPARL_PREFIX = "oparl/"  # OParl's position in a source: oparl/meetings, oparl/initiatives
OPARL_SERIAL = "oparl"  # moved by every OParl write (compare-and-set): one write after the other
OPARL_RETRY_PAUSE = 1.0  # seconds the follower waits after a source failed


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
        self.oparl = Projector()  # the OParl objects (services.audit.oparl), kept beside the index
        self.oparl_reader = Reader(self.view, gate, region_name, oparl_base_url)
        self.sources = dict(sources)
        self.inbox_failures: dict[str, dict[str, Any]] = {}
        self._locks = {name: threading.Lock() for name in self.sources}
        # OParl: the event each source is held at (/health; found again by the next catch-up after a
        # restart), and what wakes its follower (an inbox message: the feed has something new).
        self.oparl_failures: dict[str, dict[str, Any]] = {}
        self.oparl_sources = [name for name in self.sources if name in Projector.SOURCES]
        self.oparl_wake = threading.Event()
        self.oparl_wake.set()  # the follower's first round at once: a store from before OParl fills itself
        # How far each source's feed goes at least, as its inbox's messages since the last round said:
        # the follower reads a woken source to there, not to the feed's end (one read a message, not three).
        self._oparl_targets: dict[str, int] = {}
        self._targets_lock = threading.Lock()
        self._oparl_lock = threading.Lock()  # one OParl write at a time in this instance (OPARL_SERIAL across)
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
        if source not in self._locks or not is_envelope(envelope):
            log.warning("not an event envelope from %s: %r", source, envelope if isinstance(envelope, dict) else "")
            return "rejected"
        return self._index(source, [envelope])[0]

    def apply_inbound_run(self, source: str, envelopes: list[Any]) -> list[str] | None:
        """Messages of the source's queue taken at once (a backlog; shared.inbox), envelopes in the order
        of their positions: their entries and the last one's position in one transaction. None, for one
        at a time, from a source the index does not follow."""
        if source not in self._locks:
            return None
        return self._index(source, envelopes)

    def _index(self, source: str, envelopes: list[dict[str, Any]]) -> list[str]:
        try:
            with self._locks[source]:
                if not self._continuous[source]:
                    self._catch_up(source)  # what the queue may not hold (before it existed, or given up)
                position = self._position(source)
                fresh = {envelope["position"]: list(self._entries(source, [envelope]))
                         for envelope in envelopes if envelope["position"] > position}
                if fresh:
                    self._apply([entry for entries in fresh.values() for entry in entries], source, max(fresh), position)
                return ["duplicate" if envelope["position"] not in fresh else "applied" if fresh[envelope["position"]]
                        else "ignored" for envelope in envelopes]
        finally:  # whatever became of it in the case index, OParl reads it from the feed after its own position
            if source in self.oparl_sources:
                with self._targets_lock:
                    self._oparl_targets[source] = max(envelopes[-1]["position"], self._oparl_targets.get(source, 0))
                self.oparl_wake.set()

    def give_up_inbound(self, source: str, envelope: Any, error: Exception) -> None:
        """An event the index could not take: the next message first catches up from the feed, which
        meets the event again in order (and its error in the log), rather than passing over it."""
        log.error("audit index could not apply %s event %r: %s", source, envelope, error)
        self._continuous[source] = False

    # --- caught up from the feeds --------------------------------------------------------

    def catch_up(self, source: str, oparl: bool = True) -> int:
        """Reads the source's feed after the recorded position to its end; returns the position reached.
        Then (`oparl`) OParl's, after its own position (EventFailed when an event holds it)."""
        with self._locks[source]:
            reached = self._catch_up(source)
        if oparl and source in self.oparl_sources:
            self.catch_up_oparl(source)
        return reached

    def _catch_up(self, source: str) -> int:
        def index(events: list[dict[str, Any]], last_position: int, start: int) -> int:
            self._apply(list(self._entries(source, events)), source, last_position, start)
            return last_position

        reached = self._read_feed(source, self._position(source), index)
        self._continuous[source] = True
        return reached

    def _read_feed(self, source: str, after: int, apply: Callable[[list[dict[str, Any]], int, int], int],
                   until: int | None = None) -> int:
        """The source's feed after `after`, to its end (or once `until` is reached), a page at a time:
        `apply(events, the page's last position, the position before it)` takes each and returns the
        position it reached."""
        while until is None or after < until:
            page = self.sources[source].get("/events", after=after, limit=FEED_PAGE)
            if page["last_position"] <= after:
                return after
            after = apply(page["events"], page["last_position"], after)
        return after

    def _apply(self, entries: list[tuple[Listing, str, int, Row]], source: str, position: int, start: int) -> None:
        """Entries and the source's new position in one transaction, if the position is still `start`."""
        try:
            self.gate.call(self.view.apply, entries, Tracking(application_name=source, notification_id=position),
                           start=start)
        except PositionMoved:
            self._continuous[source] = False
            raise ConcurrentChange(f"another audit instance indexed {source} meanwhile; reading again") from None

    def catch_up_all(self, oparl: bool = True) -> dict[str, str]:
        """Every source caught up; a source that cannot be read (or the store) is named, the others go on."""
        failures = {}
        for source in self.sources:
            try:
                self.catch_up(source, oparl)
            except Exception as error:  # noqa: BLE001 - named, and tried again on the next catch-up
                failures[source] = f"{type(error).__name__}: {error}"
        return failures

    # --- OParl: the same feeds, from positions of its own ------------------------------------

    def oparl_positions(self) -> dict[str, int]:
        return {name: self._position(OPARL_PREFIX + name) for name in self.oparl_sources}

    def catch_up_oparl(self, source: str, until: int | None = None) -> int:
        """OParl's objects caught up from the source's feed, after OParl's own position, to its end (or
        once past `until`); returns the position reached. EventFailed when an event holds it there
        (nothing of that event written)."""
        with self._oparl_lock:
            return self._read_feed(source, self._position(OPARL_PREFIX + source),
                                   lambda events, last_position, start: self._oparl_apply(
                                       source, events, last_position, start), until)

    def follow_oparl(self, interval: float, stopped: Callable[[], bool]) -> None:
        """The OParl follower, until `stopped`. Its first round, a round after one that failed, and a round
        every `interval` seconds (however many messages wake it meanwhile) read every source to its feed's
        end; a round woken by inbox messages in between reads only their sources, each as far as the last
        of its messages at least. A source that fails is logged and tried again."""
        full_round_due = time.monotonic()
        failed = False
        while not stopped():
            woken = self.oparl_wake.wait(max(0.0, full_round_due - time.monotonic()))
            self.oparl_wake.clear()
            with self._targets_lock:
                targets, self._oparl_targets = self._oparl_targets, {}
            rounds: dict[str, int | None] = dict(targets)
            if failed or not woken or time.monotonic() >= full_round_due:
                rounds = {source: None for source in self.oparl_sources}
                full_round_due = time.monotonic() + interval
            failed = False
            for source, until in rounds.items():
                try:
                    self.catch_up_oparl(source, until)
                except EventFailed:
                    failed = True  # logged and shown in /health by _oparl_apply; held until it can be taken
                except Exception as error:  # noqa: BLE001 - the follower outlives the feed's or store's failures
                    failed = True
                    log.warning("OParl cannot read %s yet: %s", source, error)
            if failed:
                time.sleep(OPARL_RETRY_PAUSE)  # not once per inbox message while it fails

    def _oparl_apply(self, source: str, envelopes: list[dict[str, Any]], last_position: int, start: int) -> int:
        """The OParl rows of the events taken, OParl's position in the source moved past them, and the
        position every OParl write moves, in one transaction; an event that failed (nothing of it written)
        is raised, so it is tried again rather than passed over."""
        serial = self._position(OPARL_SERIAL)
        projected = self.oparl.project(source, envelopes, self._objects, self._find)
        position = last_position if projected.failed is None else projected.position
        if position is not None and position > start:
            try:
                self.gate.call(self.view.apply, projected.rows, Tracking(OPARL_PREFIX + source, position), start=start,
                               also=[(Tracking(OPARL_SERIAL, serial + 1), serial)])
            except PositionMoved:
                raise ConcurrentChange(f"another OParl write meanwhile; {source} read again") from None
        if projected.failed is not None:
            failed = projected.failed
            log.error("%s", failed, exc_info=failed.error)
            self.oparl_failures[source] = {"position": failed.position, "type": failed.event_type,
                                           "error": f"{type(failed.error).__name__}: {failed.error}"}
            raise failed
        self.oparl_failures.pop(source, None)
        return position if position is not None else start

    def _objects(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {row["id"]: row["view"] for row in self.gate.call(self.view.rows_with, OBJECTS, "id", keys)}

    def _find(self, kind: str, column: str, value: str) -> list[dict[str, Any]]:
        return [row["view"] for row in self.gate.call(self.view.rows_with, OBJECTS, column, [value], per_value=1,
                                                       conditions=[Condition("kind", "=", kind)])]

    def _entries(self, source: str, envelopes: Iterable[dict[str, Any]]) -> Iterable[tuple[Listing, str, int, Row]]:
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
