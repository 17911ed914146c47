"""What the audit service takes and gives."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.fields import EARLIEST_MOMENT, LATEST_MOMENT, day
from shared.schemas import BASIS, AggregateStateView, EnvelopeView, Moment, SearchPage, SearchQuery  # noqa: F401


class CaseQuery(Schema):
    """`as_of`: as recorded by a moment (now, without); `in_effect_on`: as in effect on a day. Never both."""

    as_of = Moment(load_default=None, metadata={"type": "string", "example": "2025-11-12"})
    in_effect_on = day(load_default=None, metadata={"description": "as in effect on this day (docs/events.md): "
                       "each aggregate's events up to the first with a later effective date, by effective date"})

    @validates_schema
    def _one_basis(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("as_of") is not None and data.get("in_effect_on") is not None:
            raise ValidationError("give either as_of (as recorded) or in_effect_on (as in effect), not both",
                                  field_name="in_effect_on")


class ArchiveQuery(Schema):
    audience = fields.String(load_default="auditor", validate=validate.OneOf(("auditor", "public")), metadata={
        "description": "auditor: every content, secret or not (the README says so); public: content marked secret "
                       "(OSL) withheld and named with its provision, the stored events left out"})


class Cause(Schema):
    """The event whose arrival recorded a timeline entry, where it is in the same timeline."""

    event_id = fields.String(metadata={"description": "the entry's causation_id"})
    source = fields.String(allow_none=True, metadata={"description": "null when the cause is not in this timeline"})
    type = fields.String(allow_none=True)
    aggregate_id = fields.String(allow_none=True)
    aggregate_version = fields.Integer(allow_none=True)
    position = fields.Integer(allow_none=True)
    occurred_at = fields.DateTime(allow_none=True)


class TimelineEntry(EnvelopeView):
    caused_by = fields.Nested(Cause, allow_none=True, metadata={
        "description": "what caused the event, when its envelope names a cause (causation_id); else null"})


class CaseTimeline(Schema):
    diary_number = fields.String()
    as_of = fields.DateTime(allow_none=True)
    basis = BASIS
    in_effect_on = fields.Date(allow_none=True)
    events = fields.List(fields.Nested(TimelineEntry))


class ServiceAggregateState(AggregateStateView):
    service = fields.String()


class CaseStates(Schema):
    diary_number = fields.String()
    as_of = fields.DateTime(allow_none=True)
    basis = BASIS
    in_effect_on = fields.Date(allow_none=True)
    aggregates = fields.List(fields.Nested(ServiceAggregateState))


class ChainProblem(Schema):
    version = fields.Integer()
    position = fields.Integer(allow_none=True)
    problem = fields.String()


class ChainView(Schema):
    service = fields.String()
    aggregate_id = fields.String()
    events = fields.Integer()
    version = fields.Integer()
    head = fields.String(metadata={"description": "the hash of the aggregate's latest event"})
    unchained = fields.Integer(metadata={"description": "events recorded before chaining existed"})
    intact = fields.Boolean()
    problem = fields.Nested(ChainProblem, allow_none=True)


class VerificationView(Schema):
    intact = fields.Boolean()
    problems = fields.List(fields.String(), metadata={"description": "the first bad event of each broken chain"})
    aggregates = fields.List(fields.Nested(ChainView))


class CaseAggregate(Schema):
    service = fields.String()
    aggregate_id = fields.String()
    type = fields.String()


class CaseAggregates(Schema):
    diary_number = fields.String()
    aggregates = fields.List(fields.Nested(CaseAggregate))


class SearchAllQuery(SearchQuery):
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=4000),
                           metadata={"description": "opaque: the `next` of the previous page (where each service is)"})
    services = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={
        "description": "comma-separated services to search (default: all)", "example": "initiatives,meetings"})


# --- OParl 1.1 (services.audit.oparl; docs/oparl.md) ---------------------------------------------------


IN_RANGE = validate.Range(min=EARLIEST_MOMENT, max=LATEST_MOMENT)  # a moment the store can compare


class OParlListQuery(Schema):
    """OParl's list parameters (spec 2-05): full date-times with their offset (a `+` sent as %2B)."""

    created_since = fields.AwareDateTime(load_default=None, validate=IN_RANGE,
                                         metadata={"example": "2025-01-01T00:00:00+01:00"})
    created_until = fields.AwareDateTime(load_default=None, validate=IN_RANGE)
    modified_since = fields.AwareDateTime(load_default=None, validate=IN_RANGE, metadata={
        "description": "objects changed since; deleted objects are listed too (deleted: true)"})
    modified_until = fields.AwareDateTime(load_default=None, validate=IN_RANGE)
    page = fields.String(load_default=None, validate=validate.Length(min=1, max=4000), metadata={
        "description": "opaque: taken from links.next (where the previous page ended), not a page number"})
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100),
                           metadata={"description": "objects per page, at most 100 (default 50)"})
    omit_internal = fields.Boolean(load_default=False, metadata={
        "description": "true: Meeting.agendaItem and Person.membership are not embedded"})


class OParlObject(Schema):
    """Any OParl object: its fields are the specification's (https://schema.oparl.org/1.1/<type>)."""

    class Meta:
        unknown = "include"

    id = fields.Url(metadata={"description": "the object's URL"})
    type = fields.String(metadata={"example": "https://schema.oparl.org/1.1/Meeting"})
    created = fields.String(metadata={"format": "date-time"})
    modified = fields.String(metadata={"format": "date-time"})
    deleted = fields.Boolean()


class OParlPagination(Schema):
    elementsPerPage = fields.Integer()


class OParlLinks(Schema):
    first = fields.Url()
    next = fields.Url(metadata={"description": "the next page, with the same filters; absent on the last"})


class OParlList(Schema):
    data = fields.List(fields.Nested(OParlObject))
    pagination = fields.Nested(OParlPagination)
    links = fields.Nested(OParlLinks)
