"""Integration fixtures: the services on each store, against the real RabbitMQ and PostgreSQL."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from services.audit.service import AuditService
from services.initiatives.service import InitiativesService
from services.letters_of_intent.service import LettersOfIntentService
from services.meetings.service import MeetingsService
from tests.support.infrastructure import Infrastructure
from tests.support.services import Api, api_for, service_config
from tests.support.stopping import stop_within


def running(container_factory: Any, service_class: type, config: dict[str, Any]) -> Iterator[Any]:
    """A service in this process, through nameko's own test container; stopped gracefully after
    (within a bound: a service that cannot stop fails the test, naming where it is stuck)."""
    container = container_factory(service_class, config)
    container.start()
    yield container
    stop_within(container)


def audit_reading(container_factory: Any, amqp_uri: str, sources: dict[str, str], data_dir: Path,
                  store: dict[str, Any] | None = None) -> Api:
    """The audit service reading these services (its case index on SQLite in `data_dir`, or in `store`),
    started for the test and stopped with it."""
    audit_config = {**service_config(amqp_uri, store or {"PERSISTENCE": "sqlite", "DATA_DIR": str(data_dir)}),
                    "AUDIT_TOKEN": "test-auditor", "AUDIT_SOURCES": sources}
    next(running(container_factory, AuditService, audit_config))
    return api_for(audit_config)


@pytest.fixture
def config(infrastructure: Infrastructure, store_config: dict[str, Any]) -> dict[str, Any]:
    infrastructure.purge_inboxes()  # before any service of the test starts (every test asks for `config`)
    return service_config(infrastructure.amqp_uri, store_config)


@pytest.fixture
def container(container_factory: Any, config: dict[str, Any]) -> Iterator[Any]:
    yield from running(container_factory, InitiativesService, config)


@pytest.fixture
def api(container: Any, config: dict[str, Any]) -> Api:
    return api_for(config)


@pytest.fixture
def meetings_config(infrastructure: Infrastructure, store_config: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return service_config(infrastructure.amqp_uri, store_config)


@pytest.fixture
def meetings_container(container_factory: Any, meetings_config: dict[str, Any]) -> Iterator[Any]:
    yield from running(container_factory, MeetingsService, meetings_config)


@pytest.fixture
def meetings_api(meetings_container: Any, meetings_config: dict[str, Any]) -> Api:
    return api_for(meetings_config)


@pytest.fixture
def letters_config(infrastructure: Infrastructure, store_config: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return service_config(infrastructure.amqp_uri, store_config)


@pytest.fixture
def letters_container(container_factory: Any, letters_config: dict[str, Any]) -> Iterator[Any]:
    yield from running(container_factory, LettersOfIntentService, letters_config)


@pytest.fixture
def letters_api(letters_container: Any, letters_config: dict[str, Any]) -> Api:
    return api_for(letters_config)


@pytest.fixture
def evaluations_config(infrastructure: Infrastructure, store_config: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return service_config(infrastructure.amqp_uri, store_config)


@pytest.fixture
def evaluations_container(container_factory: Any, evaluations_config: dict[str, Any]) -> Iterator[Any]:
    from services.evaluations.service import EvaluationsService

    yield from running(container_factory, EvaluationsService, evaluations_config)


@pytest.fixture
def evaluations_api(evaluations_container: Any, evaluations_config: dict[str, Any]) -> Api:
    return api_for(evaluations_config)
