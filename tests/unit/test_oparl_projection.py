"""The OParl objects kept from the meetings' and initiatives' events (services.audit.oparl): the projector on
its own (pure: a dict for the store), and the audit index that feeds it (SQLite, the sources' feeds faked)."""
from __future__ import annotations

import itertools
import time
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from services.audit import oparl
from services.audit.index import CaseIndex
from services.audit.oparl import EventFailed, Projector, Reader
from shared.store import StoreGate, persistence_env

START = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
DIARY = "RUN 2021-0001"


def meetings_events(first: int = 1) -> list[dict[str, Any]]:
    events = [
        ("Body.Established", "b1", {"name": "Regionala utvecklingsnämnden", "kind": "committee"}),
        ("Body.MemberJoined", "b1", {"membership_id": "m1", "from_date": "2019-01-01",
                                     "member": {"name": "Anna Berg", "role": "chair", "party": "S"}}),
        ("Meeting.Scheduled", "mt1", {"body_id": "b1", "title": "Sammanträde", "starts_at": "2021-11-12T09:00:00+01:00"}),
        ("Meeting.ItemAdded", "mt1", {"item_id": "i1", "title": "Motion om cykelvägar", "diary_number": DIARY}),
        ("Meeting.ItemDecided", "mt1", {"item_id": "i1", "outcome": "approved", "text": "Bifall.", "paragraph": "§ 1"}),
        ("Meeting.MinutesAdjusted", "mt1", {}),
    ]
    return [envelope(first + number, kind, aggregate, payload) for number, (kind, aggregate, payload) in enumerate(events)]


def initiatives_events(first: int = 1) -> list[dict[str, Any]]:
    events = [
        ("Initiative.Submitted", "p1", {"title": "Motion om cykelvägar", "kind": "motion", "submitted_on": "2021-03-15",
                                        "submitters": [{"name": "Anna  Berg"}]}),
        ("Initiative.Registered", "p1", {"diary_number": DIARY}),
    ]
    return [envelope(first + number, kind, aggregate, payload) for number, (kind, aggregate, payload) in enumerate(events)]


def envelope(position: int, kind: str, aggregate_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"position": position, "type": kind, "aggregate_id": aggregate_id, "payload": payload,
            "occurred_at": f"2021-0{min(position, 9)}-01T10:00:00+00:00", "effective_on": "2019-01-01"}


class Store:
    """The OParl table as a dict (the projector reads through the functions it is given)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def read(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {key: self.records[key] for key in keys if key in self.records}

    def find(self, kind: str, column: str, value: str) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if r["columns"]["kind"] == kind and r["columns"][column] == value]

    def write(self, projected: oparl.Projected) -> None:
        for _, key, _, row in projected.rows:
            self.records[key] = json.loads(json.dumps(row.view))

    def contents(self) -> dict[str, Any]:
        """What the objects say, without when they were written (which differs with the order)."""
        def without_times(record: dict[str, Any]) -> dict[str, Any]:
            return {"object": {k: v for k, v in record["object"].items() if k not in ("created", "modified")},
                    "columns": {k: v for k, v in record["columns"].items() if k not in ("created", "modified")},
                    "sort_key": record["sort_key"], "internal": record["internal"]}
        return {key: without_times(record) for key, record in self.records.items()}


def clock(start: datetime = START) -> Any:
    ticks = itertools.count()
    return lambda: start + timedelta(minutes=next(ticks))


def test_events_of_the_two_sources_in_any_order_make_the_same_objects() -> None:
    sources = [("meetings", e) for e in meetings_events()] + [("initiatives", e) for e in initiatives_events()]
    results = []
    # every interleaving that keeps each source's own order (28 of them)
    for places in itertools.combinations(range(len(sources)), 2):
        meetings, initiatives = iter(sources[:6]), iter(sources[6:])
        order = [next(initiatives) if place in places else next(meetings) for place in range(len(sources))]
        store, projector = Store(), Projector(now=clock())
        for source, event in order:
            projected = projector.project(source, [event], store.read, store.find)
            assert projected.failed is None and projected.position == event["position"]
            store.write(projected)
        results.append(store.contents())
        paper = store.records["paper/p1"]
        consultation = store.records["consultation/mt1.i1"]
        # the paper is modified no earlier than its embedded consultation, whichever came first
        assert paper["columns"]["modified"] >= consultation["columns"]["modified"]
        assert paper["object"]["originatorPerson"] == [oparl.path("person", oparl.person_id("Anna Berg"))]
    assert all(result == results[0] for result in results)
    assert results[0]["consultation/mt1.i1"]["object"]["role"] == "beslut"
    assert results[0]["person/" + oparl.person_id("anna berg")]["object"]["name"] == "Anna Berg"


def test_a_failing_event_leaves_nothing_behind_and_the_batch_ends_before_it() -> None:
    good = meetings_events()
    broken = {**good[1], "payload": {**good[1]["payload"], "member": {"name": "Bertil Ek"}}}  # no role
    store, projector = Store(), Projector(now=clock())
    projected = projector.project("meetings", [good[0], broken, good[2]], store.read, store.find)
    assert projected.position == 1 and isinstance(projected.failed, EventFailed)
    assert projected.failed.position == 2 and "role" in str(projected.failed)
    written = {key for _, key, _, _ in projected.rows}
    assert written == {"organization/b1", "body/region"}  # not the person the broken event began to write
    # the same events again, now whole: each takes effect
    store.write(projected)
    again = projector.project("meetings", good[1:3], store.read, store.find)
    assert again.failed is None and again.position == 3
    store.write(again)
    assert "person/" + oparl.person_id("Anna Berg") in store.records and "meeting/mt1" in store.records


def test_modified_is_when_oparl_wrote_it_and_never_moves_back() -> None:
    store = Store()
    times = iter([START, START - timedelta(days=1), START + timedelta(days=1)])
    projector = Projector(now=lambda: next(times))
    events = meetings_events()
    store.write(projector.project("meetings", events[:3], store.read, store.find))  # at START
    meeting = store.records["meeting/mt1"]
    assert meeting["object"]["created"].startswith("2021-03-01")  # the event's time
    assert meeting["columns"]["modified"] == "2026-01-10T12:00:00"  # when written, though the event is old
    store.write(projector.project("meetings", events[3:4], store.read, store.find))  # the clock went back a day
    assert store.records["meeting/mt1"]["columns"]["modified"] == "2026-01-10T12:00:00"
    # a submitter who is already a member: the person is not written again by the initiatives' events
    person = dict(store.records["person/" + oparl.person_id("Anna Berg")])
    store.write(projector.project("initiatives", initiatives_events(), store.read, store.find))  # a day later
    assert store.records["person/" + oparl.person_id("Anna Berg")] == person
    paper = store.records["paper/p1"]
    assert paper["columns"]["modified"] == "2026-01-11T12:00:00" and paper["object"]["created"].startswith("2021-02-01")


def test_the_paper_is_modified_when_its_consultation_changes() -> None:
    store, now = Store(), [START]
    projector = Projector(now=lambda: now[0])
    store.write(projector.project("initiatives", initiatives_events(), store.read, store.find))
    store.write(projector.project("meetings", meetings_events()[:3], store.read, store.find))
    assert store.records["paper/p1"]["columns"]["modified"] == "2026-01-10T12:00:00"
    for number, event in enumerate(meetings_events()[3:], start=1):  # added, decided, adjusted (its role)
        now[0] = START + timedelta(hours=number)
        store.write(projector.project("meetings", [event], store.read, store.find))
    assert store.records["paper/p1"]["columns"]["modified"] == "2026-01-10T15:00:00"
    assert store.records["paper/p1"]["object"]["modified"] == oparl.moment("2026-01-10T15:00:00+00:00")


def test_an_event_that_may_carry_secret_content_is_never_given_to_a_handler() -> None:
    """Fail closed: were a careless handler written for a document's registration (it reads the title,
    which a marking withholds), the guard still keeps the event from it."""
    store, projector = Store(), Projector(now=clock())
    read_by_handler: list[str] = []

    def careless(batch: oparl.Batch, event: dict[str, Any]) -> None:
        read_by_handler.append(event["payload"]["title"])
        paper = batch.get("paper", event["aggregate_id"])
        batch.put(oparl.touched(paper, batch, name=event["payload"]["title"]), event["position"])

    projector.initiative_handlers["Initiative.DocumentRegistered"] = careless
    projector.initiative_handlers["Initiative.AnswerDrafted"] = careless
    secret = [envelope(3, "Initiative.DocumentRegistered", "p1", {"title": "Hemligtdokumentord", "secret_under": "OSL"}),
              envelope(4, "Initiative.AnswerDrafted", "p1", {"title": "Hemligtsvarsord", "summary": "Hemligtsvarsord"})]
    projected = projector.project("initiatives", [*initiatives_events(), *secret], store.read, store.find)
    assert projected.failed is None and projected.position == 4
    store.write(projected)
    assert read_by_handler == [] and "Hemligt" not in json.dumps(store.records)
    assert store.records["paper/p1"]["object"]["name"] == "Motion om cykelvägar"


# --- the index that feeds it ---------------------------------------------------------------------------


class FakeFeed:
    def __init__(self, envelopes: list[dict[str, Any]]):
        self.envelopes = envelopes
        self.reads = 0

    def get(self, path: str, after: int, limit: int) -> dict[str, Any]:
        self.reads += 1
        events = [e for e in self.envelopes if e["position"] > after][:limit]
        return {"events": events, "last_position": events[-1]["position"] if events else after}


def index_over(tmp_path: Any, **feeds: FakeFeed) -> CaseIndex:
    env = persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(tmp_path)}, "audit")
    return CaseIndex(env, feeds, StoreGate(env))  # type: ignore[arg-type]


def test_a_store_indexed_before_oparl_fills_its_oparl_table_from_each_feed(tmp_path: Any) -> None:
    feeds = {"meetings": FakeFeed(meetings_events()), "initiatives": FakeFeed(initiatives_events())}
    index = index_over(tmp_path, **feeds)
    try:  # the case index had read both feeds to their end before OParl was there
        for source, feed in feeds.items():
            index.gate.call(index.view.apply, [], Tracking(source, feed.envelopes[-1]["position"]), start=0)
        assert index.oparl_positions() == {"meetings": 0, "initiatives": 0}
        assert index.catch_up_all() == {}
        assert index.oparl_positions() == {"meetings": 6, "initiatives": 2}
        [paper] = index.oparl_reader.page("paper", {})[0]
        assert paper["reference"] == DIARY and len(paper["consultation"]) == 1
        # a message already taken, delivered again: nothing changes
        before = index.gate.call(index.view.dump_rows)
        assert index.apply_inbound("meetings", meetings_events()[3]) == "duplicate"
        assert index.gate.call(index.view.dump_rows) == before
    finally:
        index.close()


def test_an_event_oparl_cannot_take_holds_oparl_there_and_the_case_index_goes_on(tmp_path: Any) -> None:
    events = meetings_events()
    broken = {**events[1], "payload": {**events[1]["payload"], "member": {"name": "Bertil Ek"}}}
    feed = FakeFeed([events[0], broken, *events[2:4]])
    index = index_over(tmp_path, meetings=feed)
    try:
        assert "EventFailed" in index.catch_up_all()["meetings"]
        assert index.positions() == {"meetings": 4}  # the case index
        assert index.oparl_positions() == {"meetings": 1}  # held before the event, never past it
        assert index.oparl_failures["meetings"]["position"] == 2
        assert index.oparl_reader.page("person", {})[0] == []  # nothing of the broken event
        # the inbox: the case index goes on, and OParl's follower is only woken; it stays held, and
        # reads from the feed again, never passing over the event (nor taking the message itself)
        feed.envelopes += events[4:]
        index.oparl_wake.clear()
        assert index.apply_inbound("meetings", events[4]) == "ignored"
        assert index.apply_inbound("meetings", events[5]) == "ignored"
        assert index.oparl_wake.is_set()
        assert index.positions() == {"meetings": 6} and index.oparl_positions() == {"meetings": 1}
        with pytest.raises(EventFailed):
            index.catch_up_oparl("meetings")
        assert index.oparl_positions() == {"meetings": 1}
    finally:
        index.close()
    # after a restart the failure is found again: OParl's position is in the store
    restarted = index_over(tmp_path, meetings=feed)
    try:
        assert restarted.oparl_failures == {}
        assert "EventFailed" in restarted.catch_up_all()["meetings"]
        assert restarted.oparl_failures["meetings"]["position"] == 2
        feed.envelopes[1] = events[1]  # (the projector mended: the same event taken now)
        assert restarted.catch_up_all() == {}
        assert restarted.oparl_positions() == {"meetings": 6} and restarted.oparl_failures == {}
        assert [p["name"] for p in restarted.oparl_reader.page("person", {})[0]] == ["Anna Berg"]
    finally:
        restarted.close()


def test_embedded_lists_are_capped_for_each_object_on_its_own_and_say_so(tmp_path: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oparl, "EMBEDDED_LIMIT", 2)
    events = [envelope(1, "Body.Established", "b1", {"name": "A-nämnden", "kind": "committee"}),
              envelope(2, "Body.Established", "b2", {"name": "B-nämnden", "kind": "committee"})]
    for position, (body, name) in enumerate([("b1", "Anna"), ("b1", "Bo"), ("b1", "Cia"), ("b2", "Dan")], start=3):
        events.append(envelope(position, "Body.MemberJoined", body, {
            "membership_id": f"m{position}", "from_date": "2019-01-01", "member": {"name": name, "role": "member"}}))
    index = index_over(tmp_path, meetings=FakeFeed(events))
    try:
        assert index.catch_up_all() == {}
        first, second = index.oparl_reader.page("organization", {})[0]
        assert len(first["membership"]) == 2 and first[oparl.TRUNCATED] == ["membership"]
        assert len(second["membership"]) == 1 and oparl.TRUNCATED not in second  # not crowded out by the first
    finally:
        index.close()


def test_a_list_filtered_by_modified_since_pages_in_the_order_of_modified(tmp_path: Any) -> None:
    events = [envelope(1, "Body.Established", "b1", {"name": "Nämnden", "kind": "committee"})]
    names = ["Örjan", "Anna", "Märta", "Bo", "Cia"]  # by name, not the order they are modified in
    for position, name in enumerate(names, start=2):
        events.append(envelope(position, "Body.MemberJoined", "b1", {
            "membership_id": f"m{position}", "from_date": "2019-01-01", "member": {"name": name, "role": "member"}}))
    feed = FakeFeed([])
    index = index_over(tmp_path, meetings=feed)
    ticks = clock()
    index.oparl.now = lambda: ticks() + timedelta(days=1)  # type: ignore[method-assign]
    try:
        for event in events:  # each written a minute after the one before
            feed.envelopes.append(event)
            assert index.catch_up_all() == {}
        query = {"modified_since": START, "limit": 2, "page": None}
        seen, pages = [], 0
        while True:
            items, next_page = index.oparl_reader.page("person", query)
            seen += [p["name"] for p in items]
            pages += 1
            if next_page is None:
                break
            query = {**query, "page": next_page}
        assert seen == names and pages == 3
        reader = Reader(index.view, index.gate)
        assert [p["name"] for p in reader.page("person", {})[0]] == sorted(names)  # no filter: by name
    finally:
        index.close()


def test_only_url_fields_are_made_urls() -> None:
    answer = {"id": "/oparl/v1/paper/p1", "name": "/oparl/v1/ is in the title", "keyword": ["/oparl/v1/x"],
              "originatorPerson": ["/oparl/v1/person/a"], "consultation": [{"id": "/oparl/v1/consultation/c",
                                                                              "role": "/oparl/v1/role"}]}
    assert oparl.absolute(answer, "https://example.org") == {
        "id": "https://example.org/oparl/v1/paper/p1", "name": "/oparl/v1/ is in the title", "keyword": ["/oparl/v1/x"],
        "originatorPerson": ["https://example.org/oparl/v1/person/a"],
        "consultation": [{"id": "https://example.org/oparl/v1/consultation/c", "role": "/oparl/v1/role"}]}


def test_the_oparl_follower_reads_every_source_from_its_feed_and_goes_on_past_a_failing_one(tmp_path: Any) -> None:
    events = meetings_events()
    broken = {**events[1], "payload": {**events[1]["payload"], "member": {"name": "Bertil Ek"}}}
    feeds = {"meetings": FakeFeed([events[0], broken, *events[2:]]), "initiatives": FakeFeed(initiatives_events())}
    index = index_over(tmp_path, **feeds)
    try:
        rounds = iter([False, True])  # one round, at once: a new index's follower does not wait to begin
        index.follow_oparl(60.0, lambda: next(rounds))
        assert index.oparl_positions() == {"meetings": 1, "initiatives": 2}
        assert index.positions() == {"meetings": 0, "initiatives": 0}  # the case index is not its business
    finally:
        index.close()


def test_the_follower_woken_by_messages_reads_their_source_only_and_only_to_the_last_of_them(tmp_path: Any) -> None:
    """Each inbox message says how far its source's feed goes at least: the follower reads that source
    to there (one read for the messages since its last round), not every source to its end. Its first
    round reads every source to its end."""
    events = meetings_events()
    feeds = {"meetings": FakeFeed(events[:2]), "initiatives": FakeFeed(initiatives_events())}
    index = index_over(tmp_path, **feeds)
    reads: dict[str, int] = {}
    rounds = 0

    def stopped() -> bool:
        nonlocal rounds
        rounds += 1
        if rounds == 2:  # after the first round: two messages of meetings
            assert index.oparl_positions() == {"meetings": 2, "initiatives": 2}
            reads.update({source: feed.reads for source, feed in feeds.items()})
            feeds["meetings"].envelopes += events[2:4]
            for event in events[2:4]:
                index.apply_inbound("meetings", event)
        return rounds > 2

    try:
        assert index.catch_up_all(oparl=False) == {}  # the case index: the messages follow on from it
        index.follow_oparl(60.0, stopped)
        assert index.oparl_positions() == {"meetings": events[3]["position"], "initiatives": 2}
        assert {source: feed.reads - reads[source] for source, feed in feeds.items()} == {"meetings": 1, "initiatives": 0}
    finally:
        index.close()


def test_the_follower_reads_every_source_to_its_end_every_interval_however_busy_one_source_is(tmp_path: Any) -> None:
    """An event whose message never comes (a queue lost, say) is read within the interval, even while
    another source's messages wake the follower all the time."""
    events = meetings_events()
    feeds = {"meetings": FakeFeed(events[:1]), "initiatives": FakeFeed(initiatives_events()[:1])}
    index = index_over(tmp_path, **feeds)
    rounds = 0

    def stopped() -> bool:
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            feeds["initiatives"].envelopes += initiatives_events()[1:2]  # no message announces it
        if rounds < len(events):  # meetings: a message before every round (then its last again: redelivered)
            feeds["meetings"].envelopes.append(events[rounds])
        index.apply_inbound("meetings", events[min(rounds, len(events) - 1)])
        time.sleep(0.05)
        return index.oparl_positions()["initiatives"] == 2 or rounds > 40

    try:
        assert index.catch_up_all() == {}
        index.follow_oparl(0.3, stopped)
        assert index.oparl_positions()["initiatives"] == 2 and rounds <= 40
    finally:
        index.close()
