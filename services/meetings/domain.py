"""Bodies and their meetings: agenda, attendance, minutes, adjustment (DOMAIN.md, seed 003).

As in the initiatives domain, public command methods check the rule and trigger a
private event method that only applies. Events that other services act on carry
the facts they need (body, meeting, date, diary number), so a subscriber never has
to call back to understand one.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Sequence
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from services.meetings.procedure import attendance_against, check_paragraph
from shared import clock
from shared.context import current
from shared.domain import CommandsByState, TracedAggregate
from shared.errors import CommandNotAllowed, InvalidRequest, NotFound
from shared.procedure import check_decision_level
from shared.reminders import Reminder, RemindingAggregate


class BodyKind(str, Enum):
    COMMITTEE = "committee"
    COUNCIL = "council"
    COLLABORATION_COUNCIL = "collaboration_council"
    GROUP = "group"


class MeetingFormat(str, Enum):
    DIGITAL = "digital"
    PHYSICAL = "physical"
    RESIDENTIAL = "residential"


class MemberRole(str, Enum):
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    MEMBER = "member"
    SUBSTITUTE = "substitute"
    CO_OPTED = "co_opted"


class Side(str, Enum):
    MAJORITY = "majority"
    OPPOSITION = "opposition"


class Body(TracedAggregate):
    """A committee, council or collaboration body; who sits on it is a history of events."""

    effective_dates = {"Established": None, "MemberJoined": "from_date", "MembershipEnded": "to_date"}

    @event("Established")
    def __init__(
        self, *, name: str, kind: str, convener: str, format: str, cadence: str | None,
        purpose: str | None, actor: str,
    ):
        self.name = name
        self.kind = BodyKind(kind)
        self.convener = convener
        self.format = MeetingFormat(format)
        self.cadence = cadence
        self.purpose = purpose
        self.memberships: dict[str, dict[str, Any]] = {}

    def add_member(self, *, membership_id: str, member: dict[str, Any], from_date: date, actor: str) -> None:
        if membership_id in self.memberships:
            raise InvalidRequest.for_field("membership_id", "already used on this body")
        self._member_joined(membership_id=membership_id, member=member, from_date=from_date, actor=actor)

    def end_membership(self, *, membership_id: str, to_date: date, actor: str) -> None:
        membership = self.memberships.get(membership_id)
        if membership is None:
            raise NotFound(f"No membership {membership_id} on {self.name}")
        if membership["to_date"] is not None:
            raise CommandNotAllowed("end_membership", "membership ended", [])
        if to_date < membership["from_date"]:
            raise InvalidRequest.for_field("to_date", f"must not precede {membership['from_date']}")
        self._membership_ended(membership_id=membership_id, to_date=to_date, actor=actor)

    def members_on(self, day: date) -> list[dict[str, Any]]:
        return [
            m for m in self.memberships.values()
            if m["from_date"] <= day and (m["to_date"] is None or day <= m["to_date"])
        ]

    @event("MemberJoined")
    def _member_joined(self, membership_id: str, member: dict[str, Any], from_date: date, actor: str) -> None:
        self.memberships[membership_id] = {
            "membership_id": membership_id, **member, "from_date": from_date, "to_date": None,
        }

    @event("MembershipEnded")
    def _membership_ended(self, membership_id: str, to_date: date, actor: str) -> None:
        self.memberships[membership_id]["to_date"] = to_date


class MeetingState(str, Enum):
    SCHEDULED = "scheduled"
    CONVENED = "convened"
    OPEN = "open"
    CLOSED = "closed"
    ADJUSTED = "adjusted"
    CANCELLED = "cancelled"


class Decision(str, Enum):
    APPROVED = "approved"
    REJECTED = "rejected"
    CONSIDERED_ANSWERED = "considered_answered"
    REFERRED_BACK = "referred_back"
    TABLED = "tabled"


MEETING_COMMANDS: dict[MeetingState, tuple[str, ...]] = {
    MeetingState.SCHEDULED: ("convene", "cancel", "add_item", "reorder_items", "withdraw_item"),
    MeetingState.CONVENED: ("cancel", "add_item", "reorder_items", "withdraw_item", "record_attendance", "open"),
    MeetingState.OPEN: ("record_attendance", "decide_item", "appoint_adjusters", "close"),
    MeetingState.CLOSED: ("appoint_adjusters", "sign_minutes"),
    MeetingState.ADJUSTED: ("record_public_notice",),
    MeetingState.CANCELLED: (),
}


class NotIssued(CommandNotAllowed):
    """A document of the meeting asked for before the rule allows it: 409 naming the rule."""

    def __init__(self, document: str, rule: str, meeting: "Meeting"):
        super().__init__(f"issue_{document}", meeting.state.value, meeting.allowed_commands())
        self.args = (f"{rule}; the meeting is {meeting.state.value}.",)


MINUTES_ADJUSTED_WITHIN = timedelta(days=14)
APPEAL_PERIOD = timedelta(weeks=3)  # an appeal is in time up to three weeks from the public notice (KL 13:5)


MEETING_DAY_EVENTS = {"AttendanceRecorded", "Opened", "AdjustersAppointed", "Closed"}


class Meeting(CommandsByState, RemindingAggregate):
    commands_by_state = MEETING_COMMANDS
    # Each event's business date (shared.envelope.effective_on). What happens in the meeting itself (the
    # attendance, the opening, the adjusters, the closing) carries the meeting's day as its `effective_on`,
    # stamped when it is triggered (MEETING_DAY_EVENTS). A meeting and an item on its agenda take effect when
    # they are recorded, or on the meeting's day when they are recorded after it was held.
    effective_dates = {
        "Scheduled": "effective_on", "Convened": "convened_on", "Cancelled": None, "ItemAdded": "effective_on",
        "ItemsReordered": None, "ItemWithdrawn": None, "AttendanceRecorded": "effective_on",
        "Opened": "effective_on", "ItemDecided": "decided_on", "AdjustersAppointed": "effective_on",
        "Closed": "effective_on", "MinutesSigned": "signed_on", "MinutesAdjusted": "adjusted_on",
        "PublicNoticeRecorded": "notice_on",
    }

    @classmethod
    def _create(cls, event_class: Any, **kwargs: Any) -> Any:
        if current().effective_on is None:
            kwargs.setdefault("effective_on", min(clock.today(), clock.local_date(kwargs["starts_at"])))
        return super()._create(event_class, **kwargs)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        if event_class.__qualname__.rsplit(".", 1)[-1] in MEETING_DAY_EVENTS and current().effective_on is None:
            kwargs.setdefault("effective_on", self.local_date)
        if event_class.__qualname__.endswith(".ItemAdded") and current().effective_on is None:
            kwargs.setdefault("effective_on", min(self.local_date, clock.today()))  # as a meeting is scheduled
        super().trigger_event(event_class, **kwargs)

    @event("Scheduled")
    def __init__(
        self, *, body_id: UUID, body: str, title: str, starts_at: datetime, place: str | None,
        link: str | None, actor: str,
    ):
        self.body_id = body_id
        self.body = body
        self.title = title
        self.starts_at = starts_at
        self.place = place
        self.link = link
        self.state = MeetingState.SCHEDULED
        self.items: list[dict[str, Any]] = []
        self.attendance: list[dict[str, Any]] = []
        self.seats: int | None = None  # the body's members on the day, when its membership is on record
        self.paragraphs: list[dict[str, Any]] = []
        self.adjusters: list[str] = []
        self.signatures: dict[str, date] = {}
        self.adjusted_on: date | None = None
        self.public_notice_on: date | None = None
        self.cancellation: str | None = None

    # --- rules -----------------------------------------------------------------

    @property
    def local_date(self) -> date:
        """The day of the meeting in the region (a start sent in UTC may fall on the day before)."""
        return clock.local_date(self.starts_at)

    @property
    def agenda(self) -> list[dict[str, Any]]:
        """The active items, numbered 1, 2, 3 … in their order."""
        active = [item for item in self.items if not item["withdrawn"]]
        return [{**item, "number": number} for number, item in enumerate(active, start=1)]

    def item(self, item_id: str) -> dict[str, Any]:
        for item in self.items:
            if item["item_id"] == item_id and not item["withdrawn"]:
                return item
        raise NotFound(f"No item {item_id} on the agenda of {self.title}")

    def paragraph(self, number: int) -> dict[str, Any]:
        """The paragraph "§ <number>" of these minutes."""
        for paragraph in self.paragraphs:
            if paragraph["paragraph"] == f"§ {number}":
                return paragraph
        raise NotFound(f"No § {number} in the minutes of {self.title}")

    def check_minutes_issued(self) -> None:
        """The minutes are a document once the meeting is closed (until adjusted, they say so)."""
        if self.state not in (MeetingState.CLOSED, MeetingState.ADJUSTED):
            raise NotIssued("minutes", "The minutes are issued once the meeting is closed", self)

    def check_extract_issued(self) -> None:
        """An extract of the minutes is what is dispatched with a decision: only of adjusted minutes."""
        if self.state is not MeetingState.ADJUSTED:
            raise NotIssued("extract", "An extract of the minutes is issued once they are adjusted", self)

    def reminders(self) -> list[Reminder]:
        """Minutes not adjusted 14 days after the meeting; the appeal period over, its decisions standing."""
        found = []
        if self.state is not MeetingState.CANCELLED and self.adjusted_on is None:
            due_on = self.local_date + MINUTES_ADJUSTED_WITHIN
            found.append(Reminder(
                kind="minutes_not_adjusted", key=f"minutes_not_adjusted:{due_on}", due_on=due_on, role="secretary",
                text=f"The minutes of the meeting on {self.local_date} are not adjusted",
                details={"meeting_date": self.local_date.isoformat()}))
        if self.public_notice_on is not None:
            # the notice comes down after three weeks; an appeal is in time that day, or the next working day
            last_day = clock.statutory_last_day(self.public_notice_on + APPEAL_PERIOD)
            ended_on = last_day + timedelta(days=1)  # the first day the decisions stand (laga kraft)
            found.append(Reminder(
                kind="appeal_period_ended", key=f"appeal_period_ended:{ended_on}", due_on=ended_on, role="registrar",
                text=f"The appeal period after the notice of {self.public_notice_on} ended on {last_day}: "
                     "the decisions stand",
                details={"public_notice_on": self.public_notice_on.isoformat(),
                         "appeal_period_last_day": last_day.isoformat(), "decisions": self.decisions()}))
        return found

    # --- commands --------------------------------------------------------------

    def convene(self, *, convened_on: date, actor: str) -> None:
        self.check_allows("convene")
        self._convened(convened_on=convened_on, actor=actor)

    def cancel(self, *, reason: str, actor: str) -> None:
        self.check_allows("cancel")
        cases = [item["diary_number"] for item in self.agenda if item["diary_number"]]
        self._cancelled(reason=reason, diary_numbers=cases, actor=actor)

    def add_item(
        self, *, item_id: str, title: str, diary_number: str | None, goal_area: str | None, actor: str
    ) -> None:
        self.check_allows("add_item")
        if any(item["item_id"] == item_id for item in self.items):
            raise InvalidRequest.for_field("item_id", "already on this agenda")
        if diary_number and any(i["diary_number"] == diary_number for i in self.agenda):
            raise InvalidRequest.for_field("diary_number", f"{diary_number} is already on this agenda")
        self._item_added(
            item_id=item_id, title=title, diary_number=diary_number, goal_area=goal_area,
            body=self.body, meeting=self.title, meeting_date=self.local_date, actor=actor,
        )

    def reorder_items(self, *, item_ids: list[str], actor: str) -> None:
        self.check_allows("reorder_items")
        current = [item["item_id"] for item in self.agenda]
        if sorted(item_ids) != sorted(current):
            raise InvalidRequest.for_field("item_ids", f"must list each active item once: {current}")
        self._items_reordered(item_ids=item_ids, actor=actor)

    def withdraw_item(self, *, item_id: str, reason: str, actor: str) -> None:
        self.check_allows("withdraw_item")
        item = self.item(item_id)
        self._item_withdrawn(item_id=item_id, diary_number=item["diary_number"], reason=reason, actor=actor)

    def record_attendance(self, *, present: list[dict[str, Any]], members: list[dict[str, Any]], actor: str) -> None:
        """`members`: the body's memberships on the day of the meeting (empty when none is on record)."""
        self.check_allows("record_attendance")
        attendance, seats = attendance_against(present, members, self.body, self.local_date)
        self._attendance_recorded(present=attendance, seats=seats, actor=actor)

    def open(self, *, actor: str) -> None:
        self.check_allows("open")
        self._opened(actor=actor)

    def decisions(self) -> list[dict[str, Any]]:
        """What the minutes decided, case by case, as the events that tell other services carry it."""
        return [{"diary_number": p["diary_number"], "paragraph": p["paragraph"], "outcome": p["outcome"],
                 "proposal_to": p["proposal_to"]} for p in self.paragraphs]

    def check_decidable(self, item_id: str) -> dict[str, Any]:
        self.check_allows("decide_item")
        item = self.item(item_id)
        if any(p["item_id"] == item_id for p in self.paragraphs):
            raise CommandNotAllowed("decide_item", "item already decided in this meeting", [])
        return item

    def decide_item(
        self, *, item_id: str, paragraph_number: int, outcome: str, text: str, actor: str,
        proposal_to: str | None = None, proposals: Sequence[dict[str, Any]] = (),
        vote: dict[str, Any] | None = None, reservations: Sequence[dict[str, Any]] = (),
        recused: Sequence[str] = (), case: CaseOnRecord | None = None,
    ) -> None:
        """Records the decision on an item in the next paragraph of the body's year, with what the minutes
        say of it: the proposals put, the vote, reservations and who did not take part (jäv). With
        `proposal_to` the decision is a proposal to the body that decides next; `case`, when the meetings
        service knows the case, checks that this body may decide it so."""
        item = self.check_decidable(item_id)
        outcome = Decision(outcome).value
        minutes = check_paragraph(attendance=self.attendance, seats=self.seats, body=self.body, proposals=proposals,
                                  vote=vote, reservations=reservations, recused=recused)
        if case is not None:
            check_decision_level(body=self.body, outcome=outcome, proposal_to=proposal_to,
                                 addressed_to=case.addressed_to, preparing_bodies=case.preparing_bodies,
                                 proposals=case.proposals)
        self._item_decided(
            item_id=item_id, paragraph=f"§ {paragraph_number}", outcome=outcome,
            text=text, diary_number=item["diary_number"], item_title=item["title"], body=self.body,
            meeting=self.title, decided_on=self.local_date, actor=actor, proposal_to=proposal_to, **minutes,
        )

    def appoint_adjusters(self, *, adjusters: list[str], actor: str) -> None:
        self.check_allows("appoint_adjusters")
        if self.signatures:
            raise CommandNotAllowed("appoint_adjusters", "signing has begun", ["sign_minutes"])
        if len(set(adjusters)) != len(adjusters):
            raise InvalidRequest.for_field("adjusters", "each adjuster once")
        self._adjusters_appointed(adjusters=adjusters, actor=actor)

    def close(self, *, actor: str) -> None:
        """Every item must have its paragraph first; an item carried over is decided "tabled"."""
        self.check_allows("close")
        decided = {p["item_id"] for p in self.paragraphs}
        undecided = [f"{i['number']}. {i['title']}" for i in self.agenda if i["item_id"] not in decided]
        if undecided:
            raise CommandNotAllowed(
                "close", f"open with undecided items ({'; '.join(undecided)}): decide each, 'tabled' to carry "
                "it to a later meeting", ["decide_item"],
            )
        self._closed(undecided_items=[], actor=actor)

    def sign_minutes(self, *, adjuster: str, signed_on: date, actor: str) -> None:
        """An adjuster signs; the last signature makes the minutes, and their decisions, final."""
        self.check_allows("sign_minutes")
        if not self.adjusters:
            raise CommandNotAllowed("sign_minutes", "no adjusters appointed", ["appoint_adjusters"])
        if adjuster not in self.adjusters:
            raise InvalidRequest.for_field("adjuster", f"not an adjuster of these minutes: {self.adjusters}")
        if adjuster in self.signatures:
            raise CommandNotAllowed("sign_minutes", f"already signed by {adjuster}", ["sign_minutes"])
        if signed_on < self.local_date:
            raise InvalidRequest.for_field("signed_on", f"must not precede the meeting ({self.local_date})")
        self._minutes_signed(adjuster=adjuster, signed_on=signed_on, actor=actor)
        if set(self.signatures) == set(self.adjusters):
            self._minutes_adjusted(
                adjusted_on=signed_on, body=self.body, meeting=self.title,
                decisions=self.decisions(),
                actor=actor,
            )

    def allowed_commands(self) -> tuple[str, ...]:
        """The state's commands; once the adjusted minutes' notice is recorded, nothing is left to do."""
        if self.public_notice_on is not None:
            return ()
        return super().allowed_commands()

    def record_public_notice(self, *, notice_on: date, actor: str) -> None:
        if self.public_notice_on is not None:
            raise CommandNotAllowed("record_public_notice", f"notice already recorded ({self.public_notice_on})", [])
        self.check_allows("record_public_notice")
        if self.adjusted_on and notice_on < self.adjusted_on:
            raise InvalidRequest.for_field("notice_on", f"must not precede the adjustment {self.adjusted_on}")
        self._public_notice_recorded(notice_on=notice_on, actor=actor)

    # --- events ----------------------------------------------------------------

    @event("Convened")
    def _convened(self, convened_on: date, actor: str) -> None:
        self.state = MeetingState.CONVENED

    @event("Cancelled")
    def _cancelled(self, reason: str, diary_numbers: list[str], actor: str) -> None:
        self.cancellation = reason
        self.state = MeetingState.CANCELLED

    @event("ItemAdded")
    def _item_added(
        self, item_id: str, title: str, diary_number: str | None, goal_area: str | None,
        body: str, meeting: str, meeting_date: date, actor: str,
    ) -> None:
        self.items.append({
            "item_id": item_id, "title": title, "diary_number": diary_number,
            "goal_area": goal_area, "withdrawn": False,
        })

    @event("ItemsReordered")
    def _items_reordered(self, item_ids: list[str], actor: str) -> None:
        position = {item_id: index for index, item_id in enumerate(item_ids)}
        self.items.sort(key=lambda item: position.get(item["item_id"], -1))

    @event("ItemWithdrawn")
    def _item_withdrawn(self, item_id: str, diary_number: str | None, reason: str, actor: str) -> None:
        for item in self.items:
            if item["item_id"] == item_id:
                item["withdrawn"] = True

    class AttendanceRecorded(TracedAggregate.Event):
        """Version 2: each attendee's role, party and whom a substitute serves for, and the body's seats."""

        class_version = 2
        present: list[dict[str, Any]]
        seats: int | None
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["seats"] = None

    @event(AttendanceRecorded)
    def _attendance_recorded(self, present: list[dict[str, Any]], seats: int | None, actor: str) -> None:
        self.attendance = [{"party": None, "serving_for": None, **attendee} for attendee in present]
        self.seats = seats

    @event("Opened")
    def _opened(self, actor: str) -> None:
        self.state = MeetingState.OPEN

    class ItemDecided(TracedAggregate.Event):
        """Version 2 adds what the minutes record: a proposal to another body, the proposals put, the
        vote, reservations and members not taking part (jäv)."""

        class_version = 2
        item_id: str
        paragraph: str
        outcome: str
        text: str
        diary_number: str | None
        item_title: str
        body: str
        meeting: str
        decided_on: date
        actor: str
        proposal_to: str | None
        proposals: list[dict[str, Any]]
        vote: dict[str, Any] | None
        reservations: list[dict[str, Any]]
        recused: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(proposal_to=None, proposals=[], vote=None, reservations=[], recused=[])

    @event(ItemDecided)
    def _item_decided(
        self, item_id: str, paragraph: str, outcome: str, text: str, diary_number: str | None,
        item_title: str, body: str, meeting: str, decided_on: date, actor: str, proposal_to: str | None,
        proposals: list[dict[str, Any]], vote: dict[str, Any] | None, reservations: list[dict[str, Any]],
        recused: list[str],
    ) -> None:
        self.paragraphs.append({
            "item_id": item_id, "paragraph": paragraph, "outcome": outcome, "text": text,
            "diary_number": diary_number, "title": item_title, "proposal_to": proposal_to,
            "proposals": proposals, "vote": vote, "reservations": reservations, "recused": recused,
        })

    @event("AdjustersAppointed")
    def _adjusters_appointed(self, adjusters: list[str], actor: str) -> None:
        self.adjusters = list(adjusters)

    @event("Closed")
    def _closed(self, undecided_items: list[str], actor: str) -> None:
        self.state = MeetingState.CLOSED

    @event("MinutesSigned")
    def _minutes_signed(self, adjuster: str, signed_on: date, actor: str) -> None:
        self.signatures[adjuster] = signed_on

    @event("MinutesAdjusted")
    def _minutes_adjusted(
        self, adjusted_on: date, body: str, meeting: str, decisions: list[dict[str, Any]], actor: str
    ) -> None:
        self.adjusted_on = adjusted_on
        self.state = MeetingState.ADJUSTED

    @event("PublicNoticeRecorded")
    def _public_notice_recorded(self, notice_on: date, actor: str) -> None:
        self.public_notice_on = notice_on


class CaseOnRecord(TracedAggregate):
    """A case of the initiatives service as this service learnt of it: to whom it is addressed, which
    bodies prepare it, and their proposals so far; so a decision the procedure forbids is refused at once."""

    effective_dates = {"Learnt": None, "Referred": None, "ProposalNoted": None, "ReferredBack": None}

    @staticmethod
    def create_id(diary_number: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/cases-on-record/{diary_number}")

    @event("Learnt")
    def __init__(self, *, diary_number: str, addressed_to: str, preparing_bodies: list[str], actor: str):
        self.diary_number = diary_number
        self.addressed_to = addressed_to
        self.preparing_bodies = list(preparing_bodies)
        self.proposals: list[dict[str, Any]] = []

    def refer(self, *, addressed_to: str, preparing_bodies: list[str], actor: str) -> None:
        self._referred(addressed_to=addressed_to, preparing_bodies=preparing_bodies, actor=actor)

    def note_proposal(self, *, body: str, proposal_to: str, paragraph: str | None, actor: str) -> None:
        self._proposal_noted(body=body, proposal_to=proposal_to, paragraph=paragraph, actor=actor)

    def note_referred_back(self, *, actor: str) -> None:
        self._referred_back(actor=actor)

    @event("Referred")
    def _referred(self, addressed_to: str, preparing_bodies: list[str], actor: str) -> None:
        self.addressed_to = addressed_to
        self.preparing_bodies = list(preparing_bodies)
        self.proposals = []

    @event("ProposalNoted")
    def _proposal_noted(self, body: str, proposal_to: str, paragraph: str | None, actor: str) -> None:
        self.proposals.append({"body": body, "proposal_to": proposal_to, "paragraph": paragraph})

    @event("ReferredBack")
    def _referred_back(self, actor: str) -> None:
        self.proposals = []
