"""The evaluations service: plan, carry out, complete and publish evaluations over HTTP.

Strategists change things; every role may read. A review falling due in the
letters of intent service plans an evaluation here (shared.inbox, shared.topology).
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from werkzeug.wrappers import Response

from services.evaluations import schemas
from services.evaluations.application import EvaluationsApplication
from services.evaluations.domain import Evaluation
from shared import schemas as shared_schemas
from shared.auth import ROLES, Actor, Auth
from shared.dependencies import EventSourcedApplication
from shared.files import ALLOWED_MEDIA_TYPES
from shared.http import Paged, file_response
from shared.openapi import FILE, ApiDoc
from shared.operations import operations
from shared.views import history_response

STRATEGISTS = ("strategist",)
READERS = ROLES
NOT_NOW = (404, 409)

api = ApiDoc(
    title="Evaluations",
    version="1.0.0",
    description="Evaluations of agreements, letters of intent, collaboration bodies and cases: areas with "
                "challenges, opportunities and next steps, statements, conclusion; planned → in progress → "
                "completed → published.",
)
Loaded = dict[str, Any]


class EvaluationsService(operations(api, "evaluations", consumes_events=True, uploaders=STRATEGISTS)):
    name = "evaluations"

    evaluations = EventSourcedApplication(EvaluationsApplication)
    auth = Auth()

    @api.route("POST", "/evaluations", summary="Plan an evaluation", body=schemas.PlanEvaluation,
               response=schemas.EvaluationView, status=201, roles=STRATEGISTS)
    def plan_evaluation(self, actor: Actor, command: Loaded) -> dict[str, Any]:
        return view(self.evaluations.plan_evaluation(actor=actor.recorded_as, **command))

    @api.route("POST", "/evaluations/<uuid:evaluation_id>/start", summary="Start the work",
               body=schemas.StartEvaluation, response=schemas.EvaluationView, roles=STRATEGISTS, errors=NOT_NOW)
    def start_evaluation(self, actor: Actor, command: Loaded, evaluation_id: UUID) -> dict[str, Any]:
        return view(self.evaluations.start_evaluation(evaluation_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/evaluations/<uuid:evaluation_id>/findings",
               summary="Record or revise the findings (each revision stays in the history)",
               body=schemas.ReviseFindings, response=schemas.EvaluationView, roles=STRATEGISTS, errors=NOT_NOW)
    def revise_findings(self, actor: Actor, command: Loaded, evaluation_id: UUID) -> dict[str, Any]:
        return view(self.evaluations.revise_findings(evaluation_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/evaluations/<uuid:evaluation_id>/completion", summary="Complete: the findings are final",
               body=schemas.CompleteEvaluation, response=schemas.EvaluationView, roles=STRATEGISTS, errors=NOT_NOW)
    def complete_evaluation(self, actor: Actor, command: Loaded, evaluation_id: UUID) -> dict[str, Any]:
        return view(self.evaluations.complete_evaluation(evaluation_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/evaluations/<uuid:evaluation_id>/publication", summary="Publish",
               body=schemas.PublishEvaluation, response=schemas.EvaluationView, roles=STRATEGISTS, errors=NOT_NOW)
    def publish_evaluation(self, actor: Actor, command: Loaded, evaluation_id: UUID) -> dict[str, Any]:
        return view(self.evaluations.publish_evaluation(evaluation_id, actor=actor.recorded_as, **command))

    @api.route("GET", "/evaluations", summary="A page of evaluations in the order planned; by state, kind, subject "
               "and diary number", query=schemas.EvaluationQuery, response=schemas.EvaluationList, roles=READERS,
               errors=(404,))
    def list_evaluations(self, actor: Actor, query: Loaded) -> Paged:
        return Paged("evaluations", self.evaluations.list_evaluations(query))

    @api.route("GET", "/evaluations/<uuid:evaluation_id>/files/<sha256>", summary="A file of the evaluation's "
               "report, its SHA-256 checked as it is read", response=FILE, media_types=tuple(ALLOWED_MEDIA_TYPES),
               roles=READERS, errors=(404,))
    def report_file(self, actor: Actor, _: Loaded, evaluation_id: UUID, sha256: str) -> Response:
        file, content = self.evaluations.report_file(evaluation_id, sha256)
        return file_response(content, file["media_type"], file["filename"])

    @api.route("GET", "/evaluations/<uuid:evaluation_id>", summary="One evaluation",
               response=schemas.EvaluationView, roles=READERS, errors=(404,))
    def get_evaluation(self, actor: Actor, _: Loaded, evaluation_id: UUID) -> dict[str, Any]:
        return view(self.evaluations.get_evaluation(evaluation_id))

    @api.route("GET", "/evaluations/<uuid:evaluation_id>/history",
               summary="Every revision in order, and the evaluation as of a point",
               query=shared_schemas.HistoryQuery, response=schemas.EvaluationHistory, roles=READERS, errors=(404,))
    def evaluation_history(self, actor: Actor, query: Loaded, evaluation_id: UUID) -> dict[str, Any]:
        return history_response(self.evaluations, evaluation_id, Evaluation, query["as_of"], view,
                                in_effect_on=query["in_effect_on"])


evaluation_schema = schemas.EvaluationView()


def view(evaluation: Evaluation) -> dict[str, Any]:
    return evaluation_schema.dump(evaluation)
