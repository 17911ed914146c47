"""Nothing lost between the store and the broker: the outbox relay, against the real RabbitMQ."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from nameko.events import event_handler

from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.services import Api, ServiceProcess, api_for, service_config
from tests.support.subscriber import EventSubscriber

CASE_EVENTS = [
    "Initiative.Submitted", "Initiative.Registered", "Initiative.ReferredForPreparation",
]


@pytest.fixture
def subscriber(infrastructure: Infrastructure) -> Iterator[EventSubscriber]:
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    yield subscriber
    subscriber.delete()


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def assert_each_position_once_in_order(received: list[dict[str, Any]], expected_types: list[str]) -> None:
    positions = [envelope["position"] for envelope in received]
    assert positions == sorted(positions), "out of order"
    assert len(positions) == len(set(positions)), "a position arrived twice"
    assert [envelope["type"] for envelope in received] == expected_types


def test_every_event_reaches_a_plain_amqp_subscriber_in_order_in_the_envelope(
    api: Api, subscriber: EventSubscriber
) -> None:
    initiative = submit(api)
    drive(api, initiative["id"], "referral")

    received = subscriber.collect([initiative["id"]], 3)

    assert_each_position_once_in_order(received, CASE_EVENTS)
    registered = received[1]
    assert registered["source"] == "initiatives"
    assert registered["aggregate_id"] == initiative["id"]
    assert registered["aggregate_version"] == 2
    assert registered["diary_number"] == registered["payload"]["diary_number"]
    assert received[0]["diary_number"] is None
    assert received[2]["diary_number"] == registered["diary_number"]
    message = subscriber.messages[registered["event_id"]]
    assert message.properties["message_id"] == registered["event_id"]
    assert message.delivery_info["routing_key"] == "Initiative.Registered"
    assert wait_for(lambda: api.get("/health").json()["unpublished"] == 0)


class Listener:
    """Another nameko service subscribing the usual nameko way."""

    name = "initiatives_listener"
    received: list[dict[str, Any]] = []

    @event_handler("initiatives", "Initiative.Registered")
    def on_registered(self, envelope: dict[str, Any]) -> None:
        Listener.received.append(envelope)


@pytest.fixture
def listener_queue_removed(infrastructure: Infrastructure) -> Iterator[None]:
    """The Listener's durable queue, removed after the test (set up before the listener, so removed after it stops)."""
    yield
    infrastructure.delete_queues(f"evt-initiatives-Initiative.Registered--{Listener.name}.on_registered")


def test_nameko_event_handlers_receive_the_events(
    listener_queue_removed: None, api: Api, container_factory: Any, config: dict[str, Any]
) -> None:
    import eventlet

    Listener.received = []
    listener = container_factory(Listener, {"AMQP_URI": config["AMQP_URI"]})
    listener.start()
    initiative = submit(api)
    registered = api.command(f"/initiatives/{initiative['id']}/register", "registrar")

    def ours() -> list[dict[str, Any]]:  # the queue is durable: earlier tests' events may be there too
        return [e for e in Listener.received if e["aggregate_id"] == initiative["id"]]

    with eventlet.Timeout(30):
        while not ours():
            eventlet.sleep(0.05)
    assert [e["diary_number"] for e in ours()] == [registered["diary_number"]]


@pytest.mark.disruptive
def test_events_committed_while_the_broker_is_down_arrive_once_in_order_after_it_returns(
    infrastructure: Infrastructure, api: Api, subscriber: EventSubscriber
) -> None:
    first = submit(api)
    subscriber.collect([first["id"]], 1)

    infrastructure.broker_stop()
    try:
        drive(api, first["id"], "referral")
        second = submit(api)
        api.command(f"/initiatives/{second['id']}/register", "registrar")
        assert api.get("/health").json()["unpublished"] > 0
    finally:
        infrastructure.broker_start()

    received = subscriber.collect([first["id"], second["id"]], 5, timeout=90)
    assert_each_position_once_in_order(
        received, CASE_EVENTS + ["Initiative.Submitted", "Initiative.Registered"]
    )
    assert [e["aggregate_id"] for e in received[3:]] == [second["id"], second["id"]]


def test_events_committed_before_a_crash_are_published_once_after_restart(
    infrastructure: Infrastructure, store_config: dict[str, Any], subscriber: EventSubscriber, tmp_path: Any
) -> None:
    """kill -9 between commit and publish: here the relay is held off, so the window is certain."""
    config = service_config(infrastructure.amqp_uri, store_config, OUTBOX_RELAY_ENABLED="false")
    service = ServiceProcess(config, str(tmp_path / "service.log")).start()
    try:
        api = api_for(config)
        initiative = submit(api)
        drive(api, initiative["id"], "referral")
        assert api.get("/health").json()["unpublished"] > 0
    finally:
        service.kill()
    with pytest.raises(TimeoutError):
        subscriber.collect([initiative["id"]], 1, timeout=2)

    restarted = ServiceProcess({**config, "OUTBOX_RELAY_ENABLED": "true"}, str(tmp_path / "service.log")).start()
    try:
        received = subscriber.collect([initiative["id"]], 3)
        assert_each_position_once_in_order(received, CASE_EVENTS)
        restarted.stop()
        again = ServiceProcess({**config, "OUTBOX_RELAY_ENABLED": "true"}, str(tmp_path / "service.log")).start()
        again.stop()
        with pytest.raises(TimeoutError):
            subscriber.collect([initiative["id"]], 4, timeout=3)
    finally:
        restarted.kill()
