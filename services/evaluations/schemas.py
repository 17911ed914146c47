"""marshmallow schemas of the evaluations service."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.evaluations.domain import EvaluationKind, EvaluationState, SubjectKind
from shared.fields import day, one_of, text_field
from shared.schemas import FileView, file_references
from shared.schemas import HistoryView, PageQuery, next_field


def points() -> fields.List:
    return fields.List(text_field(5_000), load_default=list, validate=validate.Length(max=100))


class Subject(Schema):
    kind = fields.String(required=True, validate=one_of(SubjectKind))
    reference = text_field(100, required=True, metadata={
        "description": "the agreement's, letter's or body's id; a case's diary number"})
    title = text_field(300, load_default=None)

    @validates_schema
    def check_reference(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] != SubjectKind.CASE.value:
            try:
                UUID(data["reference"])
            except ValueError:
                raise ValidationError(f"the id of the {data['kind']}", "reference") from None


class Responsible(Schema):
    name = text_field(200, required=True)
    title = text_field(200, load_default=None)


class PlanEvaluation(Schema):
    title = text_field(300, required=True)
    kind = fields.String(required=True, validate=one_of(EvaluationKind))
    subject = fields.Nested(Subject, required=True)
    period_from = day(load_default=None)
    period_to = day(load_default=None)
    responsible = fields.List(fields.Nested(Responsible), load_default=list, validate=validate.Length(max=50))
    diary_number = text_field(50, load_default=None)

    @validates_schema
    def check_period(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("period_from") and data.get("period_to") and data["period_to"] < data["period_from"]:
            raise ValidationError("must not precede period_from", "period_to")


class StartEvaluation(Schema):
    started_on = day(load_default=None)


class Area(Schema):
    name = text_field(200, required=True, metadata={"example": "Samverkan"})
    challenges = points()
    opportunities = points()
    next_steps = points()


class Statement(Schema):
    respondent = text_field(200, required=True)
    text = text_field(5_000, required=True, metadata={"example": "Samverkan har stärkts under 2019-2022"})


class ReviseFindings(Schema):
    areas = fields.List(fields.Nested(Area), load_default=list, validate=validate.Length(max=50))
    statements = fields.List(fields.Nested(Statement), load_default=list, validate=validate.Length(max=500))
    conclusion = text_field(20_000, load_default=None)
    assessed_results_and_consequences = text_field(20_000, load_default=None)
    resources = text_field(20_000, load_default=None)
    gender_equality = text_field(20_000, load_default=None)
    files = file_references(metadata={"description": "the report's files (the evaluation report itself, "
                                                     "appendices), uploaded with POST /files"})


class FindingsView(ReviseFindings):
    files = fields.List(fields.Nested(FileView), metadata={
        "description": "GET /evaluations/{evaluation_id}/files/{sha256} answers each one's content"})


class CompleteEvaluation(Schema):
    completed_on = day(load_default=None)


class PublishEvaluation(Schema):
    published_on = day(load_default=None)


class EvaluationQuery(PageQuery):
    state = fields.String(load_default=None, validate=one_of(EvaluationState))
    kind = fields.String(load_default=None, validate=one_of(EvaluationKind))
    subject_kind = fields.String(load_default=None, validate=one_of(SubjectKind))
    subject = text_field(100, load_default=None, metadata={
        "description": "the subject's reference: an agreement's, letter's or body's id, or a case's diary number"})
    diary_number = text_field(50, load_default=None, metadata={"description": "404 when no evaluation has it"})
    review_id = text_field(100, load_default=None, metadata={"description": "the agreement review it was planned for"})


class EvaluationView(Schema):
    id = fields.UUID()
    version = fields.Integer()
    title = fields.String()
    kind = fields.Function(lambda e: e.kind.value)
    subject = fields.Nested(Subject)
    period_from = fields.Date(allow_none=True)
    period_to = fields.Date(allow_none=True)
    responsible = fields.List(fields.Nested(Responsible))
    diary_number = fields.String(allow_none=True)
    review_id = fields.String(allow_none=True, metadata={"description": "the agreement review it was planned for"})
    state = fields.Function(lambda e: e.state.value)
    allowed_commands = fields.Function(lambda e: list(e.allowed_commands()))
    findings = fields.Nested(FindingsView, allow_none=True)
    revision = fields.Integer()
    started_on = fields.Date(allow_none=True)
    completed_on = fields.Date(allow_none=True)
    published_on = fields.Date(allow_none=True)


class EvaluationList(Schema):
    evaluations = fields.List(fields.Nested(EvaluationView))
    next = next_field()


class EvaluationHistory(HistoryView):
    state = fields.Nested(EvaluationView)
