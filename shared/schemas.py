"""Schemas every service uses: the feed, history as of a moment, event views."""
from __future__ import annotations

from datetime import datetime, time
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import clock
from shared.auth import ROLES
from shared.fields import day



class PageQuery(Schema):
    """Paging every list takes: at most `limit` items, after `cursor` (the `next` of the page before)."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                           metadata={"description": "items per page (default 50, at most 500)"})
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "opaque: the `next` of the previous page, with the same filters"})
    order = fields.String(load_default="asc", validate=validate.OneOf(["asc", "desc"]),
                          metadata={"description": "asc: the list's own order; desc: reversed (newest first)"})


class SearchQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "words, each of which must match (Swedish stemming on PostgreSQL, word prefixes on SQLite); "
                       "no operators, quotes or wildcards", "example": "samverkan kommunerna"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))


class SearchHit(Schema):
    service = fields.String()
    aggregate = fields.String(metadata={"description": "the kind of aggregate: Initiative, Meeting, ..."})
    listing = fields.String(metadata={"description": "the list it is in on its service: initiatives, bodies, ..."})
    aggregate_id = fields.String()
    diary_number = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    snippet = fields.String(metadata={"description": "text around the match, the matched words in <mark>…</mark>"})
    score = fields.Float()
    cursor = fields.String(metadata={"description": "continues the search after this hit"})


class SearchPage(Schema):
    hits = fields.List(fields.Nested(SearchHit))
    next = fields.String(allow_none=True, metadata={"description": "cursor of the next page; null on the last"})


def next_field() -> fields.String:
    return fields.String(allow_none=True, metadata={
        "description": "cursor of the next page (also in the Link header, rel=next); null on the last page"})


class FeedQuery(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


MAX_VERSION_DIGITS = 7  # longer digit strings are dates (20250601)


class AsOf(fields.Field):
    """A version number, or a moment (ISO 8601; a bare date means the end of that day, Swedish time)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        given = str(value).strip()
        if given.isascii() and given.isdigit() and len(given) <= MAX_VERSION_DIGITS:
            return {"version": int(given)}
        try:
            return {"at": parse_moment(given)}
        except ValueError:
            raise ValidationError("expected a version number or an ISO 8601 date or timestamp") from None


class Moment(fields.Field):
    """An ISO 8601 date or timestamp; a bare date means the end of that day, Swedish time (TIME_ZONE)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        try:
            return parse_moment(str(value).strip())
        except ValueError:
            raise ValidationError("expected an ISO 8601 date or timestamp") from None


def parse_moment(given: str) -> datetime:
    """ISO 8601; a bare date (2025-06-01 or 20250601) means the end of that day, Swedish time."""
    moment = datetime.fromisoformat(given)
    if len(given) in (8, 10):
        moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.time_zone())


class HistoryQuery(Schema):
    """`as_of`: as recorded by a version or moment; `in_effect_on`: as in effect on a day, by the business
    dates the events carry (docs/events.md). Never both."""

    as_of = AsOf(load_default=None, metadata={"type": "string", "example": "2025-06-01", "description":
                 "as recorded: a version number, or a moment (a bare date: the end of that day, Swedish time)"})
    in_effect_on = day(load_default=None, metadata={"description": "as in effect on this day: the events "
                       "whose effective date is on or before it, in order, up to the first that is later"})

    @validates_schema
    def _one_basis(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("as_of") is not None and data.get("in_effect_on") is not None:
            raise ValidationError("give either as_of (as recorded) or in_effect_on (as in effect), not both",
                                  field_name="in_effect_on")


BASIS = fields.String(metadata={"description": "recorded (as recorded by as_of, or now) or in_effect (as in "
                                               "effect on in_effect_on)", "example": "in_effect"})



class EventView(Schema):
    event_id = fields.UUID()
    type = fields.String()
    schema_version = fields.Integer()
    aggregate_id = fields.UUID()
    aggregate_version = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True, metadata={
        "description": "the chain of work the event belongs to: the request id of the HTTP request that began it "
                       "(null for events stored before it was recorded)"})
    causation_id = fields.String(allow_none=True, metadata={
        "description": "the event_id of another service's event whose arrival recorded this one (null when a "
                       "request or a timer did, and for events stored before it was recorded)"})
    effective_on = fields.Date(metadata={
        "description": "the business date the event took effect: its own (an imported step), its payload's "
                       "(registered_on, decided_on, ...), or the Swedish day it was recorded"})
    imported = fields.Dict(allow_none=True, metadata={
        "description": "{by, file, sha256, imported_at} when the event was imported from an older diary; else null"})
    payload = fields.Dict()
    redactions = fields.List(fields.Dict(keys=fields.String(), values=fields.String()), metadata={
        "description": "only where content of the payload is withheld as secret (OSL; shared.secrecy): "
                       "[{target, provision}]; the withheld content is null"})


class EnvelopeView(EventView):
    envelope_version = fields.Integer()
    source = fields.String()
    position = fields.Integer()
    diary_number = fields.String(allow_none=True)
    chain = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True,
                        metadata={"description": "{previous, hash}: the event's link in its aggregate's hash chain"})


class FeedView(Schema):
    events = fields.List(fields.Nested(EnvelopeView))
    last_position = fields.Integer()


class HistoryView(Schema):
    """One aggregate's events up to a point, and its state then (`state` is the service's view)."""

    aggregate_id = fields.UUID()
    as_of = fields.Dict(allow_none=True)
    basis = BASIS
    in_effect_on = fields.Date(allow_none=True)
    events = fields.List(fields.Nested(EventView))


class IncidentView(Schema):
    id = fields.UUID()
    source = fields.String()
    position = fields.Integer()
    event_type = fields.String()
    diary_number = fields.String(allow_none=True)
    problem = fields.String()
    detail = fields.String()
    created_on = fields.DateTime()


class IncidentList(Schema):
    incidents = fields.List(fields.Nested(IncidentView))
    next = next_field()


class ReminderQuery(PageQuery):
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES),
                         metadata={"description": "the role the reminders are for"})
    due_before = day(load_default=None, metadata={"description": "reminders due on or before this day"})


class ReminderView(Schema):
    """A reminder (bevakning) raised on an aggregate that still applies (shared.reminders)."""

    kind = fields.String(metadata={"example": "preparation_due_passed"})
    key = fields.String(metadata={"description": "unique per occurrence: the aggregate raised it once"})
    due_on = fields.Date()
    role = fields.String()
    diary_number = fields.String(allow_none=True)
    title = fields.String()
    text = fields.String()
    details = fields.Dict()
    raised_at = fields.DateTime()
    aggregate = fields.String(metadata={"description": "the kind of aggregate: Initiative, Meeting, ..."})
    aggregate_id = fields.UUID()
    link = fields.String(metadata={"description": "where the aggregate is read on this service"})


class MarkReminderDone(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=300),
                        metadata={"example": "preparation_due_passed:2025-10-31"})


class ReminderDoneView(Schema):
    aggregate_id = fields.UUID()
    key = fields.String()
    done_by = fields.String()


class ReminderList(Schema):
    reminders = fields.List(fields.Nested(ReminderView))
    next = next_field()


class AggregateEnvelopes(Schema):
    aggregate_id = fields.UUID()
    events = fields.List(fields.Nested(EnvelopeView))


class RecordView(Schema):
    """An event exactly as stored: `state` is the stored JSON, chain member included (shared.chain)."""

    position = fields.Integer(allow_none=True)
    aggregate_id = fields.UUID()
    version = fields.Integer()
    topic = fields.String()
    state = fields.String()


class RecordPage(Schema):
    records = fields.List(fields.Nested(RecordView))
    last_position = fields.Integer()


class AggregateRecords(Schema):
    aggregate_id = fields.UUID()
    records = fields.List(fields.Nested(RecordView))


class AggregateStateView(Schema):
    """Any aggregate as it was: every attribute of its state, and the event that made it so."""

    aggregate_id = fields.UUID()
    type = fields.String()
    version = fields.Integer()
    created_on = fields.DateTime()
    modified_on = fields.DateTime()
    state = fields.Dict()
    as_of = fields.Dict(allow_none=True)
    basis = BASIS
    in_effect_on = fields.Date(allow_none=True)
    last_event = fields.Nested(EventView)


class StateAfterEvent(Schema):
    version = fields.Integer()
    event_type = fields.String()
    occurred_at = fields.DateTime()
    state = fields.Dict()


class AggregateStates(Schema):
    aggregate_id = fields.UUID()
    states = fields.List(fields.Nested(StateAfterEvent))


class LiveView(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "always live"})


class ReadyView(Schema):
    service = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "each check (store, broker, outbox) and its state: ok"})


# --- files (shared.files): one reference and one view, in every service that carries files ------


class UploadQuery(Schema):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata={
        "description": "the file's name, without a path (no '/', '\\\\', '..', control characters); whitespace "
                       "is made single spaces and the name NFC", "example": "Tjänsteskrivelse 2025-05-17.pdf"})


class FileReference(Schema):
    """A file uploaded with POST /files, as a command names it; size and media type come from the store."""

    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$"),
                           metadata={"description": "the SHA-256 POST /files answered"})
    filename = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                             metadata={"description": "the name it is registered under (rules as POST /files)"})


class FileView(Schema):
    sha256 = fields.String()
    size = fields.Integer(metadata={"description": "bytes"})
    media_type = fields.String(metadata={"example": "application/pdf"})
    filename = fields.String()


def file_references(**kwargs: Any) -> fields.List:
    """The files a command may carry: [{sha256, filename}], at most 20."""
    return fields.List(fields.Nested(FileReference), load_default=list, validate=validate.Length(max=20), **kwargs)
