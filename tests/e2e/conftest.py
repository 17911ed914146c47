"""End-to-end fixtures: services as operators run them (`nameko run` with config.yml) on PostgreSQL."""
from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Callable, Iterator

import pytest

from services.asyncapi_docs import generated
from tests.support.cloudevents import check_cloudevent, header_errors, schema_errors
from tests.support.infrastructure import Infrastructure
from tests.support.services import ServiceProcess, service_config
from tests.support.subscriber import EventSubscriber

PUBLISHERS = ("initiatives", "letters_of_intent", "meetings", "evaluations")


@pytest.fixture(autouse=True)
def every_published_message_is_a_cloudevent_by_the_asyncapi_document(
    request: pytest.FixtureRequest, infrastructure: Infrastructure,
) -> Iterator[None]:
    """Captures every message the services of an end-to-end test publish (a queue of its own bound with `#`
    to each service's exchange) and, once they stopped, checks each: a CloudEvent the SDK parses whose
    attributes are its envelope's, with headers and envelope as the service's AsyncAPI document says."""
    subscribers: dict[str, EventSubscriber] = {}
    try:
        for source in PUBLISHERS:
            subscribers[source] = EventSubscriber(infrastructure.amqp_uri, source).declare()
        yield  # the services are started and stopped inside (run_services, requested after this fixture)
        problems, checked = [], 0
        for source, subscriber in subscribers.items():
            document = generated(source)
            for headers, content_type, body in subscriber.drain():
                envelope = check_cloudevent(headers, content_type, body)
                problems += schema_errors(document, envelope) + header_errors(document, headers)
                assert envelope["source"] == source
                checked += 1
        assert not problems, "\n".join(problems)
        assert checked or "run_services" not in request.fixturenames, "no message captured"
    finally:
        for subscriber in subscribers.values():
            subscriber.delete()


@pytest.fixture
def run_services(infrastructure: Infrastructure, tmp_path: Any) -> Iterator[Callable[..., dict[str, dict[str, Any]]]]:
    """`run_services("initiatives", "meetings")` starts them in one fresh schema; returns their configs.

    "audit" reads the services started before it, with the test auditor's token; its case index is kept
    in the same schema.
    """
    infrastructure.purge_inboxes()
    with ExitStack() as stack:
        schema = stack.enter_context(infrastructure.fresh_schema())
        started: dict[str, dict[str, Any]] = {}

        def start(*services: str) -> dict[str, dict[str, Any]]:
            configs = {}
            for service in services:
                if service == "audit":
                    configs[service] = {
                        **service_config(infrastructure.amqp_uri, infrastructure.postgres_config(schema)),
                        "AUDIT_TOKEN": "test-auditor",
                        "AUDIT_SOURCES": {name: f"http://{c['WEB_SERVER_ADDRESS']}" for name, c in started.items()},
                    }
                else:
                    configs[service] = service_config(infrastructure.amqp_uri, infrastructure.postgres_config(schema))
                started[service] = configs[service]
                process = ServiceProcess(configs[service], str(tmp_path / f"{service}.log"), service).start()
                stack.callback(process.stop)
            return configs

        yield start
