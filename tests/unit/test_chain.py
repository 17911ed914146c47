"""The hash chain of every aggregate (shared.chain), on eventsourcing's in-memory store."""
from __future__ import annotations

import json
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Mapper, StoredEvent

from shared.application import CaseApplication
from shared.chain import (
    GENESIS, Record, digest, seal, unseal, verify_against_heads, verify_chain, verify_log, verify_records,
)


class Ledger(Aggregate):
    @event("Opened")
    def __init__(self, title: str) -> None:
        self.title = title
        self.notes: list[str] = []

    class Noted(Aggregate.Event):
        """Version 2 added `page`; version 1 events are upcast when read."""

        class_version = 2
        text: str
        page: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["page"] = 1

        def apply(self, aggregate: "Ledger") -> None:  # type: ignore[override]
            aggregate.notes.append(f"{self.page}:{self.text}")

    def note(self, text: str, page: int = 1) -> None:
        self.trigger_event(self.Noted, text=text, page=page)


class LedgerApp(CaseApplication):
    name = "ledger"


@pytest.fixture
def app() -> LedgerApp:
    return LedgerApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def ledger_with_notes(app: LedgerApp, count: int) -> Ledger:
    ledger = Ledger(title="Diarium")
    for number in range(count):
        ledger.note(f"note {number}")
    app.save(ledger)
    return ledger


def stored(app: LedgerApp, ledger: Ledger) -> list[StoredEvent]:
    return list(app.recorder.select_events(ledger.id))


def records(app: LedgerApp, ledger: Ledger) -> list[Record]:
    return [Record.from_stored(s) for s in stored(app, ledger)]


def replace_row(app: LedgerApp, ledger: Ledger, version: int, state: bytes) -> None:
    """What someone with write access to the database could do (the POPO recorder's own rows)."""
    rows = app.recorder._stored_events  # type: ignore[attr-defined]
    index = next(i for i, row in enumerate(rows) if row.originator_id == ledger.id and row.originator_version == version)
    row = rows[index]
    rows[index] = StoredEvent(row.originator_id, row.originator_version, row.topic, state)


def test_each_event_carries_its_hash_and_the_previous_one(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 3)
    chain = [json.loads(s.state)["__chain__"] for s in stored(app, ledger)]

    assert chain[0]["previous"] == GENESIS
    assert [link["previous"] for link in chain[1:]] == [link["hash"] for link in chain[:-1]]
    content, previous, hash_ = unseal(stored(app, ledger)[1].state)
    assert (previous, hash_) == (chain[1]["previous"], chain[1]["hash"])
    assert hash_ == digest(previous, ledger.id, 2, stored(app, ledger)[1].topic, content)
    assert b"__chain__" not in content


def test_the_chain_stays_out_of_the_events_the_application_reads(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 2)
    events = list(app.events.get(ledger.id))
    assert all("__chain__" not in vars(e) for e in events)
    assert app.repository.get(ledger.id).notes == ["1:note 0", "1:note 1"]


def test_saving_a_loaded_aggregate_links_to_its_stored_head(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 1)
    fresh = LedgerApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    fresh.recorder = app.recorder  # a second instance over the same store knows no heads yet
    fresh.events.recorder = app.recorder
    later = fresh.repository.get(ledger.id)
    later.note("from another instance")
    fresh.save(later)

    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.intact and report.version == 3


def test_an_intact_chain_verifies(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 5)
    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.intact and report.events == 6 and report.unchained == 0
    assert report.head == unseal(stored(app, ledger)[-1].state)[2]


def test_an_edited_event_is_named(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 5)
    original = stored(app, ledger)[3].state
    replace_row(app, ledger, 4, original.replace(b"note 2", b"note X"))

    report = verify_chain(str(ledger.id), records(app, ledger))
    assert not report.intact
    assert report.problem.version == 4 and "content" in report.problem.problem


def test_a_deleted_event_is_named_by_the_gap(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 5)
    report = verify_chain(str(ledger.id), [r for r in records(app, ledger) if r.version != 3])
    assert report.problem.version == 4 and "version 3 is missing" in report.problem.problem


def test_two_swapped_events_are_named(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 5)
    rows = stored(app, ledger)
    replace_row(app, ledger, 3, rows[3].state)
    replace_row(app, ledger, 4, rows[2].state)

    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.problem.version == 3 and "link" in report.problem.problem


def test_an_event_whose_chain_was_stripped_is_named(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 3)
    content, _, _ = unseal(stored(app, ledger)[2].state)
    replace_row(app, ledger, 3, content)

    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.problem.version == 3 and "no chain" in report.problem.problem


def test_an_event_rewritten_with_a_fresh_hash_breaks_the_next_link(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 3)
    row = stored(app, ledger)[1]
    content, previous, _ = unseal(row.state)
    forged = content.replace(b"note 0", b"forged")
    replace_row(app, ledger, 2, seal(forged, previous, digest(previous, ledger.id, 2, row.topic, forged)))

    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.problem.version == 3 and "link" in report.problem.problem


def test_events_from_before_the_chain_are_pinned_by_the_first_chained_event(app: LedgerApp) -> None:
    ledger = Ledger(title="Old diary")
    ledger.note("written before chaining")
    plain = Mapper(transcoder=app.mapper.transcoder)
    app.recorder.insert_events([plain.to_stored_event(e) for e in ledger.collect_events()])

    loaded = app.repository.get(ledger.id)
    loaded.note("written after")
    app.save(loaded)

    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.intact and report.unchained == 2 and report.events == 3

    replace_row(app, ledger, 2, stored(app, ledger)[1].state.replace(b"before", b"during"))
    report = verify_chain(str(ledger.id), records(app, ledger))
    assert report.problem.version == 3 and "link" in report.problem.problem


def test_an_event_of_an_older_class_version_is_upcast_and_still_verifies(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 0)
    head = unseal(stored(app, ledger)[0].state)[2]
    version_1 = {"timestamp": {"_type_": "datetime_iso", "_data_": "2021-03-01T10:00:00+00:00"}, "text": "old"}
    content = json.dumps(version_1, separators=(",", ":")).encode()
    topic = "tests.unit.test_chain:Ledger.Noted"
    app.recorder.insert_events([StoredEvent(ledger.id, 2, topic, seal(content, head, digest(head, ledger.id, 2, topic, content)))])

    assert app.repository.get(ledger.id).notes == ["1:old"]  # upcast to version 2 on read
    assert verify_chain(str(ledger.id), records(app, ledger)).intact


def test_a_log_with_an_unchained_event_after_chaining_began_is_named(app: LedgerApp) -> None:
    ledger_with_notes(app, 1)
    other = Ledger(title="Slipped in")
    plain = Mapper(transcoder=app.mapper.transcoder)
    app.recorder.insert_events([plain.to_stored_event(e) for e in other.collect_events()])
    log = [Record.from_stored(n) for n in app.recorder.select_notifications(start=1, limit=100)]

    reports, problems = verify_log(log)
    assert all(r.intact for r in reports)  # alone, it looks like an event from before the chain
    assert [p.aggregate_id for p in problems] == [str(other.id)]


def test_a_chain_cut_off_after_its_head_was_exported_is_named(app: LedgerApp) -> None:
    ledger = ledger_with_notes(app, 4)
    heads = {report.aggregate_id: {"version": report.version, "head": report.head}
             for report in verify_records(records(app, ledger))}

    shorter = verify_records([r for r in records(app, ledger) if r.version <= 3])
    (problem,) = verify_against_heads(shorter, heads)
    assert problem.version == 4 and "gone" in problem.problem
    assert verify_against_heads(verify_records(records(app, ledger)), heads) == []


def test_a_counter_is_loaded_from_its_latest_snapshot_not_every_number_it_issued(app: LedgerApp) -> None:
    from shared.serials import Serial, next_serial

    for _ in range(250):
        app.save(next_serial(app, "diary/RUN", 2025))
    serial_id = Serial.create_id("diary/RUN", 2025)
    [snapshot] = app.snapshots.get(serial_id, desc=True, limit=1)
    assert snapshot.originator_version == 200  # one every 100 events
    assert app.repository.get(serial_id).last == 250
    assert verify_chain(str(serial_id), [Record.from_stored(s) for s in app.recorder.select_events(serial_id)]).intact


def test_an_aggregate_of_a_kind_never_snapshotted_is_loaded_without_asking_for_a_snapshot(app: LedgerApp) -> None:
    from uuid import uuid4

    from eventsourcing.application import AggregateNotFoundError

    from shared.errors import NotFound
    from shared.serials import Serial, next_serial

    ledger = ledger_with_notes(app, 3)
    for _ in range(120):
        app.save(next_serial(app, "diary/RUN", 2025))
    asked: list[Any] = []
    get_snapshots = app.snapshots.get
    app.snapshots.get = lambda *args, **kwargs: asked.append(kwargs) or get_snapshots(*args, **kwargs)  # type: ignore[method-assign]

    loaded = app.load(ledger.id, Ledger)
    assert (loaded.version, loaded.notes) == (ledger.version, ledger.notes) and asked == []
    with pytest.raises(NotFound):
        app.load(uuid4(), Ledger)
    with pytest.raises(AggregateNotFoundError):
        app.repository.get(uuid4(), snapshots=False)
    assert asked == []

    serial_id = Serial.create_id("diary/RUN", 2025)
    assert app.load(serial_id, Serial).last == 120 and len(asked) == 1  # a counter: from its snapshot
