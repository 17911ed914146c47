"""A plain AMQP subscriber (kombu, no nameko), as another system of the region would be."""
from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any, Callable

from kombu import Connection, Exchange, Queue


class EventSubscriber:
    """Binds a durable queue of its own to a service's event exchange and collects envelopes."""

    def __init__(self, amqp_uri: str, source: str, routing_key: str = "#"):
        self.amqp_uri = amqp_uri
        self.exchange = Exchange(f"{source}.events", type="topic", durable=True)
        self.queue = Queue(
            f"test-subscriber-{uuid.uuid4().hex[:8]}", exchange=self.exchange,
            routing_key=routing_key, durable=True, auto_delete=False,
        )
        self.received: list[dict[str, Any]] = []
        self.messages: list[Any] = []

    def declare(self) -> "EventSubscriber":
        with Connection(self.amqp_uri) as connection:
            self.exchange(connection.default_channel).declare()
            self.queue(connection.default_channel).declare()
        return self

    def delete(self) -> None:
        with Connection(self.amqp_uri) as connection:
            self.queue(connection.default_channel).delete()

    def collect(self, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0) -> list[dict[str, Any]]:
        """Consumes (and acks) until `until(received)` holds; returns everything received."""
        deadline = time.monotonic() + timeout
        with Connection(self.amqp_uri) as connection:
            with connection.Consumer(self.queue, callbacks=[self._on_message], accept=["json"]):
                while not until(self.received):
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"received {len(self.received)} events; condition not met in {timeout}s"
                        )
                    try:
                        connection.drain_events(timeout=0.5)
                    except socket.timeout:
                        pass
        return self.received

    def _on_message(self, body: Any, message: Any) -> None:
        envelope = json.loads(body) if isinstance(body, (str, bytes)) else body
        self.received.append(envelope)
        self.messages.append(message)
        message.ack()
