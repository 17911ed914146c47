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
from tests.support.services import Api, api_for, free_port, service_config


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


def test_tabled_cases_go_on_to_a_later_meeting_and_withdrawn_items_unschedule_the_case(
    api: Api, meetings_api: Api
) -> None:
    from services.meetings.demo import run_meeting_seed

    tabled_case, withdrawn_case = prepared_case(api), prepared_case(api)
    body = establish_body(meetings_api)
    first = hold_meeting(meetings_api, body["id"], tabled_case["diary_number"], through="opening")
    path = f"/meetings/{first['id']}"
    meetings_api.command(f"{path}/agenda/{first['agenda'][0]['item_id']}/decision", "secretary",
                         {"outcome": "tabled", "text": "Bordläggs."})
    eventually(initiative_of(api, tabled_case), lambda i: [d["outcome"] for d in i["decisions"]] == ["tabled"])

    later = meetings_api.command("/meetings", "secretary", {
        **run_meeting_seed()["meeting"], "body_id": body["id"], "title": "Decembersammanträdet",
        "starts_at": "2025-12-10T09:00:00+01:00"})
    later_path = f"/meetings/{later['id']}"
    meetings_api.command(f"{later_path}/agenda", "secretary", {"title": "Bordlagt", "diary_number": tabled_case["diary_number"]})
    later = meetings_api.command(f"{later_path}/agenda", "secretary",
                                 {"title": "Utgår", "diary_number": withdrawn_case["diary_number"]})
    eventually(initiative_of(api, withdrawn_case), lambda i: i["state"] == "scheduled")
    meetings_api.command(f"{later_path}/agenda/{later['agenda'][1]['item_id']}/withdrawal", "secretary",
                         {"reason": "Ärendet är inte klart"})
    meetings_api.command(f"{later_path}/convocation", "secretary", {})
    meetings_api.command(f"{later_path}/opening", "secretary", {})
    meetings_api.command(f"{later_path}/agenda/{later['agenda'][0]['item_id']}/decision", "secretary",
                         run_meeting_seed()["decision"])

    decided = eventually(initiative_of(api, tabled_case), lambda i: i["state"] == "decided")
    assert [(d["outcome"], d["paragraph"], d["meeting"]) for d in decided["decisions"]] == [
        ("tabled", "§ 1", first["title"]), ("considered_answered", "§ 2", "Decembersammanträdet")]
    unscheduled = eventually(initiative_of(api, withdrawn_case), lambda i: i["state"] == "answer_drafted")
    assert unscheduled["schedule"] is None
    assert api.get("/incidents").json()["incidents"] == []


def test_a_case_referred_back_by_the_meeting_returns_to_preparation(api: Api, meetings_api: Api) -> None:
    case = prepared_case(api)
    body = establish_body(meetings_api)
    meeting = hold_meeting(meetings_api, body["id"], case["diary_number"], through="opening")
    meetings_api.command(f"/meetings/{meeting['id']}/agenda/{meeting['agenda'][0]['item_id']}/decision",
                         "secretary", {"outcome": "referred_back", "text": "Återremitteras för komplettering."})
    back = eventually(initiative_of(api, case), lambda i: i["state"] == "in_preparation")
    assert back["decisions"][0]["outcome"] == "referred_back"
    assert "draft_answer" in back["allowed_commands"]


def test_messages_that_break_the_contract_are_flagged_and_do_not_block_the_queue(
    api: Api, meetings_api: Api, meetings_config: dict[str, Any]
) -> None:
    exchange = Exchange("meetings.events", type="topic", durable=True)
    with Connection(meetings_config["AMQP_URI"]) as connection:
        producer = connection.Producer()
        producer.publish(dumps({"hello": "world"}), exchange=exchange, routing_key="Meeting.ItemDecided",
                         content_type="application/json")
        producer.publish(dumps({"position": 10**9, "type": "Meeting.ItemDecided", "diary_number": "RUN 2025-0001",
                                "payload": {"text": "no outcome"}, "actor": "x"}),
                         exchange=exchange, routing_key="Meeting.ItemDecided", content_type="application/json")
    incidents = eventually(lambda: api.get("/incidents").json()["incidents"], lambda found: len(found) == 2)
    assert sorted(i["problem"] for i in incidents) == ["Malformed event", "Not an event envelope"]
    assert api.get("/health").json()["status"] == "ok"


def test_events_published_before_initiatives_ever_consumed_wait_in_its_queue(
    container: Any, container_factory: Any, config: dict[str, Any], api: Api,
    infrastructure: Any, store_config: dict[str, Any],
) -> None:
    """The publisher declares its subscribers' queues (shared.topology): nothing is dropped unbound."""
    from shared.inbox import inbox_queue
    from shared.topology import SUBSCRIPTIONS

    case = prepared_case(api)
    container.stop()
    with Connection(infrastructure.amqp_uri) as connection:
        inbox_queue("meetings", "initiatives", SUBSCRIPTIONS["meetings"]["initiatives"])(
            connection.default_channel).delete()

    meetings_config = service_config(infrastructure.amqp_uri, store_config)
    meetings = container_factory(MeetingsService, meetings_config)
    meetings.start()
    meetings_api = api_for(meetings_config)
    hold_meeting(meetings_api, establish_body(meetings_api)["id"], case["diary_number"], through="signature_2")
    eventually(lambda: meetings_api.get("/health").json(), lambda health: health["unpublished"] == 0)

    restarted = container_factory(InitiativesService, config)
    restarted.start()
    try:
        assert eventually(initiative_of(api, case), lambda i: i["state"] == "final")["finalised_on"] == "2025-11-17"
    finally:
        restarted.stop()
        meetings.stop()


def test_two_initiatives_instances_apply_a_burst_of_meetings_events_in_order(
    container_factory: Any, config: dict[str, Any], api: Api, infrastructure: Any, store_config: dict[str, Any]
) -> None:
    """RabbitMQ's single active consumer: a second instance waits, it does not take events in parallel.

    The meetings are held with the relay held off, then it publishes them all at once,
    so two consumers sharing the queue would interleave the events of each case.
    """
    second = container_factory(InitiativesService, {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"})
    second.start()
    held_back = service_config(infrastructure.amqp_uri, store_config, OUTBOX_RELAY_ENABLED="false")
    meetings = container_factory(MeetingsService, held_back)
    meetings.start()
    meetings_api = api_for(held_back)
    try:
        cases = [prepared_case(api) for _ in range(4)]
        body = establish_body(meetings_api)
        for case in cases:
            hold_meeting(meetings_api, body["id"], case["diary_number"], through="signature_2")
        meetings.stop()
        publishing = container_factory(MeetingsService, {**held_back, "OUTBOX_RELAY_ENABLED": "true"})
        publishing.start()
        for case in cases:
            eventually(initiative_of(api, case), lambda i: i["state"] == "final")
        assert api.get("/incidents").json()["incidents"] == []
        publishing.stop()
    finally:
        second.stop()


def test_a_message_that_is_not_json_is_flagged_and_the_queue_goes_on(
    api: Api, meetings_api: Api, meetings_config: dict[str, Any]
) -> None:
    with Connection(meetings_config["AMQP_URI"]) as connection:
        connection.Producer().publish(b"\xff not json", exchange=Exchange("meetings.events", type="topic", durable=True),
                                      routing_key="Meeting.ItemAdded", content_type="application/json",
                                      content_encoding="binary")
    flagged = eventually(lambda: api.get("/incidents").json()["incidents"], lambda found: len(found) == 1)
    assert flagged[0]["problem"] == "Not an event envelope"
    case = prepared_case(api)
    hold_meeting(meetings_api, establish_body(meetings_api)["id"], case["diary_number"], through="agenda")
    eventually(initiative_of(api, case), lambda i: i["state"] == "scheduled")
