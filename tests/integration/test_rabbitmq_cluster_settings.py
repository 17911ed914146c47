"""RabbitMQ for more than one machine: the inboxes as quorum queues (AMQP_QUORUM_QUEUES), and
nameko's TLS and heartbeat settings on the relay's and inboxes' own connections.

A quorum queue needs no cluster: the local broker runs them on one node. The test deletes the
suite's inbox queues before and after, so the other tests find them classic again.
"""
from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest
from amqp.exceptions import PreconditionFailed
from kombu import Connection, Consumer, Queue

from shared.amqp import QUORUM_DELIVERY_LIMIT, broker_settings
from shared.inbox import inbox_queue
from shared.topology import SUBSCRIPTIONS
from tests.integration.test_decision_flow import initiative_of, prepared_case
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import advance, establish_body, eventually, meeting_steps
from tests.support.services import Api, service_config


def delete_inbox_queues(amqp_uri: str) -> None:
    with Connection(amqp_uri) as connection:
        for source, consumers in SUBSCRIPTIONS.items():
            for consumer in consumers:
                Queue(f"{source}.events--{consumer}.inbox")(connection.channel()).delete()


@pytest.fixture
def store_config(tmp_path: Any) -> dict[str, Any]:
    return {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def quorum_inboxes(infrastructure: Infrastructure) -> Iterator[None]:
    delete_inbox_queues(infrastructure.amqp_uri)
    yield
    delete_inbox_queues(infrastructure.amqp_uri)


@pytest.fixture
def config(infrastructure: Infrastructure, store_config: dict[str, Any], quorum_inboxes: None) -> dict[str, Any]:
    return service_config(infrastructure.amqp_uri, store_config, AMQP_QUORUM_QUEUES=True, HEARTBEAT=10)


@pytest.fixture
def meetings_config(infrastructure: Infrastructure, store_config: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return service_config(infrastructure.amqp_uri, store_config, AMQP_QUORUM_QUEUES=True, HEARTBEAT=10)


def test_with_quorum_queues_a_meetings_decision_reaches_the_initiative(
        api: Api, meetings_api: Api, infrastructure: Infrastructure) -> None:
    case = prepared_case(api)
    steps = meeting_steps(meetings_api, establish_body(meetings_api)["id"], case["diary_number"])
    advance(steps, "decision")
    eventually(initiative_of(api, case), lambda i: i["state"] == "decided")

    routing_keys = SUBSCRIPTIONS["meetings"]["initiatives"]
    with Connection(infrastructure.amqp_uri) as connection:
        inbox_queue("meetings", "initiatives", routing_keys, quorum=True)(connection.channel()).declare()
        with pytest.raises(PreconditionFailed, match="x-queue-type"):  # it is a quorum queue, not a classic one
            inbox_queue("meetings", "initiatives", routing_keys)(connection.channel()).declare()


def test_the_relays_and_inboxes_connections_take_nameko_s_broker_settings(infrastructure: Infrastructure) -> None:
    settings = broker_settings({"AMQP_URI": infrastructure.amqp_uri, "HEARTBEAT": 10,
                                "AMQP_SSL": {"cert_reqs": 2, "ca_certs": "/etc/ssl/certs/ca.pem"},
                                "LOGIN_METHOD": "EXTERNAL", "AMQP_QUORUM_QUEUES": "true"})
    connection = settings.connection(confirm_publish=True)
    assert connection.heartbeat == 10 and connection.ssl == {"cert_reqs": 2, "ca_certs": "/etc/ssl/certs/ca.pem"}
    assert connection.login_method == "EXTERNAL" and connection.transport_options["confirm_publish"] is True
    assert settings.quorum_queues and QUORUM_DELIVERY_LIMIT >= 10**9

    plain = broker_settings({"AMQP_URI": infrastructure.amqp_uri, "HEARTBEAT": 4})
    with plain.connection() as live:
        live.connect()
        assert live.connection.heartbeat == 4  # negotiated with the real broker
        live.heartbeat_check()


def test_a_quorum_inbox_gives_a_requeued_event_back_before_the_next(infrastructure: Infrastructure) -> None:
    """The inbox requeues an event its store could not take, and must get that event again first:
    applied after the next one, it would be skipped as already passed (positions only move on)."""
    queue = inbox_queue("ordering-test", f"probe-{uuid.uuid4().hex[:8]}", [], quorum=True)
    with Connection(infrastructure.amqp_uri) as connection:
        bound = queue(connection.channel())
        bound.declare()
        try:
            producer = connection.Producer()
            for position in (1, 2, 3):
                producer.publish({"position": position}, routing_key=queue.name, exchange="", serializer="json")
            delivered: list[int] = []

            def take(body: Any, message: Any) -> None:
                delivered.append(body["position"])
                if len(delivered) <= 2:
                    message.requeue()  # the store was down: twice
                else:
                    message.ack()

            with Consumer(connection.channel(), queues=[queue], callbacks=[take], accept=["json"],
                          prefetch_count=1):
                while len(delivered) < 5:
                    connection.drain_events(timeout=5)
            assert delivered == [1, 1, 1, 2, 3]
        finally:
            bound.delete()
