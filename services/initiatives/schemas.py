"""marshmallow schemas: what each request may carry, and how an initiative is shown."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.initiatives.domain import CONCLUSIVE_OUTCOMES, Direction, DocumentKind, Kind, Outcome, State
from shared.fields import Text, day, one_of, past_day, text_field
from shared.schemas import FileReference, FileView, HistoryView, PageQuery, next_field
from shared.secrecy import ANSWER_SECTIONS



class Submitter(Schema):
    name = text_field(200, required=True)
    party = text_field(50, load_default=None, metadata={"example": "KD"})


class Preparer(Schema):
    name = text_field(200, required=True)
    title = text_field(200, load_default=None, metadata={"example": "Regional utvecklingsdirektör"})


class Recipient(Schema):
    name = text_field(200, required=True)
    party = text_field(50, load_default=None)
    title = text_field(200, load_default=None)
    organisation = text_field(200, load_default=None)


class BasisDocument(Schema):
    title = text_field(500, required=True)
    reference = text_field(200, load_default=None, metadata={"description": "diary number or URL"})
    evaluation_id = fields.UUID(load_default=None, metadata={
        "description": "a completed evaluation of the evaluations service; refused if not completed"})
    document_id = fields.UUID(load_default=None, metadata={
        "description": "a document registered on this case (POST /initiatives/{id}/documents)"})


class RegisterDocument(Schema):
    """A document (handling) of the case, for the diary."""

    kind = fields.String(required=True, validate=one_of(DocumentKind), metadata={
        "description": "motion, tjansteskrivelse (the administration's report), remissvar (consultation reply), "
                       "protokollsutdrag (extract of minutes), beslut (decision), skrivelse (letter), ovrigt"})
    direction = fields.String(required=True, validate=one_of(Direction), metadata={
        "description": "incoming (received), outgoing (sent) or drawn_up (upprättad here)"})
    title = text_field(500, required=True)
    dated = day(required=True, metadata={"description": "the day it was received (incoming), sent (outgoing) or "
                                                        "drawn up; not after today"})
    counterpart = text_field(500, load_default=None, metadata={
        "description": "its sender (incoming) or recipient (outgoing); required for both"})
    file = fields.Nested(FileReference, load_default=None, allow_none=True, metadata={
        "description": "a file uploaded with POST /files; its size and media type are taken from the store"})
    secret_under = text_field(200, load_default=None, metadata={
        "description": "the provision of secrecy the document falls under, if any", "example": "OSL 21 kap. 7 §"})


class DocumentView(Schema):
    document_id = fields.String()
    kind = fields.String()
    direction = fields.String()
    title = fields.String()
    dated = fields.Date()
    counterpart = fields.String(allow_none=True)
    file = fields.Nested(FileView, allow_none=True, metadata={
        "description": "GET /initiatives/{id}/documents/{document_id}/file answers its content"})
    registered_on = fields.Date()
    secret_under = fields.String(allow_none=True)


class SubmitInitiative(Schema):
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    title = text_field(500, required=True)
    text = text_field(required=True)
    proposal_clauses = fields.List(text_field(5_000), load_default=list, metadata={"description": "att-satser"})
    submitters = fields.List(
        fields.Nested(Submitter), required=True, validate=validate.Length(min=1, max=100)
    )
    submitted_on = day(required=True)
    addressed_to = text_field(200, required=True, metadata={"example": "Regionala utvecklingsnämnden"})


class RegisterInitiative(Schema):
    registered_on = day(load_default=None)


class ReferForPreparation(Schema):
    preparers = fields.List(fields.Nested(Preparer), required=True, validate=validate.Length(min=1, max=50))
    due_date = day(load_default=None, metadata={"description": "a motion defaults to one year after submission"})
    referred_on = day(load_default=None)
    preparing_bodies = fields.List(text_field(200), load_default=list, validate=validate.Length(max=5), metadata={
        "description": "the bodies that prepare the case in turn, each deciding a proposal to the next; the body "
                       "the case is addressed to concludes it. Empty: that body decides it directly.",
        "example": ["Regionala utvecklingsnämnden", "Regionstyrelsen"]})


class DraftAnswer(Schema):
    summary = text_field(required=True)
    proposed_outcome = fields.String(
        required=True, validate=validate.OneOf(sorted(o.value for o in CONCLUSIVE_OUTCOMES))
    )
    proposal = text_field(required=True, metadata={"example": "Initiativärendet anses besvarat."})
    assessed_results_and_consequences = text_field(load_default=None)
    resources_and_financing = text_field(load_default=None)
    gender_equality = text_field(load_default=None)
    basis_documents = fields.List(fields.Nested(BasisDocument), load_default=list, validate=validate.Length(max=100))
    drafted_on = past_day(load_default=None, load_only=True, metadata={
        "description": "the day the answer was drafted, when it is recorded later: the event's effective date "
                       "(docs/events.md); default the day it is recorded. Not part of the answer."})


class DraftAnswerCommand(DraftAnswer):
    secret_sections = fields.Dict(
        keys=fields.String(validate=validate.OneOf(ANSWER_SECTIONS)), values=text_field(200), load_default=dict,
        metadata={"description": "sections secret from the moment they are written: section → the provision "
                                 "(OSL) it rests on; marked in the same save as the draft, so never published",
                  "example": {"resources_and_financing": "OSL 19 kap. 3 §"}})


class MarkSecret(Schema):
    target = text_field(300, required=True, metadata={
        "description": "answer.<section> (summary, proposal, assessed_results_and_consequences, "
                       "resources_and_financing, gender_equality) or document:<document_id>",
        "example": "answer.summary"})
    provision = text_field(200, load_default=None, metadata={
        "description": "the provision the secrecy rests on (required)", "example": "OSL 21 kap. 7 §"})
    reason = text_field(5_000, load_default=None)
    marked_on = past_day(load_default=None)


class LiftSecrecy(Schema):
    target = text_field(300, required=True, metadata={"example": "answer.summary"})
    reason = text_field(5_000, required=True, metadata={"example": "Sekretessprövning: uppgiften kan lämnas ut"})
    lifted_on = past_day(load_default=None)


class ScheduleForDecision(Schema):
    body = text_field(200, required=True, metadata={"example": "Regionala utvecklingsnämnden"})
    meeting = text_field(200, required=True, metadata={"example": "RUN sammanträde 2025-06-12"})
    meeting_date = day(load_default=None)


class RecordDecision(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    paragraph = text_field(20, load_default=None, metadata={"example": "§ 22"})
    text = text_field(required=True)
    decided_on = day(load_default=None)
    proposal_to = text_field(200, load_default=None, metadata={
        "description": "the decision is a proposal to this body (förslag till beslut), which decides next",
        "example": "Regionfullmäktige"})


class FinaliseDecision(Schema):
    minutes_adjusted_on = day(load_default=None)


class DispatchDecision(Schema):
    recipients = fields.List(fields.Nested(Recipient), required=True, validate=validate.Length(min=1, max=500))
    dispatched_on = day(load_default=None)


class CloseInitiative(Schema):
    closed_on = day(load_default=None)


class WithdrawInitiative(Schema):
    reason = text_field(5_000, required=True)
    withdrawn_on = day(load_default=None)


class ListQuery(PageQuery):
    state = fields.String(validate=validate.OneOf([s.value for s in State]), load_default=None)
    kind = fields.String(validate=validate.OneOf([k.value for k in Kind]), load_default=None)
    diary = text_field(50, load_default=None, metadata={"example": "RUN"})
    diary_number = text_field(50, load_default=None, metadata={
        "example": "RUN 2025-0042", "description": "look up one case: 404 when there is none"})
    registered_from = day(load_default=None)
    registered_to = day(load_default=None)
    decided_from = day(load_default=None, metadata={"description": "the date of the conclusive decision"})
    decided_to = day(load_default=None)
    submitter = text_field(200, load_default=None, metadata={"description": "a submitter's name (any case)"})
    party = text_field(50, load_default=None, metadata={"example": "KD"})
    preparer = text_field(200, load_default=None, metadata={"description": "a preparer's name (any case)"})
    overdue = fields.Boolean(load_default=False, metadata={"description": "undecided past the due date (today, "
                                                                          "Swedish time)"})


# --- views -------------------------------------------------------------------


class AnswerView(DraftAnswer):
    revision = fields.Integer()


class ScheduleView(ScheduleForDecision):
    meeting_id = fields.String(allow_none=True, metadata={"description": "the meetings service's meeting"})


class DecisionView(RecordDecision):
    meeting_id = fields.String(allow_none=True)
    body = fields.String()
    meeting = fields.String()
    meeting_date = fields.Date(allow_none=True)


class ProposalView(DecisionView):
    """A preparing body's proposal to the body that decides next."""


class EnclosureView(Schema):
    kind = fields.String(metadata={"example": "extract_of_minutes"})
    title = fields.String()
    meeting_id = fields.String()
    paragraph = fields.String()


class MarkingView(Schema):
    provision = fields.String()
    marked_on = fields.Date()
    marked_by = fields.String()


class RedactionView(Schema):
    target = fields.String(metadata={"example": "answer.summary"})
    provision = fields.String(metadata={"example": "OSL 21 kap. 7 §"})


class WithdrawalView(Schema):
    reason = fields.String()
    withdrawn_on = fields.Date()


class InitiativeView(Schema):
    id = fields.UUID()
    version = fields.Integer()
    kind = fields.Function(lambda i: i.kind.value)
    state = fields.Function(lambda i: i.state.value)
    allowed_commands = fields.Function(lambda i: list(i.allowed_commands()))
    title = fields.String()
    text = fields.String()
    proposal_clauses = fields.List(fields.String())
    submitters = fields.List(fields.Nested(Submitter))
    submitted_on = fields.Date()
    addressed_to = fields.String()
    diary_number = fields.String(allow_none=True)
    registered_on = fields.Date(allow_none=True)
    preparers = fields.List(fields.Nested(Preparer))
    preparing_bodies = fields.List(fields.String())
    due_date = fields.Date(allow_none=True)
    answer = fields.Function(
        lambda i: AnswerView().dump({**i.answer, "revision": i.answer_revision}) if i.answer else None
    )
    schedule = fields.Nested(ScheduleView, allow_none=True)
    decisions = fields.List(fields.Nested(DecisionView))
    proposals = fields.List(fields.Nested(ProposalView), metadata={
        "description": "the preparing bodies' proposals in this round of preparation, in order"})
    standing = fields.String(allow_none=True, metadata={
        "description": "where a proposed case stands",
        "example": "proposed by Regionala utvecklingsnämnden 2021-11-15 § 45, awaiting Regionfullmäktige"})
    decision = fields.Nested(DecisionView, allow_none=True)
    finalised_on = fields.Date(allow_none=True)
    legal_force_on = fields.Date(allow_none=True, metadata={
        "description": "the day the appeal period after the notice of the adjusted minutes ended: the decision stands"})
    recipients = fields.List(fields.Nested(Recipient))
    dispatched_on = fields.Date(allow_none=True)
    enclosures = fields.List(fields.Nested(EnclosureView), metadata={
        "description": "what went with the dispatched decision: the extract of the minutes "
                       "(GET /meetings/{meeting_id}/paragraphs/{n}/extract.pdf of the meetings service)"})
    closed_on = fields.Date(allow_none=True)
    withdrawal = fields.Nested(WithdrawalView, allow_none=True)
    documents = fields.List(fields.Nested(DocumentView), metadata={"description": "the registered documents, "
                                                                   "in the order they were registered"})
    secrecy = fields.Function(lambda i: {target: MarkingView().dump(m) for target, m in i.secrecy.items()},
                              metadata={"description": "what is marked secret (OSL): target → provision, "
                                                       "marked_on, marked_by"})
    redactions = fields.List(fields.Nested(RedactionView), metadata={
        "description": "what this reader is not shown, and under which provision (withheld content is null); "
                       "empty for roles cleared for secret content (SECRECY_CLEARED_ROLES)"})
    created_on = fields.DateTime()
    modified_on = fields.DateTime()


class UndecidedMotionsQuery(Schema):
    on = day(load_default=None, metadata={"description": "the day the report is for (default today, Swedish time)"})


class UndecidedMotion(Schema):
    id = fields.UUID()
    diary_number = fields.String(allow_none=True)
    title = fields.String()
    submitters = fields.List(fields.Nested(Submitter))
    submitted_on = fields.Date()
    due_date = fields.Date(allow_none=True)
    state = fields.String(metadata={"description": "its state now"})
    one_year_on = fields.Date(metadata={"description": "a year after it was raised: the time to decide it"})
    past_one_year = fields.Boolean(metadata={"description": "a year or more had passed on the report's day"})


class UndecidedMotionsReport(Schema):
    """The motions undecided on a day, oldest first (reported to the council twice a year, KL 5:35)."""

    on = fields.Date()
    count = fields.Integer()
    past_one_year = fields.Integer(metadata={"description": "how many of them had waited a year or more"})
    motions = fields.List(fields.Nested(UndecidedMotion))


class InitiativeList(Schema):
    initiatives = fields.List(fields.Nested(InitiativeView))
    next = next_field()


class InitiativeHistory(HistoryView):
    state = fields.Nested(InitiativeView)




class ImportQuery(Schema):
    filename = Text(required=True, validate=[validate.Length(min=1, max=200), validate.Regexp(
        r"^[^/\\\x00-\x1f]+$", error="a file name, without a path")], metadata={"example": "diary-2021.json"})


class ImportedCase(Schema):
    diary_number = fields.String()
    id = fields.UUID()
    outcome = fields.String(metadata={"description": "imported, or unchanged (imported from this file before)"})
    events = fields.Integer(metadata={"description": "the events recorded now"})


class ImportResult(Schema):
    filename = fields.String()
    sha256 = fields.String()
    records = fields.List(fields.Nested(ImportedCase))
