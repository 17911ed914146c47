"""The subscriber kit (cases_subscriber) against the real RabbitMQ, a real initiatives service and the
subscriber's own SQLite file or PostgreSQL schema: the public register of decisions as the subscriber."""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, Iterator

import pytest
from kombu import Connection, Producer
from psycopg.conninfo import make_conninfo

from cases_subscriber import Feed, Follower, PostgresStore, Source, SQLiteStore, Store, Subscriber, topic_matches
from cases_subscriber.examples import register
from tests.support.cases import drive, submit
from tests.support.infrastructure import Infrastructure
from services.meetings.demo import run_meeting_seed
from tests.support.meetings import establish_body, eventually, poster
from tests.support.services import TEST_TOKENS, Api

TOKEN = TEST_TOKENS["strategist"]["token"]  # not cleared for secret content: the register is public


@pytest.fixture
def store(store_config: dict[str, Any], infrastructure: Infrastructure, tmp_path: Any) -> Iterator[Store]:
    """The subscriber's own store, of the kind the service under test has."""
    if store_config["PERSISTENCE"] == "sqlite":
        yield SQLiteStore(str(tmp_path / "register.sqlite"))
        return
    with infrastructure.fresh_schema() as schema:
        store = PostgresStore(make_conninfo(
            host=infrastructure.postgres_host, port=infrastructure.postgres_port, user=infrastructure.postgres_user,
            password=infrastructure.postgres_password, dbname=infrastructure.postgres_dbname,
            options=f"-csearch_path={schema}"))
        yield store
        store.close()


@contextmanager
def following(subscriber: Subscriber, infrastructure: Infrastructure) -> Iterator[Subscriber]:
    """The subscriber running beside the test; its queues deleted afterwards (the broker is shared)."""
    thread = threading.Thread(target=subscriber.run, name=subscriber.name, daemon=True)
    thread.start()
    try:
        yield subscriber
    finally:
        subscriber.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
        with Connection(infrastructure.amqp_uri) as connection:
            for source in subscriber.sources:
                subscriber.queue(source)(connection.default_channel).delete()


def wanted_positions(api: Api) -> list[int]:
    """The positions of every event of the feed that the register subscribes to, in order."""
    positions, after = [], 0
    while True:
        page = api.get("/events", "strategist", params={"after": after, "limit": 1000}).json()
        positions += [e["position"] for e in page["events"]
                      if any(topic_matches(key, e["type"]) for key in register.ROUTING_KEYS)]
        if page["last_position"] == after:
            return positions
        after = page["last_position"]


class CountingFeed(Feed):
    def __init__(self, *args: Any):
        super().__init__(*args)
        self.reads = 0

    def events(self, after: int, limit: int) -> dict[str, Any]:
        self.reads += 1
        return super().events(after, limit)


def decided(case: dict[str, Any], adjusted: bool) -> dict[str, Any]:
    """The register's row for a case driven with seed 000 through its decision."""
    return {"diary_number": case["diary_number"], "body": "Regionala utvecklingsnämnden", "paragraph": "§ 142",
            "outcome": "considered_answered", "decided_on": "2025-11-12",
            "adjusted_on": "2025-11-17" if adjusted else None}


def test_a_subscriber_started_after_events_catches_up_then_follows_the_queue_without_gap_or_duplicate(
    api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    before = [drive(api, submit(api)["id"], "finalisation") for _ in range(2)]
    name = f"test-register-{uuid.uuid4().hex[:8]}"
    subscriber = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store)
    with following(subscriber, infrastructure):
        eventually(lambda: register.rows(store), lambda rows: len(rows) == 2)
        after = [drive(api, submit(api)["id"], "finalisation") for _ in range(2)]
        undecided = drive(api, submit(api)["id"], "schedule")
        last = drive(api, submit(api)["id"], "decision")
        expected = [decided(case, True) for case in before + after] + [decided(last, False)]
        assert eventually(lambda: register.rows(store), lambda rows: rows == expected, timeout=30) == expected

        # every subscribed event of the feed applied once, in order; the live ones came over the queue
        applied = eventually(lambda: [p for p, _, _ in store.applied(name, "initiatives")],
                             lambda found: found == wanted_positions(api))
        assert applied == sorted(set(applied))
        follower = subscriber.followers["initiatives"]
        assert follower.counts["feed"] >= 6 and follower.counts["queue"] >= 1, follower.counts

        # a message delivered again (as after a relay's crash) has no second effect
        page = api.get("/events", "strategist", params={"after": 0, "limit": 1000}).json()
        again = [e for e in page["events"] if e["type"] == "Initiative.DecisionRecorded"][-1]
        duplicates = follower.counts["duplicate"]
        with Connection(infrastructure.amqp_uri) as connection:
            Producer(connection.default_channel).publish(
                again, routing_key=subscriber.queue(subscriber.sources[0]).name, serializer="json")
        eventually(lambda: follower.counts["duplicate"], lambda count: count == duplicates + 1)
        assert register.rows(store) == expected
        assert [p for p, _, _ in store.applied(name, "initiatives")] == applied
    assert undecided["diary_number"] not in {row["diary_number"] for row in register.rows(store)}


def test_a_foreign_message_at_the_next_position_has_no_effect(
    api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    first = drive(api, submit(api)["id"], "decision")
    name = f"test-register-{uuid.uuid4().hex[:8]}"
    subscriber = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store)
    with following(subscriber, infrastructure):
        eventually(lambda: register.rows(store), lambda rows: rows == [decided(first, False)])
        follower = subscriber.followers["initiatives"]
        stored = eventually(follower.position, lambda position: position >= wanted_positions(api)[-1])
        # a decision of another log (another instance of the service, or its data deleted while the queue
        # was kept) at the very next position: a valid envelope, its own event_id
        page = api.get("/events", "strategist", params={"after": 0, "limit": 1000}).json()
        stranger = {**[e for e in page["events"] if e["type"] == "Initiative.DecisionRecorded"][-1],
                    "position": stored + 1, "event_id": str(uuid.uuid4()), "aggregate_id": str(uuid.uuid4()),
                    "diary_number": "RUN 1999-0001"}
        with Connection(infrastructure.amqp_uri) as connection:
            Producer(connection.default_channel).publish(
                stranger, routing_key=subscriber.queue(subscriber.sources[0]).name, serializer="json")
        eventually(lambda: follower.counts["foreign"], lambda count: count == 1)
        assert register.rows(store) == [decided(first, False)]
        assert stranger["event_id"] not in {event_id for _, _, event_id in store.applied(name, "initiatives")}

        second = drive(api, submit(api)["id"], "decision")  # the real next events still follow
        expected = [decided(first, False), decided(second, False)]
        assert eventually(lambda: register.rows(store), lambda rows: rows == expected) == expected
        assert [p for p, _, _ in store.applied(name, "initiatives")] == wanted_positions(api)


def test_a_second_instance_waits_as_a_standby_and_takes_over_when_the_first_stops(
    api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    name = f"test-register-{uuid.uuid4().hex[:8]}"
    first = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store)
    second = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store, standby_pause=0.5)
    reads = CountingFeed(api.base_url, TOKEN)
    second.followers["initiatives"].feed = reads  # a real feed, whose reads are counted
    case = drive(api, submit(api)["id"], "decision")
    with following(first, infrastructure):
        eventually(lambda: register.rows(store), lambda rows: rows == [decided(case, False)])
        thread = threading.Thread(target=second.run, daemon=True)
        thread.start()
        try:
            eventually(lambda: second.standby, bool)
            live = drive(api, submit(api)["id"], "decision")
            expected = [decided(case, False), decided(live, False)]
            eventually(lambda: register.rows(store), lambda rows: rows == expected)
            assert second.standby and not second.connected
            assert reads.reads == 0 and sum(second.followers["initiatives"].counts.values()) == 0  # no feed, no queue
            assert sum(first.followers["initiatives"].counts.values()) > 0
            first.stop()
            eventually(lambda: second.connected, bool)
            later = drive(api, submit(api)["id"], "decision")
            expected.append(decided(later, False))
            assert eventually(lambda: register.rows(store), lambda rows: rows == expected) == expected
        finally:
            second.stop()
            thread.join(timeout=30)
    assert [p for p, _, _ in store.applied(name, "initiatives")] == wanted_positions(api)


def test_an_idle_subscriber_reads_the_feed_again_so_events_whose_messages_were_lost_are_applied(
    api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    name = f"test-register-{uuid.uuid4().hex[:8]}"
    subscriber = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store,
                                         catch_up_interval=1.0)
    with following(subscriber, infrastructure):
        eventually(lambda: subscriber.connected, bool)
        queue = subscriber.queue(subscriber.sources[0])
        with Connection(infrastructure.amqp_uri) as connection:  # no message reaches the queue any more
            for bound in queue.bindings:
                connection.default_channel.queue_unbind(queue.name, bound.exchange.name, bound.routing_key)
        case = drive(api, submit(api)["id"], "finalisation")
        assert eventually(lambda: register.rows(store), lambda rows: rows == [decided(case, True)]) == \
            [decided(case, True)]
        assert subscriber.followers["initiatives"].counts["queue"] == 0


def meetings_for(meetings_api: Api, case: dict[str, Any]) -> Any:
    """`meeting(starts_on, decision, adjusted_on)`: a meeting of seed 000's committee deciding the case, its
    minutes adjusted; returns the decision's paragraph."""
    body = establish_body(meetings_api)
    seed = run_meeting_seed()
    post = poster(meetings_api)

    def meeting(starts_on: str, decision: dict[str, Any], adjusted_on: str) -> str:
        held = post("/meetings", {**seed["meeting"], "title": f"Sammanträde {starts_on}",
                                  "starts_at": f"{starts_on}T09:00:00+01:00", "body_id": body["id"]})
        path = f"/meetings/{held['id']}"
        post(f"{path}/convocation", {"convened_on": (date.fromisoformat(starts_on) - timedelta(days=9)).isoformat()})
        item = post(f"{path}/agenda", {**seed["item"], "diary_number": case["diary_number"]})["agenda"][0]["item_id"]
        post(f"{path}/attendance", seed["attendance"])
        post(f"{path}/opening", {})
        paragraph = post(f"{path}/agenda/{item}/decision", decision)["paragraphs"][0]["paragraph"]
        post(f"{path}/adjusters", seed["adjusters"])
        post(f"{path}/closing", {})
        for signature in seed["signatures"]:
            post(f"{path}/signatures", {**signature, "signed_on": adjusted_on})
        return paragraph

    return meeting


def test_a_failing_handler_holds_back_its_source_only(
    api: Api, meetings_api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    case = drive(api, submit(api)["id"], "answer")
    meeting = meetings_for(meetings_api, case)
    failing = threading.Event()
    failing.set()

    def handler(envelope: dict[str, Any], tx: Any) -> None:
        register.apply(envelope, tx)
        if envelope["type"] == "Initiative.DecisionRecorded" and failing.is_set():
            raise RuntimeError("the register's disk is full")

    name = f"test-register-{uuid.uuid4().hex[:8]}"
    subscriber = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store,
                                         meetings_url=meetings_api.base_url, handler=handler, retry_pause=0.5)
    with following(subscriber, infrastructure):
        eventually(lambda: subscriber.connected, bool)
        tabled = meeting("2025-11-12", {"outcome": "tabled", "text": "Ärendet bordläggs."}, "2025-11-14")
        # the initiatives' decision fails again and again; the meetings' adjusted minutes are applied meanwhile
        eventually(lambda: [kind for _, kind, _ in store.applied(name, "meetings")],
                   lambda kinds: kinds == ["Meeting.MinutesAdjusted"])
        assert register.rows(store) == []
        assert "Initiative.DecisionRecorded" not in {kind for _, kind, _ in store.applied(name, "initiatives")}
        failing.clear()
        expected = [{"diary_number": case["diary_number"], "body": "Regionala utvecklingsnämnden",
                     "paragraph": tabled, "outcome": "tabled", "decided_on": "2025-11-12",
                     "adjusted_on": "2025-11-14"}]
        assert eventually(lambda: register.rows(store), lambda rows: rows == expected) == expected


def test_the_register_dates_tabled_decisions_from_the_meetings_adjusted_minutes(
    api: Api, meetings_api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    case = drive(api, submit(api)["id"], "answer")
    seed = run_meeting_seed()
    meeting = meetings_for(meetings_api, case)
    name = f"test-register-{uuid.uuid4().hex[:8]}"
    subscriber = register.subscriber_for(name, api.base_url, infrastructure.amqp_uri, TOKEN, store,
                                         meetings_url=meetings_api.base_url)
    tabled = meeting("2025-11-12", {"outcome": "tabled", "text": "Ärendet bordläggs."}, "2025-11-14")
    with following(subscriber, infrastructure):  # the first meeting caught up, the second live
        answered = meeting("2025-11-26", seed["decision"], "2025-11-28")
        expected = [
            {"diary_number": case["diary_number"], "body": seed["body"]["name"], "paragraph": tabled,
             "outcome": "tabled", "decided_on": "2025-11-12", "adjusted_on": "2025-11-14"},
            {"diary_number": case["diary_number"], "body": seed["body"]["name"], "paragraph": answered,
             "outcome": "considered_answered", "decided_on": "2025-11-26", "adjusted_on": "2025-11-28"},
        ]
        assert eventually(lambda: register.rows(store), lambda rows: rows == expected, timeout=30) == expected
        assert store.applied(name, "meetings") and subscriber.followers["meetings"].counts["foreign"] == 0


def test_a_handler_that_fails_leaves_neither_its_writes_nor_the_position_and_the_event_is_applied_later(
    api: Api, store: Store, infrastructure: Infrastructure
) -> None:
    first = drive(api, submit(api)["id"], "decision")
    name = f"test-register-{uuid.uuid4().hex[:8]}"
    register.create_tables(store)
    store.setup(name, ["initiatives"])
    failures = {"left": 2}

    def failing_on_decisions(envelope: dict[str, Any], tx: Any) -> None:
        register.apply(envelope, tx)  # writes its row, then fails: the row must go with the transaction
        if envelope["type"] == "Initiative.DecisionRecorded" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the register could not be written")

    follower = Follower(name, "initiatives", register.ROUTING_KEYS, Feed(api.base_url, TOKEN), store,
                        failing_on_decisions)
    with pytest.raises(RuntimeError):
        follower.catch_up()
    decision = wanted_positions(api)[-1]
    assert follower.position() < decision
    assert register.rows(store) == []
    assert "Initiative.DecisionRecorded" not in {kind for _, kind, _ in store.applied(name, "initiatives")}

    subscriber = Subscriber(name, infrastructure.amqp_uri,
                            [Source("initiatives", api.base_url, register.ROUTING_KEYS, TOKEN)],
                            store, failing_on_decisions, retry_pause=0.2)
    with following(subscriber, infrastructure):
        second = drive(api, submit(api)["id"], "finalisation")  # live, while the first still fails once
        expected = [decided(first, False), decided(second, True)]
        assert eventually(lambda: register.rows(store), lambda rows: rows == expected, timeout=30) == expected
        assert failures["left"] == 0
        applied = eventually(lambda: [p for p, _, _ in store.applied(name, "initiatives")],
                             lambda found: found == wanted_positions(api))
        assert applied == sorted(set(applied))
