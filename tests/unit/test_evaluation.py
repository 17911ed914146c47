"""The Evaluation aggregate's rules, without a store."""
from __future__ import annotations

from datetime import date

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
