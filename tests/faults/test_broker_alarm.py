"""RabbitMQ's resource alarm: with too little free disk (or memory) the broker blocks every
connection that publishes, and a publish waits for its confirm for as long as the alarm lasts.

While the alarm is on, commands are still acknowledged (they are durable in the store), /health and
/ready name the alarm, and the service stops within bounds: the relay gives up a publish RabbitMQ
has not confirmed within OUTBOX_CONFIRM_TIMEOUT and tries again. Without that bound the relay, and
the stop waiting for it, would hang until the alarm lifted. Once it lifts, a service started again
publishes every event it acknowledged, in the order of its log.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from services.initiatives.service import InitiativesService
from tests.support.cases import submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import api_for, service_config
from tests.support.stopping import stop_within
from tests.support.subscriber import EventSubscriber

pytestmark = pytest.mark.disruptive

CONFIRM_TIMEOUT = 2.0


@pytest.fixture
def alarm(infrastructure: Infrastructure) -> Iterator[Any]:
    """Raises the alarm when called; it is cleared after the test, whatever happens."""
    assert infrastructure.broker_alarm is not None, "this infrastructure cannot raise RabbitMQ's alarm"
    try:
        yield lambda: infrastructure.broker_alarm(True)
    finally:
        infrastructure.broker_alarm(False)


def test_a_broker_blocking_publishers_holds_the_events_in_the_outbox_and_the_service_still_stops(
        container_factory: Any, infrastructure: Infrastructure, alarm: Any, tmp_path: Any) -> None:
    config = service_config(infrastructure.amqp_uri, {"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path / "data")},
                            OUTBOX_CONFIRM_TIMEOUT=CONFIRM_TIMEOUT, OUTBOX_STALLED_AFTER=1)
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    try:
        service = container_factory(InitiativesService, config)
        service.start()
        api = api_for(config)
        before = submit(api, title="Före larmet")["id"]
        subscriber.collect([before], count=1)

        alarm()
        during = [submit(api, title=f"Under larmet {n}")["id"] for n in range(3)]  # acknowledged: in the store
        health = eventually(lambda: api.get("/health").json(), lambda h: h.get("outbox_blocked") is not None)
        assert health["outbox_blocked"].startswith("RabbitMQ blocks publishing"), health
        assert health["unpublished"] >= 3, health
        ready = eventually(lambda: api.get("/ready"), lambda r: r.status_code == 503)
        assert "RabbitMQ blocks publishing" in ready.json()["checks"]["outbox"], ready.text
        stop_within(service, 3 * CONFIRM_TIMEOUT + 5)  # the relay does not wait for the alarm to lift

        infrastructure.broker_alarm(False)
        container_factory(InitiativesService, config).start()
        while {e["aggregate_id"] for e in subscriber.of(during)} != set(during):  # or a TimeoutError
            subscriber.collect(during, count=len(subscriber.of(during)) + 1)
        # at least once (a publish given up may still have been routed), in the log's order
        positions = list(dict.fromkeys(e["position"] for e in subscriber.received))
        assert positions == sorted(positions), positions
    finally:
        subscriber.delete()
