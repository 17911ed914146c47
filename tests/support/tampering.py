"""What someone with write access to a service's database could do to its stored events."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from uuid import UUID

import psycopg
from psycopg import sql


class StoredRows:
    """The rows of one service's event table, in SQLite or PostgreSQL, behind the application's back."""

    def __init__(self, config: dict[str, Any], service: str):
        self.config = config
        self.service = service
        self.postgres = config["PERSISTENCE"] == "postgres"

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.postgres:
            with psycopg.connect(host=self.config["POSTGRES_HOST"], port=self.config["POSTGRES_PORT"],
                                 user=self.config["POSTGRES_USER"], dbname=self.config["POSTGRES_DBNAME"],
                                 password=self.config["POSTGRES_PASSWORD"] or None) as connection:
                yield connection.cursor()
        else:
            connection = sqlite3.connect(Path(self.config["DATA_DIR"]) / f"{self.service}.sqlite")
            try:
                with connection:
                    yield connection.cursor()
            finally:
                connection.close()

    def _statement(self, text: str) -> Any:
        if not self.postgres:
            return text.format(table="stored_events").replace("%s", "?")
        table = sql.Identifier(self.config["POSTGRES_SCHEMA"], f"{self.service}_events")
        return sql.SQL(text.replace("{table}", "{table}")).format(table=table)

    def _id(self, aggregate_id: str) -> Any:
        return UUID(aggregate_id) if self.postgres else UUID(aggregate_id).hex

    def state(self, aggregate_id: str, version: int) -> bytes:
        with self._cursor() as cursor:
            cursor.execute(self._statement("SELECT state FROM {table} WHERE originator_id = %s AND originator_version = %s"),
                           (self._id(aggregate_id), version))
            return bytes(cursor.fetchone()[0])

    def set_state(self, aggregate_id: str, version: int, state: bytes) -> None:
        with self._cursor() as cursor:
            cursor.execute(self._statement("UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = %s"),
                           (state, self._id(aggregate_id), version))
            assert cursor.rowcount == 1

    def edit(self, aggregate_id: str, version: int, old: bytes, new: bytes) -> None:
        state = self.state(aggregate_id, version)
        assert old in state
        self.set_state(aggregate_id, version, state.replace(old, new))

    def delete(self, aggregate_id: str, version: int) -> None:
        with self._cursor() as cursor:
            cursor.execute(self._statement("DELETE FROM {table} WHERE originator_id = %s AND originator_version = %s"),
                           (self._id(aggregate_id), version))
            assert cursor.rowcount == 1

    def swap(self, aggregate_id: str, version: int, other_version: int) -> None:
        """Two events change places: each row takes the other's type and content."""
        rows = {}
        with self._cursor() as cursor:
            for v in (version, other_version):
                cursor.execute(self._statement(
                    "SELECT topic, state FROM {table} WHERE originator_id = %s AND originator_version = %s"),
                    (self._id(aggregate_id), v))
                rows[v] = cursor.fetchone()
            for v, w in ((version, other_version), (other_version, version)):
                cursor.execute(self._statement(
                    "UPDATE {table} SET topic = %s, state = %s WHERE originator_id = %s AND originator_version = %s"),
                    (rows[w][0], bytes(rows[w][1]), self._id(aggregate_id), v))
