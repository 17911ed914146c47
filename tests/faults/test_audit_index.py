"""The audit service's case index is fed over RabbitMQ, exactly once, and catches up after the audit
service, RabbitMQ or a source service was down.

The periodic catch-up from the feeds is switched off (an hour), so after the audit service has
started, only its inboxes can tell it of a new case; its /health shows the positions it has
indexed without reading anything (a case request would catch up from the feeds first)."""
from __future__ import annotations

from contextlib import ExitStack
from typing import Any, Iterator

import pytest

from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import eventually
from tests.support.services import Api, ServiceProcess, api_for, assert_problem, service_config

pytestmark = pytest.mark.disruptive


@pytest.fixture
def stack(infrastructure: Infrastructure, tmp_path: Any) -> Iterator[dict[str, ServiceProcess]]:
    infrastructure.purge_inboxes()
    with ExitStack() as stack_:
        schema = stack_.enter_context(infrastructure.fresh_schema())
        store = infrastructure.postgres_config(schema)
        initiatives = service_config(infrastructure.amqp_uri, store)
        audit = {**service_config(infrastructure.amqp_uri, store), "AUDIT_TOKEN": "test-auditor",
                 "AUDIT_CATCH_UP_SECONDS": 3600,
                 "AUDIT_SOURCES": {"initiatives": f"http://{initiatives['WEB_SERVER_ADDRESS']}"}}
        processes = {"initiatives": ServiceProcess(initiatives, str(tmp_path / "initiatives.log")).start()}
        stack_.callback(processes["initiatives"].stop)
        processes["audit"] = ServiceProcess(audit, str(tmp_path / "audit.log"), "audit").start()
        stack_.callback(processes["audit"].stop)
        yield processes


def indexed(audit: Api, initiatives: Api) -> None:
    """Waits until the index has taken every event the initiatives service has published."""
    published = eventually(lambda: initiatives.get("/health", None).json(), lambda h: h["unpublished"] == 0)
    eventually(lambda: audit.get("/health", None).json()["indexed_positions"]["initiatives"],
               lambda position: position >= published["published_position"], timeout=60)


def aggregates(audit: Api, diary_number: str) -> list[dict[str, Any]]:
    response = audit.get(f"/cases/{diary_number}/aggregates")
    assert response.status_code == 200, response.text
    return response.json()["aggregates"]


def test_the_case_index_is_fed_over_rabbitmq_and_catches_up_after_outages(
    stack: dict[str, ServiceProcess], infrastructure: Infrastructure
) -> None:
    initiatives, audit = api_for(stack["initiatives"].config), api_for(stack["audit"].config)

    # fed by the inbox: the case appears in the index without any read of the feeds
    first = drive(initiatives, submit(initiatives)["id"], "referral")
    indexed(audit, initiatives)
    assert aggregates(audit, first["diary_number"]) == [
        {"service": "initiatives", "aggregate_id": first["id"], "type": "Initiative"}]  # once, however often told

    # the audit service down: the events wait in its queues, and it reads them when it is back
    stack["audit"].kill()
    second = drive(initiatives, submit(initiatives)["id"], "registration")
    stack["audit"].start()
    indexed(audit, initiatives)
    assert [a["aggregate_id"] for a in aggregates(audit, second["diary_number"])] == [second["id"]]

    # RabbitMQ down: the source keeps its events in its outbox, publishes them after, the index takes them
    infrastructure.broker_stop()
    try:
        third = drive(initiatives, submit(initiatives)["id"], "registration")
    finally:
        infrastructure.broker_start()
    indexed(audit, initiatives)
    assert [a["aggregate_id"] for a in aggregates(audit, third["diary_number"])] == [third["id"]]

    # the source down: the audit service answers what it cannot read with 502, and goes on after
    stack["initiatives"].kill()
    assert_problem(audit.get(f"/cases/{first['diary_number']}/timeline"), 502)
    assert audit.get("/health", None).status_code == 200
    stack["initiatives"].start()
    fourth = drive(initiatives, submit(initiatives)["id"], "registration")
    indexed(audit, initiatives)
    for case, events in ((first, 3), (second, 2), (third, 2), (fourth, 2)):
        timeline = audit.get(f"/cases/{case['diary_number']}/timeline").json()["events"]
        assert [e["aggregate_version"] for e in timeline] == list(range(1, events + 1))
