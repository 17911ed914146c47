"""The subscriber: its durable queues, the catch-up, and the loop that outlives the broker and the feed."""
from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import amqp.exceptions
from kombu import Connection, Exchange, Queue, binding

from cases_subscriber.feed import Feed
from cases_subscriber.follower import Follower, Handler, InvalidEnvelope, LogMismatch
from cases_subscriber.store import Store

# How long the loop waits on the broker before it looks whether it is to stop (a message wakes it at once).
STOP_CHECK_SECONDS = 0.2

log = logging.getLogger("cases_subscriber")


@dataclass
class Source:
    """A service whose events are followed: its name (`initiatives`), its base URL (the feed is
    `<feed_url>/events`), the event types wanted (AMQP topic patterns) and the token to read the feed."""

    name: str
    feed_url: str
    routing_keys: Sequence[str] = ("#",)
    token: str | None = field(default=None, repr=False)


class Standby(Exception):
    """Another instance of this subscriber holds its lock: this one waits and tries again."""


class Subscriber:
    """Follows each source: one durable queue `<source>.events--<name>` bound to `<source>.events`.

    `run()` blocks until `stop()`. Connected, it first declares an exclusive queue `subscriber--<name>.active`
    as a lock (the broker lets one connection hold it, and drops it with the connection): if another
    instance of this subscriber holds it, this instance is a standby and reads nothing (neither queue
    nor feed), trying again every `standby_pause` seconds. Holding it, it declares its queues, consumes
    them, empties a queue it has never applied anything from (everything published before is in the
    feed, read next), catches up
    from the feeds, and consumes the queues one message at a time (prefetch 1, manual ack after the
    store's commit); every `catch_up_interval` seconds without a message it reads the feeds again, so an
    event whose message was lost or passed over is still applied. A failure (handler, store, feed,
    broker) is logged and tried again after `retry_pause`: the message stays unacknowledged (its source
    waits, the others go on), nothing is skipped. A source whose log no longer holds the last event
    applied (`LogMismatch`) stops the subscriber: `run()` raises it.
    """

    def __init__(self, name: str, broker_url: str, sources: Sequence[Source], store: Store, handler: Handler,
                 *, schema: Sequence[str] = (), page_size: int = 500, retry_pause: float = 1.0, heartbeat: int = 30,
                 catch_up_interval: float = 30.0, standby_pause: float = 5.0,
                 before_ack: Callable[[str, str, dict[str, Any]], None] | None = None):
        self.name = name
        self.broker_url = broker_url
        self.sources = list(sources)
        self.store = store
        self.schema = list(schema)  # the handler's own tables (CREATE ... IF NOT EXISTS), made with the kit's
        self.retry_pause = retry_pause
        self.heartbeat = heartbeat
        self.catch_up_interval = catch_up_interval
        self.standby_pause = standby_pause
        self.before_ack = before_ack  # called after the commit, before the ack (metrics, crash tests)
        self.followers = {source.name: Follower(name, source.name, source.routing_keys,
                                                Feed(source.feed_url, source.token), store, handler, page_size)
                          for source in self.sources}
        self._caught_up = {source.name: False for source in self.sources}
        self._last_catch_up = 0.0
        self._stopped = threading.Event()
        self._ready = False  # the store's tables made
        self._catching_up = False
        self._deferred: list[tuple[Follower, Any]] = []  # delivered during a catch-up: handled after it
        self._retrying: dict[str, tuple[float, Follower, Any]] = {}  # source -> (when, follower, message)
        self.connected = False  # holding the queues and consuming them
        self.standby = False  # another instance holds the lock
        self.lock_name = f"subscriber--{name}.active"

    # --- the broker's side ----------------------------------------------------------------

    def queue(self, source: Source) -> Queue:
        exchange = Exchange(f"{source.name}.events", type="topic", durable=True)
        return Queue(
            f"{source.name}.events--{self.name}",
            bindings=[binding(exchange, routing_key=key) for key in source.routing_keys],
            durable=True, auto_delete=False,
            queue_arguments={"x-single-active-consumer": True},  # kept: a queue's arguments cannot change
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
        while not self._stopped.is_set():
            try:
                if not self._ready:
                    self.store.setup(self.name, [source.name for source in self.sources], self.schema)
                    self._ready = True
                self._consume()
            except LogMismatch as error:
                log.error("%s stopped: %s", self.name, error)
                self._stopped.set()
                raise
            except Standby as error:
                self.standby = True
                log.info("%s is a standby: %s; trying again in %ss", self.name, error, self.standby_pause)
                self._stopped.wait(self.standby_pause)
            except Exception as error:  # noqa: BLE001 - the subscriber outlives the broker and the store going away
                if not self._stopped.is_set():
                    log.warning("%s could not go on (%s: %s); trying again", self.name, type(error).__name__, error)
                    self._stopped.wait(self.retry_pause)
            finally:
                self.connected = False
                self._deferred.clear()
                self._retrying.clear()  # unacknowledged: the broker delivers them again

    def _raise_if_stopped(self, *_: Any) -> None:
        if self._stopped.is_set():
            raise _Stopped()

    def _consume(self) -> None:
        with Connection(self.broker_url, heartbeat=self.heartbeat) as connection:
            try:
                connection.ensure_connection(max_retries=None, interval_start=0.2, interval_step=0.5,
                                             interval_max=2.0, callback=self._raise_if_stopped)
            except _Stopped:
                return
            channel = connection.channel()
            try:  # a broker-side lock: an exclusive queue belongs to one connection, gone with it
                channel.queue_declare(queue=self.lock_name, exclusive=True, auto_delete=True)
            except amqp.exceptions.ResourceLocked:
                raise Standby(f"another instance holds {self.lock_name}") from None
            queues = self.declare(channel)  # first: whatever is published from now on waits in them
            for source, queue in zip(self.sources, queues):
                channel.basic_qos(0, 1, False)
                channel.basic_consume(queue=queue.name,
                                      callback=functools.partial(self._deliver, channel, self.followers[source.name]))
            self.standby = False
            for source, queue in zip(self.sources, queues):
                if self.store.position(self.name, source.name) == 0:
                    # nothing applied yet: what waits was published before now, so the feed read next holds it
                    channel.queue_purge(queue.name)
            self._caught_up = {source: False for source in self._caught_up}
            self._last_catch_up = 0.0
            self._catch_up(connection, pending_only=True)
            self.connected = True
            log.info("%s consuming %s", self.name, ", ".join(queue.name for queue in queues))
            while not self._stopped.is_set():
                self._handle_waiting()
                try:
                    connection.drain_events(timeout=min(STOP_CHECK_SECONDS, self.retry_pause))
                except socket.timeout:
                    connection.heartbeat_check()
                    idle = time.monotonic() - self._last_catch_up >= self.catch_up_interval
                    self._catch_up(connection, pending_only=not idle)

    def _catch_up(self, connection: Any, pending_only: bool) -> None:
        """Reads the feeds to their end: those not yet read since connecting (retried while a source is
        down), or all of them (the idle catch-up). Messages delivered meanwhile wait until it is done."""
        pending = [name for name, done in self._caught_up.items()
                   if not (pending_only and done) and name not in self._retrying]
        if not pending or time.monotonic() - self._last_catch_up < self.retry_pause:
            return
        self._last_catch_up = time.monotonic()

        def between_pages() -> None:  # a long catch-up keeps the connection alive (heartbeats both ways)
            connection.heartbeat_check()
            try:
                connection.drain_events(timeout=0.01)
            except socket.timeout:
                pass

        self._catching_up = True
        try:
            for name in pending:
                try:
                    follower = self.followers[name]
                    reached = follower.catch_up(between_pages, queued=functools.partial(self._has_deferred, follower))
                except LogMismatch:
                    raise
                except Exception as error:  # noqa: BLE001 - tried again; the queue waits meanwhile
                    log.warning("%s could not catch up from %s: %s: %s", self.name, name, type(error).__name__,
                                error)
                    continue
                if not self._caught_up[name]:
                    log.info("%s caught up from %s to position %s", self.name, name, reached)
                self._caught_up[name] = True
        finally:
            self._catching_up = False

    def _has_deferred(self, follower: Follower) -> bool:
        """Whether a message of the follower's source was delivered during the catch-up (and waits)."""
        return any(waiting is follower for waiting, _ in self._deferred)

    def _deliver(self, channel: Any, follower: Follower, raw: Any) -> None:
        message = channel.message_to_python(raw)
        if self._catching_up:
            self._deferred.append((follower, message))
        else:
            self._handle(follower, message)

    def _handle_waiting(self) -> None:
        """The messages delivered during a catch-up, then those whose retry pause is over."""
        while self._deferred:
            self._handle(*self._deferred.pop(0))
        now = time.monotonic()
        for source, (when, follower, message) in list(self._retrying.items()):
            if when <= now:
                del self._retrying[source]
                self._handle(follower, message)

    def _handle(self, follower: Follower, message: Any) -> None:
        try:
            body = message.decode()
        except Exception as error:  # noqa: BLE001 - not JSON: it can never be applied
            log.error("%s rejected a message of %s that is not JSON: %s", self.name, follower.source, error)
            message.reject(requeue=False)
            return
        try:
            outcome = follower.receive(body)
        except InvalidEnvelope as error:
            log.error("%s rejected a message of %s: %s", self.name, follower.source, error)
            message.reject(requeue=False)
            return
        except Exception as error:  # noqa: BLE001 - not applied (rolled back): kept, tried again after a pause
            log.warning("%s could not apply a %s event yet (%s: %s); trying again in %ss", self.name,
                        follower.source, type(error).__name__, error, self.retry_pause)
            self._retrying[follower.source] = (time.monotonic() + self.retry_pause, follower, message)
            return
        if self.before_ack is not None:
            self.before_ack(follower.source, outcome, body)
        message.ack()  # after the commit: a crash before it brings the message again, a duplicate then
        if outcome == "duplicate":
            log.info("%s skipped %s position %s: applied already", self.name, follower.source, body["position"])


class _Stopped(Exception):
    """Raised in the broker's connection retries once the subscriber is stopped."""
