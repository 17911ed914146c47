"""The Evaluation aggregate's rules, without a store."""
from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from services.evaluations.domain import Evaluation, EvaluationState
from shared.errors import CommandNotAllowed

ACTOR = "Stina Strateg"


def planned(review_id: str | None = None) -> Evaluation:
    return Evaluation(title="Aktualitetsprövning", kind="relevance",
                      subject={"kind": "agreement", "reference": "x", "title": "Överenskommelse"},
                      period_from=None, period_to=None, responsible=[], diary_number=None, review_id=review_id,
                      actor=ACTOR)


def test_one_review_plans_one_evaluation() -> None:
    assert planned("review-1").id == planned("review-1").id != planned("review-2").id
    assert planned().id != planned().id


def test_findings_are_revised_until_completion_and_completion_needs_a_conclusion() -> None:
    evaluation = planned()
    evaluation.start(started_on=date(2024, 10, 1), actor=ACTOR)
    evaluation.revise_findings(findings={"areas": [], "conclusion": None}, actor=ACTOR)
    with pytest.raises(CommandNotAllowed):
        evaluation.complete(completed_on=date(2024, 11, 1), actor=ACTOR)
    evaluation.revise_findings(findings={"areas": [], "conclusion": "Fortsatt aktuell"}, actor=ACTOR)
    evaluation.complete(completed_on=date(2024, 11, 1), actor=ACTOR)
    assert evaluation.state is EvaluationState.COMPLETED and evaluation.revision == 2
    with pytest.raises(CommandNotAllowed):
        evaluation.revise_findings(findings={"conclusion": "ändrad"}, actor=ACTOR)
    evaluation.publish(published_on=date(2024, 11, 2), actor=ACTOR)
    assert evaluation.state is EvaluationState.PUBLISHED


def review_fell_due(position: int, review_id: str = "review-2024") -> dict:
    return {"position": position, "type": "CollaborationAgreement.ReviewFellDue", "diary_number": "KS 2022-0092-106",
            "aggregate_id": "7b0e8a53-6c3f-4a36-9a59-d0a7e3f1c001", "actor": "letters_of_intent",
            "payload": {"review_id": review_id, "kind": "relevance", "title": "Aktualitetsprövning 2024",
                        "due_on": "2024-09-30", "agreement": "Överenskommelse", "diary_number": "KS 2022-0092-106"}}


def test_the_same_review_at_another_position_plans_nothing_more() -> None:
    """Republished under a new position (tracking cannot tell), the review's id still can (in-memory store)."""
    from services.evaluations.application import EvaluationsApplication

    app = EvaluationsApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert app.apply_inbound("letters_of_intent", review_fell_due(5)) == "applied"
    [planned] = app.list_evaluations({}).items
    app.start_evaluation(UUID(planned["id"]), actor=ACTOR, started_on=date(2024, 10, 1))
    assert app.apply_inbound("letters_of_intent", review_fell_due(9)) == "ignored"
    assert [e["state"] for e in app.list_evaluations({}).items] == [EvaluationState.IN_PROGRESS.value]
    no_review = review_fell_due(12, review_id="")
    assert app.apply_inbound("letters_of_intent", no_review) == "flagged"
    assert [i["problem"] for i in app.list_incidents({}).items] == ["Malformed event"]
