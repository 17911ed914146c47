"""The inbox: another service's events, applied exactly once and in order.

Each consuming service has one durable queue per source,
`<source>.events--<service>.inbox`, with RabbitMQ's single-active-consumer, so
however many instances run, one takes the messages, in the order the source
published them. Applying an event and recording its position
(a tracking row) are one transaction, so a redelivered or republished event is
recognised by its position and skipped. An event the service cannot apply to its
cases (unknown diary number, a closed case), or that breaks the envelope contract, is
recorded as an Incident, visible at GET /incidents, never dropped. A failure of
the store is not acknowledged: the message goes back to the head of the queue and
is tried again for as long as it lasts (GET /health shows it). Any other failure
is tried MAX_ATTEMPTS times, then recorded as an Incident with its position, so
one bad event cannot stop every later one. Whatever applying an event records (a
decision, an incident) is caused by it: its events' `causation_id` is the inbound
`event_id`, and their `correlation_id` continues the inbound one (docs/events.md).

When a backlog waits (the service was busy, stopped, or the source published a burst), the
inbox of a classic queue takes up to INBOX_RUN messages at once (its prefetch) and applies them
in one transaction with their positions (CaseApplication.apply_inbound_run): one commit, one lock
of the log and one acknowledgement for the run instead of one each. A run that would not simply
apply (an incident to record, a bug) is applied one message at a time as above; a run the store
cannot take now (it is down, or a concurrent change) is given back whole and tried again after a
pause. A message that fails is put back with every message after it, in their order, by closing
the channel they came on (InboxConsumer._consume), whichever instance takes the queue next.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable, Iterable, Mapping
from uuid import uuid4

from amqp.abstract_channel import IGNORED_METHOD_DURING_CHANNEL_CLOSE
from eventsourcing.domain import event
from kombu import Consumer, Queue
from nameko.standalone.events import get_event_exchange

from shared.amqp import QUORUM_DELIVERY_LIMIT, STOP_CHECK_SECONDS, BrokerSettings, Stopped
from shared.context import working_on
from shared.domain import TracedAggregate
from shared.envelope import is_envelope
from shared.errors import ConcurrentChange, StoreUnavailable
from shared.readmodel import Listing, Row
from shared.schemas import IncidentView

log = logging.getLogger(__name__)


class DeliveriesToAClosingChannel(logging.Filter):
    """py-amqp warns of every delivery that reaches a channel while it closes. The inbox closes its
    channel to give a run back (InboxConsumer._consume), when up to INBOX_RUN deliveries are on their
    way: expected, so they are debug lines, written only where py-amqp's debug lines are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != IGNORED_METHOD_DURING_CHANNEL_CLOSE:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


logging.getLogger("amqp").addFilter(DeliveriesToAClosingChannel())

RETRY_PAUSE_SECONDS = 1.0
MAX_ATTEMPTS = 5
# The most messages taken and applied at once when a backlog waits (INBOX_RUN; 1: one at a time).
DEFAULT_RUN = 50
# Failures that pass by themselves: retried for as long as they last, never given up on.
TRANSIENT_ERRORS = (StoreUnavailable, ConcurrentChange)


class Incident(TracedAggregate):
    """An event from another service that could not be applied here, kept for people to see."""

    effective_dates = {"Recorded": None}

    @event("Recorded")
    def __init__(
        self, *, source: str, position: int, event_type: str, diary_number: str | None,
        problem: str, detail: str, actor: str,
    ):
        self.source = source
        self.position = position
        self.event_type = event_type
        self.diary_number = diary_number
        self.problem = problem
        self.detail = detail


def incident_row(incident: Incident) -> Row:
    return Row(sort_key=f"{incident.source}/{incident.position:020d}", view=_incident_view.dump(incident),
               columns={"source": incident.source, "diary_number": incident.diary_number})


_incident_view = IncidentView()
# The list of incidents, in every service that consumes events: by source, then position.
INCIDENTS = Listing("incidents", Incident, incident_row, noun="incident", columns={"source": "text", "diary_number": "text"})


def incident_for(source: str, envelope: dict[str, Any], refused: Any, diary_number: str | None = None) -> Incident:
    """The record that an event (or one case of it) was refused here, and why."""
    return Incident(
        source=source, position=int(envelope["position"]), event_type=envelope["type"],
        diary_number=diary_number or envelope.get("diary_number"), problem=refused.title,
        detail=str(refused), actor=envelope.get("actor") or source,
    )


def inbox_queue(source: str, service_name: str, routing_keys: Iterable[str], quorum: bool = False) -> Queue:
    """One consumer at a time takes the source's events, in order; a quorum queue (AMQP_QUORUM_QUEUES)
    is replicated over the cluster and never dead-letters an event for being requeued (shared.amqp)."""
    arguments: dict[str, Any] = {"x-single-active-consumer": True}
    if quorum:
        arguments.update({"x-queue-type": "quorum", "x-delivery-limit": QUORUM_DELIVERY_LIMIT})
    exchange = get_event_exchange(source, {})
    return Queue(
        f"{source}.events--{service_name}.inbox",
        bindings=[_binding(exchange, key) for key in routing_keys],
        durable=True,
        auto_delete=False,
        queue_arguments=arguments,
    )


def _binding(exchange: Any, routing_key: str) -> Any:
    from kombu import binding

    return binding(exchange, routing_key=routing_key)


class InboxConsumer:
    def __init__(
        self, *, app: Any, gate: Any, broker: BrokerSettings, source: str, queue: Queue,
        on_applied: Callable[[], None] = lambda: None, run_size: int = 1,
    ):
        self.on_applied = on_applied
        self.app = app
        self.gate = gate
        self.broker = broker
        self.source = source
        self.queue = queue
        # Messages taken at most at once (the prefetch). Above 1 only for an application that can apply
        # a run of them (apply_inbound_run), and only from a classic queue: a quorum queue gives the
        # messages on their way to a closed channel back after later ones (docs/operations.md), and an
        # event overtaken by a later one would be skipped as applied.
        runs = hasattr(app, "apply_inbound_run") and not broker.quorum_queues
        self.run_size = max(1, run_size) if runs else 1
        self._received: list[tuple[Any, Any]] = []
        self._stopped = threading.Event()
        self.connected = False  # consuming from RabbitMQ (read by /ready, /health, /metrics)

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                with self.broker.connection() as connection:
                    connection.ensure_connection(max_retries=None, interval_start=0.2, interval_step=0.5,
                                                 interval_max=2.0, callback=self._unless_stopped)
                    while not self._stopped.is_set():
                        self._consume(connection)  # returns when a message is to be tried again
                        self._stopped.wait(RETRY_PAUSE_SECONDS)
            except Exception:  # noqa: BLE001 - the consumer must outlive any failure
                self.connected = False
                if not self._stopped.is_set():
                    log.exception("inbox for %s failed; reconnecting", self.source)
                    self._stopped.wait(RETRY_PAUSE_SECONDS)

    def _consume(self, connection: Any) -> None:
        """Takes and applies messages on a channel of its own until one is not applied. Closing the
        channel then puts back every message RabbitMQ gave on it and was not acknowledged: the one
        that failed, those taken after it and those on their way, in their order, to be given again
        on the next channel. (Putting back the failed message alone would let those already on their
        way overtake it.)"""
        channel = connection.channel()
        self._received = []
        try:
            Consumer(channel, queues=[self.queue], callbacks=[self._receive], on_decode_error=self.on_decode_error,
                     accept=["json"], prefetch_count=self.run_size).consume()
            self.connected = True
            while not self._stopped.is_set():
                try:
                    connection.drain_events(timeout=STOP_CHECK_SECONDS)
                except socket.timeout:
                    connection.heartbeat_check()
                    continue
                self._take_waiting(connection)
                if not self.apply_received():
                    return
        finally:
            self._received = []
            # Closed without a cancel first: a cancel would make another instance's waiting consumer the
            # active one while this channel still holds messages, and it would be given the ones after
            # them first. A channel closing gives its messages back before the next consumer takes over.
            channel.close()

    def _unless_stopped(self) -> None:
        """Called by kombu between attempts to connect: a service stopping during an outage stops."""
        if self._stopped.is_set():
            raise Stopped()

    def _receive(self, envelope: Any, message: Any) -> None:
        self._received.append((envelope, message))

    def _take_waiting(self, connection: Any) -> None:
        """The deliveries already here, up to the run's size, without waiting for more (a millisecond: with
        no timeout at all py-amqp spins, never yielding, on a frame that arrives in parts)."""
        while len(self._received) < self.run_size:
            try:
                connection.drain_events(timeout=0.001)
            except socket.timeout:
                return

    def apply_received(self) -> bool:
        """The messages taken: as one run when there are several and they apply simply, else one at a
        time. False when one was not applied: it and every one after it are to be given again."""
        received, self._received = self._received, []
        if len(received) > 1:
            applied = self._applied_as_run(received)
            if applied is not None:
                return applied
        return self.apply_one_at_a_time(received)

    def on_message(self, envelope: Any, message: Any) -> bool:
        return self.apply_one_at_a_time([(envelope, message)])

    def apply_one_at_a_time(self, received: list[tuple[Any, Any]]) -> bool:
        for envelope, message in received:
            with working_on(**inbound_context(envelope)):
                if not self._applied(envelope, message):
                    return False
        return True

    def _applied(self, envelope: Any, message: Any) -> bool:
        try:
            outcome = self.gate.call(self.app.apply_inbound, self.source, envelope)
        except Exception as error:  # noqa: BLE001 - not applied: tried again, or flagged after MAX_ATTEMPTS
            if not self._failed(envelope, error):
                return False
            outcome = "given up"
        self.app.inbox_failures.pop(self.source, None)
        log.info("%s event %s at position %s: %s", self.source, _type(envelope), _position(envelope), outcome)
        message.ack()
        self.on_applied()  # what it changed is in the outbox now
        return True

    def _applied_as_run(self, received: list[tuple[Any, Any]]) -> bool | None:
        """Several messages applied in one transaction: True. False when the store failed (the run is
        given back, to be tried again after a pause, as its first message would be); None when they
        must go one at a time."""
        envelopes = [envelope for envelope, _ in received]
        if not applies_as_run(envelopes):
            return None
        try:
            outcomes = self.gate.call(self.app.apply_inbound_run, self.source, envelopes)
        except TRANSIENT_ERRORS as error:
            # Shown at the run's last event: the run is past only once all of it is applied (a run given
            # again after a lost acknowledgement may begin with events applied already).
            with working_on(**inbound_context(envelopes[-1])):
                return self._failed(envelopes[-1], error)
        except Exception as error:  # noqa: BLE001 - one at a time shows, retries or flags the failure
            log.warning("%d %s events could not be applied at once (%s: %s); one at a time", len(received),
                        self.source, type(error).__name__, error)
            return None
        if outcomes is None:
            return None
        self.app.inbox_failures.pop(self.source, None)
        for envelope, outcome in zip(envelopes, outcomes):
            with working_on(**inbound_context(envelope)):
                log.info("%s event %s at position %s: %s", self.source, _type(envelope), _position(envelope), outcome)
        received[-1][1].ack(multiple=True)  # the run's, and every delivery before it
        self.on_applied()
        return True

    def on_decode_error(self, message: Any, error: Exception) -> None:
        """A body that is not JSON: kept as an incident, so it neither blocks the queue nor vanishes."""
        body = message.body[:2000] if isinstance(message.body, (bytes, str)) else message.body
        self._receive({"undecodable": repr(body), "error": str(error)}, message)

    def _failed(self, envelope: Any, error: Exception) -> bool:
        """Notes a failure for /health; True once an event has failed for a reason that will not pass."""
        log.error("could not apply %s event at position %s: %s", self.source, _position(envelope), error,
                  exc_info=error)
        previous = self.app.inbox_failures.get(self.source) or {}
        attempts = previous.get("attempts", 0) + 1 if previous.get("position") == _position(envelope) else 1
        self.app.inbox_failures[self.source] = {
            "position": _position(envelope), "type": _type(envelope), "attempts": attempts,
            "error": f"{type(error).__name__}: {error}", "since": previous.get("since", time.time()),
        }
        if isinstance(error, TRANSIENT_ERRORS) or attempts < MAX_ATTEMPTS:
            return False
        try:
            self.gate.call(self.app.give_up_inbound, self.source, envelope, error)
        except Exception:  # noqa: BLE001 - could not even record it: keep trying
            log.exception("could not record the failure of %s event %s", self.source, _position(envelope))
            return False
        return True


def still_failing(failures: Mapping[str, dict[str, Any]], applied: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """The inboxes' failures (by source) that still hold: not one whose event has been applied since, at
    its position or past it. Another instance did that: with the queue's messages given back when this
    one closed its channel, that instance took them (as its standby consumer, or this one stopped);
    this one, no longer given them, would otherwise show the failure for good. A filter, changing
    nothing (the positions only grow, so such a failure stays past; the inbox clears its own entry)."""
    return {source: failure for source, failure in list(failures.items())
            if not (isinstance(failure.get("position"), int) and failure["position"] <= applied.get(source, 0))}


def applies_as_run(envelopes: list[Any]) -> bool:
    """Whether messages taken at once may be offered as a run (apply_inbound_run): every one an event
    envelope, their positions strictly increasing. Anything else is applied one at a time, where an
    envelope that breaks the contract becomes an incident and an event overtaken is recognised."""
    if not all(is_envelope(envelope) for envelope in envelopes):
        return False
    positions = [envelope["position"] for envelope in envelopes]
    return all(earlier < later for earlier, later in zip(positions, positions[1:]))


def inbound_context(envelope: Any) -> dict[str, Any]:
    """The context of applying an event: what it records is caused by that event and continues its
    correlation (the event's own id when it carries none: it was stored before correlations were)."""
    event_id = _text(envelope, "event_id")
    return {
        "correlation_id": _text(envelope, "correlation_id") or event_id or str(uuid4()),
        "causation_id": event_id,
        "diary_number": _text(envelope, "diary_number"),
    }


def _text(envelope: Any, key: str) -> str | None:
    """A short string member of an envelope; anything else (an envelope that breaks the contract) is None."""
    value = envelope.get(key) if isinstance(envelope, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


def _position(envelope: Any) -> Any:
    return envelope.get("position") if isinstance(envelope, dict) else None


def _type(envelope: Any) -> Any:
    return envelope.get("type") if isinstance(envelope, dict) else None
