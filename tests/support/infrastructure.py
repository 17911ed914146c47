"""Where the real RabbitMQ and PostgreSQL are, and how tests stop and start the broker."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import psycopg
from kombu import Connection

from shared.inbox import inbox_queue
from shared.topology import SUBSCRIPTIONS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_DATABASE = os.environ.get("CASES_TEST_POSTGRES_DBNAME", "cases_test")


@dataclass
class Infrastructure:
    amqp_uri: str
    postgres_host: str
    postgres_port: int
    broker_stop: Callable[[], object]
    broker_start: Callable[[], object]
    postgres_stop: Callable[[], object] | None = None
    postgres_start: Callable[[], object] | None = None
    # RabbitMQ's disk alarm on (True) or off: every publishing connection blocked while it is on
    broker_alarm: Callable[[bool], object] | None = None
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_dbname: str = TEST_DATABASE

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with Connection(self.amqp_uri, connect_timeout=2) as connection:
                    connection.ensure_connection(max_retries=1)
                self.ensure_database()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def purge_inboxes(self) -> None:
        """Empties the services' inbox queues: a test's services start from position 0, so
        events left by an earlier test's services (other positions) must not reach them."""
        with Connection(self.amqp_uri) as connection:
            for source, consumers in SUBSCRIPTIONS.items():
                for consumer, routing_keys in consumers.items():
                    queue = inbox_queue(source, consumer, routing_keys)(connection.default_channel)
                    queue.declare()
                    queue.purge()

    def delete_queues(self, *names: str) -> None:
        """Removes durable queues a test made for a subscriber that will not come back: each would keep
        every later event of its source, run after run, on a broker that outlives the tests."""
        with Connection(self.amqp_uri) as connection:
            for name in names:
                connection.default_channel.queue_delete(name)

    def delete_subscriber_queues(self, name: str) -> None:
        """The queues `<source>.events--<name>` a subscriber kit instance of that name declared, whichever sources it followed."""
        self.delete_queues(*(f"{source}.events--{name}" for source in SUBSCRIPTIONS))

    def connect(self, dbname: str | None = None, **kwargs: object) -> psycopg.Connection:
        return psycopg.connect(
            host=self.postgres_host, port=self.postgres_port, user=self.postgres_user,
            password=self.postgres_password, dbname=dbname or self.postgres_dbname, **kwargs,
        )

    def ensure_database(self) -> None:
        with self.connect("postgres", autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.postgres_dbname,)
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{self.postgres_dbname}"')

    @contextmanager
    def fresh_schema(self) -> Iterator[str]:
        """A PostgreSQL schema of its own for one test, dropped afterwards."""
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with self.connect(autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield schema
        finally:
            self.drop_schema(schema)

    def drop_schema(self, schema: str, wait_seconds: int = 30) -> None:
        """Drops a test's schema; a session still holding a lock in it past `wait_seconds` is ended
        (so that the run goes on) and named in the error the test fails with."""
        with self.connect(autocommit=True) as connection:
            connection.execute(f"SET lock_timeout = '{wait_seconds}s'")
            try:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
                return
            except psycopg.errors.LockNotAvailable:
                holders = connection.execute(
                    "SELECT pid, application_name, state, now() - xact_start, left(query, 200) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                ).fetchall()
                for holder in holders:
                    connection.execute("SELECT pg_terminate_backend(%s)", (holder[0],))
            connection.execute("SET lock_timeout = 0")
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        raise AssertionError(f"schema {schema} still locked after {wait_seconds} s by sessions in a transaction "
                             f"(ended): {holders}")

    def postgres_config(self, schema: str) -> dict[str, object]:
        return {
            "PERSISTENCE": "postgres",
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": self.postgres_port,
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password,
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_SCHEMA": schema,
        }


def local_infrastructure() -> Infrastructure:
    """The RabbitMQ and PostgreSQL on this machine (started by infra/local-services.sh)."""
    script = os.path.join(REPO_ROOT, "infra", "local-services.sh")
    return Infrastructure(
        amqp_uri=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        postgres_host=os.environ.get("POSTGRES_HOST", "127.0.0.1"),
        postgres_port=int(os.environ.get("POSTGRES_PORT", "5432")),
        postgres_user=os.environ.get("POSTGRES_USER", "postgres"),
        postgres_password=os.environ.get("POSTGRES_PASSWORD", ""),
        broker_stop=lambda: subprocess.run(["bash", script, "stop-broker"], check=True),
        broker_start=lambda: subprocess.run(["bash", script, "start-broker"], check=True),
        postgres_stop=lambda: subprocess.run(["bash", script, "stop-postgres"], check=True),
        postgres_start=lambda: subprocess.run(["bash", script, "start-postgres"], check=True),
        broker_alarm=lambda on: subprocess.run(["bash", script, "raise-broker-alarm" if on else "clear-broker-alarm"],
                                               check=True),
    )
