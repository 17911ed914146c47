"""An inbox's backlog applied as runs: several events of one source in one transaction
(CaseApplication.apply_inbound_run, InboxConsumer.apply_received), on a SQLite file (a run's
positions are recorded through the recorder's `alongside`, which eventsourcing's in-memory store
has not), and an event given again applied once; the broker's part is in
tests/integration/test_inbox_runs.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar
from unittest.mock import MagicMock

import pytest
from kombu import Queue

from shared.amqp import BrokerSettings
from shared.inbox import Incident, InboxConsumer
from shared.store import StoreGate, persistence_env
from tests.support.dockets import Docket
from tests.support.ledgers import FailingAt, Ledger, LedgerApp, counting_saves

T = TypeVar("T")


def envelope(position: int, number: str = "RS 2026-0001", kind: str = "Meeting.ItemAdded") -> dict[str, Any]:
    return {"event_id": f"e-{position}", "correlation_id": f"c-{position}", "position": position, "type": kind,
            "payload": {}, "diary_number": number, "actor": "Sekreterare"}


@pytest.fixture
def app(tmp_path: Path) -> LedgerApp:
    return on_sqlite(LedgerApp, tmp_path)


def on_sqlite(app_class: type[T], directory: Path) -> T:
    return app_class(env=persistence_env({"PERSISTENCE": "sqlite", "DATA_DIR": str(directory)}, "ledgers"))


def test_a_run_is_one_transaction_its_events_applied_in_order_each_seeing_the_ones_before(app: LedgerApp) -> None:
    inserts = counting_saves(app)
    run = [envelope(3, kind="Meeting.ItemAdded"), envelope(5, number="RS 2026-0002"),
           envelope(8, kind="Meeting.ItemDecided")]

    assert app.apply_inbound_run("meetings", run) == ["applied", "applied", "applied"]

    assert inserts == [5]  # opened and written, opened and written, written: one transaction
    assert app.lines("RS 2026-0001") == [3, 8]  # the third saw the first
    assert app.lines("RS 2026-0002") == [5]
    assert app.recorder.max_tracking_id("meetings") == 8
    events = app.feed(0, 100)["events"]
    assert [(e["type"], e["causation_id"], e["correlation_id"]) for e in events] == [
        ("Ledger.Opened", "e-3", "c-3"), ("Docket.Entered", "e-3", "c-3"),
        ("Ledger.Opened", "e-5", "c-5"), ("Docket.Entered", "e-5", "c-5"),
        ("Docket.Entered", "e-8", "c-8")]  # each caused by its own event, as when applied alone
    assert [e["aggregate_version"] for e in events if e["aggregate_id"] == str(Ledger.create_id("RS 2026-0001"))] == [1, 2, 3]


def test_events_of_a_run_already_applied_are_skipped_and_a_run_of_only_those_saves_nothing(app: LedgerApp) -> None:
    app.apply_inbound_run("meetings", [envelope(1), envelope(2)])
    inserts = counting_saves(app)

    assert app.apply_inbound_run("meetings", [envelope(2), envelope(3)]) == ["duplicate", "applied"]
    assert app.apply_inbound_run("meetings", [envelope(1), envelope(3)]) == ["duplicate", "duplicate"]

    assert inserts == [1]
    assert app.lines("RS 2026-0001") == [1, 2, 3]
    assert app.recorder.max_tracking_id("meetings") == 3


@pytest.mark.parametrize("run", [
    [envelope(1), envelope(2, kind="Refuse"), envelope(3)],  # refused: an incident, made alone
    [envelope(1), {"position": 2, "type": "Meeting.ItemAdded", "payload": {}}, envelope(3)],  # no diary number
], ids=["refused", "malformed"])
def test_a_run_that_would_not_simply_apply_saves_nothing_and_says_so(app: LedgerApp, run: list[Any]) -> None:
    inserts = counting_saves(app)
    assert app.apply_inbound_run("meetings", run) is None
    assert inserts == [] and app.recorder.max_tracking_id("meetings") is None


def inbox(app: Any, run_size: int = 50) -> InboxConsumer:
    consumer = InboxConsumer(app=app, gate=StoreGate({}), broker=BrokerSettings("memory://"), source="meetings",
                             queue=Queue("q"), run_size=run_size)
    consumer._stopped.set()  # no pause between tries in a unit test
    return consumer


def received(consumer: InboxConsumer, envelopes: list[Any]) -> list[MagicMock]:
    """The deliveries as the consumer takes them, each a message recording what was done with it."""
    messages = [MagicMock(name=f"message {index}") for index in range(len(envelopes))]
    consumer._received = list(zip(envelopes, messages))
    return messages


def test_the_consumer_applies_what_it_took_as_one_run_and_acknowledges_it_at_once(app: LedgerApp) -> None:
    consumer = inbox(app)
    nudged: list[bool] = []
    consumer.on_applied = lambda: nudged.append(True)
    first, second, third = received(consumer, [envelope(1), envelope(2), envelope(3)])

    consumer.apply_received()

    third.ack.assert_called_once_with(multiple=True)
    first.ack.assert_not_called(), second.ack.assert_not_called()
    assert nudged == [True]
    assert app.lines("RS 2026-0001") == [1, 2, 3]


def test_a_run_with_a_refused_event_is_applied_one_at_a_time_the_refusal_an_incident(app: LedgerApp) -> None:
    consumer = inbox(app)
    messages = received(consumer, [envelope(1), envelope(2, kind="Refuse"), envelope(3)])

    consumer.apply_received()

    for message in messages:
        message.ack.assert_called_once_with()
    assert app.lines("RS 2026-0001") == [1, 3]
    (incident,) = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 100)
                   if n.topic.endswith("Incident.Recorded")]
    assert incident.position == 2 and incident.causation_id == "e-2"
    assert isinstance(app.repository.get(incident.originator_id), Incident)
    assert app.recorder.max_tracking_id("meetings") == 3


@pytest.mark.parametrize("taken", [
    [envelope(1), "not an envelope", envelope(3)],
    [envelope(1), {"position": 2, "type": "Meeting.ItemAdded"}, envelope(3)],  # no payload
    [envelope(1), envelope(3), envelope(3)],  # the same position twice
    [envelope(3), envelope(1)],  # out of order
], ids=["not-an-envelope", "no-payload", "twice", "out-of-order"])
def test_messages_that_are_not_a_run_in_order_are_not_offered_as_one(app: LedgerApp, taken: list[Any]) -> None:
    consumer = inbox(app)
    offered: list[Any] = []
    app.apply_inbound_run = lambda source, envelopes: offered.append(envelopes)  # type: ignore[method-assign]
    messages = received(consumer, taken)

    assert consumer.apply_received() is True

    assert offered == []
    for message in messages:  # one at a time: each acknowledged alone, after its effect or incident
        message.ack.assert_called_once_with()


def test_a_failing_event_stops_the_run_unacknowledged_from_it_on_and_those_before_stay_applied(tmp_path: Path) -> None:
    app = on_sqlite(FailingAt, tmp_path)
    consumer = inbox(app)
    done = MagicMock()  # one record of what was done to every message, in the order it was done
    messages = received(consumer, [envelope(1), envelope(2), envelope(3), envelope(4)])
    for index, message in enumerate(messages):
        done.attach_mock(message, f"m{index + 1}")

    assert consumer.apply_received() is False  # the channel is closed: RabbitMQ gives m2, m3 and m4 again

    assert [name for name, _, _ in done.mock_calls] == ["m1.ack"]
    assert app.lines("RS 2026-0001") == [1]
    assert app.recorder.max_tracking_id("meetings") == 1
    assert app.inbox_failures["meetings"]["position"] == 2


def test_an_application_that_cannot_apply_runs_takes_one_message_at_a_time() -> None:
    class OneAtATime:
        inbox_failures: dict[str, Any] = {}

        def apply_inbound(self, source: str, envelope: Any) -> str:
            return "applied"

    assert inbox(OneAtATime()).run_size == 1
    assert inbox(LedgerApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), run_size=0).run_size == 1
    in_memory = LedgerApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})  # it cannot record a run's positions
    assert in_memory.apply_inbound_run("meetings", [envelope(1), envelope(2)]) is None


class Notes(LedgerApp):
    """Opens a new docket (an id of its own) for every event: effects no version conflict would stop."""

    other: "Notes | None" = None  # another instance on the same store, applying the run's start meanwhile

    def when(self, source: str, envelope: dict[str, Any]) -> list[Docket]:
        if self.other is not None:
            other, self.other = self.other, None
            assert other.apply_inbound_run(source, [envelope, {**envelope, "position": 2}]) == ["applied", "applied"]
        return [Docket(title=str(envelope["position"]), actor=source)]


def test_a_run_another_instance_applied_part_of_meanwhile_takes_no_effect(tmp_path: Path) -> None:
    from eventsourcing.persistence import IntegrityError

    app, other = on_sqlite(Notes, tmp_path), on_sqlite(Notes, tmp_path)
    app.other = other  # it is given positions 1 and 2 while this instance applies 1, 2 and 3

    with pytest.raises(IntegrityError):
        app.apply_inbound_run("meetings", [envelope(1), envelope(2), envelope(3)])

    assert len(app.feed(0, 100)["events"]) == 2  # once each, by the other instance
    assert app.recorder.max_tracking_id("meetings") == 2
    assert app.apply_inbound_run("meetings", [envelope(1), envelope(2), envelope(3)]) == [
        "duplicate", "duplicate", "applied"]
    assert sorted(e["payload"]["title"] for e in app.feed(0, 100)["events"]) == ["1", "2", "3"]


def test_an_event_this_instance_applied_is_known_a_duplicate_without_a_read_of_the_store(app: LedgerApp) -> None:
    assert app.apply_inbound("meetings", envelope(1)) == "applied"  # the store asked once, for the first

    def read_the_store(source: str) -> int:
        raise AssertionError("read the store for a position it had recorded itself")

    app.recorder.max_tracking_id = read_the_store  # type: ignore[method-assign]
    assert app.apply_inbound("meetings", envelope(1)) == "duplicate"
    assert app.lines("RS 2026-0001") == [1]


def test_an_event_another_instance_applied_takes_no_effect_here_and_the_next_one_does(tmp_path: Path) -> None:
    """The position is recorded only over a lower one: this instance, last told of position 1, is given
    position 2 after another instance applied it (the queue's messages came back to it); the second
    docket it would open goes with the refused position, and the event counts as a duplicate."""
    app, other = on_sqlite(Notes, tmp_path), on_sqlite(Notes, tmp_path)
    assert app.apply_inbound("meetings", envelope(1)) == "applied"
    assert other.apply_inbound("meetings", envelope(2)) == "applied"
    done: list[str] = []
    insert_events, max_tracking_id = app.recorder.insert_events, app.recorder.max_tracking_id
    app.recorder.insert_events = lambda *a, **k: done.append("write") or insert_events(*a, **k)  # type: ignore[method-assign]
    app.recorder.max_tracking_id = lambda *a: done.append("read") or max_tracking_id(*a)  # type: ignore[method-assign]

    assert app.apply_inbound("meetings", envelope(2)) == "duplicate"
    assert done == ["write", "read"]  # refused by the position, then found applied
    assert app.apply_inbound("meetings", envelope(1)) == "duplicate"
    assert sorted(e["payload"]["title"] for e in app.feed(0, 100)["events"]) == ["1", "2"]  # once each
    assert app.apply_inbound("meetings", envelope(3)) == "applied"
    assert app.recorder.max_tracking_id("meetings") == 3


def test_an_event_given_again_after_a_restart_is_a_duplicate_before_its_policy_runs(tmp_path: Path) -> None:
    """A process that has not applied a source's events yet asks the store where it stands once: an
    event applied before a restart (its acknowledgement lost) is a duplicate, its policy not run again
    (it may refuse the case as it is now); and one that kept failing and is given up on after another
    instance applied it is not flagged."""
    on_sqlite(LedgerApp, tmp_path).apply_inbound("meetings", envelope(1))
    restarted = on_sqlite(LedgerApp, tmp_path)
    restarted.when = lambda *_: pytest.fail("the policy ran for an event applied before")  # type: ignore[method-assign]
    assert restarted.apply_inbound("meetings", envelope(1)) == "duplicate"

    before = restarted.feed(0, 100)["events"]
    restarted.give_up_inbound("meetings", envelope(1), RuntimeError("kept failing"))
    assert restarted.feed(0, 100)["events"] == before  # no Incident.Recorded


class StoreDown(LedgerApp):
    def apply_inbound_run(self, source: str, envelopes: Any) -> Any:
        from shared.errors import StoreUnavailable

        raise StoreUnavailable("the store went away")

    def apply_inbound(self, source: str, envelope: Any) -> str:
        raise AssertionError("not tried one at a time while the store is down")


def test_a_run_the_store_cannot_take_is_given_back_whole_and_shown(tmp_path: Path) -> None:
    app = on_sqlite(StoreDown, tmp_path)
    consumer = inbox(app)
    messages = received(consumer, [envelope(1), envelope(2)])

    assert consumer.apply_received() is False  # given back, tried again after a pause

    assert not any(message.ack.called for message in messages)
    assert app.inbox_failures["meetings"]["position"] == 2 and "went away" in app.inbox_failures["meetings"]["error"]


def test_a_run_given_again_from_an_event_already_applied_is_shown_failing_until_all_of_it_is_applied(
        tmp_path: Path) -> None:
    """A run given again after a lost acknowledgement begins with an event applied already; the store
    failing, /health names the run's failure until its last event is applied, not as past at once."""
    from eventsourcing.persistence import Tracking

    app = on_sqlite(StoreDown, tmp_path)
    app.recorder.insert_tracking(Tracking(application_name="meetings", notification_id=1))
    consumer = inbox(app)
    received(consumer, [envelope(1), envelope(2), envelope(3)])

    assert consumer.apply_received() is False
    assert app.health()["inboxes"]["meetings"]["failing"]["position"] == 3
    assert app.health()["status"] == "degraded"
