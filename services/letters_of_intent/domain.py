"""Letters of intent and collaboration agreements (seed 000, seed 001).

As elsewhere: public command methods check, private event methods apply. Dates
and ids are arguments, so replay never reads the clock.
"""
from __future__ import annotations

import bisect

from datetime import date, timedelta
from enum import Enum
from typing import Any

from eventsourcing.domain import event

from shared.domain import CommandsByState, TracedAggregate
from shared.errors import CommandNotAllowed, InvalidRequest, NotFound
from shared.reminders import Reminder, RemindingAggregate


class LetterState(str, Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    TERMINATED = "terminated"


class FollowUpKind(str, Enum):
    MEETING = "meeting"
    CONTACT = "contact"
    JOINT_PROJECT = "joint_project"
    INVITATION = "invitation"
    STRATEGY_INPUT = "strategy_input"
    APPLICATION = "application"


LETTER_COMMANDS: dict[LetterState, tuple[str, ...]] = {
    LetterState.ACTIVE: ("add_follow_up", "compile_interim_report", "pause", "terminate", "renew"),
    LetterState.PAUSED: ("add_follow_up", "compile_interim_report", "resume", "terminate"),
    LetterState.TERMINATED: ("compile_interim_report",),
}


class LetterOfIntent(CommandsByState, TracedAggregate):
    """An avsiktsförklaring: a declared intention to cooperate, followed up over time."""

    commands_by_state = LETTER_COMMANDS
    effective_dates = {"Signed": "signed_on", "FollowedUp": "on", "InterimReportCompiled": "compiled_on",
                       "StatusChanged": "on"}

    @event("Signed")
    def __init__(
        self, *, title: str, counterparts: list[dict[str, Any]], purpose: str, areas: list[str],
        responsible_officials: list[dict[str, Any]], signed_on: date, review_on: date | None,
        diary_number: str | None, actor: str,
    ):
        if review_on is not None and review_on <= signed_on:
            raise InvalidRequest.for_field("review_on", f"must fall after the signing ({signed_on})")
        self.title = title
        self.counterparts = list(counterparts)
        self.purpose = purpose
        self.areas = list(areas)
        self.responsible_officials = list(responsible_officials)
        self.signed_on = signed_on
        self.review_on = review_on
        self.diary_number = diary_number
        self.state = LetterState.ACTIVE
        self.follow_ups: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.status_changes: list[dict[str, Any]] = []

    def add_follow_up(self, *, follow_up_id: str, kind: str, on: date, text: str, involved: list[str],
                      diary_number: str | None, actor: str, files: list[dict[str, Any]] | None = None) -> None:
        self.check_allows("add_follow_up")
        if on < self.signed_on:
            raise InvalidRequest.for_field("on", f"must not precede the letter's signing ({self.signed_on})")
        self._followed_up(follow_up_id=follow_up_id, kind=FollowUpKind(kind).value, on=on, text=text,
                          involved=involved, diary_number=diary_number, files=list(files or []), actor=actor)

    def compile_interim_report(self, *, report_id: str, title: str, period_from: date, period_to: date,
                               compiled_on: date, actor: str) -> None:
        """A delrapport: the follow-ups of a period, fixed as they read when it was compiled."""
        self.check_allows("compile_interim_report")
        if period_to < period_from:
            raise InvalidRequest.for_field("period_to", "must not precede period_from")
        if period_to > compiled_on:
            raise InvalidRequest.for_field("period_to", f"a report covers what has happened (compiled {compiled_on})")
        entries = [f for f in self.follow_ups if period_from <= f["on"] <= period_to]
        self._interim_report_compiled(report_id=report_id, title=title, period_from=period_from,
                                      period_to=period_to, compiled_on=compiled_on, follow_ups=entries, actor=actor)

    def check_status_date(self, on: date) -> None:
        latest = max([self.signed_on, *(change["on"] for change in self.status_changes)])
        if on < latest:
            raise InvalidRequest.for_field("on", f"must not precede {latest} (signing or the last change)")

    def pause(self, *, reason: str, on: date, actor: str) -> None:
        self.check_allows("pause")
        self.check_status_date(on)
        self._status_changed(change="paused", reason=reason, on=on, review_on=None, actor=actor)

    def resume(self, *, reason: str, on: date, actor: str) -> None:
        self.check_allows("resume")
        self.check_status_date(on)
        self._status_changed(change="resumed", reason=reason, on=on, review_on=None, actor=actor)

    def terminate(self, *, reason: str, on: date, actor: str) -> None:
        self.check_allows("terminate")
        self.check_status_date(on)
        self._status_changed(change="terminated", reason=reason, on=on, review_on=None, actor=actor)

    def renew(self, *, reason: str, on: date, review_on: date, actor: str) -> None:
        self.check_allows("renew")
        self.check_status_date(on)
        if review_on <= on:
            raise InvalidRequest.for_field("review_on", "must fall after the renewal")
        self._status_changed(change="renewed", reason=reason, on=on, review_on=review_on, actor=actor)

    class FollowedUp(TracedAggregate.Event):
        """Version 2 carries the follow-up's files ({sha256, size, media_type, filename}, shared.files)."""

        class_version = 2
        follow_up_id: str
        kind: str
        on: date
        text: str
        involved: list[str]
        diary_number: str | None
        files: list[dict[str, Any]]
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["files"] = []

    @event(FollowedUp)
    def _followed_up(self, follow_up_id: str, kind: str, on: date, text: str, involved: list[str],
                     diary_number: str | None, files: list[dict[str, Any]], actor: str) -> None:
        # In date order, a later entry after earlier ones of its day; in place, so a letter with
        # thousands of follow-ups replays in linear time (re-sorting on each event was quadratic).
        bisect.insort_right(self.follow_ups, {"follow_up_id": follow_up_id, "kind": kind, "on": on, "text": text,
                                              "involved": list(involved), "diary_number": diary_number,
                                              "files": list(files)},
                            key=lambda f: f["on"])

    @event("InterimReportCompiled")
    def _interim_report_compiled(self, report_id: str, title: str, period_from: date, period_to: date,
                                 compiled_on: date, follow_ups: list[dict[str, Any]], actor: str) -> None:
        self.reports.append({"report_id": report_id, "title": title, "period_from": period_from,
                             "period_to": period_to, "compiled_on": compiled_on, "follow_ups": list(follow_ups)})

    @event("StatusChanged")
    def _status_changed(self, change: str, reason: str, on: date, review_on: date | None, actor: str) -> None:
        self.status_changes.append({"change": change, "reason": reason, "on": on})
        self.state = LetterState.ACTIVE if change in ("resumed", "renewed") else LetterState(change)
        if review_on is not None:
            self.review_on = review_on


class ReviewKind(str, Enum):
    MID_TERM = "mid_term"
    RELEVANCE = "relevance"


class CollaborationAgreement(RemindingAggregate):
    """A samverkansöverenskommelse: one text, many parties, each signing its own contract."""

    # A review scheduled names the day it falls due, not a day it took effect: recorded date only.
    effective_dates = {"Drafted": None, "ContractSigned": "signed_on", "EnteredIntoForce": "in_force_on",
                       "ConsultationOpened": None, "ReplyRecorded": "received_on", "ReviewScheduled": None,
                       "ReviewFellDue": "due_on"}

    @event("Drafted")
    def __init__(
        self, *, title: str, summary: str, diary_number: str, period_from: date, period_to: date,
        parties: list[str], required_parties: list[str] | None, actor: str,
    ):
        if period_to < period_from:
            raise InvalidRequest.for_field("period_to", "must not precede period_from")
        if len(set(parties)) != len(parties):
            raise InvalidRequest.for_field("parties", "each party once")
        if required_parties is not None and not set(required_parties) <= set(parties):
            raise InvalidRequest.for_field("required_parties", "must be parties to the agreement")
        self.title = title
        self.summary = summary
        self.required_parties = list(parties if required_parties is None else required_parties)
        self.diary_number = diary_number
        self.period_from = period_from
        self.period_to = period_to
        self.parties = list(parties)
        self.signatures: dict[str, dict[str, Any]] = {}
        self.in_force_on: date | None = None
        self.consultations: dict[str, dict[str, Any]] = {}
        self.reviews: dict[str, dict[str, Any]] = {}

    # --- contracts per party -----------------------------------------------------

    def sign(self, *, party: str, signed_by: str, signed_on: date, decided_by: str | None, actor: str) -> None:
        if party not in self.parties:
            raise InvalidRequest.for_field("party", f"not a party to this agreement: {party}")
        if party in self.signatures:
            raise CommandNotAllowed("sign", f"{party} signed on {self.signatures[party]['signed_on']}", [])
        if signed_on > self.period_to:
            raise InvalidRequest.for_field("signed_on", f"after the agreement's period ({self.period_to})")
        self._contract_signed(party=party, signed_by=signed_by, signed_on=signed_on, decided_by=decided_by,
                              actor=actor)
        if self.in_force_on is None and set(self.required_parties) <= set(self.signatures):
            in_force_on = max(self.signatures[p]["signed_on"] for p in self.required_parties)
            self._entered_into_force(in_force_on=in_force_on, actor=actor)

    def party_status(self) -> list[dict[str, Any]]:
        return [{"party": party, "signed": party in self.signatures, **self.signatures.get(party, {})}
                for party in self.parties]

    # --- consultation ------------------------------------------------------------

    def open_consultation(self, *, consultation_id: str, title: str, recipients: list[str] | None, reply_by: date,
                          diary_number: str, actor: str) -> None:
        recipients = self.parties if recipients is None else recipients
        if len(set(recipients)) != len(recipients) or not set(recipients) <= set(self.parties):
            raise InvalidRequest.for_field("recipients", "each a party to the agreement, once")
        self._consultation_opened(consultation_id=consultation_id, title=title, recipients=recipients,
                                  reply_by=reply_by, diary_number=diary_number, actor=actor)

    def record_reply(self, *, consultation_id: str, party: str, received_on: date, diary_number: str,
                     summary: str | None, actor: str, files: list[dict[str, Any]] | None = None) -> None:
        consultation = self.consultation(consultation_id)
        if party not in consultation["recipients"]:
            raise InvalidRequest.for_field("party", f"{party} was not asked in this consultation")
        if party in consultation["replies"]:
            raise CommandNotAllowed("record_reply", f"{party} has replied already", [])
        if diary_number != consultation["diary_number"]:
            raise InvalidRequest.for_field(
                "diary_number", f"replies must carry {consultation['diary_number']}, not {diary_number}")
        self._reply_recorded(consultation_id=consultation_id, party=party, received_on=received_on,
                             late=received_on > consultation["reply_by"], summary=summary, files=list(files or []),
                             actor=actor)

    def consultation(self, consultation_id: str) -> dict[str, Any]:
        if consultation_id not in self.consultations:
            raise NotFound(f"No consultation {consultation_id} on {self.title}")
        return self.consultations[consultation_id]

    def overdue_recipients(self, consultation_id: str, today: date) -> list[str]:
        consultation = self.consultation(consultation_id)
        if today <= consultation["reply_by"]:
            return []
        return [party for party in consultation["recipients"] if party not in consultation["replies"]]

    def reminders(self) -> list[Reminder]:
        """A consultation some recipients have not answered: its reply deadline in seven days, and passed."""
        found = []
        for consultation in self.consultations.values():
            waiting = [party for party in consultation["recipients"] if party not in consultation["replies"]]
            if not waiting:
                continue
            reply_by, title = consultation["reply_by"], consultation["title"]
            details = {"consultation_id": consultation["consultation_id"], "consultation": title,
                       "reply_by": reply_by.isoformat(), "waiting_for": waiting}
            found += [
                Reminder(kind="consultation_reply_due_in_7_days", key=f"consultation_reply_due_in_7_days:"
                         f"{consultation['consultation_id']}", due_on=reply_by - timedelta(days=7), role="strategist",
                         text=f"Replies to '{title}' are due on {reply_by}; {len(waiting)} not yet received",
                         details=details, diary_number=consultation["diary_number"]),
                Reminder(kind="consultation_reply_deadline_passed", key=f"consultation_reply_deadline_passed:"
                         f"{consultation['consultation_id']}", due_on=reply_by + timedelta(days=1), role="strategist",
                         text=f"Replies to '{title}' were due on {reply_by}; {len(waiting)} not received",
                         details=details, diary_number=consultation["diary_number"]),
            ]
        return found

    # --- reviews -----------------------------------------------------------------

    def schedule_review(self, *, review_id: str, kind: str, title: str, due_on: date, actor: str) -> None:
        if not self.period_from <= due_on <= self.period_to:
            raise InvalidRequest.for_field("due_on", f"within the agreement's period {self.period_from}–{self.period_to}")
        if any(r["kind"] == kind and r["due_on"] == due_on for r in self.reviews.values()):
            raise CommandNotAllowed("schedule_review", f"a {kind} review is already due on {due_on}", [])
        self._review_scheduled(review_id=review_id, kind=ReviewKind(kind).value, title=title, due_on=due_on,
                               actor=actor)

    def due_reviews(self, today: date) -> list[dict[str, Any]]:
        return [r for r in self.reviews.values() if r["due_on"] <= today and not r["announced"]]

    def announce_due_reviews(self, *, today: date, actor: str) -> int:
        """Each review falls due once: the announcement is an event, recorded before anyone hears of it."""
        due = self.due_reviews(today)
        for review in due:
            self._review_fell_due(review_id=review["review_id"], kind=review["kind"], title=review["title"],
                                  due_on=review["due_on"], agreement=self.title, diary_number=self.diary_number,
                                  actor=actor)
        return len(due)

    # --- events ------------------------------------------------------------------

    @event("ContractSigned")
    def _contract_signed(self, party: str, signed_by: str, signed_on: date, decided_by: str | None, actor: str) -> None:
        self.signatures[party] = {"signed_by": signed_by, "signed_on": signed_on, "decided_by": decided_by}

    @event("EnteredIntoForce")
    def _entered_into_force(self, in_force_on: date, actor: str) -> None:
        self.in_force_on = in_force_on

    @event("ConsultationOpened")
    def _consultation_opened(self, consultation_id: str, title: str, recipients: list[str], reply_by: date,
                             diary_number: str, actor: str) -> None:
        self.consultations[consultation_id] = {
            "consultation_id": consultation_id, "title": title, "recipients": list(recipients),
            "reply_by": reply_by, "diary_number": diary_number, "replies": {},
        }

    class ReplyRecorded(TracedAggregate.Event):
        """Version 2 carries the reply's files ({sha256, size, media_type, filename}, shared.files)."""

        class_version = 2
        consultation_id: str
        party: str
        received_on: date
        late: bool
        summary: str | None
        files: list[dict[str, Any]]
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["files"] = []

    @event(ReplyRecorded)
    def _reply_recorded(self, consultation_id: str, party: str, received_on: date, late: bool,
                        summary: str | None, files: list[dict[str, Any]], actor: str) -> None:
        self.consultations[consultation_id]["replies"][party] = {
            "received_on": received_on, "late": late, "summary": summary, "files": list(files)}

    def reply_files(self) -> list[dict[str, Any]]:
        """Every file of every consultation's replies."""
        return [file for consultation in self.consultations.values() for reply in consultation["replies"].values()
                for file in reply.get("files", [])]

    @event("ReviewScheduled")
    def _review_scheduled(self, review_id: str, kind: str, title: str, due_on: date, actor: str) -> None:
        self.reviews[review_id] = {"review_id": review_id, "kind": kind, "title": title, "due_on": due_on,
                                   "announced": False}

    @event("ReviewFellDue")
    def _review_fell_due(self, review_id: str, kind: str, title: str, due_on: date, agreement: str,
                         diary_number: str, actor: str) -> None:
        self.reviews[review_id]["announced"] = True
