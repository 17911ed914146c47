"""The eventsourcing application base every service builds on."""
from __future__ import annotations

import itertools
import logging
import time
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, Callable, ClassVar, Hashable, Iterable, Iterator, Mapping, Sequence, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError, JSONTranscoder, Notification, ProcessRecorder, Tracking, Transcoding,
)

from shared.chain import ChainedEventStore, ChainedMapper, Record, unseal
from shared.context import note, working_on
from shared.envelope import (
    describe, effective_on, event_type, is_envelope, read_basis, to_envelope, to_json_compatible,
)
from shared.errors import CaseError, ConcurrentChange, InvalidRequest, NotFound
from shared.files import FileStore, StoredFile, construct_file_store, resolved_file, resolved_files
from shared.readmodel import TRACKING_NAME as READ_MODEL_POSITION
from shared.readmodel import Condition, Page, ReadModel, Tag, equal_to, paged, searched, within
from shared.recorders import reading, store_of
from shared.reminders import NEXT_REMINDER_DUE, REMINDERS
from shared.serials import Serial

TAggregate = TypeVar("TAggregate", bound=Aggregate)
log = logging.getLogger(__name__)
REQUEST_CATCH_UP_BATCHES = 4


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def projected(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """eventsourcing's `project_aggregate` without its `assert isinstance(event, CanMutateProtocol)`:
    a runtime-checkable Protocol, checked per event, was a third of the time an aggregate takes to
    load (about 40 µs an event on this machine); every event of ours is one of eventsourcing's."""
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


# The aggregates a run of inbound events has changed so far, not yet saved (CaseApplication.apply_inbound_run).
_held: ContextVar[dict[Any, Any] | None] = ContextVar("held_aggregates", default=None)


class CaseRepository(Repository):
    """eventsourcing's repository, its aggregates projected by `projected`. Inside `holding()`, an
    aggregate changed or created earlier in the same unit of work is the one got, as it stands in
    memory: a later event of the run sees what the earlier ones did before anything is saved.

    `snapshots=False`: the aggregate is one of a kind never snapshotted, so the store is not asked for
    its snapshot first (eventsourcing asks for every aggregate: on PostgreSQL a third of loading a
    meeting of five agenda items, 1.5 against 1.0 ms)."""

    def get(self, aggregate_id: Any, *, version: int | None = None, projector_func: Any = projected,
            snapshots: bool = True, **options: Any) -> Any:
        held = _held.get()
        if held is not None and version is None and aggregate_id in held:
            return held[aggregate_id]
        if not snapshots and version is None and self.cache is None:
            aggregate = projector_func(None, self.event_store.get(originator_id=aggregate_id))
            if aggregate is None:
                raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} not found.")
            return aggregate
        return super().get(aggregate_id, version=version, projector_func=projector_func, **options)

    @staticmethod
    @contextmanager
    def holding() -> Iterator[dict[Any, Any]]:
        """A unit of work's aggregates, by id: put each one changed in it; forgotten when it ends."""
        token = _held.set({})
        try:
            yield _held.get()  # type: ignore[misc]
        finally:
            _held.reset(token)


class CaseApplication(Application):
    """An application whose recorder also tracks positions (used by the outbox relay).

    `source` names the service in envelopes; events of the `published` aggregates
    are the public contract, anything else in the log (counters) stays inside.
    """

    source: ClassVar[str] = ""
    published: ClassVar[tuple[type[Aggregate], ...]] = ()
    inbox_sources: ClassVar[tuple[str, ...]] = ()
    # A counter (diary numbers, paragraphs) gains an event per number it issues: a snapshot
    # every 100 keeps issuing the 5,000th number from replaying the 4,999 before it.
    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {Serial: 100}

    # The tables lists, filters, look-ups and search read (shared.readmodel); None: no lists.
    read_model_class: ClassVar[type[ReadModel] | None] = None
    # The aggregate that raises reminders (shared.reminders) and the listing whose rows carry its
    # next_reminder_due; its read model lists the reminders too. None: the service raises none.
    reminding: ClassVar[tuple[type[Aggregate], str] | None] = None

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        # An inbox event that keeps failing (shared.inbox), by source: shown by /health.
        self.inbox_failures: dict[str, dict[str, Any]] = {}
        # The position this instance last found applied, by source: the store's is at least that (positions
        # only grow), so an event at or below it is known a duplicate without asking the store.
        self.applied_at_least: dict[str, int] = {}
        self.read_model = self.read_model_class(self) if self.read_model_class is not None else None
        self.outbox_relay: Any = None  # shared.outbox.OutboxRelay, set where one runs beside the application
        # Facts about an aggregate that never change once true (its diary number from a version on).
        self.facts = FactCache()
        # Uploaded files by their SHA-256, beside the event store (shared.files).
        self.files: FileStore = construct_file_store(self.recorder, self.env)

    # --- files (shared.files): stored once by their hash, read with the hash checked ---------------

    def store_file(self, content: bytes, media_type: str) -> StoredFile:
        return self.files.put(content, media_type)

    def read_file(self, sha256: str) -> tuple[StoredFile, bytes]:
        return self.files.read(sha256)

    def resolved_file(self, reference: Mapping[str, Any] | None, field: str) -> dict[str, Any] | None:
        """A command's `{sha256, filename}` as an event records it, size and media type from the store."""
        return resolved_file(self.files, reference, field)

    def resolved_files(self, references: Sequence[Mapping[str, Any]] | None, field: str) -> list[dict[str, Any]]:
        return resolved_files(self.files, list(references or []), field)

    def read_attached(self, attached: Iterable[Mapping[str, Any] | None], sha256: str, where: str
                      ) -> tuple[dict[str, Any], bytes]:
        """A file an aggregate carries (a follow-up's, a reply's, a report's) and its content, the hash
        checked; 404 when the aggregate carries no file with that hash."""
        for file in attached:
            if file is not None and file["sha256"] == sha256.lower():
                _, content = self.read_file(file["sha256"])
                return dict(file), content
        raise NotFound(f"No file {sha256} on {where}")

    def diary_number_of(self, domain_event: Any, position: int) -> str | None:
        """The diary number of the case an event concerns, as it was when it was recorded.

        By default the event's own `diary_number` (an agenda item's case, say); a
        service whose aggregates are cases overrides it.
        """
        return getattr(domain_event, "diary_number", None)

    def envelope_for(self, notification: Notification) -> dict[str, Any] | None:
        domain_event = self.mapper.to_domain_event(notification)
        if not isinstance(domain_event, tuple(cls.Event for cls in self.published)):
            return None
        _, previous, hash_ = unseal(notification.state)
        return to_envelope(
            self.source, notification.id, domain_event, self.diary_number_of(domain_event, notification.id),
            chain={"previous": previous, "hash": hash_} if hash_ else None,
        )

    def redacted_envelopes(self, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The envelopes as the public feed and the outbox carry them to other systems: a service whose
        aggregates hold secret content (shared.secrecy) withholds it here. By default, as they are."""
        return envelopes

    def when(self, source: str, envelope: dict[str, Any]) -> list[Aggregate]:
        """The policy for another service's event: the aggregates it changed, unsaved."""
        return []

    def apply_inbound(self, source: str, envelope: Any) -> str:
        """Applies an event of another service exactly once: its effects and its position together.

        A refusal by a case (CaseError) or an event that breaks the envelope contract
        becomes an Incident; anything else (the store, a bug) propagates, and the
        inbox tries the event again.
        """
        from shared.inbox import Incident, incident_for

        if not is_envelope(envelope):
            self.save(Incident(
                source=source, position=0, event_type=str(_get(envelope, "type")), diary_number=None,
                problem="Not an event envelope", detail=repr(envelope)[:2000], actor=source,
            ))
            return "rejected"
        position = envelope["position"]
        known = self.applied_at_least.get(source)
        if position <= (known if known is not None else self._applied_position(source)):
            return "duplicate"  # the store is asked once a process (the commonest redelivery follows a restart)
        try:
            changed = self.when(source, envelope)
            outcome = "applied" if changed else "ignored"
        except CaseError as refused:
            changed = [incident_for(source, envelope, refused)]
            outcome = "flagged"
        except (KeyError, TypeError, ValueError) as malformed:
            changed = [incident_for(source, envelope, MalformedEvent(f"{type(malformed).__name__}: {malformed}"))]
            outcome = "flagged"
        processing = ProcessingEvent(tracking=Tracking(application_name=source, notification_id=position))
        processing.collect_events(*changed)
        try:
            # The position is recorded only over a lower one (eventsourcing's tracking, a compare-and-set):
            # an event applied already, here or by another instance, takes nothing of this with it.
            self._record(processing)
        except IntegrityError:
            if self._applied_since(source, position):
                return "duplicate"
            raise  # a concurrent change of a case the event changes: tried again
        self._remember_applied(source, position)
        return outcome

    def _applied_since(self, source: str, position: int) -> bool:
        """Whether the store holds `source`'s event at `position` applied."""
        return position <= self._applied_position(source)

    def _applied_position(self, source: str) -> int:
        """The position of `source` the store holds applied (read, and remembered)."""
        applied = self.recorder.max_tracking_id(source) or 0
        self._remember_applied(source, applied)
        return applied

    def _remember_applied(self, source: str, position: int) -> None:
        self.applied_at_least[source] = max(position, self.applied_at_least.get(source, 0))

    def apply_inbound_run(self, source: str, envelopes: Sequence[Any]) -> list[str] | None:
        """Applies consecutive events of one source (a backlog the inbox took at once) in one
        transaction: their effects, in order, and the position, the run's first fresh one then its
        last (a compare-and-set: below). An event's policy sees what the earlier ones of the run did
        (the repository holds their aggregates). Each event's own context makes the causation of
        what it records, as when applied alone.

        The envelopes are in the order of their positions (the inbox takes only such a run:
        `shared.inbox.applies_as_run`). None, with nothing saved, when one of them would not simply
        apply: refused or malformed (an incident is made one event at a time, its own
        transaction), or the store cannot record a run's positions (eventsourcing's in-memory
        one); the inbox then applies them one at a time. Anything else propagates: the store
        failing or a concurrent change (the inbox gives the run back, to try again after a pause),
        a bug (the inbox applies them one at a time).
        """
        from shared.inbox import inbound_context

        if not getattr(self.recorder, "writes_alongside", False):
            return None
        applied = self._applied_position(source)  # a run may begin with events applied (given again)
        fresh = [envelope["position"] for envelope in envelopes if envelope["position"] > applied]
        if not fresh:
            return ["duplicate"] * len(envelopes)
        outcomes: list[str] = []
        processing = ProcessingEvent(tracking=Tracking(application_name=source, notification_id=fresh[0]))
        with self.repository.holding() as held:
            for envelope in envelopes:
                if envelope["position"] <= applied:
                    outcomes.append("duplicate")
                    continue
                with working_on(**inbound_context(envelope)):
                    try:
                        changed = self.when(source, envelope)
                    except (CaseError, KeyError, TypeError, ValueError):
                        return None
                held.update((aggregate.id, aggregate) for aggregate in changed)
                processing.collect_events(*changed)
                outcomes.append("applied" if changed else "ignored")
        last = Tracking(application_name=source, notification_id=fresh[-1])
        if not processing.events:
            processing.tracking = last  # nothing that could take effect twice
        elif fresh[-1] != fresh[0]:
            # Compare-and-set: the run's first position is recorded first, which fails if another instance
            # has applied any of the run meanwhile (it was given the messages when this one's connection
            # was lost); then its last, in the same transaction.
            processing.saved_kwargs["alongside"] = lambda cursor, _: self.recorder.record_position(cursor, last)
        self._record(processing)
        self._remember_applied(source, fresh[-1])
        return outcomes

    def give_up_inbound(self, source: str, envelope: Any, error: Exception) -> None:
        """Records that an event kept failing, with its position, so the inbox can go on."""
        from shared.inbox import Incident

        incident = Incident(
            source=source, position=_get(envelope, "position") or 0, event_type=str(_get(envelope, "type")),
            diary_number=_get(envelope, "diary_number"), problem="Could not be applied",
            detail=f"{type(error).__name__}: {error}"[:2000], actor=source,
        )
        if not is_envelope(envelope):
            self.save(incident)
            return
        processing = ProcessingEvent(tracking=Tracking(application_name=source, notification_id=envelope["position"]))
        processing.collect_events(incident)
        try:
            self._record(processing)
        except IntegrityError:
            if not self._applied_since(source, envelope["position"]):
                raise
            # applied meanwhile (another instance, or a redelivery whose policy now fails): nothing to flag

    def _record(self, processing_event: ProcessingEvent) -> list[Any]:
        """Records the events with their rows; once committed, hands them to the outbox relay, which
        publishes them without reading them back from the log."""
        recordings = self._record_with_rows(processing_event)
        if self.outbox_relay is not None and recordings:
            self.outbox_relay.saved([recording.notification for recording in recordings])
        return recordings

    def _record_with_rows(self, processing_event: ProcessingEvent) -> list[Any]:
        """Records the events and, in their own transaction, the rows they change in the read model,
        made from the aggregates in memory (shared.recorders; ReadModel.rows_of_save). Where that
        could not be done (a store without it, someone else's events in between), the read model's
        catch-up reads them from the log."""
        if self.read_model is None:
            return super()._record(processing_event)
        rows = self.read_model.rows_of_save(processing_event.events, processing_event.aggregates)
        written: list[Callable[[], bool]] = []
        if rows is not None:
            before = processing_event.saved_kwargs.get("alongside") or (lambda cursor, ids: None)
            processing_event.saved_kwargs["alongside"] = lambda cursor, ids: (
                before(cursor, ids), written.append(self.read_model.write_within(cursor, ids, rows)))
        recordings = super()._record(processing_event)
        self.read_model.saved(processing_event.events, processing_event.aggregates)
        if written and written[-1]():  # the last attempt (eventsourcing retries a lost connection) committed
            self.read_model.written(rows)
        else:
            self.read_model.nudge()
        return recordings

    # --- reads: the read model, caught up first so that every acknowledged write is seen ----------

    def caught_up(self, complete: bool = False) -> ReadModel:
        """The read model with what the log holds beyond it applied first: all of it when a rule
        depends on the answer (`complete`); else a few batches, so that a request after a long
        backlog (a rebuild, a bulk import) is not held while the background loop works it off."""
        if self.read_model is None:
            raise NotFound(f"{self.source} keeps no lists")
        self.read_model.catch_up(None if complete else REQUEST_CATCH_UP_BATCHES)
        return self.read_model

    def list_page(
        self, listing: str, query: Mapping[str, Any], *, conditions: Sequence[Condition] = (),
        tags: Sequence[Tag] = (), diary_number: str | None = None, complete: bool = False,
    ) -> Page:
        """A page of one of the service's lists; a look-up by diary number that finds nothing is a 404."""
        if self.read_model is None:
            raise NotFound(f"{self.source} keeps no lists")
        read_model = self.read_model
        page = paged(read_model.view, read_model.listing(listing), query, conditions=conditions, tags=tags,
                     unless_behind=READ_MODEL_POSITION)
        if page is None:  # the log holds more than the lists: caught up first, then read
            self.caught_up(complete)
            page = paged(read_model.view, read_model.listing(listing), query, conditions=conditions, tags=tags)
        if diary_number is not None and not page.items and not query.get("cursor"):
            raise NotFound(f"No {read_model.listing(listing).one} with diary number {diary_number!r}")
        return page

    def search(self, query: Mapping[str, Any]) -> Page:
        """Full-text search over the service's read model; each hit names this service."""
        page = searched(self.caught_up().view, f"{self.source}/search", query)
        for hit in page.items:
            hit["service"] = self.source
        return page

    def list_incidents(self, query: Mapping[str, Any]) -> Page:
        return self.list_page("incidents", query)

    # --- reminders (bevakning) and other work that falls due on a day ----------------------------

    def list_reminders(self, query: Mapping[str, Any]) -> Page:
        """A page of the raised reminders that still apply, by due day; by role, and due on or before a day."""
        if self.reminding is None:
            raise NotFound(f"{self.source} raises no reminders")
        return self.list_page(REMINDERS, query, conditions=[
            *equal_to(query, "role"), *within("due_on", None, query.get("due_before"))])

    def mark_reminder_done(self, aggregate_id: UUID, *, key: str, roles: Iterable[str], actor: str) -> Aggregate:
        """A reminder looked at by someone with its role: it leaves the list of what is due."""
        if self.reminding is None:
            raise NotFound(f"{self.source} raises no reminders")
        return self.change(aggregate_id, self.reminding[0], "mark_reminder_done", key=key, roles=roles, actor=actor)

    def raise_due_reminders(self, today: date, time_limit: float | None = None) -> int:
        """Raises every reminder due by today, each once, on the aggregates the read model shows to have
        one due (no other is loaded); returns how many were raised. `time_limit`: see change_each_due."""
        if self.reminding is None:
            return 0
        return self.change_each_due(self.reminding[1], NEXT_REMINDER_DUE, today, self._raise_reminders_of,
                                    time_limit=time_limit)

    def _raise_reminders_of(self, aggregate_id: UUID, today: date) -> int:
        aggregate: Any = self.load(aggregate_id, self.reminding[0])  # type: ignore[index]
        raised = aggregate.raise_due_reminders(today=today, actor=self.source)
        if raised:
            self.save(aggregate)
        return raised

    def change_each_due(
        self, listing: str, column: str, today: date, change: Callable[[UUID, date], int],
        time_limit: float | None = None,
    ) -> int:
        """Background work on each aggregate of a listing whose `column` (a day) is today or before:
        `change` loads, changes and saves it, and runs again when another instance saved first (so
        whatever it records, it records once). One aggregate failing is logged and the others go on.
        Reads the due rows only, a page at a time; returns the sum of what `change` counted.

        `time_limit` (seconds): no aggregate is begun after that long (a timer's round must end within the store
        gate's timeout, and on SQLite requests wait for it); what is left is still due, so the next
        round reads it again."""
        from shared.serials import retrying_on_conflict

        done = 0
        deadline = None if time_limit is None else time.monotonic() + time_limit
        for row in self.rows_where(listing, [Condition(column, "<=", today.isoformat())], complete=True):
            if deadline is not None and time.monotonic() > deadline:
                return done
            try:
                with working_on(correlation_id=str(uuid4())):  # background work begins a chain of its own
                    done += retrying_on_conflict(change, UUID(row["id"]), today)
            except Exception:  # noqa: BLE001 - one aggregate failing must not hold back the others
                log.exception("%s: could not do what fell due by %s for %s", listing, today, row["id"])
        return done

    def rows_where(
        self, listing: str, conditions: Sequence[Condition], complete: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every row of a listing that meets the conditions, read a page of 500 at a time as it is consumed."""
        cursor = None
        while True:
            page = self.list_page(listing, {"limit": 500, "cursor": cursor}, conditions=conditions, complete=complete)
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    def rebuild_read_model(self) -> int:
        """Drops the read model's tables and replays the whole log into them (`read-models rebuild`)."""
        if self.read_model is None:
            raise NotFound(f"{self.source} keeps no read model")
        return self.read_model.rebuild()

    def health(self) -> dict[str, Any]:
        """Reads the store: the log's head and how far the outbox relay has published it. The positions
        that follow the log are read before its head, so none is ever shown past it."""
        from shared.inbox import still_failing
        from shared.outbox import TRACKING_NAME

        read = self.read_model.position if self.read_model is not None else None
        published = self.recorder.max_tracking_id(TRACKING_NAME) or 0
        applied = {source: self.recorder.max_tracking_id(source) or 0 for source in self.inbox_sources}
        failing = still_failing(self.inbox_failures, applied)
        inboxes = {source: {"applied_position": applied[source], "failing": failing.get(source)}
                   for source in self.inbox_sources}
        head = self.recorder.max_notification_id() or 0
        read = head if read is None else read
        unlisted = dict(self.read_model.failures) if self.read_model is not None else {}
        return {
            "status": "degraded" if failing or unlisted else "ok",
            "log_position": head, "published_position": published, "unpublished": head - published,
            "outbox_relay": self.outbox_relay.role if self.outbox_relay is not None else "off",
            "outbox_blocked": self.outbox_relay.blocked if self.outbox_relay is not None else None,
            "read_model_position": read, "read_model_failures": unlisted, "inboxes": inboxes,
        }

    def aggregate_envelopes(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """One aggregate's public events as the feed carries them (position and diary number included)."""
        notifications = aggregate_notifications(self.recorder, aggregate_id)
        envelopes = [self.envelope_for(notification) for notification in notifications]
        if not notifications or envelopes[0] is None:
            raise NotFound(f"No published aggregate with id {aggregate_id}")
        return [envelope for envelope in envelopes if envelope is not None]

    def feed(self, after: int, limit: int, redacted: bool = True) -> dict[str, Any]:
        """Public events after a position; `last_position` is where to continue from. `redacted`: secret
        content withheld (redacted_envelopes), unless the reader is cleared to read it."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        envelopes = [self.envelope_for(notification) for notification in notifications]
        return {
            "events": (self.redacted_envelopes if redacted else list)(
                [envelope for envelope in envelopes if envelope is not None]),
            "last_position": notifications[-1].id if notifications else after,
        }

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def _take_snapshots(self, processing_event: ProcessingEvent) -> None:
        """Snapshots only spare reads: one that cannot be written must not fail a committed command."""
        try:
            super()._take_snapshots(processing_event)
        except Exception:  # noqa: BLE001
            log.warning("could not take a snapshot; the events are saved", exc_info=True)

    def construct_repository(self) -> CaseRepository:
        return CaseRepository(event_store=self.events, snapshot_store=self.snapshots)  # no aggregate cache

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    def construct_mapper(self) -> ChainedMapper:
        """Every event recorded is chained to its aggregate's previous one (shared.chain)."""
        return ChainedMapper(transcoder=self.construct_transcoder())

    def construct_event_store(self) -> ChainedEventStore:
        return ChainedEventStore(mapper=self.mapper, recorder=self.recorder)

    # --- for auditors: the log as stored, and any aggregate as it was ------------------------

    def records(self, after: int, limit: int) -> dict[str, Any]:
        """Every recorded event after a position, exactly as stored (chains included)."""
        notifications = self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        return {
            "records": [Record.from_stored(notification).to_json() for notification in notifications],
            "last_position": notifications[-1].id if notifications else after,
        }

    def aggregate_records(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """One aggregate's events exactly as stored, in version order."""
        stored = self.recorder.select_events(aggregate_id)
        if not stored:
            raise NotFound(f"No aggregate with id {aggregate_id}")
        return [Record.from_stored(event).to_json() for event in stored]

    def aggregate_as_of(self, aggregate_id: UUID, in_effect_on: date | None = None, **as_of: Any) -> dict[str, Any]:
        """Any aggregate (a case, a meeting, an agreement...) as it was at a version or moment, or as in
        effect on a day."""
        state, events = self.state_as_of(aggregate_id, Aggregate, in_effect_on=in_effect_on, **as_of)
        return {
            **aggregate_state(state),
            "as_of": {key: str(value) for key, value in as_of.items()} or None,
            **read_basis(in_effect_on),
            "last_event": describe(events[-1]),
        }

    def aggregate_states(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """The aggregate after each of its events: what an archive keeps beside the events."""
        aggregate, states = None, []
        for domain_event in self.history(aggregate_id, Aggregate):
            aggregate = domain_event.mutate(aggregate)  # type: ignore[attr-defined]
            states.append({
                "version": domain_event.originator_version, "event_type": event_type(domain_event),
                "occurred_at": domain_event.timestamp.isoformat(), "state": aggregate_state(aggregate)["state"],
            })
        return states

    def load(self, aggregate_id: UUID, aggregate_class: type[TAggregate]) -> TAggregate:
        snapshotted = any(issubclass(kind, aggregate_class) for kind in self.snapshotting_intervals)
        try:
            aggregate = self.repository.get(aggregate_id, snapshots=snapshotted)
        except AggregateNotFoundError:
            raise NotFound(f"No {aggregate_class.__name__.lower()} with id {aggregate_id}") from None
        if not isinstance(aggregate, aggregate_class):
            raise NotFound(f"No {aggregate_class.__name__.lower()} with id {aggregate_id}")
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def change(
        self, aggregate_id: UUID, aggregate_class: type[TAggregate], command: str, *,
        retry_on_conflict: bool = False, derived: Callable[[TAggregate], Mapping[str, Any]] | None = None,
        **arguments: Any,
    ) -> TAggregate:
        """Load → command → save: the shape of most use cases.

        `derived` gives the command's arguments that depend on the loaded aggregate or are checked
        after it (an uploaded file's record, the members of the meeting's body): it is called with
        the aggregate once it is loaded, so a case that does not exist is a 404, or a case in the wrong
        state a 409, before the input is looked at, and the aggregate is loaded once.

        A concurrent save by someone else is a 409 for the user to look at again, unless
        what was saved meanwhile was background work that never conflicts with a command in
        substance (a reminder raised by a timer: events `in_background`), or `retry_on_conflict`
        says every other writer is of that kind (a timer announcing due reviews): then the
        command is re-checked and re-run.
        """
        from shared.serials import retrying_on_conflict

        return retrying_on_conflict(self._change_once, aggregate_id, aggregate_class, command, arguments,
                                    retry_on_conflict, derived)

    def _change_once(
        self, aggregate_id: UUID, aggregate_class: type[TAggregate], command: str, arguments: dict[str, Any],
        retry_on_conflict: bool, derived: Callable[[TAggregate], Mapping[str, Any]] | None,
    ) -> TAggregate:
        aggregate = self.load(aggregate_id, aggregate_class)
        loaded = aggregate.version
        if getattr(aggregate, "diary_number", None):
            note(diary_number=aggregate.diary_number)  # on the log lines of the command
        if derived is not None:
            arguments = {**arguments, **derived(aggregate)}
        getattr(aggregate, command)(**arguments)
        try:
            self.save(aggregate)
        except IntegrityError:
            if retry_on_conflict or self._saved_in_background_since(aggregate_id, loaded):
                raise  # tried again
            raise ConcurrentChange(
                "The case was changed by someone else at the same time; read it again and retry") from None
        return aggregate

    def _saved_in_background_since(self, aggregate_id: UUID, version: int) -> bool:
        return all(getattr(e, "in_background", False) for e in self.events.get(aggregate_id, gt=version))

    def history(self, aggregate_id: UUID, aggregate_class: type[Aggregate]) -> list[DomainEventProtocol[Any]]:
        """Every event of one aggregate of the given class, in version order."""
        events = list(self.events.get(aggregate_id))
        if not events or not isinstance(events[0], aggregate_class.Event):  # type: ignore[arg-type]
            raise NotFound(f"No {aggregate_class.__name__.lower()} with id {aggregate_id}")
        return events

    def state_as_of(
        self,
        aggregate_id: UUID,
        aggregate_class: type[TAggregate],
        *,
        at: datetime | None = None,
        version: int | None = None,
        in_effect_on: date | None = None,
    ) -> tuple[TAggregate, list[DomainEventProtocol[Any]]]:
        """The aggregate as it was at a moment or a version, and the events up to it; or, `in_effect_on`,
        as it was in effect on a day by the business dates its events carry (shared.envelope.effective_on).

        A moment takes the events in version order up to the first one recorded after
        it, so clocks that differ between instances can never leave a gap in versions;
        a day likewise takes them up to the first that took effect later.
        """
        events = self.history(aggregate_id, aggregate_class)
        if version is not None:
            if version > events[-1].originator_version:
                raise InvalidRequest.for_field(
                    "as_of", f"version {version} does not exist; the latest is {events[-1].originator_version}"
                )
            events = events[:version]
        if at is not None:
            events = list(itertools.takewhile(lambda e: e.timestamp <= at, events))
        if in_effect_on is not None:
            events = list(itertools.takewhile(lambda e: effective_on(e) <= in_effect_on, events))
            if not events:
                raise InvalidRequest.for_field("in_effect_on", "the aggregate was not yet in effect on that day")
        if not events:
            raise InvalidRequest.for_field("as_of", "the aggregate did not exist at that point")
        return replay(events), events  # type: ignore[return-value]


class FactCache:
    """A bounded memory of facts that stay true (a case's diary number, from the version that gave it)."""

    def __init__(self, size: int = 10_000):
        self._facts: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size

    def get(self, key: Hashable, find: Callable[[], Any]) -> Any:
        """The remembered fact, or `find()`'s answer; remembered only when it is not None."""
        if key in self._facts:
            self._facts.move_to_end(key)
            return self._facts[key]
        fact = find()
        if fact is not None:
            self.remember(key, fact)
        return fact

    def remember(self, key: Hashable, fact: Any) -> None:
        """A fact learnt on the way (read from the log), so that a later `get` need not look for it."""
        self._facts[key] = fact
        self._facts.move_to_end(key)
        while len(self._facts) > self._size:
            self._facts.popitem(last=False)


def aggregate_notifications(recorder: Any, aggregate_id: UUID) -> list[Notification]:
    """One aggregate's stored events with their positions in the log (the library's
    `select_events` leaves the position out)."""
    if store_of(recorder) == "sqlite":
        with reading(recorder.datastore) as cursor:
            cursor.execute(f"SELECT rowid, * FROM {recorder.events_table_name} WHERE originator_id = ? "
                           "ORDER BY originator_version", [aggregate_id.hex])
            rows = [(row["rowid"], row) for row in cursor.fetchall()]
    else:
        with reading(recorder.datastore) as cursor:
            cursor.execute(f'SELECT * FROM "{recorder.datastore.schema}"."{recorder.events_table_name}" '
                           "WHERE originator_id = %s ORDER BY originator_version", [aggregate_id])
            rows = [(row["notification_id"], row) for row in cursor.fetchall()]
    return [Notification(id=position, originator_id=aggregate_id, originator_version=row["originator_version"],
                         topic=row["topic"], state=bytes(row["state"])) for position, row in rows]


class MalformedEvent(CaseError):
    title = "Malformed event"


def _get(envelope: Any, key: str) -> Any:
    return envelope.get(key) if isinstance(envelope, dict) else None


def aggregate_state(aggregate: Aggregate) -> dict[str, Any]:
    """Any aggregate as plain JSON: its identity, type, version and every attribute of its state."""
    return to_json_compatible({
        "aggregate_id": aggregate.id,
        "type": type(aggregate).__qualname__,
        "version": aggregate.version,
        "created_on": aggregate.created_on,
        "modified_on": aggregate.modified_on,
        "state": {name: value for name, value in vars(aggregate).items() if not name.startswith("_")},
    })


def replay(events: Iterable[DomainEventProtocol[Any]]) -> Aggregate:
    aggregate = None
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)  # type: ignore[attr-defined]
    if aggregate is None:
        raise ValueError("cannot replay an empty sequence of events")
    return aggregate
