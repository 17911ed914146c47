"""The subscriber kit's ordering and deduplication (cases_subscriber.Follower), on a feed made up here
(with gaps: positions the feed does not show, and events of types not subscribed to) and a SQLite store."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from cases_subscriber import (
    Follower, InvalidEnvelope, LogMismatch, PositionMoved, Source, SQLiteStore, Subscriber, topic_matches,
)
from cases_subscriber.examples import register

WANTED = ["Initiative.DecisionRecorded", "Initiative.Finalised"]


class FakeFeed:
    """`GET /events` over a log in which some positions are internal (not shown) and some never exist."""

    def __init__(self, log: dict[int, dict[str, Any] | None]):
        self.log = log  # position -> envelope, or None for an internal event (skipped, but advances)
        self.reads: list[tuple[int, int]] = []

    def events(self, after: int, limit: int) -> dict[str, Any]:
        self.reads.append((after, limit))
        positions = sorted(p for p in self.log if p > after)[:limit]
        return {"events": [self.log[p] for p in positions if self.log[p] is not None],
                "last_position": positions[-1] if positions else after}


def envelope(position: int, kind: str = "Initiative.DecisionRecorded", case: str = "c1") -> dict[str, Any]:
    return {"source": "initiatives", "position": position, "type": kind, "aggregate_id": case,
            "event_id": f"e{position}", "diary_number": "RUN 2025-0001", "payload": {"n": position}}


@pytest.fixture
def store(tmp_path: Any) -> SQLiteStore:
    store = SQLiteStore(str(tmp_path / "subscriber.sqlite"))
    store.setup("register", ["initiatives"])
    with store.transaction() as tx:
        tx.execute("CREATE TABLE seen (position INTEGER, type TEXT)")
    return store


def seen(store: SQLiteStore) -> list[int]:
    with store.transaction() as tx:
        return [row[0] for row in tx.execute("SELECT position FROM seen ORDER BY rowid").fetchall()]


def handler(event: dict[str, Any], tx: Any) -> None:
    tx.execute("INSERT INTO seen (position, type) VALUES (?, ?)", (event["position"], event["type"]))


def follower(store: SQLiteStore, feed: FakeFeed, handle: Any = handler, page_size: int = 2) -> Follower:
    return Follower("register", "initiatives", WANTED, feed, store, handle, page_size=page_size)


LOG = {1: envelope(1, "Initiative.Submitted"), 2: None, 3: envelope(3), 5: envelope(5, "Initiative.Finalised"),
       6: None, 9: envelope(9)}


def test_the_catch_up_applies_the_wanted_events_in_order_and_stops_at_the_feeds_end(store: SQLiteStore) -> None:
    feed = FakeFeed(dict(LOG))
    assert follower(store, feed).catch_up() == 9
    assert seen(store) == [3, 5, 9]
    assert store.applied("register", "initiatives") == [
        (3, "Initiative.DecisionRecorded", "e3"), (5, "Initiative.Finalised", "e5"),
        (9, "Initiative.DecisionRecorded", "e9")]
    assert follower(store, feed).catch_up() == 9 and seen(store) == [3, 5, 9]  # nothing twice


def test_a_catch_up_stops_where_the_queue_has_delivered_a_message_of_its_source(store: SQLiteStore) -> None:
    """A feed written as fast as it is read has no end to catch up to; once the queue has delivered a
    message of the source (the subscriber holds it until the catch-up is done), the catch-up stops
    after the page it read, and that message fills what the feed holds before it."""

    class GrowingFeed(FakeFeed):
        def events(self, after: int, limit: int) -> dict[str, Any]:
            page = super().events(after, limit)
            if len(self.reads) < 100:  # two more events written while each page is read
                top = max(self.log)
                self.log.update({top + 1: envelope(top + 1), top + 2: envelope(top + 2)})
            return page

    feed = GrowingFeed({1: envelope(1), 2: envelope(2)})
    subscriber = follower(store, feed)
    delivered: list[dict[str, Any]] = []

    def between_pages() -> None:  # what the subscriber's drain does: the third page's wait brings a message
        if len(feed.reads) == 3:
            delivered.append(envelope(max(feed.log)))

    assert subscriber.catch_up(between_pages, queued=lambda: bool(delivered)) == 6
    assert len(feed.reads) == 3
    assert subscriber.receive(delivered[0]) == "applied"  # the feed's events before it, then it
    assert seen(store) == list(range(1, delivered[0]["position"] + 1))


def test_the_watermark_passes_over_positions_that_do_not_concern_the_subscriber(store: SQLiteStore) -> None:
    feed = FakeFeed({1: envelope(1, "Initiative.Submitted"), 2: None})
    follower(store, feed).catch_up()
    assert store.position("register", "initiatives") == 2 and seen(store) == []


def test_a_message_at_or_below_the_position_has_no_effect(store: SQLiteStore) -> None:
    feed = FakeFeed(dict(LOG))
    subscriber = follower(store, feed)
    subscriber.catch_up()
    reads = len(feed.reads)
    assert subscriber.receive(envelope(9)) == "duplicate"
    assert subscriber.receive(envelope(3)) == "duplicate"
    assert seen(store) == [3, 5, 9] and len(feed.reads) == reads


def test_the_next_position_is_checked_against_the_feeds_copy(store: SQLiteStore) -> None:
    feed = FakeFeed({1: envelope(1), 2: envelope(2, "Initiative.Finalised")})
    subscriber = follower(store, feed)
    assert subscriber.receive(envelope(1)) == "applied"
    assert subscriber.receive(envelope(2, "Initiative.Finalised")) == "applied"
    assert seen(store) == [1, 2] and feed.reads == [(0, 1), (1, 1)]
    assert store.progress("register", "initiatives") == (2, 2, "e2")


def test_a_foreign_message_at_the_next_position_has_no_effect(store: SQLiteStore) -> None:
    feed = FakeFeed({1: envelope(1)})
    subscriber = follower(store, feed)
    subscriber.catch_up()
    stranger = {**envelope(2), "event_id": "another-log"}  # the feed ends at 1: nothing of ours at 2
    assert subscriber.receive(stranger) == "foreign"
    feed.log[2] = envelope(2)  # the feed holds another event there
    assert subscriber.receive(stranger) == "foreign"
    assert seen(store) == [1, 2]  # the feed's own event at 2, never the stranger's
    assert store.applied("register", "initiatives")[-1] == (2, "Initiative.DecisionRecorded", "e2")
    assert subscriber.receive({**envelope(1), "event_id": "another-log"}) == "foreign"  # below: not a duplicate
    assert subscriber.counts["foreign"] == 3 and subscriber.counts["duplicate"] == 0


def test_a_catch_up_stops_loudly_when_the_feed_no_longer_holds_the_last_event_applied(store: SQLiteStore) -> None:
    feed = FakeFeed({1: envelope(1), 2: None})
    follower(store, feed).catch_up()
    feed.log = {1: {**envelope(1), "event_id": "restored"}, 2: None, 3: envelope(3)}  # another log
    with pytest.raises(LogMismatch, match="does not match"):
        follower(store, feed).catch_up()
    feed.log = {}  # the source's data deleted
    with pytest.raises(LogMismatch):
        follower(store, feed).catch_up()
    assert seen(store) == [1]


def test_a_message_after_a_gap_first_takes_what_the_feed_holds_before_it(store: SQLiteStore) -> None:
    feed = FakeFeed({**LOG, 12: envelope(12)})
    subscriber = follower(store, feed)
    assert subscriber.receive(envelope(12)) == "applied"  # the queue was declared after 3, 5, 9 were published
    assert seen(store) == [3, 5, 9, 12]
    assert subscriber.counts == {"feed": 3, "queue": 1, "duplicate": 0, "foreign": 0, "not wanted": 0}
    assert all(after < 12 for after, _ in feed.reads)


def test_a_gap_the_feed_shows_nothing_in_costs_one_read(store: SQLiteStore) -> None:
    feed = FakeFeed({1: envelope(1), 2: None, 3: None, 4: envelope(4)})
    subscriber = follower(store, feed, page_size=500)
    subscriber.receive(envelope(1))
    assert subscriber.receive(envelope(4)) == "applied"
    assert seen(store) == [1, 4] and feed.reads == [(0, 1), (1, 3)]


def test_a_message_of_a_type_no_longer_asked_for_is_passed_over(store: SQLiteStore) -> None:
    subscriber = follower(store, FakeFeed({1: envelope(1, "Initiative.Registered"), 2: envelope(2)}))
    assert subscriber.receive(envelope(1, "Initiative.Registered")) == "not wanted"
    assert subscriber.receive(envelope(2)) == "applied"
    assert seen(store) == [2] and store.position("register", "initiatives") == 2
    assert subscriber.counts["not wanted"] == 1 and subscriber.counts["duplicate"] == 0


def test_a_message_the_feed_does_not_show_is_not_applied_and_the_next_catch_up_takes_it(store: SQLiteStore) -> None:
    feed = FakeFeed({1: envelope(1)})
    subscriber = follower(store, feed)
    assert subscriber.receive(envelope(7)) == "foreign"
    assert seen(store) == [1] and store.position("register", "initiatives") == 1
    feed.log[7] = envelope(7)
    assert subscriber.catch_up() == 7 and seen(store) == [1, 7]


def test_a_failing_handler_leaves_neither_its_writes_nor_the_position(store: SQLiteStore) -> None:
    failures = [RuntimeError("the register's disk is full")]

    def failing(event: dict[str, Any], tx: Any) -> None:
        handler(event, tx)
        if failures:
            raise failures.pop()

    subscriber = follower(store, FakeFeed({1: envelope(1)}), failing)
    with pytest.raises(RuntimeError):
        subscriber.receive(envelope(1))
    assert seen(store) == [] and store.position("register", "initiatives") == 0
    assert store.applied("register", "initiatives") == []
    assert subscriber.receive(envelope(1)) == "applied"  # redelivered: now once
    assert subscriber.receive(envelope(1)) == "duplicate"
    assert seen(store) == [1]


def test_two_instances_cannot_both_move_the_position_from_the_same_place(store: SQLiteStore) -> None:
    with pytest.raises(PositionMoved):
        with store.transaction() as tx:
            store.advance(tx, "register", "initiatives", 0, 1, envelope(1))
            handler(envelope(1), tx)
            store.advance(tx, "register", "initiatives", 0, 2, envelope(2))  # a second instance read 0 too
    assert seen(store) == [] and store.position("register", "initiatives") == 0


def test_what_is_not_an_envelope_of_the_source_is_refused(store: SQLiteStore) -> None:
    subscriber = follower(store, FakeFeed({}))
    for refused in ("text", {"type": "Initiative.Finalised"}, {**envelope(1), "position": "1"},
                    {**envelope(1), "source": "meetings"}):
        with pytest.raises(InvalidEnvelope):
            subscriber.receive(refused)
    assert seen(store) == []


@pytest.mark.parametrize("pattern, key, expected", [
    ("#", "Initiative.Registered", True), ("Initiative.*", "Initiative.Registered", True),
    ("*.Registered", "Initiative.Registered", True), ("Initiative.Registered", "Initiative.Registered", True),
    ("Initiative.Finalised", "Initiative.Registered", False), ("Meeting.*", "Initiative.Registered", False),
    ("Initiative.#", "Initiative", True), ("*", "Initiative.Registered", False),
    ("#.Registered", "Initiative.Registered", True), ("Initiative.*.x", "Initiative.Registered", False),
])
def test_routing_keys_match_as_the_broker_binds(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_the_register_keeps_one_row_per_decision_with_its_body_and_adjustment(tmp_path: Any) -> None:
    store = SQLiteStore(str(tmp_path / "register.sqlite"))
    register.create_tables(store)

    def event(position: int, kind: str, case: str, **payload: Any) -> dict[str, Any]:
        return {"source": "initiatives", "position": position, "type": f"Initiative.{kind}", "aggregate_id": case,
                "diary_number": f"RUN 2025-{case}", "payload": payload}

    for one in [
        event(1, "Submitted", "0001", addressed_to="Regionstyrelsen"),
        event(2, "Submitted", "0002", addressed_to="Regionfullmäktige"),
        event(3, "ScheduledForDecision", "0001", body="Regionala utvecklingsnämnden"),
        event(4, "DecisionRecorded", "0001", outcome="tabled", paragraph="§ 7", decided_on="2025-10-01"),
        event(5, "DecisionRecorded", "0001", outcome="approved", paragraph="§ 12", decided_on="2025-11-12"),
        event(6, "DecisionRecorded", "0002", outcome="rejected", paragraph=None, decided_on="2025-11-13"),
        event(7, "Finalised", "0001", minutes_adjusted_on="2025-11-17"),
        # a proposal ends the schedule it was made under: the council's decision is not the committee's
        event(8, "Submitted", "0003", addressed_to="Regionfullmäktige"),
        event(9, "ScheduledForDecision", "0003", body="Regionala utvecklingsnämnden"),
        event(10, "ProposalRecorded", "0003", outcome="considered_answered", paragraph="§ 3", decided_on="2025-11-12",
              body="Regionala utvecklingsnämnden", proposal_to="Regionfullmäktige"),
        event(11, "DecisionRecorded", "0003", outcome="considered_answered", paragraph="§ 9", decided_on="2025-12-01"),
    ]:
        with store.transaction() as tx:
            register.apply(one, tx)
    assert register.rows(store) == [
        {"diary_number": "RUN 2025-0001", "body": "Regionala utvecklingsnämnden", "paragraph": "§ 7",
         "outcome": "tabled", "decided_on": "2025-10-01", "adjusted_on": None},
        {"diary_number": "RUN 2025-0001", "body": "Regionala utvecklingsnämnden", "paragraph": "§ 12",
         "outcome": "approved", "decided_on": "2025-11-12", "adjusted_on": "2025-11-17"},
        {"diary_number": "RUN 2025-0002", "body": "Regionfullmäktige", "paragraph": None,
         "outcome": "rejected", "decided_on": "2025-11-13", "adjusted_on": None},
        {"diary_number": "RUN 2025-0003", "body": "Regionfullmäktige", "paragraph": "§ 9",
         "outcome": "considered_answered", "decided_on": "2025-12-01", "adjusted_on": None},
    ]


def test_a_commit_that_fails_is_rolled_back_and_the_store_goes_on(store: SQLiteStore) -> None:
    with store.transaction() as tx:  # a deferred foreign key: checked, and refused, at COMMIT
        tx.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        tx.execute("CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    store._connection().execute("PRAGMA foreign_keys = ON")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with store.transaction() as tx:
            tx.execute("INSERT INTO child (parent) VALUES (1)")
            handler(envelope(1), tx)
    assert seen(store) == []  # rolled back; and the connection begins a transaction again
    subscriber = follower(store, FakeFeed({1: envelope(1)}))
    assert subscriber.receive(envelope(1)) == "applied" and seen(store) == [1]


def test_the_register_dates_every_decision_from_the_adjusted_minutes_whichever_comes_first(tmp_path: Any) -> None:
    store = SQLiteStore(str(tmp_path / "register.sqlite"))
    register.create_tables(store)

    def event(source: str, position: int, kind: str, case: str, **payload: Any) -> dict[str, Any]:
        return {"source": source, "position": position, "type": kind, "aggregate_id": case,
                "diary_number": "RUN 2025-0001", "payload": payload}

    body = "Regionala utvecklingsnämnden"
    minutes = [{"diary_number": "RUN 2025-0001", "paragraph": "§ 7", "outcome": "tabled"}]
    for one in [
        event("initiatives", 1, "Initiative.ScheduledForDecision", "c1", body=body),
        event("meetings", 1, "Meeting.MinutesAdjusted", "m1", adjusted_on="2025-10-03", body=body,
              decisions=minutes),  # before the decision it dates
        event("initiatives", 2, "Initiative.DecisionRecorded", "c1", outcome="tabled", paragraph="§ 7",
              decided_on="2025-10-01"),
        event("initiatives", 3, "Initiative.ScheduledForDecision", "c1", body=body),
        event("initiatives", 4, "Initiative.DecisionRecorded", "c1", outcome="referred_back", paragraph="§ 9",
              decided_on="2025-10-15"),
        event("meetings", 2, "Meeting.MinutesAdjusted", "m2", adjusted_on="2025-10-20", body=body,
              decisions=[{"diary_number": "RUN 2025-0001", "paragraph": "§ 9"}]),  # after it
        event("meetings", 3, "Meeting.MinutesAdjusted", "m3", adjusted_on="2025-10-21", body="Regionstyrelsen",
              decisions=[{"diary_number": "RUN 2025-0001", "paragraph": "§ 9"}]),  # another body's § 9
    ]:
        with store.transaction() as tx:
            register.apply(one, tx)
    assert [(row["paragraph"], row["outcome"], row["adjusted_on"]) for row in register.rows(store)] == [
        ("§ 7", "tabled", "2025-10-03"), ("§ 9", "referred_back", "2025-10-20")]


def test_stop_ends_the_broker_retries_of_a_subscriber_that_never_connected(store: SQLiteStore) -> None:
    subscriber = Subscriber("register", "amqp://guest:guest@127.0.0.1:1//", [Source("initiatives", "http://x")],
                            store, handler, retry_pause=0.1)
    thread = threading.Thread(target=subscriber.run, daemon=True)
    thread.start()
    time.sleep(0.5)  # retrying the connection
    subscriber.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
