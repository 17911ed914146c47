"""The outbox relay: publishes the service's own event log to RabbitMQ, in order.

The notification log is written in the same transaction as the events, so it is
the outbox. The relay reads after its recorded position, publishes each public
event with publisher confirms, and only then records the new position (a
tracking row in the same store), at most once a second while events keep coming.
What this process's own saves committed it is handed (`saved`), and publishes without
reading it back, as long as it follows on from the position without a gap; anything
else (another instance's events, a gap a rolled-back save left) is read from the log.
A crash between a confirm and that record means the events are published again on
restart: delivery is at least once, and every envelope carries `position` and
`event_id` so subscribers apply it exactly once.

Every instance of a service runs a relay; one leads and publishes, the others stand
by. On PostgreSQL the leader holds a session-level advisory lock on a connection of
its own: when the leader dies, PostgreSQL ends its session and another instance
takes the lock at its next try (LEADERSHIP_RETRY_SECONDS). A leader checks that
its session is alive before each batch, and stands down when it is not. On SQLite
the store belongs to one process, which always leads.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any, Callable, Mapping, Protocol, Sequence

import psycopg

from eventsourcing.persistence import Tracking
from kombu import Exchange, Queue

from shared import cloudevents
from shared.amqp import BrokerSettings, Stopped
from shared.envelope import dumps

log = logging.getLogger(__name__)

TRACKING_NAME = "outbox-relay"
LEADERSHIP_RETRY_SECONDS = 1.0
LEADERSHIP_CHECK_SECONDS = 1.0  # how often a leading relay asks whether its lock's session lives
SERVER_SIDE_KEEPALIVES = ("-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 "
                          "-c tcp_user_timeout=10000")
# A leader that cannot reach RabbitMQ for this long hands the lead to an instance that may
# (OUTBOX_HANDOVER_SECONDS).
DEFAULT_HANDOVER_SECONDS = 30.0
# A publish RabbitMQ has not confirmed within this long counts as failed: the connection is
# dropped and the batch published again (OUTBOX_CONFIRM_TIMEOUT). Without a bound, a broker that
# blocks publishers (its disk or memory alarm) would hold the relay, and a stopping service, forever.
DEFAULT_CONFIRM_TIMEOUT = 10.0
# While events keep coming, the relay records how far it published at most this often
# (OUTBOX_RECORD_EVERY): a commit per batch was a commit per command.
DEFAULT_RECORD_EVERY = 1.0
# The most notifications of its process's own saves a relay holds to publish (beyond, while it stands by
# or cannot reach RabbitMQ, it forgets them and reads the log).
JUST_SAVED_KEPT = 1000


class Leadership(Protocol):
    others_may_lead: bool  # False where this process is the store's only writer

    def acquire(self) -> bool:
        """Tries to lead; True when this instance leads now."""

    def still_leading(self) -> bool:
        """Whether the lead is still held (checked before each batch)."""

    def release(self) -> None: ...


class SoleInstance:
    """A store only this process writes (SQLite, in memory): it always leads."""

    others_may_lead = False

    def acquire(self) -> bool:
        return True

    def still_leading(self) -> bool:
        return True

    def release(self) -> None:
        pass


class AdvisoryLock:
    """Leads while holding a PostgreSQL session-level advisory lock on a connection of its own.

    Keepalives both ways: the client notices a dead network, and the server ends the session of a
    leader whose host died or was cut off within seconds (PostgreSQL's default waits two hours),
    which frees the lock for another instance."""

    others_may_lead = True

    def __init__(self, connection_settings: Mapping[str, Any], name: str):
        self.connection_settings = dict(connection_settings)
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        self._connection: psycopg.Connection | None = None
        self._checked_at = float("-inf")

    def acquire(self) -> bool:
        try:
            if self._connection is None:
                self._connection = psycopg.connect(
                    autocommit=True, connect_timeout=5, application_name="outbox-relay",
                    # a leader cut off by the network is noticed, and its session ended, in seconds
                    keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3,
                    options=SERVER_SIDE_KEEPALIVES,
                    **self.connection_settings,
                )
            row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            self._checked_at = time.monotonic()
            return bool(row and row[0])
        except psycopg.Error as error:
            log.warning("outbox relay cannot reach PostgreSQL to take the lead (%s)", error)
            self.release()
            return False

    def still_leading(self) -> bool:
        """Whether the session holding the lock lives: asked of PostgreSQL at most every
        LEADERSHIP_CHECK_SECONDS, not before each batch (a relay that lost its session meanwhile publishes
        what the next leader publishes again; subscribers apply each position once)."""
        if self._connection is None:
            return False
        if time.monotonic() - self._checked_at < LEADERSHIP_CHECK_SECONDS:
            return True
        try:
            self._connection.execute("SELECT 1")  # the session holds the lock for as long as it lives
            self._checked_at = time.monotonic()
            return True
        except psycopg.Error:
            self.release()
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()  # ends the session: the lock is free for another instance
            except psycopg.Error:
                pass
            self._connection = None


def leadership_for(env: Mapping[str, str], name: str) -> Leadership:
    """The way instances of a service sharing one store agree who publishes (shared.store's env)."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        return SoleInstance()
    schema = env.get("POSTGRES_SCHEMA") or "public"
    return AdvisoryLock(
        {"host": env["POSTGRES_HOST"], "port": int(env["POSTGRES_PORT"]), "dbname": env["POSTGRES_DBNAME"],
         "user": env["POSTGRES_USER"], "password": env.get("POSTGRES_PASSWORD") or None},
        name=f"{schema}/{name}/{TRACKING_NAME}",
    )


class OutboxRelay:
    def __init__(
        self,
        *,
        app: Any,
        gate: Any,
        broker: BrokerSettings,
        exchange: Exchange,
        envelope_for: Callable[[Any], dict[str, Any] | None],
        redacted: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
        subscriber_queues: Sequence[Queue] = (),
        leadership: Leadership | None = None,
        handover_after: float = DEFAULT_HANDOVER_SECONDS,
        confirm_timeout: float = DEFAULT_CONFIRM_TIMEOUT,
        batch_size: int = 100,
        poll_interval: float = 1.0,
        record_every: float = DEFAULT_RECORD_EVERY,
    ):
        self.app = app
        self.gate = gate
        self.broker = broker
        self.exchange = exchange
        self.envelope_for = envelope_for
        # What other systems may receive of the envelopes (shared.secrecy: a marked case's content withheld)
        self.redacted = redacted or (lambda envelopes: envelopes)
        self.subscriber_queues = subscriber_queues
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.record_every = record_every
        self.leadership = leadership or SoleInstance()
        self.handover_after = handover_after
        self.confirm_timeout = confirm_timeout
        self._unreachable_since: float | None = None
        self.role = "starting"  # leading | standing by | stopped (GET /health)
        self._wake = threading.Event()
        self._stopped = threading.Event()
        # The notifications this process's saves committed, by position, not yet published (`saved`)
        self._just_saved: dict[int, Any] = {}
        self._just_saved_lock = threading.Lock()  # saves hand them over from any thread (SQLite: the store's)
        self.connected = False  # to RabbitMQ, as far as the relay knows (read by /ready, /health, /metrics)
        # Why RabbitMQ blocks this relay's connection (a resource alarm), while it does (read by /health)
        self.blocked: str | None = None

    def nudge(self) -> None:
        self._wake.set()

    def saved(self, notifications: Sequence[Any]) -> None:
        """A save of this process has committed these notifications: published from here, not read back.
        Kept only while this relay leads, and up to JUST_SAVED_KEPT (beyond, the log has them)."""
        with self._just_saved_lock:
            if self.role != "leading" or len(self._just_saved) + len(notifications) > JUST_SAVED_KEPT:
                self._just_saved.clear()
                return
            self._just_saved.update((notification.id, notification) for notification in notifications)

    def _just_saved_after(self, after: int) -> tuple[list[Any], bool]:
        """Those of the notifications handed over that follow on from `after`, consecutive, at most a batch,
        and whether others wait behind them. None follow on when the next one is not among them: another
        instance's, one saved before this relay read its position, or none (a rolled-back save's gap)."""
        with self._just_saved_lock:
            for position in [position for position in self._just_saved if position <= after]:
                del self._just_saved[position]  # published already (read from the log)
            following = []
            while after + 1 + len(following) in self._just_saved and len(following) < self.batch_size:
                following.append(self._just_saved.pop(after + 1 + len(following)))
            return following, bool(self._just_saved)

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def published_position(self) -> int:
        return self.gate.call(self.app.recorder.max_tracking_id, TRACKING_NAME) or 0

    def run(self) -> None:
        """Publishes while it leads, until stopped; stands by while another instance leads."""
        try:
            while not self._stopped.is_set():
                if not self.leadership.acquire():
                    self.role = "standing by"
                    self._stopped.wait(LEADERSHIP_RETRY_SECONDS)
                    continue
                self.role = "leading"
                log.info("outbox relay leads: this instance publishes %s", self.exchange.name)
                try:
                    self._publish_while_leading()
                except _BrokerUnreachable:
                    # Another instance may reach RabbitMQ where this one cannot: give it the lead.
                    log.warning("outbox relay could not reach RabbitMQ for %.0f s; handing over the lead",
                                self.handover_after)
                    self.leadership.release()
                    self.role = "standing by"
                    self._stopped.wait(LEADERSHIP_RETRY_SECONDS * 5)
        finally:
            self.leadership.release()
            self.role = "stopped"

    def _publish_while_leading(self) -> None:
        """Publishes, reconnecting (kombu's retry) after any failure, until stopped or the lead is lost;
        where other instances may lead, gives up after `handover_after` seconds without RabbitMQ."""
        self._unreachable_since = None
        try:
            self._publish_reconnecting()
        finally:
            self.connected = False

    def _publish_reconnecting(self) -> None:
        while not self._stopped.is_set():
            connection = None
            try:
                connection = self.broker.connection(confirm_publish=True, on_blocked=self._on_blocked,
                                                    on_unblocked=self._on_unblocked)
                connection.ensure_connection(
                    errback=self._log_connection_error,
                    max_retries=None,
                    interval_start=0.2,
                    interval_step=0.5,
                    interval_max=2.0,
                    callback=self._while_reconnecting,
                )
                self._unreachable_since = None
                producer = connection.Producer(serializer="json")
                self.exchange(connection.default_channel).declare()
                self.connected = True
                for queue in self.subscriber_queues:  # shared.topology: nothing published is dropped
                    queue(connection.default_channel).declare()
                self._publish_until_stopped(connection, producer)
                return
            except Stopped:
                return
            except _BrokerUnreachable:
                raise
            except _LeadLost:
                log.warning("outbox relay lost the lead; standing by")
                return
            except Exception as error:  # noqa: BLE001 - the relay must outlive any failure
                self.connected = False
                if self.blocked:  # not a failure of ours: the broker's alarm, already logged
                    log.warning("outbox relay: no confirm while blocked (%s); reconnecting", type(error).__name__)
                else:
                    log.exception("outbox relay failed; reconnecting")
                self._note_unreachable()
                self._stopped.wait(1.0)
            finally:
                if connection is not None:
                    self._let_go(connection)

    def _let_go(self, connection: Any) -> None:
        """Closes the connection; drops it where RabbitMQ blocks it, since a blocked connection is not
        read from and the closing handshake would wait for as long as the alarm lasts."""
        if self.blocked is None:
            try:
                connection.release()
                return
            except Exception:  # noqa: BLE001 - a connection that failed is dropped below
                pass
        connection.collect()

    def _publish_until_stopped(self, connection: Any, producer: Any) -> None:
        """Publishes batch after batch. The position reached is recorded at most every `record_every`
        seconds while events keep coming, once the relay has been idle a whole poll interval, and
        when it stops: not a commit per batch. What was published after the last record is published
        again by the next leader (at least once, as after any crash); subscribers apply it once."""
        # Read once a connection is up: while this instance leads, no one else moves the position.
        position = recorded = self.published_position()
        recorded_at = time.monotonic()
        idle_a_whole_interval = False
        while not self._stopped.is_set():
            if not self.leadership.still_leading():
                raise _LeadLost()
            reached, more = self.publish_pending(producer, after=position)
            now = time.monotonic()
            if reached != recorded and (idle_a_whole_interval or now - recorded_at >= self.record_every):
                self._record(reached)
                recorded, recorded_at = reached, now
            if not more:  # a batch short of full reached the log's head: wait for a nudge, not another read
                connection.heartbeat_check()  # HEARTBEAT: a broker gone is noticed while idle
                idle_a_whole_interval = not self._wake.wait(self.poll_interval)
                self._wake.clear()
            else:
                idle_a_whole_interval = False
            position = reached
        if position != recorded:
            self._record(position)

    def _record(self, position: int) -> None:
        self.gate.call(self.app.recorder.insert_tracking, Tracking(application_name=TRACKING_NAME, notification_id=position))

    def publish_pending(self, producer: Any, after: int) -> tuple[int, bool]:
        """Publishes one batch after position `after`; returns the position it reached (not recorded) and
        whether the batch was full (more may follow at once)."""
        last, envelopes, more = self.gate.call(self._pending, after)
        for envelope in envelopes:
            producer.publish(
                dumps(envelope),
                exchange=self.exchange,
                routing_key=envelope["type"],
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=envelope["event_id"],
                # position and source for the suite's own subscribers; the CloudEvents attributes beside them
                headers={"position": envelope["position"], "source": envelope["source"],
                         **cloudevents.headers(envelope)},
                confirm_timeout=self.confirm_timeout,
            )
            self.blocked = None  # confirmed: whatever blocked publishing has lifted
        return last, more

    def _pending(self, after: int) -> tuple[int, list[dict[str, Any]], bool]:
        """The batch after `after` as published (public events only, redacted), its last position, and
        whether more may follow at once: one call through the gate (SQLite: one hop to the store's
        thread, not one per event). The batch is what this process's saves handed over, when it
        follows on from `after`; else read from the log."""
        notifications, others_wait = self._just_saved_after(after)
        if notifications:
            more = others_wait or len(notifications) == self.batch_size
        else:
            notifications = self.app.recorder.select_notifications(
                start=after, limit=self.batch_size, inclusive_of_start=False)
            more = len(notifications) == self.batch_size
        envelopes = [self.envelope_for(notification) for notification in notifications]
        return (notifications[-1].id if notifications else after,
                self.redacted([envelope for envelope in envelopes if envelope is not None]), more)

    def _on_blocked(self, reason: str) -> None:
        self.blocked = f"RabbitMQ blocks publishing ({reason}): a resource alarm, low disk or memory on the broker"
        log.warning("outbox relay: %s; the events wait in the outbox until it lifts", self.blocked)

    def _on_unblocked(self) -> None:
        self.blocked = None
        log.info("outbox relay: RabbitMQ accepts publishing again")

    def _log_connection_error(self, error: Exception, interval: float) -> None:
        log.warning("outbox relay cannot reach RabbitMQ (%s); retrying in %.1fs", error, interval)
        self._note_unreachable()

    def _note_unreachable(self) -> None:
        if self._unreachable_since is None:
            self._unreachable_since = time.monotonic()

    def _while_reconnecting(self) -> None:
        """Called by kombu between attempts to connect: stops, or hands over the lead, when it should."""
        if self._stopped.is_set():
            raise Stopped()
        if (self.leadership.others_may_lead and self._unreachable_since is not None
                and time.monotonic() - self._unreachable_since > self.handover_after):
            raise _BrokerUnreachable()


class _LeadLost(Exception):
    pass


class _BrokerUnreachable(Exception):
    pass
