"""marshmallow schemas of the letters of intent service."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.letters_of_intent.domain import FollowUpKind, LetterState, ReviewKind
from shared.fields import day, one_of, text_field
from shared.schemas import FileView, HistoryView, PageQuery, file_references, next_field


def names(max_items: int = 500, **kwargs: object) -> fields.List:
    return fields.List(text_field(200), validate=validate.Length(min=1, max=max_items), **kwargs)


class Counterpart(Schema):
    name = text_field(200, required=True, metadata={"example": "Samforma"})
    description = text_field(1_000, load_default=None)


class Official(Schema):
    name = text_field(200, required=True)
    title = text_field(200, load_default=None)


class SignLetterOfIntent(Schema):
    title = text_field(300, required=True)
    counterparts = fields.List(fields.Nested(Counterpart), required=True, validate=validate.Length(min=1, max=50))
    purpose = text_field(10_000, required=True)
    areas = fields.List(text_field(300), load_default=list, validate=validate.Length(max=100),
                        metadata={"description": "areas of cooperation"})
    responsible_officials = fields.List(fields.Nested(Official), load_default=list, validate=validate.Length(max=100))
    signed_on = day(required=True)
    review_on = day(load_default=None)
    diary_number = text_field(50, load_default=None)


class AddFollowUp(Schema):
    kind = fields.String(required=True, validate=one_of(FollowUpKind))
    on = day(required=True)
    text = text_field(20_000, required=True)
    involved = fields.List(text_field(200), load_default=list, validate=validate.Length(max=200),
                           metadata={"description": "people or organisations"})
    diary_number = text_field(50, load_default=None, metadata={"description": "a case it concerns"})
    files = file_references(metadata={"description": "files uploaded with POST /files (minutes, a report)"})


class CompileInterimReport(Schema):
    title = text_field(300, required=True, metadata={"example": "Delrapport 2 2025"})
    period_from = day(required=True)
    period_to = day(required=True)


class ChangeStatus(Schema):
    reason = text_field(5_000, required=True)
    on = day(required=True)


class RenewLetter(ChangeStatus):
    review_on = day(required=True)


class LetterQuery(PageQuery):
    state = fields.String(load_default=None, validate=one_of(LetterState))
    party = text_field(200, load_default=None, metadata={"description": "a counterpart's name (any case)"})
    diary_number = text_field(50, load_default=None, metadata={"description": "404 when no letter has it"})


class AgreementQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(["in_force", "awaiting_signatures"]))
    party = text_field(200, load_default=None, metadata={"description": "a party's name (any case)"})
    unsigned_by = text_field(200, load_default=None, metadata={"description": "a party that has not signed yet"})
    diary_number = text_field(50, load_default=None, metadata={"description": "404 when no agreement has it"})


class DraftAgreement(Schema):
    title = text_field(300, required=True)
    summary = text_field(20_000, required=True)
    diary_number = text_field(50, required=True, metadata={"example": "KS 2022-0092-106"})
    period_from = day(required=True)
    period_to = day(required=True)
    parties = names(required=True)
    required_parties = names(load_default=None, metadata={
        "description": "whose signatures put the agreement in force (default: every party)"})


class SignContract(Schema):
    party = text_field(200, required=True, metadata={"example": "Lycksele kommun"})
    signed_by = text_field(200, required=True)
    signed_on = day(required=True)
    decided_by = text_field(200, load_default=None, metadata={"example": "Kommunfullmäktige"})


class OpenConsultation(Schema):
    title = text_field(300, required=True)
    recipients = names(load_default=None, metadata={"description": "default: every party"})
    reply_by = day(required=True)
    diary_number = text_field(50, required=True, metadata={"example": "RUN 374-2021"})


class RecordReply(Schema):
    party = text_field(200, required=True)
    received_on = day(required=True)
    diary_number = text_field(50, required=True)
    summary = text_field(20_000, load_default=None)
    files = file_references(metadata={"description": "the reply's files, uploaded with POST /files"})


class OverdueQuery(Schema):
    on = day(load_default=None, metadata={"description": "default: today"})


class ScheduleReview(Schema):
    kind = fields.String(required=True, validate=one_of(ReviewKind))
    title = text_field(300, required=True, metadata={"example": "Aktualitetsprövning 2024"})
    due_on = day(required=True)


# --- views -------------------------------------------------------------------


class FollowUpView(AddFollowUp):
    follow_up_id = fields.String()
    files = fields.List(fields.Nested(FileView), metadata={
        "description": "GET /letters/{letter_id}/files/{sha256} answers each one's content"})


class ReportView(CompileInterimReport):
    report_id = fields.String()
    compiled_on = fields.Date()
    follow_ups = fields.List(fields.Nested(FollowUpView))


class StatusChangeView(ChangeStatus):
    change = fields.String()


class LetterView(Schema):
    id = fields.UUID()
    version = fields.Integer()
    title = fields.String()
    counterparts = fields.List(fields.Nested(Counterpart))
    purpose = fields.String()
    areas = fields.List(fields.String())
    responsible_officials = fields.List(fields.Nested(Official))
    signed_on = fields.Date()
    review_on = fields.Date(allow_none=True)
    diary_number = fields.String(allow_none=True)
    state = fields.Function(lambda letter: letter.state.value)
    allowed_commands = fields.Function(lambda letter: list(letter.allowed_commands()))
    follow_ups = fields.List(fields.Nested(FollowUpView))
    reports = fields.List(fields.Nested(ReportView))
    status_changes = fields.List(fields.Nested(StatusChangeView))


class LetterList(Schema):
    letters = fields.List(fields.Nested(LetterView))
    next = next_field()


class PartyStatusView(Schema):
    party = fields.String()
    signed = fields.Boolean()
    signed_by = fields.String()
    signed_on = fields.Date()
    decided_by = fields.String(allow_none=True)


class ReplyView(Schema):
    received_on = fields.Date()
    late = fields.Boolean()
    summary = fields.String(allow_none=True)
    files = fields.List(fields.Nested(FileView), metadata={
        "description": "GET /agreements/{agreement_id}/files/{sha256} answers each one's content"})


class ConsultationView(Schema):
    consultation_id = fields.String()
    title = fields.String()
    recipients = fields.List(fields.String())
    reply_by = fields.Date()
    diary_number = fields.String()
    replies = fields.Dict(keys=fields.String(), values=fields.Nested(ReplyView))


class ReviewView(ScheduleReview):
    review_id = fields.String()
    announced = fields.Boolean(metadata={"description": "its falling due has been published"})


class AgreementView(Schema):
    id = fields.UUID()
    version = fields.Integer()
    title = fields.String()
    summary = fields.String()
    diary_number = fields.String()
    period_from = fields.Date()
    period_to = fields.Date()
    parties = fields.Function(lambda agreement: PartyStatusView(many=True).dump(agreement.party_status()))
    in_force_on = fields.Date(allow_none=True)
    consultations = fields.Function(
        lambda agreement: ConsultationView(many=True).dump(list(agreement.consultations.values())))
    reviews = fields.Function(lambda agreement: ReviewView(many=True).dump(list(agreement.reviews.values())))


class AgreementList(Schema):
    agreements = fields.List(fields.Nested(AgreementView))
    next = next_field()


class OverdueView(Schema):
    consultation_id = fields.String()
    on = fields.Date()
    overdue = fields.List(fields.String())


class LetterHistory(HistoryView):
    state = fields.Nested(LetterView)


class AgreementHistory(HistoryView):
    state = fields.Nested(AgreementView)
