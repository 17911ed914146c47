"""The decision flow across two services: meetings decide, the initiative follows.

Both services run in nameko's container on the same store kind, against the real
RabbitMQ. Each test would fail without the inbox's mechanism: tracking (a
duplicate would be applied twice and refused as a 409 incident), the durable
single-consumer queue (events sent while initiatives is down would be lost or
reordered), the outbox (events committed before a crash would never leave).
"""
from __future__ import annotations

from typing import Any

from kombu import Connection, Exchange

from services.initiatives.service import InitiativesService
from services.meetings.service import MeetingsService
from shared.envelope import dumps
from tests.support.cases import drive, submit
from tests.support.meetings import advance, establish_body, eventually, hold_meeting, meeting_steps
from tests.support.services import Api, api_for, service_config


def prepared_case(api: Api) -> dict[str, Any]:
    return drive(api, submit(api)["id"], "answer")


def initiative_of(api: Api, case: dict[str, Any]) -> Any:
    return lambda: api.get(f"/initiatives/{case['id']}").json()


def test_a_meeting_schedules_decides_and_finalises_the_case(api: Api, meetings_api: Api) -> None:
    case = prepared_case(api)
    body = establish_body(meetings_api)
    read = initiative_of(api, case)

    steps = meeting_steps(meetings_api, body["id"], case["diary_number"])
    meeting = advance(steps, "agenda")
    scheduled = eventually(read, lambda i: i["state"] == "scheduled")
    assert scheduled["schedule"]["meeting"] == meeting["title"]

    meeting = advance(steps, "decision")
    decided = eventually(read, lambda i: i["state"] == "decided")
    assert decided["decision"]["outcome"] == "considered_answered"
    assert decided["decision"]["paragraph"] == meeting["paragraphs"][0]["paragraph"]
    assert "dispatch" not in decided["allowed_commands"]  # unadjusted minutes are not final

    advance(steps, "signature_2")
    final = eventually(read, lambda i: i["state"] == "final")
    assert final["finalised_on"] == "2025-11-17"
    history = api.get(f"/initiatives/{case['id']}/history").json()["events"]
    assert [e["type"] for e in history][-3:] == [
        "Initiative.ScheduledForDecision", "Initiative.DecisionRecorded", "Initiative.Finalised"]
    assert {e["actor"] for e in history[-3:]} == {"Sara Sekreterare"}
    assert api.get("/incidents").json()["incidents"] == []


def test_a_redelivered_decision_changes_the_case_once(
    api: Api, meetings_api: Api, meetings_config: dict[str, Any]
) -> None:
    case = prepared_case(api)
    body = establish_body(meetings_api)
    hold_meeting(meetings_api, body["id"], case["diary_number"], through="decision")
    decided = eventually(initiative_of(api, case), lambda i: i["state"] == "decided")

    feed = meetings_api.get("/events", params={"limit": 1000}).json()["events"]
    decision = next(e for e in feed if e["type"] == "Meeting.ItemDecided")
    with Connection(meetings_config["AMQP_URI"]) as connection:
        producer = connection.Producer()
        for _ in range(3):  # as the relay does after a crash between confirm and record
            producer.publish(dumps(decision), exchange=Exchange("meetings.events", type="topic", durable=True),
                             routing_key=decision["type"], content_type="application/json", delivery_mode=2)
    marker = prepared_case(api)  # a later event through the same queue shows the duplicates were consumed
    hold_meeting(meetings_api, body["id"], marker["diary_number"], through="agenda")
    eventually(initiative_of(api, marker), lambda i: i["state"] == "scheduled")

    after = initiative_of(api, case)()
    assert after["version"] == decided["version"]
    assert len(after["decisions"]) == 1
    assert api.get("/incidents").json()["incidents"] == []


def test_events_sent_while_initiatives_is_down_are_applied_in_order_when_it_returns(
    container: Any, container_factory: Any, config: dict[str, Any], api: Api, meetings_api: Api
) -> None:
    case = prepared_case(api)
    body = establish_body(meetings_api)
    container.stop()

    hold_meeting(meetings_api, body["id"], case["diary_number"], through="signature_2")

    restarted = container_factory(InitiativesService, config)
    restarted.start()
    try:
        final = eventually(initiative_of(api, case), lambda i: i["state"] == "final")
        history = api.get(f"/initiatives/{case['id']}/history").json()["events"]
        assert [e["type"] for e in history][-3:] == [
            "Initiative.ScheduledForDecision", "Initiative.DecisionRecorded", "Initiative.Finalised"]
        assert final["decision"]["outcome"] == "considered_answered"
    finally:
        restarted.stop()


def test_events_a_crashed_meetings_service_had_committed_reach_the_case_after_its_restart(
    api: Api, container_factory: Any, infrastructure: Any, store_config: dict[str, Any]
) -> None:
    config = service_config(infrastructure.amqp_uri, store_config, OUTBOX_RELAY_ENABLED="false")
    crashed = container_factory(MeetingsService, config)
    crashed.start()
    case = prepared_case(api)
    meetings_api = api_for(config)
    body = establish_body(meetings_api)
    hold_meeting(meetings_api, body["id"], case["diary_number"], through="decision")
    crashed.kill()  # committed, never published
    assert initiative_of(api, case)()["state"] == "answer_drafted"

    restarted = container_factory(MeetingsService, {**config, "OUTBOX_RELAY_ENABLED": "true"})
    restarted.start()
    try:
        decided = eventually(initiative_of(api, case), lambda i: i["state"] == "decided")
        assert [d["outcome"] for d in decided["decisions"]] == ["considered_answered"]
    finally:
        restarted.stop()


def test_a_decision_about_an_unknown_or_closed_case_is_flagged_not_dropped(api: Api, meetings_api: Api) -> None:
    closed = drive(api, submit(api)["id"], "closure")
    body = establish_body(meetings_api)
    hold_meeting(meetings_api, body["id"], "RUN 1999-0404", through="agenda")
    hold_meeting(meetings_api, body["id"], closed["diary_number"], through="agenda")

    incidents = eventually(lambda: api.get("/incidents").json()["incidents"], lambda found: len(found) >= 2)
    by_case = {incident["diary_number"]: incident for incident in incidents}
    assert by_case["RUN 1999-0404"]["problem"] == "Not found"
    assert by_case[closed["diary_number"]]["problem"] == "Command not allowed in the current state"
    assert "closed" in by_case[closed["diary_number"]]["detail"]
    assert initiative_of(api, closed)()["version"] == closed["version"]
    published = api.get("/events", params={"limit": 1000}).json()["events"]
    assert [e["diary_number"] for e in published if e["type"] == "Incident.Recorded"] == [
        "RUN 1999-0404", closed["diary_number"]]
