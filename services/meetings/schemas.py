"""marshmallow schemas of the meetings service: requests, and how bodies and meetings are shown."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.meetings.domain import BodyKind, Decision, MeetingFormat, MeetingState, MemberRole, Side
from shared.fields import EARLIEST_MOMENT, LATEST_MOMENT, day, one_of, text_field
from shared.schemas import HistoryView, PageQuery, next_field


class EstablishBody(Schema):
    name = text_field(200, required=True, metadata={"example": "Regionala samverkansrådet"})
    kind = fields.String(required=True, validate=one_of(BodyKind))
    convener = text_field(200, required=True, metadata={"example": "Region Västernorrland"})
    format = fields.String(required=True, validate=one_of(MeetingFormat))
    cadence = text_field(200, load_default=None, metadata={"example": "digitalt ca 1 gång/månad, 1 internat/år"})
    purpose = text_field(5_000, load_default=None)


class AddMember(Schema):
    name = text_field(200, required=True, metadata={"description": "a person or an organisation"})
    is_organisation = fields.Boolean(load_default=False)
    organisation = text_field(200, load_default=None, metadata={"description": "whom a person represents"})
    party = text_field(50, load_default=None)
    role = fields.String(required=True, validate=one_of(MemberRole))
    side = fields.String(load_default=None, validate=one_of(Side))
    from_date = day(required=True)


class EndMembership(Schema):
    to_date = day(required=True)


class BodyQuery(Schema):
    on = day(load_default=None, metadata={"description": "show the members who sat on the body that day"})


class ScheduleMeeting(Schema):
    body_id = fields.UUID(required=True)
    title = text_field(300, required=True)
    starts_at = fields.AwareDateTime(
        required=True, metadata={"example": "2025-11-12T09:00:00+01:00"},
        validate=validate.Range(min=EARLIEST_MOMENT, max=LATEST_MOMENT),
    )
    place = text_field(300, load_default=None)
    link = fields.Url(load_default=None)


class ConveneMeeting(Schema):
    convened_on = day(load_default=None)


class CancelMeeting(Schema):
    reason = text_field(2_000, required=True)


class AddAgendaItem(Schema):
    title = text_field(500, required=True)
    diary_number = text_field(50, load_default=None, metadata={"example": "RUN 2025-0042"})
    goal_area = text_field(200, load_default=None, metadata={"description": "the regional strategy's goal area"})


class ReorderAgenda(Schema):
    item_ids = fields.List(text_field(64), required=True, validate=validate.Length(min=1, max=500))


class WithdrawAgendaItem(Schema):
    reason = text_field(2_000, required=True)


class Attendee(Schema):
    name = text_field(200, required=True)
    role = text_field(100, load_default=None, metadata={
        "description": "taken from the membership when the body's members are on record"})
    party = text_field(50, load_default=None)
    serving_for = text_field(200, load_default=None, metadata={
        "description": "a substitute serving for this absent member (tjänstgörande ersättare)"})


class RecordAttendance(Schema):
    present = fields.List(fields.Nested(Attendee), required=True, validate=validate.Length(min=1, max=500))


class Proposal(Schema):
    by = text_field(200, required=True, metadata={"example": "Regiondirektören"})
    by_member = fields.Boolean(load_default=False, metadata={
        "description": "a member's counter-proposal (yrkande); the administration's proposal otherwise"})
    text = text_field(10_000, required=True)


class Ballot(Schema):
    member = text_field(200, required=True)
    vote = fields.String(required=True, validate=validate.OneOf(["yes", "no", "abstain"]))


class Vote(Schema):
    yes_proposal = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=20), metadata={
        "description": "the proposal a yes vote is for (1, 2, …)"})
    no_proposal = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=20), metadata={
        "description": "the proposal a no vote is for"})
    ballots = fields.List(fields.Nested(Ballot), required=True, validate=validate.Length(min=1, max=500))
    casting_vote = fields.String(load_default=None, validate=validate.OneOf(["yes", "no"]), metadata={
        "description": "the chair's casting vote (utslagsröst) when the vote is tied"})


class Reservation(Schema):
    by = text_field(200, required=True, metadata={"description": "a member, or a party group"})
    party_group = fields.Boolean(load_default=False)
    reason = text_field(10_000, load_default=None, metadata={"description": "a written reservation"})


class DecideItem(Schema):
    outcome = fields.String(required=True, validate=one_of(Decision))
    text = text_field(required=True)
    proposal_to = text_field(200, load_default=None, metadata={
        "description": "the decision is a proposal to this body (förslag till beslut), which decides next",
        "example": "Regionfullmäktige"})
    proposals = fields.List(fields.Nested(Proposal), load_default=list, validate=validate.Length(max=20))
    vote = fields.Nested(Vote, load_default=None, allow_none=True, metadata={"description": "when a vote is called"})
    reservations = fields.List(fields.Nested(Reservation), load_default=list, validate=validate.Length(max=100))
    recused = fields.List(text_field(200), load_default=list, validate=validate.Length(max=100), metadata={
        "description": "members present who did not take part because of a conflict of interest (jäv)"})


class AppointAdjusters(Schema):
    adjusters = fields.List(text_field(200), required=True, validate=validate.Length(min=1, max=10))


class SignMinutes(Schema):
    adjuster = text_field(200, required=True)
    signed_on = day(load_default=None)


class RecordPublicNotice(Schema):
    notice_on = day(load_default=None)


class NoBody(Schema):
    """A command that carries nothing (unknown fields are refused)."""


class MeetingQuery(PageQuery):
    body_id = fields.UUID(load_default=None)
    state = fields.String(load_default=None, validate=one_of(MeetingState))
    from_ = day(load_default=None, data_key="from", metadata={"description": "meetings on or after this day"})
    to = day(load_default=None, metadata={"description": "meetings on or before this day (Swedish time)"})
    diary_number = text_field(50, load_default=None, metadata={
        "description": "meetings with the case on their agenda; 404 when there is none"})


class BodyListQuery(PageQuery):
    kind = fields.String(load_default=None, validate=one_of(BodyKind))


# --- views -------------------------------------------------------------------


class MembershipView(AddMember):
    membership_id = fields.String()
    to_date = fields.Date(allow_none=True)


class BodyView(Schema):
    id = fields.UUID()
    version = fields.Integer()
    name = fields.String()
    kind = fields.Function(lambda b: b.kind.value)
    convener = fields.String()
    format = fields.Function(lambda b: b.format.value)
    cadence = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    memberships = fields.Function(lambda b: MembershipView(many=True).dump(list(b.memberships.values())))


class BodyList(Schema):
    bodies = fields.List(fields.Nested(BodyView))
    next = next_field()


class AgendaItemView(AddAgendaItem):
    item_id = fields.String()
    number = fields.Integer()


class CountedVote(Vote):
    yes = fields.Integer()
    no = fields.Integer()
    abstain = fields.Integer()
    result = fields.String(metadata={"description": "yes or no: which proposal the body decided"})


class ParagraphView(DecideItem):
    vote = fields.Nested(CountedVote, allow_none=True)
    item_id = fields.String()
    paragraph = fields.String()
    diary_number = fields.String(allow_none=True)
    title = fields.String()


class MeetingView(Schema):
    id = fields.UUID()
    version = fields.Integer()
    body_id = fields.UUID()
    body = fields.String()
    title = fields.String()
    starts_at = fields.DateTime()
    place = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    state = fields.Function(lambda m: m.state.value)
    allowed_commands = fields.Function(lambda m: list(m.allowed_commands()))
    agenda = fields.List(fields.Nested(AgendaItemView))
    attendance = fields.List(fields.Nested(Attendee))
    seats = fields.Integer(allow_none=True, metadata={
        "description": "the body's members on the day (for the quorum), when its membership is on record"})
    paragraphs = fields.List(fields.Nested(ParagraphView))
    adjusters = fields.List(fields.String())
    signatures = fields.Dict(keys=fields.String(), values=fields.Date())
    adjusted_on = fields.Date(allow_none=True)
    public_notice_on = fields.Date(allow_none=True)
    cancellation = fields.String(allow_none=True)


class ProposalNoted(Schema):
    body = fields.String()
    proposal_to = fields.String()
    paragraph = fields.String(allow_none=True)


class CaseProcedureView(Schema):
    diary_number = fields.String()
    addressed_to = fields.String(metadata={"description": "the body that concludes the case"})
    preparing_bodies = fields.List(fields.String(), metadata={"description": "the bodies that propose, in turn"})
    proposals = fields.List(fields.Nested(ProposalNoted), metadata={"description": "this round's proposals so far"})


class MeetingList(Schema):
    meetings = fields.List(fields.Nested(MeetingView))
    next = next_field()


class MeetingHistory(HistoryView):
    state = fields.Nested(MeetingView)


class BodyHistory(HistoryView):
    state = fields.Nested(BodyView)
