"""The outbox relay: publishes the service's own event log to RabbitMQ, in order.

The notification log is written in the same transaction as the events, so it is
the outbox. The relay reads after its recorded position, publishes each public
event with publisher confirms, and only then records the new position (a
tracking row in the same store). A crash between a confirm and that record means
the event is published again on restart: delivery is at least once, and every
envelope carries `position` and `event_id` so subscribers apply it exactly once.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Sequence

from eventsourcing.persistence import Tracking
from kombu import Connection, Exchange, Queue

from shared.envelope import dumps

log = logging.getLogger(__name__)

TRACKING_NAME = "outbox-relay"


class OutboxRelay:
    def __init__(
        self,
        *,
        app: Any,
        gate: Any,
        amqp_uri: str,
        exchange: Exchange,
        envelope_for: Callable[[Any], dict[str, Any] | None],
        subscriber_queues: Sequence[Queue] = (),
        batch_size: int = 100,
        poll_interval: float = 1.0,
    ):
        self.app = app
        self.gate = gate
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.envelope_for = envelope_for
        self.subscriber_queues = subscriber_queues
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.connected = False  # to RabbitMQ, as far as the relay knows (read by /ready, /health, /metrics)

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def published_position(self) -> int:
        return self.gate.call(self.app.recorder.max_tracking_id, TRACKING_NAME) or 0

    def run(self) -> None:
        """Publishes until stopped, reconnecting (kombu's retry) after any failure."""
        while not self._stopped.is_set():
            try:
                with Connection(
                    self.amqp_uri, transport_options={"confirm_publish": True}
                ) as connection:
                    connection.ensure_connection(
                        errback=self._log_connection_error,
                        max_retries=None,
                        interval_start=0.2,
                        interval_step=0.5,
                        interval_max=2.0,
                        callback=lambda: self._stopped.is_set() and self._raise_stopped(),
                    )
                    producer = connection.Producer(serializer="json")
                    self.exchange(connection.default_channel).declare()
                    self.connected = True
                    for queue in self.subscriber_queues:  # shared.topology: nothing published is dropped
                        queue(connection.default_channel).declare()
                    self._publish_until_stopped(producer)
            except _Stopped:
                return
            except Exception:  # noqa: BLE001 - the relay must outlive any failure
                self.connected = False
                log.exception("outbox relay failed; reconnecting")
                self._stopped.wait(1.0)

    def _publish_until_stopped(self, producer: Any) -> None:
        while not self._stopped.is_set():
            if self.publish_pending(producer) == 0:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def publish_pending(self, producer: Any) -> int:
        """Publishes one batch after the recorded position; returns how many it scanned."""
        position = self.published_position()
        notifications = self.gate.call(
            self.app.recorder.select_notifications,
            start=position,
            limit=self.batch_size,
            inclusive_of_start=False,
        )
        for notification in notifications:
            envelope = self.gate.call(self.envelope_for, notification)
            if envelope is not None:
                producer.publish(
                    dumps(envelope),
                    exchange=self.exchange,
                    routing_key=envelope["type"],
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=envelope["event_id"],
                    headers={"position": envelope["position"], "source": envelope["source"]},
                )
        if notifications:
            self.gate.call(
                self.app.recorder.insert_tracking,
                Tracking(application_name=TRACKING_NAME, notification_id=notifications[-1].id),
            )
        return len(notifications)

    def _log_connection_error(self, error: Exception, interval: float) -> None:
        log.warning("outbox relay cannot reach RabbitMQ (%s); retrying in %.1fs", error, interval)

    def _raise_stopped(self) -> None:
        raise _Stopped()


class _Stopped(Exception):
    pass
