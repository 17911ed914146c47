"""An inbox's backlog applied as runs: several events of one source in one transaction
(CaseApplication.apply_inbound_run, InboxConsumer.apply_received), on eventsourcing's in-memory
store; the broker's part is in tests/integration/test_inbox_runs.py."""
from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from kombu import Queue

from shared.amqp import BrokerSettings
from shared.inbox import Incident, InboxConsumer
from shared.store import StoreGate
from tests.support.ledgers import FailingAt, Ledger, LedgerApp, counting_saves


def envelope(position: int, number: str = "RS 2026-0001", kind: str = "Meeting.ItemAdded") -> dict[str, Any]:
    return {"event_id": f"e-{position}", "correlation_id": f"c-{position}", "position": position, "type": kind,
            "payload": {}, "diary_number": number, "actor": "Sekreterare"}


@pytest.fixture
def app() -> LedgerApp:
    return LedgerApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


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
    [envelope(1), {"position": 2, "type": "Meeting.ItemAdded"}, envelope(3)],  # malformed: no diary number
    [envelope(1), "not an envelope", envelope(3)],
    [envelope(2), envelope(1)],  # out of order
], ids=["refused", "malformed", "not-an-envelope", "out-of-order"])
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


def test_a_failing_event_stops_the_run_unacknowledged_from_it_on_and_those_before_stay_applied() -> None:
    app = FailingAt(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
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
