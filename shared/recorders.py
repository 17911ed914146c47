"""eventsourcing's process recorders, whose events' transaction also runs what a save asks to be
written with them, before it commits: the read model's rows and position (shared.application).

A save passes `alongside=f` (eventsourcing hands a save's keywords to the recorder); the recorder
calls `f(cursor, notification_ids)` on the transaction's own cursor once the events are inserted.
The stores are chosen by eventsourcing's PROCESS_RECORDER_TOPIC (shared.store.persistence_env).
"""
from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder


class RolledBack(BaseException):
    """What `alongside` raised, carried out of eventsourcing's PostgreSQL insert: it catches Exception
    inside its transaction and re-raises it only after the transaction has ended (committing the
    events). A BaseException ends the transaction with a rollback; the error is raised again outside."""

    def __init__(self, error: Exception):
        super().__init__(error)
        self.error = error


def run_alongside(cursor: Any, notification_ids: Sequence[int] | None, kwargs: dict[str, Any]) -> None:
    alongside = kwargs.get("alongside")
    if alongside is not None and notification_ids:
        try:
            alongside(cursor, notification_ids)
        except Exception as error:
            raise RolledBack(error) from error


class RaisesAfterRollback:
    """A recorder whose `alongside` failing rolls the events back before the error is raised."""

    writes_alongside = True

    def record_position(self, cursor: Any, tracking: Tracking) -> None:
        """A position in the transaction of `cursor` (an `alongside`): eventsourcing's own statement, which
        fails (IntegrityError) unless the position recorded so far is lower."""
        self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        try:
            return super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        except RolledBack as rolled_back:
            raise rolled_back.error from None


class SQLiteRecorder(RaisesAfterRollback, SQLiteProcessRecorder):
    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
                       ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        run_alongside(c, notification_ids, kwargs)
        return notification_ids


def _postgres_recorder() -> type:
    from eventsourcing.postgres import PostgresProcessRecorder
    from psycopg.sql import SQL, Identifier

    class PostgresRecorder(RaisesAfterRollback, PostgresProcessRecorder):
        """The ids are fetched after the pipeline's sync, still inside the transaction (and its
        pipeline: what `alongside` sends goes with the commit, a look at an answer syncs).

        A save (its insert is ours, below) sends no NOTIFY: nothing here LISTENs (the relay and the
        read model are nudged in the process, and poll for what other instances wrote), and a NOTIFY
        holds a lock of the whole database while its transaction commits. Nor does it set a lock
        timeout of 0, the default."""

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            if not self.datastore.lock_timeout:
                self.lock_table_statements = self.lock_table_statements[1:]  # LOCK TABLE alone
            self.insert_columns_statement = SQL(
                "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) RETURNING notification_id"
            ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name),
                     id_type=Identifier(self.datastore.originator_id_type))

        def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
            """eventsourcing's insert, its events sent as four arrays in binary (the state as bytes) rather
            than one array of a composite type in text, where psycopg wrote and PostgreSQL parsed each
            state as escaped hexadecimal: 0.25 against 0.14 ms of the client's CPU for an event of 2 kB."""
            self._lock_table(curs)
            curs.execute(self.insert_columns_statement, [
                [stored.originator_id for stored in stored_events],
                [stored.originator_version for stored in stored_events],
                [stored.topic for stored in stored_events],
                [stored.state for stored in stored_events],
            ], prepare=True)

        def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
                                           ) -> Sequence[int] | None:
            notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
            run_alongside(curs, notification_ids, kwargs)
            return notification_ids

    return PostgresRecorder


def __getattr__(name: str) -> Any:
    # PostgreSQL's recorder is made only where it is used (psycopg is imported with it).
    if name == "PostgresRecorder":
        globals()[name] = _postgres_recorder()
        return globals()[name]
    raise AttributeError(name)


def reading(datastore: Any) -> Any:
    """A cursor for reading (a context manager). On PostgreSQL, the pooled connection as it is, in
    autocommit: a read inside BEGIN ... ROLLBACK would also cost psycopg every statement it had prepared
    on that connection (it sends DEALLOCATE ALL after a ROLLBACK), and the next statements parsed again.
    On SQLite, a transaction that is not committed."""
    if store_of(datastore) == "postgres":
        return datastore.cursor()
    return datastore.transaction(commit=False)


def store_of(part: Any) -> str:
    """Which of eventsourcing's stores a recorder or datastore belongs to ("sqlite", "postgres", "popo"),
    ours included."""
    for kind in type(part).__mro__:
        if kind.__module__.startswith("eventsourcing."):
            return kind.__module__.split(".")[1]
    raise ValueError(f"{type(part).__name__} is none of eventsourcing's recorders or datastores")
