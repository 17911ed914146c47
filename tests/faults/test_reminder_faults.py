"""Reminders raised exactly once while two instances race over them and one is killed with SIGKILL.

Cases whose reminders are long due (preparations past their due dates, motions raised two years ago)
are written while no service runs. Two instances of the initiatives service then start on the same
PostgreSQL database, both with their reminder timers on: both page the same due aggregates at once.
One is killed part-way and started again. Afterwards every due reminder's key is in the event log
exactly once, and instances started once more raise nothing again. (RabbitMQ and PostgreSQL are
neither stopped nor restarted here.)
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from typing import Any, Iterator
from uuid import UUID

import pytest

from bench.fill import fill_initiatives
from services.initiatives.application import InitiativesApplication
from services.initiatives.domain import Initiative
from shared import clock
from shared.operations import REMINDER_CHECK_SECONDS
from shared.store import persistence_env
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import ServiceProcess, service_config

CASES = 1200  # seed 000's life cut short at every step: those referred and undecided are past their due date
MOTIONS = 150  # raised two years ago and never registered: undecided 11 months and a year


@pytest.fixture
def store(infrastructure: Infrastructure) -> Iterator[dict[str, Any]]:
    infrastructure.purge_inboxes()
    with infrastructure.fresh_schema() as schema:
        yield service_config(infrastructure.amqp_uri, infrastructure.postgres_config(schema), REMINDERS_ENABLED="true")


def raised_keys(app: InitiativesApplication) -> Counter[tuple[Any, str]]:
    """(aggregate, key) of every ReminderRaised in the log, as often as it is there."""
    found: Counter[tuple[Any, str]] = Counter()
    after = 0
    while notifications := app.recorder.select_notifications(start=after, limit=1000, inclusive_of_start=False):
        for notification in notifications:
            if notification.topic.endswith(".ReminderRaised"):
                raised = app.mapper.to_domain_event(notification)
                found[(raised.originator_id, raised.key)] += 1
        after = notifications[-1].id
    return found


def due_keys(app: InitiativesApplication, ids: list[Any]) -> set[tuple[Any, str]]:
    today = clock.today()
    return {(aggregate_id, reminder.key) for aggregate_id in ids
            for reminder in app.repository.get(aggregate_id).due_reminders(today)}


def start_together(instances: list[ServiceProcess]) -> None:
    threads = [threading.Thread(target=instance.start) for instance in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(instance.process and instance.process.poll() is None for instance in instances)


def test_two_instances_racing_and_one_killed_raise_each_reminder_once(store: dict[str, Any], tmp_path: Any) -> None:
    app = InitiativesApplication(persistence_env(store, "initiatives"))
    with ExitStack() as stack:
        stack.callback(app.close)
        fill_initiatives(app, CASES, per_save=300)
        motion = {"kind": "motion", "title": "Motion om samverkan", "text": "…", "proposal_clauses": [],
                  "submitters": [{"name": "Ledamot", "party": "KD"}], "addressed_to": "Regionfullmäktige",
                  "submitted_on": clock.today() - timedelta(days=730)}
        motions = [Initiative(actor="Rut", **motion) for _ in range(MOTIONS)]
        app.save(*motions)
        ids = [UUID(row["id"]) for row in app.caught_up(complete=True).view.page(
            app.read_model.listing("initiatives"), limit=CASES + MOTIONS)[0]]
        expected = due_keys(app, ids)
        assert len(expected) > 2 * MOTIONS + 300 and raised_keys(app) == Counter()

        first, second = (ServiceProcess(dict(store), str(tmp_path / f"initiatives-{n}.log")) for n in (1, 2))
        for instance in (first, second):
            stack.callback(instance.stop)
        start_together([first, second])
        raised_when_killed = eventually(lambda: sum(raised_keys(app).values()), lambda count: count > 0,
                                        timeout=30, pause=0.05)
        first.kill()
        assert raised_when_killed < len(expected), "every reminder was raised before the kill"
        first.start()

        raised = eventually(lambda: raised_keys(app), lambda found: set(found) >= expected, timeout=120)
        assert {key: count for key, count in raised.items() if count != 1} == {}
        assert set(raised) == expected

        for instance in (first, second):
            instance.stop()
        start_together([first, second])
        time.sleep(2 * REMINDER_CHECK_SECONDS + 2)  # two rounds of both instances' timers
        assert raised_keys(app) == raised
        listed = app.caught_up(complete=True).view.page(app.read_model.listing("reminders"), limit=10_000)[0]
        assert len(listed) == len(expected) == len({(r["aggregate_id"], r["key"]) for r in listed})
        print(f"\n{len(expected)} reminders on {len({i for i, _ in expected})} cases raised once each; "
              f"{raised_when_killed} raised when the first instance was killed")
