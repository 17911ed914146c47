"""The nameko dependency that gives a service its event-sourced application and outbox."""
from __future__ import annotations

import logging
from typing import Any, Callable

from eventlet import Timeout
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange

from shared import clock
from shared.amqp import BrokerSettings, broker_settings
from shared.inbox import DEFAULT_RUN, InboxConsumer, inbox_queue
from shared.outbox import (
    DEFAULT_CONFIRM_TIMEOUT, DEFAULT_HANDOVER_SECONDS, DEFAULT_RECORD_EVERY, OutboxRelay, leadership_for,
)
from shared.settings import env_flag
from shared.store import GatedApplication, construct_application, persistence_env
from shared.telemetry import (
    OUTBOX_STALLED_AFTER, EventLogCollector, OutboxWatch, Telemetry, observe_inboxes, outbox_check, store_check,
)
from shared.topology import inboxes_of, subscribers_of

log = logging.getLogger(__name__)

KILL_CLOSE_SECONDS = 5.0


def close_on_kill(close: Callable[[], Any], service_name: str) -> None:
    """Releases the store's connections when a service is killed, but never waits long for it (a call
    stuck on the store's thread must not hold the kill up) and never raises."""
    deadline = Timeout(KILL_CLOSE_SECONDS)
    try:
        close()
    except Timeout as expired:
        if expired is not deadline:
            raise
        log.warning("%s: the store did not close within %g s of the kill", service_name, KILL_CLOSE_SECONDS)
    except Exception:  # noqa: BLE001 - a kill must not raise
        log.warning("%s: the store was not closed on kill", service_name, exc_info=True)
    finally:
        deadline.cancel()


class EventSourcedApplication(DependencyProvider):
    """Builds the application once per container; runs its outbox relay and inboxes beside it.

    Which events the service consumes, and which queues its relay declares for its
    subscribers, come from shared.topology. What /metrics and /ready read of them is
    registered with the container's Telemetry here.
    """

    telemetry = Telemetry()

    def __init__(self, application_class: type, **kwargs: Any):
        self.application_class = application_class
        super().__init__(**kwargs)

    def setup(self) -> None:
        config = self.container.config
        service_name = self.container.service_name
        clock.use_time_zone(config.get("TIME_ZONE"))
        env = persistence_env(config, service_name)
        broker = broker_settings(config)
        self.poll_interval = float(config.get("OUTBOX_POLL_INTERVAL", 1.0))  # the relay's and the read model's
        self.app, self.gate = construct_application(self.application_class, env)
        self.relay = OutboxRelay(
            app=self.app,
            gate=self.gate,
            broker=broker,
            exchange=get_event_exchange(service_name, config),
            envelope_for=self.app.envelope_for,
            redacted=self.app.redacted_envelopes,
            leadership=leadership_for(env, service_name),
            handover_after=float(config.get("OUTBOX_HANDOVER_SECONDS", DEFAULT_HANDOVER_SECONDS)),
            confirm_timeout=float(config.get("OUTBOX_CONFIRM_TIMEOUT", DEFAULT_CONFIRM_TIMEOUT)),
            record_every=float(config.get("OUTBOX_RECORD_EVERY", DEFAULT_RECORD_EVERY)),
            subscriber_queues=[
                inbox_queue(service_name, consumer, routing_keys, broker.quorum_queues)
                for consumer, routing_keys in subscribers_of(service_name).items()
            ],
            poll_interval=self.poll_interval,
        )
        self.app.outbox_relay = self.relay
        self.gated = GatedApplication(self.app, self.gate, after_call=self.after_call,
                                      timeout=float(config.get("STORE_TIMEOUT", 5.0)))
        self.consumers = [
            InboxConsumer(
                app=self.app, gate=self.gate, broker=broker, source=source,
                queue=inbox_queue(source, service_name, routing_keys, broker.quorum_queues),
                on_applied=self.after_call, run_size=int(config.get("INBOX_RUN", DEFAULT_RUN)),
            )
            for source, routing_keys in inboxes_of(service_name).items()
        ]
        self.relay_enabled = env_flag(config, "OUTBOX_RELAY_ENABLED", True)
        self.observe(config, broker)

    def observe(self, config: Any, broker: BrokerSettings) -> None:
        telemetry, watch = self.telemetry, OutboxWatch()
        self.gate.observe = telemetry.observe_store_call
        telemetry.register(EventLogCollector(self.app, self.gate, watch))
        telemetry.add_check("store", store_check(self.app.recorder.max_notification_id, self.gate))
        if self.relay_enabled:  # where the relay runs, it must be connected and moving
            # Connected, or another instance leads: a relay still starting has not connected yet
            telemetry.watch_connection("outbox", lambda: self.relay.connected or self.relay.role == "standing by")
            stalled_after = float(config.get("OUTBOX_STALLED_AFTER", OUTBOX_STALLED_AFTER))
            telemetry.add_check("outbox", outbox_check(self.app, self.gate, watch, stalled_after, self.relay_leads,
                                                       lambda: self.relay.blocked))
        observe_inboxes(telemetry, broker, self.consumers)

    def relay_leads(self) -> bool:
        """Whether this instance's relay publishes (where instances elect one, only the leader is connected)."""
        return self.relay.role == "leading"

    def after_call(self) -> None:
        """What a command committed is published without waiting for a poll. (Its rows in the lists were
        written with it, or the read model was nudged to catch up: CaseApplication._record.)"""
        self.relay.nudge()

    def start(self) -> None:
        self.relay_thread = None
        if self.relay_enabled:  # every instance: one leads
            self.relay_thread = self.container.spawn_managed_thread(self.relay.run)
        self.consumer_threads = [self.container.spawn_managed_thread(c.run) for c in self.consumers]
        self.read_model_thread = None
        if self.app.read_model is not None:
            self.read_model_thread = self.container.spawn_managed_thread(
                lambda: self.app.read_model.run(self.gate, self.poll_interval))
        log.info("%s started: outbox relay %s, inboxes from %s", self.container.service_name,
                 "on" if self.relay_enabled else "off", ", ".join(c.source for c in self.consumers) or "none")

    def _stop_workers(self) -> None:
        self.relay.stop()
        for consumer in self.consumers:
            consumer.stop()
        if self.app.read_model is not None:
            self.app.read_model.stop()

    def stop(self) -> None:
        """Lets the relay, inboxes and read model finish what they hold (and record positions) before
        closing the store."""
        self._stop_workers()
        for thread in [self.relay_thread, *self.consumer_threads, self.read_model_thread]:
            if thread is not None:
                thread.wait()
        self.gate.call(self.app.close)

    def kill(self) -> None:
        self._stop_workers()
        close_on_kill(lambda: self.gate.call(self.app.close), self.container.service_name)

    def get_dependency(self, worker_ctx: Any) -> GatedApplication:
        return self.gated


class Clearance(DependencyProvider):
    """The roles cleared to read secret content (SECRECY_CLEARED_ROLES; shared.secrecy): a read gives
    `self.clearance.shown(actor, view)` the view, and everyone else gets the content withheld."""

    def setup(self) -> None:
        from shared.secrecy import cleared_roles

        self.roles = cleared_roles(self.container.config.get("SECRECY_CLEARED_ROLES"))

    def get_dependency(self, worker_ctx: Any) -> "Cleared":
        return Cleared(self.roles)


class Cleared:
    def __init__(self, roles: frozenset[str]):
        self.roles = roles

    def sees_secrets(self, actor: Any) -> bool:
        return actor is not None and bool(set(actor.roles) & self.roles)

    def case(self, actor: Any, view: dict[str, Any], markings: Any = None) -> dict[str, Any]:
        """A case's view as the actor may see it (None: a service over RPC, which is not cleared)."""
        from shared.secrecy import redact_case

        return {**view, "redactions": []} if self.sees_secrets(actor) else redact_case(view, markings)

    def events(self, actor: Any, events: list[dict[str, Any]], markings: Any) -> list[dict[str, Any]]:
        """Events (views or envelopes) as the actor may see them; `markings`: aggregate id → markings."""
        from shared.secrecy import redact_events

        return list(events) if self.sees_secrets(actor) else redact_events(events, markings)
