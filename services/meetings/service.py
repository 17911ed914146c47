"""The meetings service: bodies, meetings, agendas, minutes and adjustment over HTTP.

Routes declare their roles and schemas once (shared.openapi). Committee
secretaries change things; every role may read.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from werkzeug.wrappers import Response

from services.meetings import minutes, schemas
from services.meetings.application import MeetingsApplication
from services.meetings.domain import Body, Meeting
from shared import schemas as shared_schemas
from shared.auth import ROLES, Actor, Auth
from shared.dependencies import EventSourcedApplication
from shared.fields import parse_uuid
from shared.http import Paged, file_response
from shared.openapi import FILE, ApiDoc
from shared.operations import operations
from shared.pdf import rendered
from shared.rpc import rpc
from shared.views import history_response

SECRETARIES = ("secretary",)
READERS = ROLES
NOT_NOW = (404, 409)
PDF = "application/pdf"

api = ApiDoc(
    title="Meetings",
    version="1.0.0",
    description="Bodies (committees, councils, collaboration councils), their meetings, agendas, "
                "minutes numbered through the body's year, and adjustment.",
)
Loaded = dict[str, Any]


class MeetingsService(operations(api, "meetings", consumes_events=True, reminders=True)):
    name = "meetings"

    # What the initiatives service says of a case (who prepares it, their proposals) checks who may decide it.
    meetings = EventSourcedApplication(MeetingsApplication)
    auth = Auth()

    # --- bodies --------------------------------------------------------------

    @api.route("POST", "/bodies", summary="Establish a body", body=schemas.EstablishBody,
               response=schemas.BodyView, status=201, roles=SECRETARIES)
    def establish_body(self, actor: Actor, command: Loaded) -> dict[str, Any]:
        return body_view(self.meetings.establish_body(actor=actor.recorded_as, **command))

    @api.route("POST", "/bodies/<uuid:body_id>/members", summary="A member joins the body",
               body=schemas.AddMember, response=schemas.BodyView, roles=SECRETARIES, errors=NOT_NOW)
    def add_member(self, actor: Actor, command: Loaded, body_id: UUID) -> dict[str, Any]:
        return body_view(self.meetings.add_member(body_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/bodies/<uuid:body_id>/members/<membership_id>/end", summary="A membership ends",
               body=schemas.EndMembership, response=schemas.BodyView, roles=SECRETARIES, errors=NOT_NOW)
    def end_membership(self, actor: Actor, command: Loaded, body_id: UUID, membership_id: str) -> dict[str, Any]:
        return body_view(self.meetings.end_membership(body_id, membership_id, actor=actor.recorded_as, **command))

    @api.route("GET", "/bodies", summary="A page of bodies, by name", query=schemas.BodyListQuery,
               response=schemas.BodyList, roles=READERS)
    def list_bodies(self, actor: Actor, query: Loaded) -> Paged:
        return Paged("bodies", self.meetings.list_bodies(query))

    @api.route("GET", "/bodies/<uuid:body_id>", summary="One body; ?on=<date>: who sat on it that day",
               query=schemas.BodyQuery, response=schemas.BodyView, roles=READERS, errors=(404,))
    def get_body(self, actor: Actor, query: Loaded, body_id: UUID) -> dict[str, Any]:
        return body_view(self.meetings.get_body(body_id), on=query["on"])

    @api.route("GET", "/bodies/<uuid:body_id>/history", summary="The body's events and state as of a point",
               query=shared_schemas.HistoryQuery, response=schemas.BodyHistory, roles=READERS, errors=(404,))
    def body_history(self, actor: Actor, query: Loaded, body_id: UUID) -> dict[str, Any]:
        return history_response(self.meetings, body_id, Body, query["as_of"], body_view,
                                in_effect_on=query["in_effect_on"])

    # --- meetings ------------------------------------------------------------

    @api.route("POST", "/meetings", summary="Schedule a meeting of a body", body=schemas.ScheduleMeeting,
               response=schemas.MeetingView, status=201, roles=SECRETARIES, errors=(404,))
    def schedule_meeting(self, actor: Actor, command: Loaded) -> dict[str, Any]:
        return meeting_view(self.meetings.schedule_meeting(actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/convocation", summary="Convene the meeting",
               body=schemas.ConveneMeeting, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def convene_meeting(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.convene_meeting(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/cancellation", summary="Cancel the meeting",
               body=schemas.CancelMeeting, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def cancel_meeting(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.cancel_meeting(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/agenda", summary="Add an item (a case by diary number)",
               body=schemas.AddAgendaItem, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def add_agenda_item(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.add_agenda_item(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/agenda/order", summary="Reorder the agenda",
               body=schemas.ReorderAgenda, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def reorder_agenda(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.reorder_agenda(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/agenda/<item_id>/withdrawal", summary="Withdraw an item",
               body=schemas.WithdrawAgendaItem, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def withdraw_agenda_item(self, actor: Actor, command: Loaded, meeting_id: UUID, item_id: str) -> dict[str, Any]:
        return meeting_view(self.meetings.withdraw_agenda_item(meeting_id, item_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/attendance", summary="Record who is present",
               body=schemas.RecordAttendance, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def record_attendance(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.record_attendance(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/opening", summary="Open the meeting",
               body=schemas.NoBody, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def open_meeting(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.open_meeting(meeting_id, actor=actor.recorded_as))

    @api.route("POST", "/meetings/<uuid:meeting_id>/agenda/<item_id>/decision",
               summary="Decide an item in the next numbered paragraph",
               body=schemas.DecideItem, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def decide_item(self, actor: Actor, command: Loaded, meeting_id: UUID, item_id: str) -> dict[str, Any]:
        return meeting_view(self.meetings.decide_item(meeting_id, item_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/adjusters", summary="Appoint the minutes' adjusters",
               body=schemas.AppointAdjusters, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def appoint_adjusters(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.appoint_adjusters(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/closing", summary="Close the meeting",
               body=schemas.NoBody, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def close_meeting(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.close_meeting(meeting_id, actor=actor.recorded_as))

    @api.route("POST", "/meetings/<uuid:meeting_id>/signatures",
               summary="An adjuster signs the minutes; the last signature makes them final",
               body=schemas.SignMinutes, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def sign_minutes(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.sign_minutes(meeting_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/meetings/<uuid:meeting_id>/public-notice",
               summary="Record the public notice of the adjusted minutes",
               body=schemas.RecordPublicNotice, response=schemas.MeetingView, roles=SECRETARIES, errors=NOT_NOW)
    def record_public_notice(self, actor: Actor, command: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.record_public_notice(meeting_id, actor=actor.recorded_as, **command))

    @api.route("GET", "/meetings", summary="A page of meetings in time order, by body, state, dates and case",
               query=schemas.MeetingQuery, response=schemas.MeetingList, roles=READERS, errors=(404,))
    def list_meetings(self, actor: Actor, query: Loaded) -> Paged:
        return Paged("meetings", self.meetings.list_meetings(query))

    @api.route("GET", "/meetings/<uuid:meeting_id>", summary="One meeting", response=schemas.MeetingView,
               roles=READERS, errors=(404,))
    def get_meeting(self, actor: Actor, _: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return meeting_view(self.meetings.get_meeting(meeting_id))

    @api.route("GET", "/meetings/<uuid:meeting_id>/minutes.pdf",
               summary="The minutes as PDF (protokoll), once the meeting is closed; 'Ej justerat' until adjusted",
               response=FILE, media_types=(PDF,), roles=READERS, errors=NOT_NOW)
    def get_minutes_pdf(self, actor: Actor, _: Loaded, meeting_id: UUID) -> Response:
        shown = meeting_view(self.meetings.get_minutes(meeting_id))
        return file_response(rendered(minutes.minutes_pdf, shown), PDF, minutes.minutes_filename(shown))

    @api.route("GET", "/meetings/<uuid:meeting_id>/paragraphs/<int:number>/extract.pdf",
               summary="An extract of the adjusted minutes as PDF (protokollsutdrag): § <number>, to dispatch",
               response=FILE, media_types=(PDF,), roles=READERS, errors=NOT_NOW)
    def get_extract_pdf(self, actor: Actor, _: Loaded, meeting_id: UUID, number: int) -> Response:
        shown = meeting_view(self.meetings.get_extract(meeting_id, number))
        return file_response(rendered(minutes.extract_pdf, shown, str(number)), PDF,
                             minutes.extract_filename(shown, number))

    @api.route("GET", "/meetings/<uuid:meeting_id>/history", summary="The meeting's events and state as of a point",
               query=shared_schemas.HistoryQuery, response=schemas.MeetingHistory, roles=READERS, errors=(404,))
    def meeting_history(self, actor: Actor, query: Loaded, meeting_id: UUID) -> dict[str, Any]:
        return history_response(self.meetings, meeting_id, Meeting, query["as_of"], meeting_view,
                                in_effect_on=query["in_effect_on"])

    @api.route("GET", "/cases/<diary_number>/procedure",
               summary="Who may decide a case: the body it is addressed to, the bodies preparing it, their proposals",
               response=schemas.CaseProcedureView, roles=READERS, errors=(404,))
    def case_procedure(self, actor: Actor, _: Loaded, diary_number: str) -> dict[str, Any]:
        return schemas.CaseProcedureView().dump(self.meetings.get_case_on_record(diary_number))

    # --- RPC -----------------------------------------------------------------

    @rpc
    def get_meeting_by_id(self, meeting_id: str) -> dict[str, Any]:
        return meeting_view(self.meetings.get_meeting(parse_uuid(meeting_id, "meeting_id")))


body_schema = schemas.BodyView()
meeting_schema = schemas.MeetingView()


def body_view(body: Body, on: date | None = None) -> dict[str, Any]:
    shown = body_schema.dump(body)
    if on is not None:
        shown["memberships"] = schemas.MembershipView(many=True).dump(body.members_on(on))
    return shown


def meeting_view(meeting: Meeting) -> dict[str, Any]:
    return meeting_schema.dump(meeting)
