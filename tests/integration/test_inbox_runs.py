"""An inbox's backlog on the real RabbitMQ and store: taken in runs (INBOX_RUN), each event applied
once and in order, also when applying one fails and it is put back with the messages after it,
some of them already on their way to the consumer, and when another instance waits to take over
the queue. Both stores; a classic inbox queue, and a quorum queue, which is taken one message at a
time (shared.inbox: it gives messages on their way back out of order)."""
from __future__ import annotations

import threading
from typing import Any, Iterator
from uuid import uuid4

import pytest
from kombu import Connection
from nameko.standalone.events import get_event_exchange

from shared.amqp import broker_settings
from shared.inbox import InboxConsumer, inbox_queue
from shared.store import construct_application, persistence_env
from tests.support.infrastructure import Infrastructure
from tests.support.ledgers import FailingAt, counting_saves
from tests.support.meetings import eventually

EVENTS = 150
RUN = 50
CASES = ["RS 2026-0001", "RS 2026-0002", "RS 2026-0003"]


def envelope(position: int) -> dict[str, Any]:
    return {"event_id": f"e-{position}", "correlation_id": f"c-{position}", "position": position,
            "type": "Meeting.ItemAdded", "payload": {}, "diary_number": CASES[position % len(CASES)],
            "actor": "Sekreterare"}


@pytest.fixture(params=["classic", "quorum"])
def quorum(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "quorum")


@pytest.fixture
def source(infrastructure: Infrastructure, quorum: bool) -> Iterator[str]:
    """A source of this test's own: its exchange and the inbox queue, deleted after."""
    name = f"runs-{uuid4().hex[:8]}"
    queue = inbox_queue(name, "ledgers", ["#"], quorum)
    with Connection(infrastructure.amqp_uri) as connection:
        get_event_exchange(name, {})(connection.channel()).declare()
        queue(connection.channel()).declare()
    yield name
    with Connection(infrastructure.amqp_uri) as connection:
        queue(connection.channel()).delete()
        get_event_exchange(name, {})(connection.channel()).delete()


def publish_backlog(amqp_uri: str, source: str, positions: range) -> None:
    exchange = get_event_exchange(source, {})
    with Connection(amqp_uri) as connection:
        producer = connection.Producer(exchange=exchange, serializer="json")
        for position in positions:
            producer.publish(envelope(position), routing_key="Meeting.ItemAdded", delivery_mode=2)


def test_a_backlog_is_applied_in_runs_each_event_once_and_in_order_through_a_failure(
    store_config: dict[str, Any], infrastructure: Infrastructure, source: str, quorum: bool
) -> None:
    app, gate = construct_application(FailingAt, persistence_env(store_config, "ledgers"))
    app.failing_position, app.failures_left = 27, 2  # fails as part of the first run, then alone: put back
    inserts = counting_saves(app)
    publish_backlog(infrastructure.amqp_uri, source, range(1, EVENTS + 1))
    broker = broker_settings({"AMQP_URI": infrastructure.amqp_uri, "AMQP_QUORUM_QUEUES": quorum})
    consumer = InboxConsumer(app=app, gate=gate, broker=broker, source=source,
                             queue=inbox_queue(source, "ledgers", ["#"], quorum), run_size=RUN)
    assert consumer.run_size == (1 if quorum else RUN)
    consuming = threading.Thread(target=consumer.run, daemon=True)
    consuming.start()
    try:
        eventually(lambda: gate.call(app.recorder.max_tracking_id, source), lambda applied: applied == EVENTS,
                   timeout=60)
    finally:
        consumer.stop()
        consuming.join(timeout=10)

    try:
        assert app.failures_left == 0  # it failed in its run and alone, and was given again
        for index, number in enumerate(CASES):  # once each, in the order published
            assert gate.call(app.lines, number) == [p for p in range(1, EVENTS + 1) if p % len(CASES) == index]
        if quorum:
            assert len(inserts) == EVENTS  # one at a time
        else:
            # the 26 before the failure one at a time (their run failed), the other 124 in runs
            assert len(inserts) <= 26 + 10, inserts
            assert max(inserts) >= 10, inserts
    finally:
        gate.call(app.close)


def consuming(consumer: InboxConsumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    return thread


def test_an_instance_waiting_for_the_queue_is_given_a_failing_event_before_the_ones_after_it(
    store_config: dict[str, Any], infrastructure: Infrastructure, source: str, quorum: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two instances of a service: the first fails on an event for as long as it runs (its store, say);
    it gives the queue up, and the second, waiting, must get that event first."""
    monkeypatch.setattr("shared.inbox.MAX_ATTEMPTS", 10**6)  # never given up as an incident, however slow the handover
    env = persistence_env(store_config, "ledgers")
    failing, failing_gate = construct_application(FailingAt, env)
    failing.failing_position = 27
    waiting, waiting_gate = construct_application(FailingAt, env)  # the same service: its tables are named by its class
    waiting.failures_left = 0
    broker = broker_settings({"AMQP_URI": infrastructure.amqp_uri, "AMQP_QUORUM_QUEUES": quorum})
    consumers = [InboxConsumer(app=app, gate=gate, broker=broker, source=source, run_size=RUN,
                               queue=inbox_queue(source, "ledgers", ["#"], quorum))
                 for app, gate in ((failing, failing_gate), (waiting, waiting_gate))]
    publish_backlog(infrastructure.amqp_uri, source, range(1, EVENTS + 1))
    threads = [consuming(consumers[0])]
    try:
        eventually(lambda: waiting_gate.call(waiting.recorder.max_tracking_id, source),
                   lambda applied: (applied or 0) >= 1, timeout=30)  # the first instance took the queue
        threads.append(consuming(consumers[1]))
        eventually(lambda: waiting_gate.call(waiting.recorder.max_tracking_id, source),
                   lambda applied: applied == EVENTS, timeout=60)
    finally:
        for consumer in consumers:
            consumer.stop()
        for thread in threads:
            thread.join(timeout=10)

    try:
        for index, number in enumerate(CASES):  # once each, in the order published
            assert waiting_gate.call(waiting.lines, number) == [
                p for p in range(1, EVENTS + 1) if p % len(CASES) == index]
    finally:
        failing_gate.call(failing.close)
        waiting_gate.call(waiting.close)
