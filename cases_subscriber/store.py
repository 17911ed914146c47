"""The subscriber's own store: its position in each source, the (source, position) it applied, and
whatever the handler writes, in one transaction.

Two tables, made by `setup` (`IF NOT EXISTS`), beside the handler's own:

- `subscriber_positions (subscriber, source, position, applied, event_position, event_id)`: everything
  of the source at or below `position` has been handed to the handler, or does not concern this
  subscriber; `applied` counts the events handed over; `event_position` and `event_id` name the last
  event handed over, so that the source's log can be checked to be still the one followed.
- `subscriber_applied (subscriber, source, position, event_id, type, sequence)`: one row per event handed
  over (its primary key refuses a second), `sequence` the order it was applied in (1, 2, 3 ...).

The position moves by compare-and-set (`UPDATE ... WHERE position = <the one read>`): a second instance
that applied something meanwhile makes the transaction fail (`PositionMoved`) and roll back, so two
instances never both apply one event, whatever runs.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS subscriber_positions (
        subscriber TEXT NOT NULL, source TEXT NOT NULL, position BIGINT NOT NULL,
        applied BIGINT NOT NULL DEFAULT 0, event_position BIGINT, event_id TEXT,
        PRIMARY KEY (subscriber, source))""",
    """CREATE TABLE IF NOT EXISTS subscriber_applied (
        subscriber TEXT NOT NULL, source TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT,
        type TEXT NOT NULL, sequence BIGINT NOT NULL, applied_at TEXT NOT NULL,
        PRIMARY KEY (subscriber, source, position))""",
]


class PositionMoved(Exception):
    """The stored position is no longer the one this transaction started from (another instance)."""


class Transaction:
    """What the handler gets: `execute(sql, params)` with `?` placeholders on either store (turned into
    `%s` for psycopg, so write no literal `?` in SQL), and the driver's own `connection`."""

    def __init__(self, connection: Any, paramstyle: str):
        self.connection = connection
        self.paramstyle = paramstyle

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.paramstyle == "format":
            sql = sql.replace("%", "%%").replace("?", "%s")
        return self.connection.execute(sql, tuple(params))


class Store:
    """The tables and their transactions; a subclass says how to connect and begin."""

    def transaction(self, write: bool = True) -> Any:
        """A context manager yielding a Transaction, committed at the end, rolled back on an exception;
        `write=False` for reading only (SQLite then takes no write lock)."""
        raise NotImplementedError

    def setup(self, subscriber: str, sources: Sequence[str], schema: Sequence[str] = ()) -> None:
        """The kit's tables and `schema` (the handler's own, `CREATE ... IF NOT EXISTS`), and a position
        row for each source."""
        with self.transaction() as tx:
            for statement in [*SCHEMA, *schema]:
                tx.execute(statement)
            for source in sources:
                tx.execute("INSERT INTO subscriber_positions (subscriber, source, position, applied) "
                           "VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING", (subscriber, source))

    def position(self, subscriber: str, source: str) -> int:
        return self.progress(subscriber, source)[0]

    def progress(self, subscriber: str, source: str) -> tuple[int, int | None, str | None]:
        """(position, the last applied event's position, its event_id): (0, None, None) before any."""
        with self.transaction(write=False) as tx:
            row = tx.execute("SELECT position, event_position, event_id FROM subscriber_positions "
                             "WHERE subscriber = ? AND source = ?", (subscriber, source)).fetchone()
        if not row:
            return 0, None, None
        return int(row[0]), (int(row[1]) if row[1] is not None else None), row[2]

    def applied_event_id(self, subscriber: str, source: str, position: int) -> tuple[bool, str | None]:
        """(whether an event at `position` was handed over, its event_id)."""
        with self.transaction(write=False) as tx:
            row = tx.execute("SELECT event_id FROM subscriber_applied WHERE subscriber = ? AND source = ? "
                             "AND position = ?", (subscriber, source, position)).fetchone()
        return (True, row[0]) if row else (False, None)

    def applied(self, subscriber: str, source: str) -> list[tuple[int, str, str | None]]:
        """(position, type, event_id) of every event applied, in the order applied."""
        with self.transaction(write=False) as tx:
            rows = tx.execute("SELECT position, type, event_id FROM subscriber_applied WHERE subscriber = ? "
                              "AND source = ? ORDER BY sequence", (subscriber, source)).fetchall()
        return [(int(position), type_, event_id) for position, type_, event_id in rows]

    @staticmethod
    def advance(tx: Transaction, subscriber: str, source: str, expected: int, position: int,
                envelope: dict[str, Any] | None = None) -> None:
        """Moves the position from `expected` to `position` in `tx`; with `envelope`, records it applied."""
        if envelope is None:
            cursor = tx.execute("UPDATE subscriber_positions SET position = ? "
                                "WHERE subscriber = ? AND source = ? AND position = ?",
                                (position, subscriber, source, expected))
        else:
            cursor = tx.execute(
                "UPDATE subscriber_positions SET position = ?, applied = applied + 1, event_position = ?, "
                "event_id = ? WHERE subscriber = ? AND source = ? AND position = ?",
                (position, position, envelope.get("event_id"), subscriber, source, expected))
        if cursor.rowcount != 1:
            raise PositionMoved(f"{subscriber}'s position in {source} is no longer {expected}")
        if envelope is not None:
            tx.execute(
                "INSERT INTO subscriber_applied (subscriber, source, position, event_id, type, sequence, applied_at) "
                "SELECT ?, ?, ?, ?, ?, applied, ? FROM subscriber_positions WHERE subscriber = ? AND source = ?",
                (subscriber, source, position, envelope.get("event_id"), envelope["type"],
                 datetime.now(timezone.utc).isoformat(), subscriber, source))


class SQLiteStore(Store):
    """A SQLite file (WAL); each transaction begins IMMEDIATE, so writers take turns."""

    paramstyle = "qmark"

    def __init__(self, path: str, timeout: float = 30.0):
        self.path = path
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield Transaction(connection, self.paramstyle)
            connection.execute("COMMIT")  # inside: a COMMIT that fails is rolled back, the connection usable
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class PostgresStore(Store):
    """A PostgreSQL database (a libpq connection string: `dbname=register host=...`; a schema of its own
    with `options=-csearch_path=<schema>`). A broken connection is opened again on the next transaction."""

    paramstyle = "format"

    def __init__(self, conninfo: str, connect_timeout: int = 5):
        self.conninfo = conninfo
        self.connect_timeout = connect_timeout
        self._local = threading.local()

    def _connection(self) -> Any:
        import psycopg  # only a PostgreSQL store needs it

        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.broken:
            connection = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=self.connect_timeout)
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        connection = self._connection()
        with connection.transaction():
            yield Transaction(connection, self.paramstyle)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
