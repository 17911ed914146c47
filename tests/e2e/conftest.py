"""End-to-end fixtures: services as operators run them (`nameko run` with config.yml) on PostgreSQL."""
from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Callable, Iterator

import pytest

from tests.support.infrastructure import Infrastructure
from tests.support.services import ServiceProcess, service_config


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
