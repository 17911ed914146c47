"""The store wiring's own logic: when a pooled connection is pinged before use; closing on a kill."""
from __future__ import annotations

import time
from typing import Any

from shared.store import PingWhenNotRecent


class Connection:
    """Stands in for a psycopg connection: the check only needs something it can remember."""


def test_a_connection_is_pinged_again_only_after_the_interval(monkeypatch: Any) -> None:
    now = [100.0]
    monkeypatch.setattr("shared.store.time.monotonic", lambda: now[0])
    pinged: list[Any] = []
    check = PingWhenNotRecent(pinged.append, seconds=1.0)
    first, second = Connection(), Connection()

    check(first)
    check(second)
    now[0] += 0.5
    check(first)  # checked half a second ago: handed out as it is
    assert pinged == [first, second]
    now[0] += 0.6
    check(first)
    assert pinged == [first, second, first]


def test_a_connection_that_fails_its_ping_is_pinged_again_next_time() -> None:
    failures = [RuntimeError("server closed the connection")]
    pings: list[Any] = []

    def ping(connection: Any) -> None:
        pings.append(connection)
        if failures:
            raise failures.pop()

    check = PingWhenNotRecent(ping, seconds=60.0)
    connection = Connection()
    try:
        check(connection)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the failed ping should reach the pool, which discards the connection")
    check(connection)  # not remembered as checked: pinged again, and passes now
    assert pings == [connection, connection]


def test_a_kill_gives_up_closing_a_store_that_does_not_answer_and_never_raises(monkeypatch: Any) -> None:
    import eventlet

    from shared import dependencies

    monkeypatch.setattr(dependencies, "KILL_CLOSE_SECONDS", 0.2)
    closed: list[str] = []
    started = time.monotonic()
    dependencies.close_on_kill(lambda: eventlet.sleep(30), "stuck")  # a call waiting on a stuck store thread
    assert time.monotonic() - started < 5

    def failing() -> None:
        raise OSError("connection already gone")

    dependencies.close_on_kill(failing, "failing")
    dependencies.close_on_kill(lambda: closed.append("closed"), "answering")
    assert closed == ["closed"]
    with eventlet.Timeout(0.1, False):  # a timeout of the caller's own still reaches the caller
        dependencies.close_on_kill(lambda: eventlet.sleep(30), "interrupted")
        raise AssertionError("the caller's own timeout was swallowed")
