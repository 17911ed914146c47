"""A store call that waits must not stall the service's other requests (TECH-NOTES' trap).

The service runs in this process on eventlet's hub. Another process holds the
event table locked for a few seconds; a command waits on that lock; meanwhile a
request that needs no store must be answered while the lock is still held. If a
store call blocked the hub (psycopg's C wait, SQLite's C library), nothing else
in the process would run until the lock holder let go.
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import eventlet
import pytest

from services.initiatives.demo import seed_000
from services.initiatives.service import InitiativesService
from shared.store import StoreGate
from tests.support.infrastructure import Infrastructure
from tests.support.services import REPO_ROOT, Api, assert_problem

HOLD_SECONDS = 3  # shorter than STORE_TIMEOUT (5 s): the waiting command is answered when the lock goes


def hold_lock(store_config: dict[str, Any], infrastructure: Infrastructure) -> subprocess.Popen[str]:
    if store_config["PERSISTENCE"] == "sqlite":
        arguments = ["sqlite", os.path.join(store_config["DATA_DIR"], "initiatives.sqlite")]
    else:
        conninfo = (f"host={infrastructure.postgres_host} port={infrastructure.postgres_port} "
                    f"user={infrastructure.postgres_user} dbname={infrastructure.postgres_dbname}")
        arguments = ["postgres", conninfo, store_config["POSTGRES_SCHEMA"]]
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.support.hold_lock", *arguments, str(HOLD_SECONDS)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_command_waiting_on_a_locked_store_does_not_stall_other_requests(
    api: Api, store_config: dict[str, Any], infrastructure: Infrastructure
) -> None:
    api.command("/initiatives", "case_officer", seed_000()["submission"])  # tables exist
    holder = hold_lock(store_config, infrastructure)

    waiting_command = eventlet.spawn(api.post, "/initiatives", "case_officer", seed_000()["submission"])
    eventlet.sleep(0.5)  # let the command reach the lock
    answered = api.get("/openapi.json", None)

    assert answered.status_code == 200
    assert holder.poll() is None, "the other request was answered only after the lock was released"
    assert not waiting_command.dead, "the command should still be waiting on the lock"
    assert waiting_command.wait().status_code == 201
    holder.wait()


def test_a_command_held_longer_than_the_store_timeout_gets_503_and_writes_nothing(
    container_factory: Any, infrastructure: Infrastructure
) -> None:
    """PostgreSQL: a request gives up after STORE_TIMEOUT; its transaction is rolled back, never half-written."""
    from tests.support.services import api_for, service_config

    with infrastructure.fresh_schema() as schema:
        store = infrastructure.postgres_config(schema)
        config = service_config(infrastructure.amqp_uri, store, STORE_TIMEOUT=1.0)
        container = container_factory(InitiativesService, config)
        container.start()
        api = api_for(config)
        api.command("/initiatives", "case_officer", seed_000()["submission"])  # tables exist
        holder = hold_lock(store, infrastructure)
        refused = api.post("/initiatives", "case_officer", {**seed_000()["submission"], "title": "Given up"})
        assert holder.poll() is None, "the command was answered only after the lock was released"
        assert_problem(refused, 503)
        holder.wait()
        eventlet.sleep(0.5)
        titles = [i["title"] for i in api.get("/initiatives").json()["initiatives"]]
        assert titles == [seed_000()["submission"]["title"]]
        container.stop()


def test_without_the_gate_a_sqlite_call_would_stall_the_hub(tmp_path: Any, infrastructure: Infrastructure) -> None:
    """The control for the test above: it can fail. A direct SQLite call freezes every green thread."""
    from services.initiatives.application import InitiativesApplication
    from shared.store import construct_application, persistence_env

    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "initiatives")
    app, gate = construct_application(InitiativesApplication, env)
    holder = hold_lock({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, infrastructure)
    ticks: list[bool] = []

    def tick_while_holder_lives() -> None:
        while holder.poll() is None:
            ticks.append(True)
            eventlet.sleep(0.05)

    ticker = eventlet.spawn(tick_while_holder_lives)
    eventlet.sleep(0)
    direct_ticks_before = len(ticks)
    app.save(*_submission(app))  # waits for the lock in C, on the hub's own thread
    assert len(ticks) == direct_ticks_before, "a direct SQLite call let other green threads run"
    holder.wait()
    ticker.wait()

    holder = hold_lock({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, infrastructure)
    ticks.clear()
    ticker = eventlet.spawn(tick_while_holder_lives)
    assert isinstance(gate, StoreGate) and gate.offload
    gate.call(app.save, *_submission(app))
    assert len(ticks) > 10, "a gated SQLite call should let other green threads run"
    holder.wait()
    ticker.wait()


def _submission(app: Any) -> list[Any]:
    from services.initiatives.domain import Initiative
    from services.initiatives.schemas import SubmitInitiative

    return [Initiative(actor="test", **SubmitInitiative().load(seed_000()["submission"]))]


pytestmark = pytest.mark.usefixtures("infrastructure")
