"""Seed 000's letters of intent and seed 001's agreement end to end, under `nameko run`."""
from __future__ import annotations

from typing import Any

from services.letters_of_intent.demo import load_agreement, load_letters, seed
from tests.support.infrastructure import Infrastructure
from tests.support.services import api_for
from tests.support.subscriber import EventSubscriber


def test_letters_agreement_consultation_and_a_review_falling_due_reach_a_subscriber(
    run_services: Any, infrastructure: Infrastructure
) -> None:
    letters_api = api_for(run_services("letters_of_intent")["letters_of_intent"])
    subscriber = EventSubscriber(infrastructure.amqp_uri, "letters_of_intent").declare()
    try:
        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            return letters_api.command(path, "strategist", body)

        samforma, youth_up_north = load_letters(post)
        agreement = load_agreement(post)

        assert agreement["in_force_on"] == "2023-01-21"  # the fifteenth municipality, fourteen weeks after the first
        signing_days = [p["signed_on"] for p in agreement["parties"]]
        assert len(set(signing_days)) == 15
        consultation = agreement["consultations"][0]
        overdue = letters_api.get(
            f"/agreements/{agreement['id']}/consultations/{consultation['consultation_id']}/overdue",
            params={"on": "2022-07-01"}).json()["overdue"]
        assert len(overdue) == 9

        expected = {
            samforma["id"]: 1 + 6 + 1,          # signed, six follow-ups, an interim report
            youth_up_north["id"]: 1 + 2 + 1,
            agreement["id"]: 1 + 1 + 6 + 15 + 1 + 2 + 2,
            # drafted, consultation, six replies, fifteen contracts, in force, two reviews scheduled, two fallen due
        }
        received = subscriber.collect(expected, sum(expected.values()), timeout=90)
        by_aggregate = {aggregate: [e for e in received if e["aggregate_id"] == aggregate] for aggregate in expected}
        assert {aggregate: len(events) for aggregate, events in by_aggregate.items()} == expected
        for events in by_aggregate.values():
            assert [e["aggregate_version"] for e in events] == list(range(1, len(events) + 1))
        numbers = {e["type"]: e["diary_number"] for e in by_aggregate[agreement["id"]]}
        assert numbers["CollaborationAgreement.ConsultationOpened"] == "RUN 374-2021"  # the region's number for it
        assert numbers["CollaborationAgreement.ContractSigned"] == "KS 2022-0092-106"
        fallen_due = [e for e in by_aggregate[agreement["id"]] if e["type"] == "CollaborationAgreement.ReviewFellDue"]
        assert {e["payload"]["kind"] for e in fallen_due} == {"relevance"}
        assert {e["diary_number"] for e in fallen_due} == {"KS 2022-0092-106"}

        bad = letters_api.post("/agreements", "strategist", {**seed("seed_001_agreement")["agreement"], "parties": []})
        assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
        assert bad.json()["errors"][0]["field"] == "parties"
    finally:
        subscriber.delete()
