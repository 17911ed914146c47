"""Store wiring: which database, and the gate that keeps blocking calls off eventlet's hub.

PostgreSQL runs through psycopg's select()-based wait function (set in
shared/__init__), which eventlet makes cooperative: concurrent requests really
overlap. SQLite's C library cannot be made cooperative, so its calls run on
eventlet's OS thread pool (one thread: SQLite takes one writer at a time anyway).
"""
from __future__ import annotations

import contextvars
import functools
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from eventlet import Timeout, tpool
from eventsourcing.persistence import IntegrityError, InterfaceError, InternalError, OperationalError, ProgrammingError
from kombu.utils.functional import retry_over_time

from shared.errors import ConcurrentChange, StoreUnavailable
from shared.telemetry import operation_name
from shared.threads import thread_safe_logging

T = TypeVar("T")

# A pooled PostgreSQL connection is pinged before it is handed out (eventsourcing's POSTGRES_PRE_PING)
# only when it has not been for this long: a round trip per checkout was a tenth of a service's CPU.
# A connection that dies in between fails its statement, which eventsourcing retries on another.
PING_AFTER_SECONDS = 1.0


def persistence_env(config: Mapping[str, Any], service_name: str) -> dict[str, str]:
    """eventsourcing's environment for a service, from its nameko config."""
    persistence = str(config.get("PERSISTENCE", "sqlite")).lower()
    if persistence == "sqlite":
        data_dir = Path(str(config.get("DATA_DIR", "data")))
        data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(data_dir / f"{service_name}.sqlite"),
            "SQLITE_LOCK_TIMEOUT": str(config.get("SQLITE_LOCK_TIMEOUT", 30)),
            "PROCESS_RECORDER_TOPIC": "shared.recorders:SQLiteRecorder",
        }
    if persistence == "postgres":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(config.get("POSTGRES_DBNAME") or service_name),
            "POSTGRES_HOST": str(config.get("POSTGRES_HOST", "127.0.0.1")),
            "POSTGRES_PORT": str(config.get("POSTGRES_PORT", 5432)),
            "POSTGRES_USER": str(config.get("POSTGRES_USER", "postgres")),
            "POSTGRES_PASSWORD": str(config.get("POSTGRES_PASSWORD") or ""),
            "POSTGRES_SCHEMA": str(config.get("POSTGRES_SCHEMA") or ""),
            "POSTGRES_POOL_SIZE": str(config.get("POSTGRES_POOL_SIZE", 10)),
            "POSTGRES_CONNECT_TIMEOUT": str(config.get("POSTGRES_CONNECT_TIMEOUT", 5)),
            "POSTGRES_LOCK_TIMEOUT": str(config.get("POSTGRES_LOCK_TIMEOUT", 0)),
            "POSTGRES_PRE_PING": "y",
            "PROCESS_RECORDER_TOPIC": "shared.recorders:PostgresRecorder",
        }
    raise ValueError(f"PERSISTENCE must be 'sqlite' or 'postgres', not {persistence!r}")


class StoreGate:
    """Runs store calls where they cannot stall the hub, and names store failures."""

    def __init__(self, env: Mapping[str, str]):
        self.offload = env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
        if self.offload:
            thread_safe_logging()  # the calls on the pool thread log
        elif env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            from shared.pgwait import use_ready_first_wait

            use_ready_first_wait()
        # Told each call's operation and seconds (the store_call_duration_seconds histogram).
        self.observe: Callable[[str, float], None] | None = None

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.call_within(None, function, *args, **kwargs)

    def call_within(self, seconds: float | None, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """As `call`, but a PostgreSQL call still waiting after `seconds` is abandoned as unavailable.

        eventsourcing retries a lost connection ten times, each waiting for the pool's connect
        timeout: during an outage a request would hang for as long as it lasts. A request gets
        its 503 in time instead, and its transaction, if one was open, is rolled back.
        (SQLite calls run on an OS thread that cannot be interrupted: its lock timeout bounds them.)
        """
        if self.observe is None:
            return self._call_within(seconds, function, *args, **kwargs)
        started = time.perf_counter()
        try:
            return self._call_within(seconds, function, *args, **kwargs)
        finally:
            self.observe(operation_name(function), time.perf_counter() - started)

    def _call_within(self, seconds: float | None, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            if self.offload:  # the OS thread sees the caller's shared.context
                return tpool.execute(contextvars.copy_context().run, function, *args, **kwargs)
            if seconds is None:
                return function(*args, **kwargs)
            # eventlet's own Timeout, a BaseException: eventsourcing's insert catches Exception
            # inside its transaction and would commit the pending insert before re-raising.
            with Timeout(seconds) as deadline:
                try:
                    return function(*args, **kwargs)
                except Timeout as expired:
                    if expired is not deadline:
                        raise
                    raise StoreUnavailable(f"The event store did not answer within {seconds:g} s") from None
        except (OperationalError, InterfaceError) as error:
            raise StoreUnavailable(f"The event store did not answer: {error}") from error
        except IntegrityError as error:
            raise ConcurrentChange(
                "The case was changed by someone else at the same time; read it again and retry"
            ) from error


class GatedApplication:
    """The application as the service sees it: every method call passes the gate, and a call
    to PostgreSQL gives up after `timeout` seconds (STORE_TIMEOUT), so that requests are
    answered 503 during an outage rather than held until it ends.

    After each call the `after_call` hook runs (the outbox relay is nudged, so a
    committed event is published without waiting for the next poll).
    """

    def __init__(self, app: Any, gate: StoreGate, after_call: Callable[[], None], timeout: float | None = None):
        self._app = app
        self._gate = gate
        self._after_call = after_call
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._app, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def gated(*args: Any, **kwargs: Any) -> Any:
            try:
                return self._gate.call_within(self._timeout, attribute, *args, **kwargs)
            finally:
                self._after_call()

        return gated


def construct_application(app_class: Callable[..., T], env: Mapping[str, str]) -> tuple[T, StoreGate]:
    gate = StoreGate(env)
    # Env given to the app wins over os.environ, except per-app prefixed variables
    # (INITIATIVES_POSTGRES_DBNAME), which eventsourcing reads first: operators' override.
    # Instances starting together race to create the tables (PostgreSQL: "tuple
    # concurrently updated"; SQLite: a constraint or lock error): the loser tries
    # again and finds the tables there. A store still starting is waited for too.
    app = retry_over_time(
        gate.call, (InternalError, ConcurrentChange, StoreUnavailable),
        args=(_constructed, app_class), kwargs={"env": dict(env)},
        max_retries=10, interval_start=0.2, interval_step=0.5, interval_max=2.0,
    )
    return app, gate


class PingWhenNotRecent:
    """psycopg_pool's connection check, run on a connection not checked within `seconds`."""

    def __init__(self, check: Callable[[Any], None], seconds: float = PING_AFTER_SECONDS):
        self.check = check
        self.seconds = seconds
        self._checked: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def __call__(self, connection: Any) -> None:
        now = time.monotonic()
        if now - self._checked.get(connection, -self.seconds) < self.seconds:
            return
        self.check(connection)
        self._checked[connection] = now


def _constructed(app_class: Callable[..., T], env: Mapping[str, str]) -> T:
    try:
        app = app_class(env=env)
    except ProgrammingError as error:
        # PostgreSQL: two CREATE TABLE IF NOT EXISTS at once, the loser is told the table exists.
        if "already exists" in str(error):
            raise InternalError(str(error)) from error
        raise
    pool = getattr(getattr(getattr(app, "recorder", None), "datastore", None), "pool", None)
    check = getattr(pool, "_check", None)  # psycopg_pool keeps its check here (pinned in pyproject.toml)
    if check is not None and not isinstance(check, PingWhenNotRecent):
        pool._check = PingWhenNotRecent(check)  # type: ignore[union-attr]
    return app
