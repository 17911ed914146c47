"""Tamper evidence: every event is chained to the event before it in its aggregate.

What is stored for an event is eventsourcing's JSON of it with one member appended:

    {...the event's fields...,"__chain__":{"previous":"<64 hex>","hash":"<64 hex>"}}

    hash = SHA-256( previous "\\n" aggregate id "\\n" version "\\n" topic "\\n" content )

where `content` is the stored JSON without that member (the bytes exactly as
recorded) and `previous` is the hash of the aggregate's event before it (64 zeros
before the first). Editing an event's content, type or version breaks its own
hash; deleting, inserting or swapping events breaks the link of the event after.

Why per aggregate and not one chain per service log: eventsourcing writes an
aggregate's events in version order under optimistic concurrency, so the
previous hash of an aggregate is known without a lock; one chain over the whole
log would make every writer of the service wait on a single head. Auditors read
a case by its aggregates anyway. What a per-aggregate chain cannot show by
itself is that an aggregate's *latest* events were cut off: for that, compare
with the heads held elsewhere (an exported archive's manifest, the events other
systems received) — `verify_against_heads`.

Events recorded before chaining existed (or copied in by an old version) carry
no `__chain__`: they are hashed the same way over their whole stored JSON, so the
first chained event after them pins them. An unchained event after a chained one
in the same aggregate is a failure. Upcasting happens when events are read into
objects; verification reads the stored bytes, so an upcast never changes a hash.
"""
from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, Mapper, Recording, StoredEvent

GENESIS = "0" * 64
CHAIN_MEMBER = "__chain__"
_SUFFIX = re.compile(rb',"__chain__":\{"previous":"([0-9a-f]{64})","hash":"([0-9a-f]{64})"\}\}\Z')
_SUFFIX_LENGTH = len(b',"__chain__":{"previous":"","hash":""}}') + 128


def digest(previous: str, aggregate_id: Any, version: int, topic: str, content: bytes) -> str:
    header = f"{previous}\n{aggregate_id}\n{version}\n{topic}\n".encode()
    return hashlib.sha256(header + content).hexdigest()


def seal(content: bytes, previous: str, hash_: str) -> bytes:
    """The stored JSON: the content with the chain member appended (content is a JSON object)."""
    return content[:-1] + b',"__chain__":{"previous":"' + previous.encode() + b'","hash":"' + hash_.encode() + b'"}}'


def unseal(state: bytes) -> tuple[bytes, str | None, str | None]:
    """(content, previous, hash) of a stored JSON; (state, None, None) when it carries no chain."""
    match = _SUFFIX.search(state, len(state) - _SUFFIX_LENGTH) if len(state) > _SUFFIX_LENGTH else None
    if match is None:
        return state, None, None
    content = state[: match.start()] + b"}"
    return content, match.group(1).decode(), match.group(2).decode()


def hash_of(stored: StoredEvent, previous: str) -> str:
    """The event's hash as the next event must link to it: stored if chained, computed if not."""
    content, _, stored_hash = unseal(stored.state)
    if stored_hash is not None:
        return stored_hash
    return digest(previous, stored.originator_id, stored.originator_version, stored.topic, content)


class ChainedMapper(Mapper):
    """Writes the chain member into what is stored; strips it before an event becomes an object.

    It remembers the hash of the latest event it has read or written per aggregate
    (a bounded cache), so saving an aggregate just loaded needs no extra read.
    """

    def __init__(self, *args: Any, heads_cached: int = 10_000, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.cipher or self.compressor:
            raise ValueError("the chain is computed over plain JSON: no cipher or compressor")
        self._heads: OrderedDict[Any, tuple[int, str]] = OrderedDict()
        self._heads_cached = heads_cached

    def to_chained_stored_event(self, domain_event: DomainEventProtocol[Any], previous: str) -> StoredEvent:
        plain = super().to_stored_event(domain_event)
        hash_ = digest(previous, plain.originator_id, plain.originator_version, plain.topic, plain.state)
        return StoredEvent(plain.originator_id, plain.originator_version, plain.topic,
                           seal(plain.state, previous, hash_))

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        content, _, hash_ = unseal(stored_event.state)
        if hash_ is not None:
            self.remember(stored_event.originator_id, stored_event.originator_version, hash_)
            stored_event = StoredEvent(stored_event.originator_id, stored_event.originator_version,
                                       stored_event.topic, content)
        return super().to_domain_event(stored_event)

    def known_head(self, aggregate_id: Any, version: int) -> str | None:
        head = self._heads.get(aggregate_id)
        return head[1] if head is not None and head[0] == version else None

    def remember(self, aggregate_id: Any, version: int, hash_: str) -> None:
        """Keeps the hash of an event known to be stored (read, or written and committed)."""
        head = self._heads.get(aggregate_id)
        if head is None or head[0] <= version:
            self._heads[aggregate_id] = (version, hash_)
            self._heads.move_to_end(aggregate_id)
            while len(self._heads) > self._heads_cached:
                self._heads.popitem(last=False)


class ChainedEventStore(EventStore):
    """Puts events with each linked to its aggregate's previous event.

    The previous hash comes from the mapper's memory of the aggregate's head, or
    from the store (the event before, or every event before when they predate the
    chain). A stale head cannot slip through: two writers of one version collide
    on eventsourcing's unique (aggregate, version) key whatever they hashed.
    """

    mapper: ChainedMapper

    def put(self, domain_events: Sequence[DomainEventProtocol[Any]], **kwargs: Any) -> list[Recording[Any]]:
        heads: dict[Any, str] = {}
        stored_events = []
        for domain_event in domain_events:
            aggregate_id, version = domain_event.originator_id, domain_event.originator_version
            previous = heads.get(aggregate_id) or self._previous_hash(aggregate_id, version)
            stored = self.mapper.to_chained_stored_event(domain_event, previous)
            heads[aggregate_id] = unseal(stored.state)[2]  # type: ignore[assignment]
            stored_events.append(stored)
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        for stored in stored_events:  # only now: a head that failed to be stored must not be linked to
            self.mapper.remember(stored.originator_id, stored.originator_version, unseal(stored.state)[2])
        if not notification_ids:
            return []
        from eventsourcing.persistence import Notification

        return [
            Recording(d, Notification(s.originator_id, s.originator_version, s.topic, s.state, n_id))
            for d, s, n_id in zip(domain_events, stored_events, notification_ids, strict=True)
        ]

    def _previous_hash(self, aggregate_id: Any, version: int) -> str:
        if version <= 1:
            return GENESIS
        known = self.mapper.known_head(aggregate_id, version - 1)
        if known is not None:
            return known
        latest = self.recorder.select_events(aggregate_id, lte=version - 1, desc=True, limit=1)
        stored_hash = unseal(latest[0].state)[2] if latest else None
        if stored_hash is not None:
            return stored_hash
        previous = GENESIS  # events from before the chain: hash them all, in order
        for stored in self.recorder.select_events(aggregate_id, lte=version - 1):
            previous = hash_of(stored, previous)
        return previous


# --- verification ------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """An event as stored: what verification reads (from the store, the HTTP API or an archive)."""

    aggregate_id: str
    version: int
    topic: str
    state: bytes
    position: int | None = None

    @classmethod
    def from_stored(cls, stored: StoredEvent) -> "Record":
        return cls(str(stored.originator_id), stored.originator_version, stored.topic, stored.state,
                   getattr(stored, "id", None))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Record":
        return cls(str(data["aggregate_id"]), int(data["version"]), str(data["topic"]),
                   str(data["state"]).encode("utf-8"), data.get("position"))

    def to_json(self) -> dict[str, Any]:
        return {"position": self.position, "aggregate_id": self.aggregate_id, "version": self.version,
                "topic": self.topic, "state": self.state.decode("utf-8")}


@dataclass(frozen=True)
class Problem:
    """The first event of an aggregate whose content, order or link no longer matches."""

    aggregate_id: str
    version: int
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = f" (position {self.position})" if self.position is not None else ""
        return f"aggregate {self.aggregate_id} version {self.version}{where}: {self.problem}"


@dataclass
class ChainReport:
    """One aggregate's chain: how many events, its head, events from before the chain, the first problem."""

    aggregate_id: str
    hashes: list[str] = field(default_factory=list, repr=False)  # of versions 1, 2, ... verified so far
    unchained: int = 0
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def version(self) -> int:
        return len(self.hashes)

    @property
    def events(self) -> int:
        return len(self.hashes)

    @property
    def head(self) -> str:
        return self.hashes[-1] if self.hashes else GENESIS

    def to_json(self) -> dict[str, Any]:
        return {"aggregate_id": self.aggregate_id, "events": self.events, "version": self.version,
                "head": self.head, "unchained": self.unchained, "intact": self.intact,
                "problem": None if self.problem is None else {
                    "version": self.problem.version, "position": self.problem.position,
                    "problem": self.problem.problem}}


def verify_chain(aggregate_id: str, records: Iterable[Record]) -> ChainReport:
    """Recomputes one aggregate's chain over its records in version order; stops at the first problem."""
    report = ChainReport(aggregate_id=str(aggregate_id))
    chained = False
    for record in sorted(records, key=lambda r: r.version):
        expected = report.version + 1

        def fail(problem: str) -> ChainReport:
            report.problem = Problem(record.aggregate_id, record.version, record.position, problem)
            return report

        if record.version != expected:
            return fail(f"version {expected} is missing before it (deleted, or versions changed)"
                        if record.version > expected else f"version {record.version} appears twice")
        content, previous, stored_hash = unseal(record.state)
        if stored_hash is None:
            if chained:
                return fail("carries no chain although an earlier event of its aggregate does (chain removed)")
            report.hashes.append(digest(report.head, record.aggregate_id, record.version, record.topic, content))
            report.unchained += 1
        else:
            chained = True
            if previous != report.head:
                return fail("does not link to the event before it (an event before it was changed, deleted, "
                            "inserted or swapped)")
            if digest(previous, record.aggregate_id, record.version, record.topic, content) != stored_hash:
                return fail("its content, type or version was changed after it was recorded")
            report.hashes.append(stored_hash)
    return report


def verify_records(records: Iterable[Record]) -> list[ChainReport]:
    """Every aggregate's chain among the records (a whole service's log, or a case's aggregates)."""
    by_aggregate: dict[str, list[Record]] = {}
    for record in records:
        by_aggregate.setdefault(record.aggregate_id, []).append(record)
    return [verify_chain(aggregate_id, chain) for aggregate_id, chain in by_aggregate.items()]


def verify_log(records: Sequence[Record]) -> tuple[list[ChainReport], list[Problem]]:
    """A whole service's log in position order: each aggregate's chain, and no unchained event
    recorded after the service began chaining."""
    problems = []
    first_chained = next((r.position for r in records if unseal(r.state)[2] is not None), None)
    if first_chained is not None:
        problems = [
            Problem(r.aggregate_id, r.version, r.position,
                    "carries no chain although it was recorded after the service began chaining")
            for r in records
            if r.position is not None and r.position > first_chained and unseal(r.state)[2] is None
        ][:1]
    return verify_records(records), problems


def verify_against_heads(reports: Iterable[ChainReport], heads: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Chains that no longer reach a head known from elsewhere (an archive's manifest): cut off or rewritten."""
    by_id = {report.aggregate_id: report for report in reports}
    problems = []
    for aggregate_id, head in heads.items():
        report = by_id.get(aggregate_id)
        if report is not None and not report.intact:
            continue  # its own problem is reported already
        if report is None:
            problems.append(Problem(aggregate_id, 1, None, "the aggregate is gone"))
        elif report.version < head["version"]:
            problems.append(Problem(aggregate_id, report.version + 1, None,
                                    f"events {report.version + 1}..{head['version']} are gone (the chain was cut off)"))
        elif report.hashes[head["version"] - 1] != head["head"]:
            problems.append(Problem(aggregate_id, head["version"], None,
                                    "differs from the head recorded earlier (the chain was rewritten)"))
    return problems
