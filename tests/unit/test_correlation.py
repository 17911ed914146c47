"""Correlation and causation: what every event records of the work that recorded it (docs/events.md).

On eventsourcing's in-memory store: events triggered within a request's or an inbox's context,
events stored before the fields existed, their hashes, and the request id itself.
"""
from __future__ import annotations

import json
from typing import Any
from unittest.mock import MagicMock
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from kombu import Queue
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.amqp import BrokerSettings
from shared.chain import Record, digest, seal, unseal, verify_chain
from shared.context import working_on
from shared.http import request_id_of
from shared.inbox import InboxConsumer, inbound_context
from shared.store import StoreGate
from tests.support.dockets import Docket, DocketApp


@pytest.fixture
def app() -> DocketApp:
    return DocketApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def stored(app: DocketApp, docket_id: UUID) -> list[StoredEvent]:
    return list(app.recorder.select_events(docket_id))


def envelopes(app: DocketApp) -> list[dict[str, Any]]:
    return app.feed(0, 100)["events"]


def test_events_carry_the_correlation_and_causation_of_the_work_that_recorded_them(app: DocketApp) -> None:
    with working_on(request_id="abc-123", correlation_id="abc-123"):
        docket = Docket(title="Diarium", actor="Rut")
        docket.enter("first", actor="Rut")
    with working_on(correlation_id="chain-1", causation_id="event-9"):
        docket.enter("second", actor="Rut")
    app.save(docket)

    assert [(e["correlation_id"], e["causation_id"]) for e in envelopes(app)] == [
        ("abc-123", None), ("abc-123", None), ("chain-1", "event-9")]
    assert all("correlation_id" not in e["payload"] and "causation_id" not in e["payload"] for e in envelopes(app))
    assert json.loads(unseal(stored(app, docket.id)[2].state)[0])["causation_id"] == "event-9"  # stored, not derived
    assert app.repository.get(docket.id).entries == ["first", "second"]  # the methods never see them


def test_work_that_names_no_chain_begins_one_of_its_own(app: DocketApp) -> None:
    docket = Docket(title="Timer", actor="letters_of_intent")
    app.save(docket)
    (envelope,) = envelopes(app)
    assert UUID(envelope["correlation_id"]) and envelope["causation_id"] is None


def test_an_event_stored_before_correlation_existed_reads_back_with_null_and_keeps_its_hash(app: DocketApp) -> None:
    docket = Docket(title="Old diary", actor="Rut")
    app.save(docket)
    old = stored(app, docket.id)[0]
    content = json.loads(unseal(old.state)[0])
    del content["correlation_id"], content["causation_id"]  # what the store held before this change
    plain = json.dumps(content, separators=(",", ":")).encode()
    rows = app.recorder._stored_events  # type: ignore[attr-defined]
    rows[0] = StoredEvent(old.originator_id, 1, old.topic, seal(plain, unseal(old.state)[1],
                                                               digest(unseal(old.state)[1], docket.id, 1, old.topic, plain)))
    app.mapper._heads.clear()  # type: ignore[attr-defined]  # a restarted service knows no heads

    loaded = app.repository.get(docket.id)
    with working_on(correlation_id="later"):
        loaded.enter("after the change", actor="Rut")
    app.save(loaded)

    first, second = envelopes(app)
    assert (first["correlation_id"], first["causation_id"]) == (None, None)
    assert "correlation_id" not in first["payload"] and first["payload"]["title"] == "Old diary"
    assert second["correlation_id"] == "later"
    records = [Record.from_stored(s) for s in stored(app, docket.id)]
    assert verify_chain(str(docket.id), records).intact


def test_a_changed_correlation_breaks_the_events_hash(app: DocketApp) -> None:
    with working_on(correlation_id="abc-123"):
        docket = Docket(title="Diarium", actor="Rut")
    app.save(docket)
    row = stored(app, docket.id)[0]
    forged = Record(str(docket.id), 1, row.topic, row.state.replace(b'"abc-123"', b'"xyz-999"'))
    report = verify_chain(str(docket.id), [forged])
    assert not report.intact and "content" in report.problem.problem


def inbox(app: DocketApp) -> InboxConsumer:
    consumer = InboxConsumer(app=app, gate=StoreGate({}), broker=BrokerSettings("memory://"), source="meetings", queue=Queue("q"))
    consumer._stopped.set()
    return consumer


def test_an_event_applied_from_an_inbox_is_caused_by_it_and_continues_its_correlation(app: DocketApp) -> None:
    decided = {"event_id": "e-7", "correlation_id": "abc-123", "position": 7, "type": "Meeting.ItemDecided",
               "payload": {}, "diary_number": "RUN 2025-0001"}
    older = {"event_id": "e-8", "position": 8, "type": "Meeting.Closed", "payload": {}}  # sent before correlations
    for envelope in (decided, older):
        inbox(app).on_message(envelope, MagicMock())

    assert [(e["payload"]["title"], e["correlation_id"], e["causation_id"]) for e in envelopes(app)] == [
        ("Meeting.ItemDecided", "abc-123", "e-7"), ("Meeting.Closed", "e-8", "e-8")]


def test_an_inbound_envelope_that_breaks_the_contract_still_gets_a_chain() -> None:
    context = inbound_context({"event_id": ["not", "a", "string"], "correlation_id": 5})
    assert context["causation_id"] is None and UUID(context["correlation_id"])
    assert UUID(inbound_context("not an envelope")["correlation_id"])


def request(**headers: str) -> Request:
    return Request(EnvironBuilder(headers=headers).get_environ())


@pytest.mark.parametrize("given", ["abc-123", "x", "A" * 200, "req:1/2?3=4"])
def test_a_sane_request_id_is_taken_as_sent(given: str) -> None:
    assert request_id_of(request(**{"X-Request-ID": given})) == given


@pytest.mark.parametrize("given", ["", "A" * 201, "has space", "tab\there", "räksmörgås"])
def test_an_insane_or_missing_request_id_is_replaced_by_a_new_one(given: str) -> None:
    replaced = request(**{"X-Request-ID": given})
    assert UUID(request_id_of(replaced)) and request_id_of(replaced) == request_id_of(replaced)  # one per request
    assert UUID(request_id_of(request()))
    assert request_id_of(request()) != request_id_of(request())

