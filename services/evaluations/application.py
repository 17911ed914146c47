"""EvaluationsApplication: one method per use case, and the policy for reviews falling due."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from services.evaluations.domain import Evaluation
from services.evaluations.read_model import EvaluationsReadModel
from shared import clock
from shared.application import CaseApplication, MalformedEvent
from shared.readmodel import Page, equal_to

# The contract with the letters of intent service: its review kinds, as evaluation kinds here.
# A kind not listed makes the event an incident, visible, rather than a guess.
REVIEW_KINDS = {"mid_term": "mid_term", "relevance": "relevance"}


class EvaluationsApplication(CaseApplication):
    name = "evaluations"
    source = "evaluations"
    published = (Evaluation,)
    inbox_sources = ("letters_of_intent",)
    read_model_class = EvaluationsReadModel

    def evaluation_for_review(self, review_id: str) -> Evaluation:
        return self.load(Evaluation.create_id(review_id), Evaluation)

    def plan_evaluation(self, *, actor: str, **details: Any) -> Evaluation:
        evaluation = Evaluation(actor=actor, review_id=None, **details)
        self.save(evaluation)
        return evaluation

    def start_evaluation(self, evaluation_id: UUID, *, actor: str, started_on: date | None = None) -> Evaluation:
        return self.change(evaluation_id, Evaluation, "start", started_on=started_on or clock.today(), actor=actor)

    def revise_findings(self, evaluation_id: UUID, *, actor: str, **findings: Any) -> Evaluation:
        """The report's files must have been uploaded (POST /files); the findings record them as stored."""
        def with_files_as_stored(evaluation: Evaluation) -> dict[str, Any]:
            evaluation.check_allows("revise_findings")  # 404 and 409 before 400
            return {"findings": {**findings, "files": self.resolved_files(findings.get("files"), "files")}}

        return self.change(evaluation_id, Evaluation, "revise_findings", actor=actor, derived=with_files_as_stored)

    def report_file(self, evaluation_id: UUID, sha256: str) -> tuple[dict[str, Any], bytes]:
        evaluation = self.load(evaluation_id, Evaluation)
        return self.read_attached((evaluation.findings or {}).get("files", []), sha256,
                                  f"the evaluation {evaluation_id}")

    def complete_evaluation(self, evaluation_id: UUID, *, actor: str, completed_on: date | None = None) -> Evaluation:
        return self.change(evaluation_id, Evaluation, "complete", completed_on=completed_on or clock.today(),
                           actor=actor)

    def publish_evaluation(self, evaluation_id: UUID, *, actor: str, published_on: date | None = None) -> Evaluation:
        return self.change(evaluation_id, Evaluation, "publish", published_on=published_on or clock.today(),
                           actor=actor)

    def get_evaluation(self, evaluation_id: UUID) -> Evaluation:
        return self.load(evaluation_id, Evaluation)

    def list_evaluations(self, query: dict[str, Any]) -> Page:
        """A page of evaluations in the order planned, by state, kind, subject and the case's diary number."""
        conditions = equal_to(query, "state", "kind", "subject_kind", "subject", "diary_number", "review_id")
        return self.list_page("evaluations", query, conditions=conditions, diary_number=query.get("diary_number"))

    # --- policy: a review falls due in the agreements service --------------------

    def when(self, source: str, envelope: dict[str, Any]) -> list[Evaluation]:
        if source != "letters_of_intent" or envelope["type"] != "CollaborationAgreement.ReviewFellDue":
            return []
        payload = envelope["payload"]
        if not isinstance(payload.get("review_id"), str) or not payload["review_id"]:
            raise MalformedEvent("a review falling due must name its review_id")
        if self.exists(Evaluation.create_id(payload["review_id"])):
            return []  # planned already (the inbox's tracking makes this rare; the id makes it certain)
        return [Evaluation(
            title=payload["title"], kind=REVIEW_KINDS[payload["kind"]],
            subject={"kind": "agreement", "reference": envelope["aggregate_id"], "title": payload["agreement"]},
            period_from=None, period_to=date.fromisoformat(payload["due_on"]), responsible=[],
            diary_number=payload["diary_number"], review_id=payload["review_id"], actor=envelope["actor"] or source,
        )]
