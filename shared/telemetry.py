"""Metrics (Prometheus text format, prometheus-client) and readiness, one set per service container.

`Telemetry` is a nameko SharedExtension: the HTTP entrypoints, the web server, the store's
dependency and the `/metrics` and `/ready` routes of one container share one instance, and
each container has its own registry (several services in one test process never mix).
Counters and histograms are updated as requests and store calls happen; everything else
(positions, lags, incidents, queue depths, connections) is read when scraped, by collectors.
Labels are route templates, methods, statuses, service and operation names: never case data.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from nameko.extensions import DependencyProvider, SharedExtension
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from shared.amqp import BrokerSettings

log = logging.getLogger(__name__)
disable_created_metrics()  # no *_created series beside every counter and histogram: noise for Prometheus

# Seconds a probe or a scrape waits for the store or the broker before it says "unreachable".
PROBE_TIMEOUT = 2.0
# Seconds the outbox may hold unpublished events without the published position moving
# before /ready says the relay is stuck (config OUTBOX_STALLED_AFTER).
OUTBOX_STALLED_AFTER = 60.0
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"  # requests no route took (404, 405): one label value, not the raw path
ROUTE_ENVIRON_KEY = "cases.route"  # the URL rule of the entrypoint that took the request (shared.http)

Check = Callable[[], "str | None"]  # None when fine, else what is wrong


class _ConnectionCollector:
    def __init__(self, telemetry: "Telemetry"):
        self.telemetry = telemetry

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily("broker_connected", "1 while the connection to RabbitMQ is up "
                                  "(outbox: the relay's; inbox:<source>: an inbox's)", labels=["connection"])
        for name, up in self.telemetry.connections().items():
            gauge.add_metric([name], 1.0 if up else 0.0)
        yield gauge


class Telemetry(SharedExtension):
    """The container's metric registry and readiness checks."""

    def __init__(self) -> None:
        super().__init__()
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "http_requests", "HTTP requests answered, by route (the URL rule), method and status",
            ["route", "method", "status"], registry=self.registry)
        self.http_duration = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request, by route and method",
            ["route", "method"], registry=self.registry)
        self.store_calls = Histogram(
            "store_call_duration_seconds", "Calls through the store gate (shared.store), by operation",
            ["operation"], registry=self.registry)
        self._connections: dict[str, Callable[[], bool]] = {}
        self._checks: dict[str, Check] = {}
        self.registry.register(_ConnectionCollector(self))

    # --- as things happen ----------------------------------------------------------------------

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method.upper() if method.upper() in HTTP_METHODS else "OTHER"
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_duration.labels(route, method).observe(seconds)

    def observe_store_call(self, operation: str, seconds: float) -> None:
        self.store_calls.labels(operation).observe(seconds)

    # --- what is read when asked ---------------------------------------------------------------

    def register(self, collector: Any) -> None:
        self.registry.register(collector)

    def watch_connection(self, name: str, connected: Callable[[], bool]) -> None:
        """A connection to RabbitMQ the service needs (the outbox relay's, an inbox's)."""
        self._connections[name] = connected

    def add_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def connections(self) -> dict[str, bool]:
        return {name: bool(connected()) for name, connected in self._connections.items()}

    def broker(self) -> dict[str, Any]:
        """For /health: whether every connection to RabbitMQ the service holds is up."""
        connections = self.connections()
        return {"connected": all(connections.values()), "connections": connections}

    def readiness(self) -> dict[str, str]:
        """Each check by name: "ok", or what is wrong."""
        results: dict[str, str] = {}
        for name, check in self._checks.items():
            try:
                problem = check()
            except Exception as error:  # noqa: BLE001 - a failing check is an answer, not an error
                # /ready is not authenticated: the class of the failure, its text (hosts, users) in the log
                log.warning("readiness check %s failed: %s", name, error)
                problem = f"did not answer ({type(error).__name__})"
            results[name] = problem or "ok"
        down = [name for name, up in self.connections().items() if not up]
        if self._connections:
            results["broker"] = f"not connected to RabbitMQ: {', '.join(down)}" if down else "ok"
        return results

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry in the format the scraper asks for (Prometheus text, or OpenMetrics)."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class MeasuredWsgiApp:
    """WSGI middleware: every request counted by route, method and status, and timed to its answer."""

    def __init__(self, app: Callable[..., Any], telemetry: Telemetry):
        self.app, self.telemetry = app, telemetry

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()

        def measured_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            self.telemetry.observe_request(environ.get(ROUTE_ENVIRON_KEY, UNMATCHED_ROUTE),
                                           environ.get("REQUEST_METHOD", ""), int(status.split(" ", 1)[0]),
                                           time.perf_counter() - started)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, measured_start_response)


class Observability(DependencyProvider):
    """Gives the /metrics, /ready and /health routes the container's Telemetry."""

    telemetry = Telemetry()

    def get_dependency(self, worker_ctx: Any) -> Telemetry:
        return self.telemetry


def operation_name(function: Any) -> str:
    """The label of a store call: the function's name (a partial's function's)."""
    return getattr(function, "__name__", None) or getattr(getattr(function, "func", None), "__name__", None) \
        or type(function).__name__


# --- the outbox: stuck or not ----------------------------------------------------------------


class OutboxWatch:
    """How long the published position has stood still while events waited (observed, not recorded:
    the clock starts at the first observation of a position)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.position: int | None = None
        self.since = clock()

    def observe(self, published: int, unpublished: int) -> float:
        """Seconds the position has not moved with events waiting; 0 when it moved or none wait."""
        now = self.clock()
        if published != self.position or unpublished <= 0:
            self.position, self.since = published, now
            return 0.0
        return now - self.since


def outbox_check(app: Any, gate: Any, watch: OutboxWatch, stalled_after: float,
                 leads: Callable[[], bool], blocked: Callable[[], str | None] = lambda: None) -> Check:
    """Only the instance whose relay leads answers for the outbox: a stuck leader is taken out of
    service (and its lead freed), while the instances standing by stay ready. Where RabbitMQ
    blocks publishing (`blocked`: its resource alarm), the answer says so."""
    def check() -> str | None:
        if not leads():
            return None
        head, published = gate.call_within(PROBE_TIMEOUT, _outbox_positions, app)
        stalled = watch.observe(published, head - published)
        if stalled > stalled_after:
            why = blocked()
            return (f"{head - published} events unpublished; the published position ({published}) "
                    f"has not moved for {stalled:.0f} s" + (f": {why}" if why else ""))
        return None

    return check


def store_check(read: Callable[[], Any], gate: Any) -> Check:
    def check() -> str | None:
        gate.call_within(PROBE_TIMEOUT, read)
        return None

    return check


def _outbox_positions(app: Any) -> tuple[int, int]:
    from shared.outbox import TRACKING_NAME

    published = app.recorder.max_tracking_id(TRACKING_NAME) or 0  # before the head, as /health reads them
    return app.recorder.max_notification_id() or 0, published


# --- read at scrape time -----------------------------------------------------------------------


class EventLogCollector:
    """The service's log as the store holds it now: its head, the outbox, the inboxes' positions,
    the incidents and the read model."""

    def __init__(self, app: Any, gate: Any, watch: OutboxWatch):
        self.app, self.gate, self.watch = app, gate, watch

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("store_up", "1 when the store answered this scrape")
        try:
            figures = self.gate.call_within(PROBE_TIMEOUT, event_log_figures, self.app)
        except Exception as error:  # noqa: BLE001 - a scrape during an outage says so, and no more
            log.warning("metrics: the store did not answer: %s", error)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        head, published = figures["head"], figures["published"]
        unpublished = head - published
        yield _gauge("event_log_position", "The last notification id of the service's log", head)
        yield _gauge("outbox_published_position", "The last notification id the outbox relay published", published)
        yield _gauge("outbox_unpublished_events", "Events in the log the relay has not published yet "
                     "(log position - published position)", unpublished)
        oldest = figures["oldest_unpublished_at"]
        lag = max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds()) if oldest and unpublished > 0 else 0.0
        yield _gauge("outbox_publication_lag_seconds", "Age of the oldest unpublished event; 0 when none waits", lag)
        yield _gauge("outbox_stalled_seconds", "How long the published position has stood still with events "
                     "waiting (since first seen so by a scrape or probe)", self.watch.observe(published, unpublished))
        if figures["read_model_position"] is not None:
            yield _gauge("read_model_position", "The last notification id in the read model's tables",
                         figures["read_model_position"])
            yield _gauge("read_model_lag_events", "Events in the log not yet in the read model's tables",
                         max(0, head - figures["read_model_position"]))
            yield _gauge("read_model_failures", "Aggregates whose list row could not be made",
                         figures["read_model_failures"])
        yield from inbox_metrics(figures["inbox_positions"], self.app.inbox_failures)
        if figures["incidents"] is not None:
            incidents = GaugeMetricFamily("incidents", "Events of other services recorded as incidents "
                                          "(GET /incidents), by source", labels=["source"])
            for source in figures["inbox_positions"]:
                incidents.add_metric([source], figures["incidents"].get(source, 0))
            yield incidents


def event_log_figures(app: Any) -> dict[str, Any]:
    """Everything the collector reads, in one call through the gate (one hop to SQLite's thread).

    The read model first: a save's rows commit with its events and inbox position, so positions read
    after them are at least as far as what they show (an incident is never seen before its position)."""
    read_model = app.read_model
    incidents = _incidents_by_source(read_model) if app.inbox_sources else None
    read_model_position = read_model.position if read_model is not None else None
    head, published = _outbox_positions(app)
    oldest = None
    if head > published:
        first = app.recorder.select_notifications(start=published, limit=1, inclusive_of_start=False)
        if first:
            oldest = app.mapper.to_domain_event(first[0]).timestamp
    return {
        "head": head, "published": published, "oldest_unpublished_at": oldest,
        "inbox_positions": {source: app.recorder.max_tracking_id(source) or 0 for source in app.inbox_sources},
        "read_model_position": read_model_position,
        "read_model_failures": len(read_model.failures) if read_model is not None else 0,
        "incidents": incidents,
    }


def _incidents_by_source(read_model: Any) -> dict[str, int] | None:
    if read_model is None or "incidents" not in {listing.name for listing in read_model.listings}:
        return None
    view = read_model.view
    with view.reading() as cursor:
        cursor.execute(f"SELECT source, COUNT(*) AS n FROM {view.table(view.name_of('incidents'))} GROUP BY source")
        return {dict(row)["source"]: int(dict(row)["n"]) for row in cursor.fetchall()}


def inbox_metrics(positions: Mapping[str, int], failures: Mapping[str, Any]) -> Iterable[Metric]:
    from shared.inbox import still_failing

    failures = still_failing(failures, positions)
    applied = GaugeMetricFamily("inbox_applied_position", "The source's last position applied here, by source",
                                labels=["source"])
    failing = GaugeMetricFamily("inbox_failing", "1 while the inbox retries an event that failed and no instance "
                                "has applied it since, by source", labels=["source"])
    for source, position in positions.items():
        applied.add_metric([source], position)
        failing.add_metric([source], 1.0 if failures.get(source) else 0.0)
    yield applied
    yield failing


def observe_inboxes(telemetry: Telemetry, broker: BrokerSettings, consumers: Iterable[Any]) -> None:
    """What /metrics and /ready read of a service's inboxes (shared.inbox.InboxConsumer): the messages
    waiting in their queues, and whether each is connected."""
    consumers = list(consumers)
    telemetry.register(InboxQueueCollector(broker, {c.source: c.queue.name for c in consumers}))
    for consumer in consumers:
        telemetry.watch_connection(f"inbox:{consumer.source}", lambda consumer=consumer: consumer.connected)


class InboxQueueCollector:
    """Messages waiting in each inbox queue: a passive declare on a connection of the scrape's own,
    so the figure is RabbitMQ's, whatever the inbox's own connection is doing."""

    def __init__(self, broker: BrokerSettings, queues: Mapping[str, str]):
        self.broker = broker  # with the service's TLS and login settings
        self.queues = dict(queues)

    def collect(self) -> Iterable[Metric]:
        if not self.queues:
            return
        waiting = GaugeMetricFamily("inbox_queue_messages", "Messages waiting in the inbox queue "
                                    "(ready, not yet delivered), by source", labels=["source"])
        try:
            with self.broker.connection(connect_timeout=PROBE_TIMEOUT) as connection:
                connection.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT)
                for source, queue in self.queues.items():
                    channel = connection.channel()
                    try:
                        _, messages, _ = channel.queue_declare(queue, passive=True)
                    except Exception:  # noqa: BLE001 - not declared yet: no figure for it
                        continue
                    finally:
                        _close_quietly(channel)
                    waiting.add_metric([source], messages)
        except Exception as error:  # noqa: BLE001 - the broker is down: broker_connected says so
            log.warning("metrics: RabbitMQ did not answer: %s", error)
            return
        yield waiting


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except Exception:  # noqa: BLE001
        pass


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
