"""The evaluations service's read model: evaluations by subject and state, their findings for search,
and the incidents of its inbox."""
from __future__ import annotations

from typing import Any, Iterator

from services.evaluations.domain import Evaluation
from services.evaluations.schemas import EvaluationView
from shared.inbox import INCIDENTS
from shared.readmodel import Listing, ReadModel, Row, SearchDocument

_view = EvaluationView()


def findings_texts(findings: dict[str, Any] | None) -> Iterator[str | None]:
    findings = findings or {}
    for area in findings.get("areas", []):
        yield area.get("name")
        for name in ("challenges", "opportunities", "next_steps"):
            yield from area.get(name, [])
    for statement in findings.get("statements", []):
        yield f"{statement.get('respondent')}: {statement.get('text')}"
    for name in ("conclusion", "assessed_results_and_consequences", "resources", "gender_equality"):
        yield findings.get(name)


def evaluation_row(evaluation: Evaluation) -> Row:
    return Row(
        sort_key=evaluation.created_on.isoformat(),
        view=_view.dump(evaluation),
        columns={"state": evaluation.state.value, "kind": evaluation.kind.value,
                 "subject_kind": evaluation.subject["kind"], "subject": evaluation.subject["reference"],
                 "diary_number": evaluation.diary_number, "review_id": evaluation.review_id},
        document=SearchDocument(title=evaluation.title, diary_number=evaluation.diary_number,
                                texts=[evaluation.subject.get("title"), *findings_texts(evaluation.findings)]),
    )


EVALUATIONS = Listing("evaluations", Evaluation, evaluation_row, noun="evaluation",
                      columns={"state": "text", "kind": "text", "subject_kind": "text", "subject": "text",
                               "diary_number": "text", "review_id": "text"})


class EvaluationsReadModel(ReadModel):
    listings = (EVALUATIONS, INCIDENTS)
