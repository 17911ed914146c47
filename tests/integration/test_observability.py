"""What operators see of a running service: /metrics (Prometheus), /live, /ready, /health's broker
state, and JSON log lines; against the real RabbitMQ and PostgreSQL."""
from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

import pytest
from kombu import Connection, Exchange
from prometheus_client.parser import text_string_to_metric_families

from services.evaluations.service import EvaluationsService
from services.initiatives.service import InitiativesService
from shared.envelope import dumps
from tests.integration.conftest import running
from tests.support.cases import submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.proxy import Proxy
from tests.support.services import Api, ServiceProcess, api_for, assert_problem, free_port, service_config


def metrics(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics by name and labels (read without a token: Prometheus has none)."""
    response = api.get("/metrics", None)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def sample(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def test_metrics_count_requests_by_route_and_status_with_latency(api: Api) -> None:
    missing = uuid.uuid4()
    case = submit(api)
    assert api.get(f"/initiatives/{case['id']}").status_code == 200
    assert api.get(f"/initiatives/{missing}").status_code == 404
    assert api.get(f"/initiatives/{missing}").status_code == 404
    assert api.get("/no-such-route").status_code == 404

    found = metrics(api)
    one = "/initiatives/<uuid:initiative_id>"
    assert sample(found, "http_requests_total", route="/initiatives", method="POST", status="201") == 1
    assert sample(found, "http_requests_total", route=one, method="GET", status="200") == 1
    assert sample(found, "http_requests_total", route=one, method="GET", status="404") == 2
    assert sample(found, "http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    assert sample(found, "http_request_duration_seconds_count", route=one, method="GET") == 3
    assert sample(found, "http_request_duration_seconds_sum", route=one, method="GET") > 0
    assert sample(found, "store_call_duration_seconds_count", operation="submit_initiative") == 1
    body = api.get("/metrics", None).text
    assert str(missing) not in body and case["id"] not in body  # the rule, never the raw path
    assert case["title"] not in body


def test_outbox_gauges_show_what_waits_and_fall_to_zero_after_publication(
    container_factory: Any, config: dict[str, Any]
) -> None:
    api = api_for(config)
    held = running(container_factory, InitiativesService, {**config, "OUTBOX_RELAY_ENABLED": "false"})
    next(held)
    submit(api)
    submit(api)
    waiting = eventually(lambda: metrics(api), lambda m: (sample(m, "outbox_publication_lag_seconds") or 0) > 0)
    assert sample(waiting, "outbox_unpublished_events") >= 2
    assert sample(waiting, "event_log_position") == sample(waiting, "outbox_unpublished_events") + \
        sample(waiting, "outbox_published_position")
    assert sample(waiting, "store_up") == 1
    next(held, None)  # stopped

    with_relay = running(container_factory, InitiativesService, config)
    next(with_relay)
    published = eventually(lambda: metrics(api), lambda m: sample(m, "outbox_unpublished_events") == 0)
    assert sample(published, "outbox_publication_lag_seconds") == 0
    assert sample(published, "outbox_published_position") == sample(published, "event_log_position") > 0
    assert sample(published, "broker_connected", connection="outbox") == 1
    next(with_relay, None)


def test_inbox_position_incidents_and_queue_per_source_after_an_inbound_event(
    api: Api, config: dict[str, Any]
) -> None:
    eventually(lambda: metrics(api), lambda m: sample(m, "broker_connected", connection="inbox:meetings") == 1)
    with Connection(config["AMQP_URI"]) as connection:
        connection.Producer().publish(
            dumps({"position": 7, "type": "Meeting.ItemDecided", "diary_number": "RUN 2025-0001",
                   "payload": {"text": "no outcome"}, "actor": "x"}),
            exchange=Exchange("meetings.events", type="topic", durable=True), routing_key="Meeting.ItemDecided",
            content_type="application/json")
    found = eventually(lambda: metrics(api), lambda m: sample(m, "incidents", source="meetings") == 1)
    assert sample(found, "inbox_applied_position", source="meetings") == 7
    assert sample(found, "inbox_applied_position", source="evaluations") == 0
    assert sample(found, "inbox_failing", source="meetings") == 0
    assert sample(found, "incidents", source="evaluations") == 0
    assert sample(found, "inbox_queue_messages", source="meetings") == 0
    assert sample(found, "broker_connected", connection="inbox:evaluations") == 1


def test_live_and_ready_answer_200_when_all_is_well(api: Api) -> None:
    live = api.get("/live", None)
    assert live.status_code == 200 and live.json() == {"service": "initiatives", "status": "live"}
    ready = eventually(lambda: api.get("/ready", None), lambda r: r.status_code == 200)
    assert ready.json() == {"service": "initiatives", "status": "ready",
                            "checks": {"store": "ok", "outbox": "ok", "broker": "ok"}}
    health = api.get("/health", None).json()
    assert health["status"] == "ok"
    assert health["broker"] == {"connected": True, "connections": {
        "outbox": True, "inbox:meetings": True, "inbox:evaluations": True}}


@pytest.fixture
def no_broker_config(infrastructure: Infrastructure, store_config: dict[str, Any]) -> dict[str, Any]:
    """RabbitMQ's address with nothing listening on it (the shared broker goes on for everyone else)."""
    return service_config(f"amqp://guest:guest@127.0.0.1:{free_port()}/", store_config)


def test_ready_is_503_naming_the_broker_when_rabbitmq_is_unreachable(
    container_factory: Any, no_broker_config: dict[str, Any]
) -> None:
    """Evaluations has no nameko AMQP entrypoints, so it starts without a broker; its relay and inbox cannot."""
    container = container_factory(EvaluationsService, no_broker_config)
    container.start()
    api = api_for(no_broker_config)
    assert api.get("/live", None).status_code == 200
    problem = assert_problem(api.get("/ready", None), 503)
    assert problem["title"] == "Not ready"
    assert problem["checks"]["broker"] == "not connected to RabbitMQ: outbox, inbox:letters_of_intent"
    assert problem["checks"]["store"] == "ok"
    assert "broker: not connected to RabbitMQ" in problem["detail"]
    health = api.get("/health", None)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["broker"]["connected"] is False
    found = metrics(api)
    assert sample(found, "broker_connected", connection="outbox") == 0
    assert sample(found, "broker_connected", connection="inbox:letters_of_intent") == 0
    container.kill()  # the inbox waits for a broker that never comes; a graceful stop would wait with it


@pytest.fixture
def proxied_postgres(infrastructure: Infrastructure) -> Iterator[tuple[Proxy, dict[str, Any]]]:
    """The service's PostgreSQL behind a proxy the test can cut (a closed port, once started)."""
    proxy = Proxy(infrastructure.postgres_host, infrastructure.postgres_port).start()
    infrastructure.purge_inboxes()
    with infrastructure.fresh_schema() as schema:
        store = {**infrastructure.postgres_config(schema), "POSTGRES_PORT": proxy.port}
        yield proxy, service_config(infrastructure.amqp_uri, store, STORE_TIMEOUT=2)
    proxy.stop()


def test_ready_is_503_naming_the_store_while_postgres_is_unreachable_and_200_after(
    container_factory: Any, proxied_postgres: tuple[Proxy, dict[str, Any]]
) -> None:
    """The store must answer when the service starts (it creates its tables), so it is cut after."""
    proxy, config = proxied_postgres
    container = container_factory(InitiativesService, config)
    container.start()
    api = api_for(config)
    eventually(lambda: api.get("/ready", None), lambda r: r.status_code == 200)
    proxy.cut()
    try:
        problem = assert_problem(api.get("/ready", None), 503)
        assert problem["checks"]["store"] != "ok"
        assert problem["detail"].startswith("store: ")
        assert api.get("/live", None).status_code == 200
        assert sample(metrics(api), "store_up") == 0
    finally:
        proxy.restore()
    eventually(lambda: api.get("/ready", None), lambda r: r.status_code == 200, timeout=60)
    assert sample(metrics(api), "store_up") == 1
    container.kill()


def test_log_lines_of_nameko_run_are_json_with_time_level_service_and_logger(
    infrastructure: Infrastructure, config: dict[str, Any], tmp_path: Any
) -> None:
    process = ServiceProcess(config, str(tmp_path / "service.log")).start()
    try:
        api = api_for(config)
        submit(api)
        # ready once its inboxes have connected too (/health, which start() waits for, does not wait for them)
        eventually(lambda: api.get("/ready", None), lambda ready: ready.status_code == 200)
    finally:
        process.stop()
    with open(process.log_path, encoding="utf-8") as log:
        lines = [line for line in log.read().splitlines() if line.strip()]
    first = next(number for number, line in enumerate(lines) if line.startswith("{"))
    if first:  # before nameko applies LOGGING, only eventlet's warning at import may be printed
        assert "EventletDeprecationWarning" in lines[0], lines[:first]
    records = [json.loads(line) for line in lines[first:]]
    for record in records:
        assert {"time", "level", "service", "logger", "message"} <= set(record), record
        assert record["service"] == "initiatives"
        assert list(record)[:5] == ["time", "level", "service", "logger", "message"]
    assert any(r["logger"] == "shared.dependencies" and "started" in r["message"] for r in records)


def test_the_audit_service_answers_probes_and_shows_how_far_its_index_has_read(
    container_factory: Any, api: Api, infrastructure: Infrastructure, store_config: dict[str, Any]
) -> None:
    from services.audit.service import AuditService

    audit_config = {**service_config(infrastructure.amqp_uri, store_config), "AUDIT_TOKEN": "test-auditor",
                    "AUDIT_SOURCES": {"initiatives": api.base_url}}
    next(running(container_factory, AuditService, audit_config))
    audit = api_for(audit_config)
    submit(api)
    # the index may have read the case from the feed (its catch-up at start) before the inbox has connected
    found = eventually(lambda: metrics(audit), lambda m: (sample(m, "inbox_applied_position", source="initiatives")
                                                         or 0) > 0
                       and sample(m, "broker_connected", connection="inbox:initiatives") == 1)
    assert sample(found, "inbox_failing", source="initiatives") == 0
    assert sample(found, "inbox_queue_messages", source="initiatives") == 0
    assert sample(metrics(audit), "http_requests_total", route="/metrics", method="GET", status="200") >= 1
    ready = audit.get("/ready", None)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"store": "ok", "broker": "ok"}
    assert audit.get("/live", None).status_code == 200
    assert audit.get("/health", None).json()["broker"] == {"connected": True,
                                                           "connections": {"inbox:initiatives": True}}
