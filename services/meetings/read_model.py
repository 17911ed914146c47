"""The meetings service's read model: bodies by name, meetings by time, the reminders raised, and their texts
for search."""
from __future__ import annotations

from datetime import timezone

from services.meetings.domain import Body, Meeting, MeetingState
from services.meetings.schemas import BodyView, MeetingView
from shared.inbox import INCIDENTS
from shared.readmodel import Listing, ReadModel, Row, SearchDocument
from shared.reminders import NEXT_REMINDER_DUE, next_reminder_column, reminders_listing
from shared import clock

PENDING_STATES = {MeetingState.SCHEDULED, MeetingState.CONVENED, MeetingState.OPEN}
_body_view, _meeting_view = BodyView(), MeetingView()


def body_row(body: Body) -> Row:
    return Row(sort_key=body.name.casefold(), view=_body_view.dump(body), columns={"kind": body.kind.value},
               document=SearchDocument(title=body.name, texts=[body.convener, body.cadence, body.purpose]))


def meeting_row(meeting: Meeting) -> Row:
    decided = {p["item_id"] for p in meeting.paragraphs}
    waiting = [i["diary_number"] for i in meeting.agenda if i["item_id"] not in decided] \
        if meeting.state in PENDING_STATES else []
    return Row(
        sort_key=meeting.starts_at.astimezone(timezone.utc).isoformat(),
        view=_meeting_view.dump(meeting),
        columns={"body_id": str(meeting.body_id), "state": meeting.state.value,
                 "starts_on": meeting.starts_at.astimezone(clock.time_zone()).date().isoformat(),
                 **next_reminder_column(meeting)},
        tags={"case": [i["diary_number"] for i in meeting.items], "waiting_case": waiting},
        document=SearchDocument(
            title=meeting.title,
            texts=[meeting.body, meeting.place, meeting.cancellation,
                   *(f"{i['number']}. {i['title']}" for i in meeting.agenda),
                   *(f"{p['paragraph']} {p['title']}: {p['text']}" for p in meeting.paragraphs)],
        ),
    )


BODIES = Listing("bodies", Body, body_row, noun="body", columns={"kind": "text"})
MEETINGS = Listing("meetings", Meeting, meeting_row, noun="meeting",
                   columns={"body_id": "text", "state": "text", "starts_on": "text", NEXT_REMINDER_DUE: "text"})
REMINDERS = reminders_listing(Meeting, "/meetings")


class MeetingsReadModel(ReadModel):
    listings = (BODIES, MEETINGS, INCIDENTS, REMINDERS)
