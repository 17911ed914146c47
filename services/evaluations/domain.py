"""The Evaluation aggregate: planned → in progress → completed → published (seed 001, seed 003).

Findings can be revised until the evaluation is completed; every revision is an
event of its own, so the history keeps each one.
"""
from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from shared.domain import CommandsByState, TracedAggregate
from shared.errors import CommandNotAllowed, InvalidRequest


class SubjectKind(str, Enum):
    AGREEMENT = "agreement"
    LETTER_OF_INTENT = "letter_of_intent"
    BODY = "body"
    CASE = "case"


class EvaluationKind(str, Enum):
    MID_TERM = "mid_term"
    RELEVANCE = "relevance"
    FOLLOW_UP = "follow_up"
    DIALOGUE = "dialogue"


class EvaluationState(str, Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PUBLISHED = "published"


EVALUATION_COMMANDS: dict[EvaluationState, tuple[str, ...]] = {
    EvaluationState.PLANNED: ("start", "revise_findings"),
    EvaluationState.IN_PROGRESS: ("revise_findings", "complete"),
    EvaluationState.COMPLETED: ("publish",),
    EvaluationState.PUBLISHED: (),
}


class Evaluation(CommandsByState, TracedAggregate):
    effective_dates = {"Planned": None, "Started": "started_on", "FindingsRevised": None,
                       "Completed": "completed_on", "Published": "published_on"}
    commands_by_state = EVALUATION_COMMANDS

    @staticmethod
    def create_id(review_id: str | None) -> UUID:
        """The evaluation planned for a review has one id per review: it can only be planned once."""
        return uuid5(NAMESPACE_URL, f"/evaluations/for-review/{review_id}") if review_id else uuid4()

    @event("Planned")
    def __init__(
        self, *, title: str, kind: str, subject: dict[str, Any], period_from: date | None, period_to: date | None,
        responsible: list[dict[str, Any]], diary_number: str | None, review_id: str | None, actor: str,
    ):
        self.title = title
        self.kind = EvaluationKind(kind)
        self.subject = dict(subject)
        self.period_from = period_from
        self.period_to = period_to
        self.responsible = list(responsible)
        self.diary_number = diary_number
        self.review_id = review_id
        self.state = EvaluationState.PLANNED
        self.findings: dict[str, Any] | None = None
        self.revision = 0
        self.started_on: date | None = None
        self.completed_on: date | None = None
        self.published_on: date | None = None

    def start(self, *, started_on: date, actor: str) -> None:
        self.check_allows("start")
        if self.period_from and started_on < self.period_from:
            raise InvalidRequest.for_field("started_on", f"must not precede the period ({self.period_from})")
        self._started(started_on=started_on, actor=actor)

    def revise_findings(self, *, findings: dict[str, Any], actor: str) -> None:
        """Areas (challenges, opportunities, next steps), statements, conclusion, assessments."""
        self.check_allows("revise_findings")
        self._findings_revised(findings=findings, revision=self.revision + 1, actor=actor)

    def complete(self, *, completed_on: date, actor: str) -> None:
        self.check_allows("complete")
        if not self.findings or not self.findings.get("conclusion"):
            raise CommandNotAllowed("complete", "no conclusion in the findings yet", ["revise_findings"])
        if self.started_on and completed_on < self.started_on:
            raise InvalidRequest.for_field("completed_on", f"must not precede the start ({self.started_on})")
        self._completed(completed_on=completed_on, title=self.title, revision=self.revision, actor=actor)

    def publish(self, *, published_on: date, actor: str) -> None:
        self.check_allows("publish")
        if self.completed_on and published_on < self.completed_on:
            raise InvalidRequest.for_field("published_on", f"must not precede completion ({self.completed_on})")
        self._published(published_on=published_on, actor=actor)

    @event("Started")
    def _started(self, started_on: date, actor: str) -> None:
        self.started_on = started_on
        self.state = EvaluationState.IN_PROGRESS

    @event("FindingsRevised")
    def _findings_revised(self, findings: dict[str, Any], revision: int, actor: str) -> None:
        self.findings = dict(findings)
        self.revision = revision

    @event("Completed")
    def _completed(self, completed_on: date, title: str, revision: int, actor: str) -> None:
        self.completed_on = completed_on
        self.state = EvaluationState.COMPLETED

    @event("Published")
    def _published(self, published_on: date, actor: str) -> None:
        self.published_on = published_on
        self.state = EvaluationState.PUBLISHED
