"""The inbox consumer's handling of one message (a stub application: no broker, no store)."""
from __future__ import annotations

import logging
from typing import Any
from unittest.mock import MagicMock

from kombu import Queue

from shared.amqp import BrokerSettings
from shared.inbox import InboxConsumer
from shared.store import StoreGate


class StubApplication:
    def __init__(self, failures: int):
        self.failures = failures
        self.inbox_failures: dict[str, Any] = {}

    def apply_inbound(self, source: str, envelope: dict[str, Any]) -> str:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the store went away")
        return "applied"


def consumer(app: StubApplication) -> InboxConsumer:
    inbox = InboxConsumer(app=app, gate=StoreGate({}), broker=BrokerSettings("memory://"), source="meetings", queue=Queue("q"))
    inbox._stopped.set()  # no pause between tries in a unit test
    return inbox


def test_a_failing_event_is_put_back_and_shown_until_it_succeeds() -> None:
    app = StubApplication(failures=1)
    inbox = consumer(app)
    envelope = {"position": 7, "type": "Meeting.ItemDecided", "payload": {}}

    failing = MagicMock()
    assert inbox.on_message(envelope, failing) is False  # the channel is closed: RabbitMQ gives it again
    failing.ack.assert_not_called()
    assert app.inbox_failures["meetings"]["position"] == 7
    assert "the store went away" in app.inbox_failures["meetings"]["error"]

    retried = MagicMock()
    assert inbox.on_message(envelope, retried) is True
    retried.ack.assert_called_once()
    assert app.inbox_failures == {}


class AlwaysFailing(StubApplication):
    def __init__(self, error: Exception):
        super().__init__(failures=0)
        self.error = error
        self.given_up: list[Any] = []

    def apply_inbound(self, source: str, envelope: dict[str, Any]) -> str:
        raise self.error

    def give_up_inbound(self, source: str, envelope: dict[str, Any], error: Exception) -> None:
        self.given_up.append((envelope["position"], str(error)))


def test_an_event_that_keeps_failing_is_recorded_after_the_last_attempt_and_the_queue_goes_on() -> None:
    from shared.inbox import MAX_ATTEMPTS

    app = AlwaysFailing(AttributeError("a bug"))
    inbox = consumer(app)
    messages = [MagicMock() for _ in range(MAX_ATTEMPTS)]
    applied = [inbox.on_message({"position": 3, "type": "Meeting.ItemAdded", "payload": {}}, message)
               for message in messages]
    assert applied == [False] * (MAX_ATTEMPTS - 1) + [True]
    assert not any(m.ack.called for m in messages[:-1])
    messages[-1].ack.assert_called_once()
    assert app.given_up == [(3, "a bug")]


def test_a_store_outage_is_retried_for_as_long_as_it_lasts() -> None:
    from shared.errors import StoreUnavailable
    from shared.inbox import MAX_ATTEMPTS

    app = AlwaysFailing(StoreUnavailable("down"))
    inbox = consumer(app)
    for _ in range(MAX_ATTEMPTS * 2):
        message = MagicMock()
        assert inbox.on_message({"position": 3, "type": "Meeting.ItemAdded", "payload": {}}, message) is False
        message.ack.assert_not_called()
    assert app.given_up == []
    assert app.inbox_failures["meetings"]["attempts"] == MAX_ATTEMPTS * 2


def test_deliveries_reaching_a_channel_the_inbox_closes_are_not_warnings(caplog: Any) -> None:
    from amqp.abstract_channel import AMQP_LOGGER, IGNORED_METHOD_DURING_CHANNEL_CLOSE

    caplog.set_level(logging.INFO, logger="amqp")
    AMQP_LOGGER.warning(IGNORED_METHOD_DURING_CHANNEL_CLOSE, (60, 60), 3)
    AMQP_LOGGER.warning("Something else about channel %s", 3)
    assert [record.getMessage() for record in caplog.records] == ["Something else about channel 3"]

    caplog.set_level(logging.DEBUG, logger="amqp")
    AMQP_LOGGER.warning(IGNORED_METHOD_DURING_CHANNEL_CLOSE, (60, 60), 4)
    assert caplog.records[-1].levelname == "DEBUG" and "channel 4" in caplog.records[-1].getMessage()


def test_a_failure_another_instance_got_past_is_no_longer_shown() -> None:
    """This instance failed on an event and gave the queue's messages back; the other instance, its
    standby consumer, applied it. This one is no longer given them: what it shows as failing is what the
    store says has not been applied (health, and the inbox_failing metric)."""
    from eventsourcing.persistence import Tracking
    from prometheus_client.core import Metric

    from services.initiatives.application import InitiativesApplication
    from shared.telemetry import inbox_metrics

    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    failing = {"position": 7, "type": "Meeting.ItemDecided", "attempts": 1, "error": "OperationalError: gone"}
    app.inbox_failures["meetings"] = dict(failing)
    assert app.health()["inboxes"]["meetings"]["failing"] == failing
    assert app.health()["status"] == "degraded"

    app.recorder.insert_tracking(Tracking(application_name="meetings", notification_id=6))
    assert app.health()["inboxes"]["meetings"]["failing"] == failing  # not yet past it

    app.recorder.insert_tracking(Tracking(application_name="meetings", notification_id=7))  # the other instance
    health = app.health()
    assert health["inboxes"]["meetings"] == {"applied_position": 7, "failing": None}
    assert health["status"] == "ok"

    app.inbox_failures["meetings"] = dict(failing)
    shown: list[Metric] = list(inbox_metrics({"meetings": 7}, app.inbox_failures))
    assert [sample.value for sample in shown[1].samples] == [0.0]
