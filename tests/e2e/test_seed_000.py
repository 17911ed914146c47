"""Seed 000 end to end, with the service run as operators run it (`nameko run`, config.yml)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any, Iterator

import pytest
import requests

from services.initiatives.demo import seed_000
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.services import REPO_ROOT, Api, ServiceProcess, api_for, free_port, service_config
from tests.support.subscriber import EventSubscriber

LIFE_OF_THE_CASE = [
    "Initiative.Submitted", "Initiative.Registered", "Initiative.ReferredForPreparation",
    "Initiative.AnswerDrafted", "Initiative.ScheduledForDecision", "Initiative.DecisionRecorded",
    "Initiative.Finalised", "Initiative.Dispatched", "Initiative.Closed",
]


@pytest.fixture
def running_on_postgres(infrastructure: Infrastructure, tmp_path: Any) -> Iterator[dict[str, Any]]:
    with infrastructure.fresh_schema() as schema:
        config = service_config(infrastructure.amqp_uri, infrastructure.postgres_config(schema))
        service = ServiceProcess(config, str(tmp_path / "service.log")).start()
        try:
            yield config
        finally:
            service.stop()


def test_seed_000_from_submission_to_considered_answered_dispatched_and_closed(
    running_on_postgres: dict[str, Any], infrastructure: Infrastructure
) -> None:
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    try:
        api = api_for(running_on_postgres)
        initiative = submit(api)
        closed = drive(api, initiative["id"], "closure")

        assert closed["state"] == "closed"
        assert closed["decision"]["outcome"] == "considered_answered"
        assert closed["decision"]["text"] == "Initiativärendet anses besvarat."
        assert [(r["name"], r["party"], r["title"]) for r in closed["recipients"]] == [
            ("Veronica Kerr", "KD", None), ("Per Boström", "KD", None), ("Kerstin Hamre", None, "samordnare"),
        ]
        history = api.get(f"/initiatives/{initiative['id']}/history").json()
        assert [event["type"] for event in history["events"]] == LIFE_OF_THE_CASE
        assert all(event["actor"] and event["occurred_at"] for event in history["events"])

        received = subscriber.collect([initiative["id"]], len(LIFE_OF_THE_CASE))
        assert [event["type"] for event in received] == LIFE_OF_THE_CASE
        assert {event["diary_number"] for event in received[1:]} == {closed["diary_number"]}
        feed = api.get("/events", params={"after": 0, "limit": 100}).json()["events"]
        assert [event["event_id"] for event in feed] == [event["event_id"] for event in received]
    finally:
        subscriber.delete()


def test_make_run_starts_the_service_and_loads_the_demo(infrastructure: Infrastructure, tmp_path: Any) -> None:
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "INITIATIVES_PORT": str(port),
           "AMQP_URI": infrastructure.amqp_uri}
    runner = subprocess.Popen(
        [sys.executable, "-m", "services.initiatives.run_local"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert runner.stdout is not None
        lines = [runner.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("demo loaded: RUN "), lines
        api = Api(f"http://127.0.0.1:{port}")
        development_auditor = {"Authorization": "Bearer dev-auditor"}  # the README's token
        [demo] = api.get("/initiatives", None, headers=development_auditor).json()["initiatives"]
        assert demo["state"] == "in_preparation"
        assert [p["name"] for p in demo["preparers"]] == [p["name"] for p in seed_000()["referral"]["preparers"]]
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=60)
    assert runner.returncode == 0
    with pytest.raises(requests.ConnectionError):  # the service went with it
        Api(f"http://127.0.0.1:{port}").get("/health", timeout=2)
