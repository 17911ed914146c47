"""The subscriber: its durable queues, the catch-up, and the loop that outlives the broker and the feed."""
from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Sequence

from kombu import Connection, Consumer, Exchange, Queue, binding

from cases_subscriber.feed import Feed
from cases_subscriber.follower import Follower, Handler, InvalidEnvelope
from cases_subscriber.store import Store

log = logging.getLogger("cases_subscriber")


@dataclass
class Source:
    """A service whose events are followed: its name (`initiatives`), its base URL (the feed is
    `<feed_url>/events`), the event types wanted (AMQP topic patterns) and the token to read the feed."""

    name: str
    feed_url: str
    routing_keys: Sequence[str] = ("#",)
    token: str | None = field(default=None, repr=False)


class Subscriber:
    """Follows each source: one durable queue `<source>.events--<name>` bound to `<source>.events`.

    `run()` blocks until `stop()`: it declares the queues (before reading the feed, so that nothing
    published meanwhile is lost), catches up from the feeds, then consumes the queues one message at a
    time (prefetch 1, manual ack after the store's commit). A failure (handler, store, feed, broker) is
    logged and tried again: the message goes back to the head of its queue, nothing is skipped.
    """

    def __init__(self, name: str, broker_url: str, sources: Sequence[Source], store: Store, handler: Handler,
                 *, page_size: int = 500, retry_pause: float = 1.0, heartbeat: int = 30):
        self.name = name
        self.broker_url = broker_url
        self.sources = list(sources)
        self.store = store
        self.retry_pause = retry_pause
        self.heartbeat = heartbeat
        self.followers = {source.name: Follower(name, source.name, source.routing_keys,
                                                Feed(source.feed_url, source.token), store, handler, page_size)
                          for source in self.sources}
        self._caught_up = {source.name: False for source in self.sources}
        self._last_catch_up = 0.0
        self._stopped = threading.Event()
        self.connected = False  # consuming from the broker

    # --- the broker's side ----------------------------------------------------------------

    def queue(self, source: Source) -> Queue:
        exchange = Exchange(f"{source.name}.events", type="topic", durable=True)
        return Queue(
            f"{source.name}.events--{self.name}",
            bindings=[binding(exchange, routing_key=key) for key in source.routing_keys],
            durable=True, auto_delete=False,
            queue_arguments={"x-single-active-consumer": True},  # a second instance waits as a standby
        )

    def declare(self, channel: Any) -> list[Queue]:
        queues = []
        for source in self.sources:
            queue = self.queue(source)(channel)
            for bound in queue.bindings:
                bound.exchange(channel).declare()
            queue.declare()
            queues.append(queue)
        return queues

    # --- running --------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        self.store.setup(self.name, [source.name for source in self.sources])
        while not self._stopped.is_set():
            try:
                self._consume()
            except Exception as error:  # noqa: BLE001 - the subscriber outlives the broker going away
                self.connected = False
                if not self._stopped.is_set():
                    log.warning("%s lost the broker (%s: %s); connecting again", self.name,
                                type(error).__name__, error)
                    self._stopped.wait(self.retry_pause)
        self.connected = False

    def _consume(self) -> None:
        with Connection(self.broker_url, heartbeat=self.heartbeat) as connection:
            connection.ensure_connection(max_retries=None, interval_start=0.2, interval_step=0.5, interval_max=2.0)
            channel = connection.channel()
            queues = self.declare(channel)  # first: whatever is published from now on waits in them
            self._caught_up = {source: False for source in self._caught_up}
            self._catch_up_pending()
            with ExitStack() as consumers:
                for source, queue in zip(self.sources, queues):
                    consumers.enter_context(Consumer(
                        channel, queues=[queue], accept=["json"], prefetch_count=1,
                        callbacks=[functools.partial(self._on_message, self.followers[source.name])],
                        on_decode_error=self._on_decode_error))
                self.connected = True
                log.info("%s consuming %s", self.name, ", ".join(queue.name for queue in queues))
                while not self._stopped.is_set():
                    try:
                        connection.drain_events(timeout=1)
                    except socket.timeout:
                        connection.heartbeat_check()
                        self._catch_up_pending()

    def _catch_up_pending(self) -> None:
        """Reads each feed not yet read to its end since connecting (retried while a source is down)."""
        pending = [name for name, done in self._caught_up.items() if not done]
        if not pending or time.monotonic() - self._last_catch_up < self.retry_pause:
            return
        self._last_catch_up = time.monotonic()
        for name in pending:
            try:
                reached = self.followers[name].catch_up()
            except Exception as error:  # noqa: BLE001 - the queue's messages fill gaps from the feed later
                log.warning("%s could not catch up from %s: %s: %s", self.name, name, type(error).__name__, error)
                continue
            self._caught_up[name] = True
            log.info("%s caught up from %s to position %s", self.name, name, reached)

    def _on_message(self, follower: Follower, body: Any, message: Any) -> None:
        try:
            outcome = follower.receive(body)
        except InvalidEnvelope as error:
            log.error("%s rejected a message of %s: %s", self.name, follower.source, error)
            message.reject(requeue=False)
            return
        except Exception as error:  # noqa: BLE001 - not applied (rolled back): back to the head of the queue
            log.warning("%s could not apply a %s event yet (%s: %s); trying again", self.name, follower.source,
                        type(error).__name__, error)
            message.requeue()
            self._stopped.wait(self.retry_pause)
            return
        message.ack()  # after the commit: a crash before it brings the message again, a duplicate then
        if outcome == "duplicate":
            log.info("%s skipped %s position %s: applied already", self.name, follower.source, body["position"])

    def _on_decode_error(self, message: Any, error: Exception) -> None:
        log.error("%s rejected a message that is not JSON: %s", self.name, error)
        message.reject(requeue=False)
