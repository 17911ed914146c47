"""MeetingsApplication: one method per use case; load → command → save."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from services.meetings.domain import Body, CaseOnRecord, Meeting
from services.meetings.read_model import MeetingsReadModel
from shared import clock
from shared.application import CaseApplication
from shared.errors import InvalidRequest, NotFound
from shared.readmodel import Page, Tag, equal_to, tagged, within
from shared.serials import next_serial, retrying_on_conflict


class MeetingsApplication(CaseApplication):
    name = "meetings"
    source = "meetings"
    published = (Body, Meeting)
    inbox_sources = ("initiatives",)
    read_model_class = MeetingsReadModel
    reminding = (Meeting, "meetings")

    # --- bodies ----------------------------------------------------------------

    def establish_body(self, *, actor: str, **details: Any) -> Body:
        body = Body(actor=actor, **details)
        self.save(body)
        return body

    def add_member(self, body_id: UUID, *, actor: str, from_date: date, **member: Any) -> Body:
        return self.change(body_id, Body, "add_member", membership_id=uuid4().hex, member=member,
                           from_date=from_date, actor=actor)

    def end_membership(self, body_id: UUID, membership_id: str, *, actor: str, to_date: date) -> Body:
        return self.change(body_id, Body, "end_membership", membership_id=membership_id,
                           to_date=to_date, actor=actor)

    def get_body(self, body_id: UUID) -> Body:
        return self.load(body_id, Body)

    def list_bodies(self, query: dict[str, Any]) -> Page:
        return self.list_page("bodies", query, conditions=equal_to(query, "kind"))

    # --- meetings --------------------------------------------------------------

    def schedule_meeting(
        self, *, actor: str, body_id: UUID, title: str, starts_at: datetime,
        place: str | None = None, link: str | None = None,
    ) -> Meeting:
        body = self.load(body_id, Body)
        meeting = Meeting(body_id=body.id, body=body.name, title=title, starts_at=starts_at,
                          place=place, link=link, actor=actor)
        self.save(meeting)
        return meeting

    def convene_meeting(self, meeting_id: UUID, *, actor: str, convened_on: date | None = None) -> Meeting:
        return self.change(meeting_id, Meeting, "convene", convened_on=convened_on or clock.today(), actor=actor)

    def cancel_meeting(self, meeting_id: UUID, *, actor: str, reason: str) -> Meeting:
        return self.change(meeting_id, Meeting, "cancel", reason=reason, actor=actor)

    def add_agenda_item(
        self, meeting_id: UUID, *, actor: str, title: str, diary_number: str | None = None,
        goal_area: str | None = None,
    ) -> Meeting:
        def checked_against_other_agendas(meeting: Meeting) -> dict[str, Any]:
            if diary_number:  # once the meeting is found (404 before 400)
                self.check_case_not_pending_elsewhere(diary_number, meeting_id)
            return {}

        return self.change(meeting_id, Meeting, "add_item", item_id=uuid4().hex, title=title,
                           diary_number=diary_number, goal_area=goal_area, actor=actor,
                           derived=checked_against_other_agendas)

    def check_case_not_pending_elsewhere(self, diary_number: str, meeting_id: UUID) -> None:
        """A case waits for one meeting at a time (a tabled one is decided first, then carried over)."""
        waiting = self.list_page("meetings", {"limit": 2}, tags=[Tag("waiting_case", diary_number)], complete=True)
        for other in waiting.items:
            if other["id"] != str(meeting_id):
                raise InvalidRequest.for_field(
                    "diary_number", f"{diary_number} is already waiting on the agenda of {other['title']}"
                )

    def reorder_agenda(self, meeting_id: UUID, *, actor: str, item_ids: list[str]) -> Meeting:
        return self.change(meeting_id, Meeting, "reorder_items", item_ids=item_ids, actor=actor)

    def withdraw_agenda_item(self, meeting_id: UUID, item_id: str, *, actor: str, reason: str) -> Meeting:
        return self.change(meeting_id, Meeting, "withdraw_item", item_id=item_id, reason=reason, actor=actor)

    def record_attendance(self, meeting_id: UUID, *, actor: str, present: list[dict[str, Any]]) -> Meeting:
        """Checked against the body's members on the day of the meeting."""
        return self.change(meeting_id, Meeting, "record_attendance", present=present, actor=actor,
                           derived=lambda meeting: {"members": self.members_on_the_day(meeting)})

    def members_on_the_day(self, meeting: Meeting) -> list[dict[str, Any]]:
        return self.load(meeting.body_id, Body).members_on(meeting.local_date)

    def open_meeting(self, meeting_id: UUID, *, actor: str) -> Meeting:
        return self.change(meeting_id, Meeting, "open", actor=actor)

    def decide_item(self, meeting_id: UUID, item_id: str, *, actor: str, **decision: Any) -> Meeting:
        """Numbers the paragraph on through the body's year (§ 22 follows § 21 of the last meeting)."""
        return retrying_on_conflict(self._decide_item_once, meeting_id, item_id, actor, decision)

    def _decide_item_once(self, meeting_id: UUID, item_id: str, actor: str, decision: dict[str, Any]) -> Meeting:
        meeting = self.load(meeting_id, Meeting)
        item = meeting.check_decidable(item_id)
        case = self.case_on_record(item["diary_number"])
        serial = next_serial(self, f"paragraphs/{meeting.body_id}", clock.local_year(meeting.starts_at))
        meeting.decide_item(item_id=item_id, paragraph_number=serial.last, case=case, actor=actor, **decision)
        self.save(serial, meeting)
        return meeting

    def case_on_record(self, diary_number: str | None) -> CaseOnRecord | None:
        """The case as learnt from the initiatives service, if it is one this service has heard of."""
        if not diary_number:
            return None
        try:
            return self.load(CaseOnRecord.create_id(diary_number), CaseOnRecord)
        except NotFound:
            return None

    def get_case_on_record(self, diary_number: str) -> CaseOnRecord:
        case = self.case_on_record(diary_number)
        if case is None:
            raise NotFound(f"No case {diary_number} has been referred for preparation, as far as this service knows")
        return case

    # --- policy: what the initiatives service says of a case's procedure -----------

    def when(self, source: str, envelope: dict[str, Any]) -> list[Any]:
        payload, actor, diary_number = envelope["payload"], envelope["actor"] or source, envelope.get("diary_number")
        if source != "initiatives" or not diary_number:
            return []
        case = self.case_on_record(diary_number)
        if envelope["type"] == "Initiative.ReferredForPreparation" and payload.get("addressed_to"):
            if case is None:
                return [CaseOnRecord(diary_number=diary_number, addressed_to=payload["addressed_to"],
                                     preparing_bodies=payload["preparing_bodies"], actor=actor)]
            case.refer(addressed_to=payload["addressed_to"], preparing_bodies=payload["preparing_bodies"], actor=actor)
        elif case is None:
            return []
        elif envelope["type"] == "Initiative.ProposalRecorded":
            case.note_proposal(body=payload["body"], proposal_to=payload["proposal_to"],
                               paragraph=payload["paragraph"], actor=actor)
        elif envelope["type"] == "Initiative.DecisionRecorded" and payload["outcome"] == "referred_back":
            case.note_referred_back(actor=actor)
        else:
            return []
        return [case]

    def appoint_adjusters(self, meeting_id: UUID, *, actor: str, adjusters: list[str]) -> Meeting:
        return self.change(meeting_id, Meeting, "appoint_adjusters", adjusters=adjusters, actor=actor)

    def close_meeting(self, meeting_id: UUID, *, actor: str) -> Meeting:
        return self.change(meeting_id, Meeting, "close", actor=actor)

    def sign_minutes(
        self, meeting_id: UUID, *, actor: str, adjuster: str, signed_on: date | None = None
    ) -> Meeting:
        return self.change(meeting_id, Meeting, "sign_minutes", adjuster=adjuster,
                           signed_on=signed_on or clock.today(), actor=actor)

    def record_public_notice(self, meeting_id: UUID, *, actor: str, notice_on: date | None = None) -> Meeting:
        return self.change(meeting_id, Meeting, "record_public_notice", notice_on=notice_on or clock.today(),
                           actor=actor)

    def get_meeting(self, meeting_id: UUID) -> Meeting:
        return self.load(meeting_id, Meeting)

    def get_minutes(self, meeting_id: UUID) -> Meeting:
        """The meeting whose minutes may be issued as a document (closed, or adjusted)."""
        meeting = self.load(meeting_id, Meeting)
        meeting.check_minutes_issued()
        return meeting

    def get_extract(self, meeting_id: UUID, number: int) -> Meeting:
        """The meeting, adjusted, whose minutes hold § <number>: an extract of it may be issued."""
        meeting = self.load(meeting_id, Meeting)
        meeting.paragraph(number)
        meeting.check_extract_issued()
        return meeting

    def list_meetings(self, query: dict[str, Any]) -> Page:
        """A page of meetings in time order, by body, state, dates (Swedish) and a case on the agenda."""
        conditions = [*equal_to(query, "body_id", "state"), *within("starts_on", query.get("from_"), query.get("to"))]
        return self.list_page("meetings", query, conditions=conditions, tags=tagged(query, case="diary_number"),
                              diary_number=query.get("diary_number"))
