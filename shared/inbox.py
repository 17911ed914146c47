"""The inbox: another service's events, applied exactly once and in order.

Each consuming service has one durable queue per source,
`<source>.events--<service>.inbox`, with RabbitMQ's single-active-consumer, so
however many instances run, one takes the messages, one at a time (prefetch 1):
the order the source published in. Applying an event and recording its position
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
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable, Iterable
from uuid import uuid4

from eventsourcing.domain import event
from kombu import Consumer, Queue
from nameko.standalone.events import get_event_exchange

from shared.amqp import QUORUM_DELIVERY_LIMIT, BrokerSettings, Stopped
from shared.context import working_on
from shared.domain import TracedAggregate
from shared.errors import ConcurrentChange, StoreUnavailable
from shared.readmodel import Listing, Row
from shared.schemas import IncidentView

log = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 1.0
MAX_ATTEMPTS = 5
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
        on_applied: Callable[[], None] = lambda: None,
    ):
        self.on_applied = on_applied
        self.app = app
        self.gate = gate
        self.broker = broker
        self.source = source
        self.queue = queue
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
                    with Consumer(connection.channel(), queues=[self.queue], callbacks=[self.on_message],
                                  on_decode_error=self.on_decode_error, accept=["json"], prefetch_count=1):
                        self.connected = True
                        while not self._stopped.is_set():
                            try:
                                connection.drain_events(timeout=1)
                            except socket.timeout:
                                connection.heartbeat_check()
            except Exception:  # noqa: BLE001 - the consumer must outlive any failure
                self.connected = False
                if not self._stopped.is_set():
                    log.exception("inbox for %s failed; reconnecting", self.source)
                    self._stopped.wait(RETRY_PAUSE_SECONDS)

    def _unless_stopped(self) -> None:
        """Called by kombu between attempts to connect: a service stopping during an outage stops."""
        if self._stopped.is_set():
            raise Stopped()

    def on_message(self, envelope: Any, message: Any) -> None:
        with working_on(**inbound_context(envelope)):
            self._on_message(envelope, message)

    def _on_message(self, envelope: Any, message: Any) -> None:
        try:
            outcome = self.gate.call(self.app.apply_inbound, self.source, envelope)
        except Exception as error:  # noqa: BLE001 - not applied: tried again, or flagged after MAX_ATTEMPTS
            if not self._failed(envelope, error):
                message.requeue()
                self._stopped.wait(RETRY_PAUSE_SECONDS)
                return
            outcome = "given up"
        self.app.inbox_failures.pop(self.source, None)
        log.info("%s event %s at position %s: %s", self.source, _type(envelope), _position(envelope), outcome)
        message.ack()
        self.on_applied()  # what it changed is in the outbox now

    def on_decode_error(self, message: Any, error: Exception) -> None:
        """A body that is not JSON: kept as an incident, so it neither blocks the queue nor vanishes."""
        body = message.body[:2000] if isinstance(message.body, (bytes, str)) else message.body
        self.on_message({"undecodable": repr(body), "error": str(error)}, message)

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
