"""psycopg's wait under eventlet (shared.pgwait), against the real PostgreSQL: a pipelined
executemany goes through the hub only when the socket is not ready, yet gives the hub a turn
every YIELD_EVERY answers; and what it writes is all there. (A lock wait on the hub, with other
requests answered meanwhile, is shown by test_hub_stays_responsive.)"""
from __future__ import annotations

import select
from typing import Any, Iterator

import psycopg
import psycopg.waiting
import pytest

from shared import pgwait
from tests.support.infrastructure import Infrastructure

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def connection(infrastructure: Infrastructure) -> Iterator[psycopg.Connection]:
    with infrastructure.connect(autocommit=True) as connection:
        connection.execute("CREATE TEMPORARY TABLE written (n integer, word text)")
        yield connection


def hub_waits_during(connection: psycopg.Connection, rows: int, monkeypatch: Any) -> int:
    """How many times the hub was asked to wait while `rows` rows were written in one executemany."""
    waits = [0]
    green_select = select.select
    socket = connection.fileno()

    def counted(readable: Any, writable: Any, exceptional: Any, *timeout: Any) -> Any:
        waits[0] += socket in exceptional  # this connection's waits only (psycopg's wait passes it there)
        return green_select(readable, writable, exceptional, *timeout)

    with monkeypatch.context() as patch:
        patch.setattr(select, "select", counted)
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO written VALUES (%s, %s)", [(n, f"ord {n}") for n in range(rows)])
    return waits[0]


def test_rows_sent_while_the_socket_is_ready_do_not_each_wait_on_the_hub(
        connection: psycopg.Connection, monkeypatch: Any) -> None:
    monkeypatch.setattr(psycopg.waiting, "wait", psycopg.waiting.wait_select)
    through_the_hub = hub_waits_during(connection, 30, monkeypatch)
    monkeypatch.setattr(psycopg.waiting, "wait", pgwait.wait_ready_first)
    ready_first = hub_waits_during(connection, 30, monkeypatch)
    assert through_the_hub >= 30  # psycopg's select wait: once a row at least
    assert ready_first <= 5  # the server's answers, when they were not there yet
    assert connection.execute("SELECT count(*), count(DISTINCT n) FROM written").fetchone() == (60, 30)


def test_a_long_write_still_gives_the_hub_a_turn(connection: psycopg.Connection, monkeypatch: Any) -> None:
    monkeypatch.setattr(psycopg.waiting, "wait", pgwait.wait_ready_first)
    rows = 20 * pgwait.YIELD_EVERY
    assert hub_waits_during(connection, rows, monkeypatch) >= rows // pgwait.YIELD_EVERY
    assert connection.execute("SELECT count(*), min(n), max(n) FROM written").fetchone() == (rows, 0, rows - 1)


def test_a_socket_numbered_beyond_select_is_waited_for_on_the_hub(
        connection: psycopg.Connection, monkeypatch: Any) -> None:
    monkeypatch.setattr(psycopg.waiting, "wait", pgwait.wait_ready_first)
    monkeypatch.setattr(pgwait, "PROBED_BELOW", connection.fileno())  # as if it were numbered 1024
    assert hub_waits_during(connection, 30, monkeypatch) >= 30
    assert connection.execute("SELECT count(*) FROM written").fetchone() == (30,)


def test_a_service_on_postgresql_waits_this_way(infrastructure: Infrastructure, monkeypatch: Any) -> None:
    from shared.store import StoreGate

    monkeypatch.setattr(psycopg.waiting, "wait", psycopg.waiting.wait_select)
    StoreGate({"PERSISTENCE_MODULE": "eventsourcing.postgres"})
    assert psycopg.waiting.wait is pgwait.wait_ready_first
