"""Probes and metrics every service answers alike, for orchestrators and Prometheus: /live, /ready,
/metrics (docs/operations.md, "Observability"); /health's RabbitMQ state; and the AsyncAPI document of
what the service publishes and consumes (shared.asyncapi, docs/events.md)."""
from __future__ import annotations

from typing import Any

from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from shared import asyncapi, schemas
from shared.collector import Collector
from shared.http import json_response, problem_response
from shared.openapi import ApiDoc
from shared.telemetry import Observability, Telemetry


def probes(api: ApiDoc) -> type:
    """A base class with /live, /ready and /metrics: for orchestrators and Prometheus, without a token
    (they carry no case data; keep them on the service's own network, see docs/operations.md); and
    /asyncapi.json, the service's event contract, without a token like /openapi.json."""

    class Probes:
        observability = Observability()
        config = Config()
        collector = Collector()  # the garbage collector of a long-running process (shared.collector)

        @api.route("GET", "/live", summary="Liveness: the process answers (no store or broker is asked)",
                   response=schemas.LiveView)
        def live(self, request: Request) -> dict[str, Any]:
            return {"service": self.name, "status": "live"}  # type: ignore[attr-defined]

        @api.route("GET", "/ready", summary="Readiness: the store answers, RabbitMQ is connected (outbox relay, "
                   "inboxes), the outbox is not stuck; 503 naming what is not ready",
                   response=schemas.ReadyView, errors=(503,))
        def ready(self, request: Request) -> Response:
            telemetry: Telemetry = self.observability  # type: ignore[attr-defined]
            checks = telemetry.readiness()
            failing = {name: state for name, state in checks.items() if state != "ok"}
            if not failing:
                return json_response({"service": self.name, "status": "ready", "checks": checks})  # type: ignore[attr-defined]
            return problem_response({
                "type": "/problems/not-ready", "title": "Not ready", "status": 503,
                "detail": "; ".join(f"{name}: {state}" for name, state in failing.items()), "checks": checks,
            })

        @api.route("GET", "/metrics", summary="Metrics in the Prometheus text format (OpenMetrics when asked)",
                   response={"type": "string"}, media_types=("text/plain", "application/openmetrics-text"))
        def metrics(self, request: Request) -> Response:
            body, content_type = self.observability.exposition(request.headers.get("Accept"))  # type: ignore[attr-defined]
            return Response(body, content_type=content_type)

        @api.route("GET", "/asyncapi.json", summary="The AsyncAPI 3.0 document of the events this service publishes "
                   "to RabbitMQ (CloudEvents, with the envelope's and each payload's JSON Schema) and those it consumes")
        def asyncapi(self, request: Request) -> dict[str, Any]:
            return asyncapi.for_service(type(self), api.title, str(self.config.get("AMQP_URI") or asyncapi.DEFAULT_AMQP_URI))

    return Probes


def with_broker(health: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    """/health with the RabbitMQ connections; degraded while one is down."""
    broker = telemetry.broker()
    status = health.get("status") if broker["connected"] else "degraded"
    return {**health, "status": status, "broker": broker}
