"""The subscriber kit's example (the public register of decisions) as its own process, while cases are
decided: crashed (os._exit) once after the handler's writes but before the commit, and once after a
queue message's commit but before its ack (CASES_SUBSCRIBER_CRASH; that message then comes back and is
skipped as applied already), killed with SIGKILL in mid-stream, RabbitMQ restarted, the initiatives
service killed and restarted. Afterwards every subscribed event of the feed was applied exactly once
and in order (the subscriber's own table of applied (source, position)), and the register, whose table
has no unique key (a second application would be a second row), has exactly one row per decision.
It stops the shared RabbitMQ (`pytest.mark.disruptive`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from typing import Any, Iterator

import pytest
import requests
from psycopg.conninfo import make_conninfo

from cases_subscriber import PostgresStore, topic_matches
from cases_subscriber.examples import register
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import (
    REPO_ROOT, TEST_TOKENS, Api, ServiceProcess, api_for, kept_log_path, service_config,
)

pytestmark = pytest.mark.disruptive
SOURCE = "initiatives"


class RegisterProcess:
    """`python -m cases_subscriber.examples.register run`, as another system would run it."""

    def __init__(self, environment: dict[str, str], log_path: str):
        self.environment = environment
        self.log_path = kept_log_path(log_path)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> "RegisterProcess":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cases_subscriber.examples.register", "run"], cwd=REPO_ROOT,
                env={**os.environ, **self.environment}, stdout=log, stderr=subprocess.STDOUT)
        return self

    def consuming(self) -> int:
        """How often it began consuming its queue (its log says so once the catch-up is done)."""
        return sum(" consuming " in line for line in self.lines())

    def lines(self) -> list[str]:
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.readlines()

    def crashed(self) -> int | None:
        """The exit code once it exited by itself."""
        return self.process.poll() if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            self.process.wait(timeout=30)  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.running():
            self.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            try:
                self.process.wait(timeout=30)  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                self.kill()


class Deciding(threading.Thread):
    """Takes new cases through seed 000's steps up to the adjusted minutes, one after another, until
    stopped; a step refused or unanswered (the service is down) leaves its case where it is."""

    def __init__(self, api: Api):
        super().__init__(name="deciding", daemon=True)
        self.api = api
        self.stopping = threading.Event()
        self.outcomes: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                drive(self.api, submit(self.api)["id"], "finalisation")
                self.outcomes["finalised"] += 1
            except (requests.RequestException, AssertionError) as error:
                self.outcomes[type(error).__name__] += 1
                self.stopping.wait(0.3)


@pytest.fixture
def stack(infrastructure: Infrastructure, tmp_path: Any) -> Iterator[dict[str, Any]]:
    infrastructure.purge_inboxes()
    with ExitStack() as stack_:
        service_schema = stack_.enter_context(infrastructure.fresh_schema())
        register_schema = stack_.enter_context(infrastructure.fresh_schema())
        config = service_config(infrastructure.amqp_uri, infrastructure.postgres_config(service_schema))
        initiatives = ServiceProcess(config, str(tmp_path / "initiatives.log")).start()
        stack_.callback(initiatives.stop)
        conninfo = make_conninfo(
            host=infrastructure.postgres_host, port=infrastructure.postgres_port, user=infrastructure.postgres_user,
            password=infrastructure.postgres_password, dbname=infrastructure.postgres_dbname,
            options=f"-csearch_path={register_schema}")
        name = f"test-register-{uuid.uuid4().hex[:8]}"
        stack_.callback(infrastructure.delete_subscriber_queues, name)  # after the subscriber stopped
        marker = str(tmp_path / "crashed")
        subscriber = RegisterProcess({
            "REGISTER_INITIATIVES_URL": f"http://{config['WEB_SERVER_ADDRESS']}", "REGISTER_MEETINGS_URL": "",
            "AMQP_URI": infrastructure.amqp_uri, "REGISTER_TOKEN": TEST_TOKENS["strategist"]["token"],
            "REGISTER_POSTGRES": conninfo, "REGISTER_NAME": name,
            "CASES_SUBSCRIBER_CRASH": "after-handler,after-commit", "CASES_SUBSCRIBER_CRASH_MARKER": marker,
        }, str(tmp_path / "register.log")).start()
        stack_.callback(subscriber.stop)
        store = PostgresStore(conninfo)
        stack_.callback(store.close)
        yield {"initiatives": initiatives, "subscriber": subscriber, "store": store, "name": name, "marker": marker}


def feed(api: Api) -> list[dict[str, Any]]:
    """Every event of the feed the register subscribes to, in order."""
    events, after = [], 0
    while True:
        page = api.get("/events", "strategist", params={"after": after, "limit": 1000}).json()
        events += [e for e in page["events"] if any(topic_matches(key, e["type"]) for key in register.ROUTING_KEYS)]
        if page["last_position"] == after:
            return events
        after = page["last_position"]


def expected_register(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The register's rows as the feed says they must be: one per decision, adjusted when finalised after."""
    rows, last_decision = [], {}
    for event in events:
        payload = event["payload"]
        if event["type"] == "Initiative.DecisionRecorded":
            last_decision[event["aggregate_id"]] = len(rows)
            rows.append({"diary_number": event["diary_number"], "body": "Regionala utvecklingsnämnden",
                         "paragraph": payload["paragraph"], "outcome": payload["outcome"],
                         "decided_on": payload["decided_on"], "adjusted_on": None})
        elif event["type"] == "Initiative.Finalised":
            rows[last_decision[event["aggregate_id"]]]["adjusted_on"] = payload["minutes_adjusted_on"]
    return rows


def test_every_event_is_applied_once_and_in_order_through_a_crash_a_broker_restart_and_a_source_restart(
    stack: dict[str, Any], infrastructure: Infrastructure
) -> None:
    initiatives: ServiceProcess = stack["initiatives"]
    subscriber: RegisterProcess = stack["subscriber"]
    store: PostgresStore = stack["store"]
    api = api_for(initiatives.config)

    def applied() -> list[tuple[int, str, str | None]]:
        try:
            return store.applied(stack["name"], SOURCE)
        except Exception:  # noqa: BLE001 - the subscriber has not made its tables yet
            return []

    def more_applied(than: int, timeout: float = 30) -> int:
        assert subscriber.running(), f"the subscriber exited; see {subscriber.log_path}"
        return len(eventually(applied, lambda found: len(found) > than, timeout=timeout, pause=0.1))

    def exits_by_itself(point: str) -> int:
        """The crash point taken: the process exited with 9, once; returns the position it was at."""
        assert eventually(subscriber.crashed, lambda code: code is not None, timeout=30) == 9
        with open(f"{stack['marker']}.{point}", encoding="utf-8") as done:
            position = int(done.read())
        started_at[0] = subscriber.consuming()
        subscriber.start()
        return position

    started_at = [0]  # how often the log said "consuming" before the last start
    deciding = Deciding(api)
    deciding.start()
    try:
        # the handler's writes of a decision made, the process gone before the commit: nothing of it stays
        uncommitted = exits_by_itself("after-handler")
        # a queue message's transaction committed, the process gone before the ack: the broker brings it
        # again, and the subscriber skips it as applied already
        unacknowledged = exits_by_itself("after-commit")
        assert unacknowledged in {position for position, _, _ in applied()}
        eventually(subscriber.lines, lambda lines: any(
            f"skipped {SOURCE} position {unacknowledged}: applied already" in line for line in lines))

        # killed in mid-stream: following the queue, events applied before, events still coming
        consumed = eventually(subscriber.consuming, lambda times: times == started_at[0] + 1, timeout=30)
        count = more_applied(len(applied()) + 3)
        subscriber.kill()
        time.sleep(1)
        subscriber.start()
        eventually(subscriber.consuming, lambda times: times == consumed + 1, timeout=30)
        count = more_applied(count + 3)

        infrastructure.broker_stop()
        try:
            time.sleep(3)
        finally:
            infrastructure.broker_start()
        count = more_applied(count + 3, timeout=60)

        initiatives.kill()
        time.sleep(1)
        initiatives.start()
        more_applied(count + 3, timeout=60)
    finally:
        deciding.stopping.set()
        deciding.join(timeout=60)
    assert deciding.outcomes["finalised"] >= 4, deciding.outcomes

    eventually(lambda: api.get("/health", None).json(), lambda health: health.get("unpublished") == 0, timeout=60)
    events = feed(api)
    done = eventually(applied, lambda found: len(found) >= len(events), timeout=60)
    assert subscriber.running(), f"the subscriber exited; see {subscriber.log_path}"

    # exactly once and in order: the order applied is the feed's, with nothing missing and nothing twice
    assert [(position, kind, event_id) for position, kind, event_id in done] == [
        (e["position"], e["type"], e["event_id"]) for e in events]
    assert register.rows(store) == expected_register(events)  # no unique key: a second application would show
    assert uncommitted in {e["position"] for e in events if e["type"] == "Initiative.DecisionRecorded"}
    assert sum(1 for e in events if e["type"] == "Initiative.DecisionRecorded") >= 4
