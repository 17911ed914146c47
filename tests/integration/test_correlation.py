"""Request ids and the correlation of events, on both stores, against the real RabbitMQ.

A command's `X-Request-ID` is echoed and becomes the correlation of every event it records,
in the store, the feed and what subscribers receive; an initiative's decision recorded from
a meeting's names the meeting's event as its cause, and the auditors' timeline shows the link.
"""
from __future__ import annotations

import io
import zipfile
from typing import Any, Iterator
from uuid import UUID

import pytest

from services.audit.service import AuditService
from services.initiatives.demo import seed_000
from shared.chain import Record, verify_chain
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from tests.support.meetings import advance, establish_body, eventually, meeting_steps
from tests.support.services import Api, api_for, assert_problem, service_config
from tests.support.subscriber import EventSubscriber

REQUEST_ID = "X-Request-ID"


@pytest.fixture
def subscriber(infrastructure: Infrastructure) -> Iterator[EventSubscriber]:
    subscriber = EventSubscriber(infrastructure.amqp_uri, "initiatives").declare()
    yield subscriber
    subscriber.delete()


def test_a_commands_request_id_is_echoed_and_every_event_it_records_carries_it(
    api: Api, subscriber: EventSubscriber
) -> None:
    submitted = api.post("/initiatives", "case_officer", seed_000()["submission"], headers={REQUEST_ID: "abc-123"})
    assert submitted.status_code == 201 and submitted.headers[REQUEST_ID] == "abc-123"
    case_id = submitted.json()["id"]
    registered = api.post(f"/initiatives/{case_id}/register", "registrar", seed_000()["registration"],
                          headers={REQUEST_ID: "abc-124"})
    assert registered.status_code == 200 and registered.headers[REQUEST_ID] == "abc-124"

    expected = [("Initiative.Submitted", "abc-123", None), ("Initiative.Registered", "abc-124", None)]
    published = subscriber.collect([case_id], 2)
    assert [(e["type"], e["correlation_id"], e["causation_id"]) for e in published] == expected
    feed = [e for e in api.get("/events", params={"limit": 1000}).json()["events"] if e["aggregate_id"] == case_id]
    assert [(e["type"], e["correlation_id"], e["causation_id"]) for e in feed] == expected
    history = api.get(f"/initiatives/{case_id}/history").json()["events"]
    assert [(e["type"], e["correlation_id"], e["causation_id"]) for e in history] == expected

    records = api.get(f"/aggregates/{case_id}/records").json()["records"]  # stored with the event, and hashed
    assert ['"correlation_id":"abc-123"' in records[0]["state"], '"correlation_id":"abc-124"' in records[1]["state"]] \
        == [True, True]
    assert verify_chain(case_id, [Record.from_json(r) for r in records]).intact


def test_a_request_without_an_id_gets_a_new_one_and_every_error_echoes_its_own(api: Api) -> None:
    first, second = api.get("/health", None), api.get("/health", None)
    assert UUID(first.headers[REQUEST_ID]) != UUID(second.headers[REQUEST_ID])
    submitted = api.post("/initiatives", "case_officer", seed_000()["submission"])
    generated = submitted.headers[REQUEST_ID]
    assert UUID(generated)
    history = api.get(f"/initiatives/{submitted.json()['id']}/history").json()["events"]
    assert history[0]["correlation_id"] == generated

    closed = drive(api, submit(api)["id"], "closure")
    for number, (response, status) in enumerate([
        (lambda h: api.post("/initiatives", "case_officer", {"title": ""}, headers=h), 400),
        (lambda h: api.post("/initiatives", None, {}, headers=h), 401),
        (lambda h: api.post("/initiatives", "auditor", seed_000()["submission"], headers=h), 403),
        (lambda h: api.get("/initiatives/00000000-0000-0000-0000-000000000000", headers=h), 404),
        (lambda h: api.get("/no/such/route", headers=h), 404),
        (lambda h: api.request("DELETE", "/initiatives", "registrar", headers=h), 405),
        (lambda h: api.post(f"/initiatives/{closed['id']}/register", "registrar", {}, headers=h), 409),
    ]):
        answered = response({REQUEST_ID: f"err-{number}"})
        assert_problem(answered, status)
        assert answered.headers[REQUEST_ID] == f"err-{number}", (status, answered.headers)

    for insane in ("two words", "x" * 201):
        replaced = api.get("/health", None, headers={REQUEST_ID: insane})
        assert replaced.status_code == 200 and UUID(replaced.headers[REQUEST_ID])


def test_a_decision_from_a_meeting_names_the_meeting_event_that_caused_it_and_the_timeline_shows_it(
    api: Api, meetings_api: Api, container_factory: Any, infrastructure: Infrastructure,
    store_config: dict[str, Any],
) -> None:
    case = drive(api, submit(api)["id"], "answer")
    body = establish_body(meetings_api)
    steps = meeting_steps(meetings_api, body["id"], case["diary_number"])
    advance(steps, "opening")
    meetings_api.session.headers[REQUEST_ID] = "decision-42"
    try:
        advance(steps, "decision")
    finally:
        del meetings_api.session.headers[REQUEST_ID]
    eventually(lambda: api.get(f"/initiatives/{case['id']}").json(), lambda i: i["state"] == "decided")

    meeting_feed = meetings_api.get("/events", params={"limit": 1000}).json()["events"]
    item_added, item_decided = (
        next(e for e in meeting_feed if e["type"] == kind and e["diary_number"] == case["diary_number"])
        for kind in ("Meeting.ItemAdded", "Meeting.ItemDecided"))
    assert (item_decided["correlation_id"], item_decided["causation_id"]) == ("decision-42", None)
    case_events = {e["type"]: e for e in api.get(f"/aggregates/{case['id']}/events").json()["events"]}
    recorded = case_events["Initiative.DecisionRecorded"]
    assert recorded["causation_id"] == item_decided["event_id"]
    assert recorded["correlation_id"] == item_decided["correlation_id"] == "decision-42"
    scheduled = case_events["Initiative.ScheduledForDecision"]
    assert scheduled["causation_id"] == item_added["event_id"]
    assert scheduled["correlation_id"] == item_added["correlation_id"] != "decision-42"
    assert case_events["Initiative.Registered"]["causation_id"] is None  # a request's, not an event's

    audit_config = {**service_config(infrastructure.amqp_uri, store_config), "AUDIT_TOKEN": "test-auditor",
                    "AUDIT_SOURCES": {"initiatives": api.base_url, "meetings": meetings_api.base_url}}
    audit_container = container_factory(AuditService, audit_config)
    audit_container.start()
    audit = api_for(audit_config)
    answered = audit.get(f"/cases/{case['diary_number']}/timeline", headers={REQUEST_ID: "audit-7"})
    assert answered.status_code == 200, answered.text
    assert answered.headers[REQUEST_ID] == "audit-7"
    timeline = answered.json()["events"]
    entry = next(e for e in timeline if e["type"] == "Initiative.DecisionRecorded")
    assert entry["caused_by"]["event_id"] == item_decided["event_id"]
    assert (entry["caused_by"]["source"], entry["caused_by"]["type"]) == ("meetings", "Meeting.ItemDecided")
    assert entry["caused_by"]["position"] == item_decided["position"]
    assert next(e for e in timeline if e["type"] == "Meeting.ItemDecided")["caused_by"] is None

    package = audit.get(f"/cases/{case['diary_number']}/archive")
    assert package.status_code == 200 and package.headers[REQUEST_ID]
    with zipfile.ZipFile(io.BytesIO(package.content)) as opened:
        lines = opened.read("timeline.txt").decode("utf-8").splitlines()
    decided_line = next(line for line in lines if "Initiative.DecisionRecorded" in line)
    assert decided_line.endswith("← caused by meetings Meeting.ItemDecided")
    unknown = audit.get("/cases/RUN 1999-0001/timeline", headers={REQUEST_ID: "audit-8"})
    assert_problem(unknown, 404)
    assert unknown.headers[REQUEST_ID] == "audit-8"
