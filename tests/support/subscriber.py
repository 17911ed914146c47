"""A plain AMQP subscriber (kombu, no nameko), as another system of the region would be."""
from __future__ import annotations

import json
import socket
import time
import uuid
from typing import Any, Iterable

from kombu import Connection, Exchange, Queue


QUEUE_EXPIRES_MS = 30 * 60 * 1000  # unused (no consumer, no read) for longer than any test


class EventSubscriber:
    """Binds a durable queue of its own to a service's event exchange and collects envelopes.

    The broker is shared (other tests, a developer's running service), so a test
    follows the aggregates it created: `of(ids)` is what arrived about them.
    """

    def __init__(self, amqp_uri: str, source: str, routing_key: str = "#"):
        self.amqp_uri = amqp_uri
        self.exchange = Exchange(f"{source}.events", type="topic", durable=True)
        self.queue = Queue(
            f"test-subscriber-{uuid.uuid4().hex[:8]}", exchange=self.exchange,
            routing_key=routing_key, durable=True, auto_delete=False,
            # a test killed before it deletes its queue leaves nothing to fill up on a shared broker
            queue_arguments={"x-expires": QUEUE_EXPIRES_MS},
        )
        self.received: list[dict[str, Any]] = []
        self.messages: dict[str, Any] = {}

    def declare(self) -> "EventSubscriber":
        with Connection(self.amqp_uri) as connection:
            self.exchange(connection.default_channel).declare()
            self.queue(connection.default_channel).declare()
        return self

    def delete(self) -> None:
        with Connection(self.amqp_uri) as connection:
            self.queue(connection.default_channel).delete()

    def of(self, aggregate_ids: Iterable[str]) -> list[dict[str, Any]]:
        wanted = set(aggregate_ids)
        return [envelope for envelope in self.received if envelope["aggregate_id"] in wanted]

    def collect(self, aggregate_ids: Iterable[str], count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Consumes (and acks) until `count` events about the aggregates arrived; returns those."""
        aggregate_ids = list(aggregate_ids)
        deadline = time.monotonic() + timeout
        with Connection(self.amqp_uri) as connection:
            with connection.Consumer(self.queue, callbacks=[self._on_message], accept=["json"]):
                while len(self.of(aggregate_ids)) < count:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{len(self.of(aggregate_ids))} of {count} events arrived in {timeout}s"
                        )
                    try:
                        connection.drain_events(timeout=0.5)
                    except socket.timeout:
                        pass
        return self.of(aggregate_ids)

    def drain(self) -> list[tuple[dict[str, Any], str | None, bytes]]:
        """Takes (and acks) every message waiting in the queue, as it came: headers, content type, body."""
        taken = []
        with Connection(self.amqp_uri) as connection:
            queue = self.queue(connection.default_channel)
            while (message := queue.get(no_ack=False)) is not None:
                body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
                taken.append((dict(message.headers or {}), message.content_type, body))
                message.ack()
        return taken

    def _on_message(self, body: Any, message: Any) -> None:
        envelope = json.loads(body) if isinstance(body, (str, bytes)) else body
        self.received.append(envelope)
        self.messages[envelope["event_id"]] = message
        message.ack()
