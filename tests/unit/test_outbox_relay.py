"""The outbox relay's record of how far it published: not a commit per batch (shared.outbox).
The store is eventsourcing's in-memory one; the broker's producer a list (the broker's side is
tested against RabbitMQ in tests/integration/test_outbox.py and the fault tests)."""
from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

from kombu import Exchange

from services.initiatives.application import InitiativesApplication
from services.initiatives.demo import seed_000
from services.initiatives.schemas import SubmitInitiative
from shared.amqp import BrokerSettings
from shared.outbox import TRACKING_NAME, OutboxRelay


class Direct:
    def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)


class Connection:
    def heartbeat_check(self) -> None:
        pass


class Producer:
    def __init__(self, after_each: Any = lambda published: None):
        self.published: list[int] = []
        self.after_each = after_each

    def publish(self, body: str, **kwargs: Any) -> None:
        self.published.append(kwargs["headers"]["position"])
        self.after_each(self.published)


def relay_over_three_cases(**settings: Any) -> tuple[OutboxRelay, list[int]]:
    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    submission = SubmitInitiative().load(seed_000()["submission"])
    for _ in range(3):
        app.submit_initiative(actor="case-officer", **submission)
    relay = OutboxRelay(app=app, gate=Direct(), broker=BrokerSettings(amqp_uri="amqp://"), exchange=Exchange("x"),
                        envelope_for=app.envelope_for, batch_size=1, **settings)
    recorded: list[int] = []
    insert_tracking = app.recorder.insert_tracking

    def record(tracking: Any) -> None:
        assert tracking.application_name == TRACKING_NAME
        recorded.append(tracking.notification_id)
        insert_tracking(tracking)

    app.recorder.insert_tracking = record
    return relay, recorded


def test_while_events_keep_coming_the_position_is_recorded_once_not_per_batch_and_when_it_stops() -> None:
    relay, recorded = relay_over_three_cases(record_every=3600, poll_interval=3600)
    head = relay.app.recorder.max_notification_id()
    producer = Producer(lambda published: relay.stop() if len(published) == 3 else None)
    relay._publish_until_stopped(Connection(), producer)
    assert producer.published == [1, 2, 3] == list(range(1, head + 1))
    assert recorded == [3]  # one batch at a time, one record: at the stop
    assert relay.published_position() == 3


def test_an_idle_relay_records_where_it_stands_after_a_poll_interval() -> None:
    relay, recorded = relay_over_three_cases(record_every=3600, poll_interval=0.05)
    producer = Producer()
    runner = threading.Thread(target=relay._publish_until_stopped, args=(Connection(), producer))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not recorded and time.monotonic() < deadline:
            time.sleep(0.01)
        assert recorded == [3] and producer.published == [1, 2, 3]  # recorded once idle, not at each batch
    finally:
        relay.stop()
        runner.join(10)
    assert recorded == [3]  # nothing new to record at the stop


def test_with_no_interval_every_batch_is_recorded() -> None:
    relay, recorded = relay_over_three_cases(record_every=0, poll_interval=3600)
    producer = Producer(lambda published: relay.stop() if len(published) == 3 else None)
    relay._publish_until_stopped(Connection(), producer)
    assert recorded == [1, 2, 3]


def test_a_batch_short_of_full_is_the_logs_head_the_relay_waits_for_a_nudge_before_reading_again() -> None:
    relay, _ = relay_over_three_cases(record_every=3600, poll_interval=3600)
    relay.batch_size = 100
    reads: list[int] = []
    select_notifications = relay.app.recorder.select_notifications
    relay.app.recorder.select_notifications = lambda **kwargs: reads.append(kwargs["start"]) or select_notifications(**kwargs)
    producer = Producer()
    runner = threading.Thread(target=relay._publish_until_stopped, args=(Connection(), producer))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while len(producer.published) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert producer.published == [1, 2, 3] and reads == [0]  # one read: three of a hundred, the head
        relay.nudge()  # a save was committed
        deadline = time.monotonic() + 10
        while len(reads) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reads == [0, 3]
    finally:
        relay.stop()
        runner.join(10)


def test_what_its_process_saved_the_relay_publishes_without_reading_it_back_and_past_a_gap_it_reads_the_log() -> None:
    """A save hands its committed notifications to the relay, which publishes them as they would have
    been read; one that does not follow on from the position (another instance's event came between)
    makes the relay read the log."""
    relay, _ = relay_over_three_cases(record_every=3600, poll_interval=3600)
    relay.batch_size = 100
    app = relay.app
    app.outbox_relay = relay  # as shared.dependencies sets it
    relay.role = "leading"  # as run() sets it: a relay standing by keeps none
    submission = SubmitInitiative().load(seed_000()["submission"])
    reads: list[int] = []
    select_notifications = app.recorder.select_notifications
    app.recorder.select_notifications = lambda **kwargs: reads.append(kwargs["start"]) or select_notifications(**kwargs)
    bodies: dict[int, Any] = {}
    producer = Producer(lambda published: None)
    producer.publish = lambda body, **kwargs: bodies.update({kwargs["headers"]["position"]: json.loads(body)})  # type: ignore[method-assign]

    def published_up_to(position: int, nudged: bool = True) -> None:
        if nudged:
            relay.nudge()  # as a command's end does (shared.store.GatedApplication)
        deadline = time.monotonic() + 10
        while position not in bodies and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)

    runner = threading.Thread(target=relay._publish_until_stopped, args=(Connection(), producer))
    runner.start()
    try:
        published_up_to(3, nudged=False)
        assert sorted(bodies) == [1, 2, 3] and reads == [0]  # saved before the relay began: read
        app.submit_initiative(actor="case-officer", **submission)
        published_up_to(4)
        assert sorted(bodies) == [1, 2, 3, 4] and reads == [0]  # handed over: not read back
        app.outbox_relay = None  # as if another instance saved position 5
        app.submit_initiative(actor="case-officer", **submission)
        app.outbox_relay = relay
        app.submit_initiative(actor="case-officer", **submission)
        published_up_to(6)
        assert sorted(bodies) == [1, 2, 3, 4, 5, 6] and reads == [0, 4]  # 5 was not handed over: the log read
    finally:
        relay.stop()
        runner.join(10)
    as_read = [relay.envelope_for(notification) for notification in select_notifications(
        start=0, limit=100, inclusive_of_start=False)]
    assert [bodies[position] for position in range(1, 7)] == as_read


def test_a_registration_the_relay_reads_names_the_case_from_then_on_without_a_read_of_the_store() -> None:
    """The diary number of a case, and which case has it, are learnt from its Registered event as it is
    read from the log: a later event of the case is named, and the case found by its number (an agenda
    item of the meetings service), with no read of its history nor of the read model."""
    app = InitiativesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    initiative = app.submit_initiative(actor="case-officer", **SubmitInitiative().load(seed_000()["submission"]))
    registered = app.register_initiative(initiative.id, actor="registrar")
    app.feed(after=0, limit=100)  # the envelopes, as the relay reads them to publish
    app.refer_for_preparation(initiative.id, actor="registrar",
                              preparers=[{"name": "Kerstin Hamre", "title": "samordnare"}],
                              due_date=registered.registered_on + timedelta(days=365))

    def no_read(*_: Any) -> Any:
        raise AssertionError("read the store for a fact it had been told")

    app._registration = no_read  # type: ignore[method-assign]
    app._case_numbered = no_read  # type: ignore[method-assign]
    assert app.find_by_diary_number(registered.diary_number).id == initiative.id
    referred = app.feed(after=0, limit=100)["events"][-1]
    assert (referred["type"], referred["diary_number"]) == ("Initiative.ReferredForPreparation",
                                                            registered.diary_number)
