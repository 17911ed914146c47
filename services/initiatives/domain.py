"""The Initiative aggregate: the life of a case, from submission to closure (DOMAIN.md).

Public command methods check the rule, then trigger a private event method; the
event methods only apply what the event says, so replay never re-checks or reads
the clock. Every event carries the actor; its timestamp is set when triggered.
"""
from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from typing import Any, Sequence
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from shared import clock
from shared.context import current
from shared.domain import CommandsByState, TracedAggregate
from shared.errors import CommandNotAllowed, InvalidRequest
from shared.procedure import check_decision_level, same_body, standing
from shared.reminders import Reminder, RemindingAggregate, months_after
from shared.secrecy import ANSWER_SECTIONS, answer_target, document_target, parse_target


class Kind(str, Enum):
    INITIATIVE = "initiative"
    MOTION = "motion"


class State(str, Enum):
    SUBMITTED = "submitted"
    REGISTERED = "registered"
    IN_PREPARATION = "in_preparation"
    ANSWER_DRAFTED = "answer_drafted"
    SCHEDULED = "scheduled"
    PROPOSED = "proposed"  # a preparing body decided its proposal; the body addressed waits to conclude
    DECIDED = "decided"
    FINAL = "final"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class Outcome(str, Enum):
    APPROVED = "approved"
    REJECTED = "rejected"
    CONSIDERED_ANSWERED = "considered_answered"
    REFERRED_BACK = "referred_back"
    TABLED = "tabled"


class DocumentKind(str, Enum):
    """What a registered document (handling) is."""

    MOTION = "motion"  # a motion or an initiative as submitted
    TJANSTESKRIVELSE = "tjansteskrivelse"  # the administration's report
    REMISSVAR = "remissvar"  # a consultation reply
    PROTOKOLLSUTDRAG = "protokollsutdrag"  # an extract of the minutes
    BESLUT = "beslut"  # a decision
    SKRIVELSE = "skrivelse"  # a letter
    OVRIGT = "ovrigt"  # anything else


class Direction(str, Enum):
    INCOMING = "incoming"  # received: `dated` is the day it came in, `counterpart` its sender
    OUTGOING = "outgoing"  # sent: `dated` is the day it went out, `counterpart` its recipient
    DRAWN_UP = "drawn_up"  # upprättad: drawn up here, `dated` the day it was finished


CONCLUSIVE_OUTCOMES = {Outcome.APPROVED, Outcome.REJECTED, Outcome.CONSIDERED_ANSWERED}

# The commands each state allows: the one table the rule checks and the 409s read.
ALLOWED_COMMANDS: dict[State, tuple[str, ...]] = {
    State.SUBMITTED: ("register", "withdraw"),
    State.REGISTERED: ("refer_for_preparation", "withdraw"),
    State.IN_PREPARATION: ("refer_for_preparation", "draft_answer", "withdraw"),
    State.ANSWER_DRAFTED: ("refer_for_preparation", "draft_answer", "schedule_for_decision", "withdraw"),
    State.SCHEDULED: ("record_decision", "schedule_for_decision", "unschedule", "withdraw"),
    State.PROPOSED: ("schedule_for_decision", "refer_for_preparation", "withdraw"),
    State.DECIDED: ("finalise",),
    State.FINAL: ("dispatch",),
    State.DISPATCHED: ("close",),
    State.CLOSED: (),
    State.WITHDRAWN: (),
}

UNDECIDED_STATES = {
    State.SUBMITTED, State.REGISTERED, State.IN_PREPARATION, State.ANSWER_DRAFTED, State.SCHEDULED, State.PROPOSED,
}
# Decided for good, the minutes adjusted: the decision can gain legal force (laga kraft).
FINAL_STATES = {State.FINAL, State.DISPATCHED, State.CLOSED}
# A motion undecided this many months after it was raised is reported to the council (KL 5:35).
MOTION_REMINDERS = (("motion_undecided_11_months", 11), ("motion_undecided_one_year", 12))


def default_due_date(kind: Kind, submitted_on: date) -> date | None:
    """A motion is to be decided within a year of being raised; an initiative has no default."""
    if kind is not Kind.MOTION:
        return None
    try:
        return submitted_on.replace(year=submitted_on.year + 1)
    except ValueError:  # 29 February
        return submitted_on.replace(year=submitted_on.year + 1, day=28)


class Initiative(CommandsByState, RemindingAggregate):
    commands_by_state = ALLOWED_COMMANDS
    # Each event's business date (shared.envelope.effective_on); None: the day it was recorded, unless the
    # event carries an `effective_on` of its own (an imported answer draft, an answer drafted earlier).
    # Scheduling takes effect when it is recorded, or on the meeting's day when it is recorded after the meeting
    # (its `effective_on`, stamped when it is triggered): a meeting ahead never hides what happens before it.
    effective_dates = {
        "Submitted": "submitted_on", "Registered": "registered_on", "ReferredForPreparation": "referred_on",
        "AnswerDrafted": None, "ScheduledForDecision": "effective_on", "Unscheduled": None,
        "DecisionRecorded": "decided_on", "ProposalRecorded": "decided_on", "Finalised": "minutes_adjusted_on",
        "DecisionGainedLegalForce": "on", "Dispatched": "dispatched_on", "Closed": "closed_on",
        "Withdrawn": "withdrawn_on", "DocumentRegistered": "registered_on",
        "SecrecyMarked": "marked_on", "SecrecyLifted": "lifted_on",
    }

    @event("Submitted")
    def __init__(
        self,
        *,
        kind: str,
        title: str,
        text: str,
        proposal_clauses: list[str],
        submitters: list[dict[str, Any]],
        submitted_on: date,
        addressed_to: str,
        actor: str,
    ):
        self.kind = Kind(kind)
        self.title = title
        self.text = text
        self.proposal_clauses = list(proposal_clauses)
        self.submitters = list(submitters)
        self.submitted_on = submitted_on
        self.addressed_to = addressed_to
        self.state = State.SUBMITTED
        self.diary: str | None = None
        self.diary_number: str | None = None
        self.registered_on: date | None = None
        self.preparers: list[dict[str, Any]] = []
        self.preparing_bodies: list[str] = []
        self.proposals: list[dict[str, Any]] = []  # this round's proposals by the preparing bodies, in order
        self.due_date: date | None = None
        self.answer: dict[str, Any] | None = None
        self.answer_revision = 0
        self.schedule: dict[str, Any] | None = None
        self.decisions: list[dict[str, Any]] = []
        self.finalised_on: date | None = None
        self.legal_force_on: date | None = None
        self.recipients: list[dict[str, Any]] = []
        self.dispatched_on: date | None = None
        self.enclosures: list[dict[str, Any]] = []
        self.closed_on: date | None = None
        self.withdrawal: dict[str, Any] | None = None
        self.documents: list[dict[str, Any]] = []
        # Secrecy (OSL): target (answer.<section>, document:<id>) → {provision, marked_on, marked_by}.
        self.secrecy: dict[str, dict[str, Any]] = {}

    @classmethod
    def imported(cls, initiative_id: UUID, **details: Any) -> "Initiative":
        """A case from an older diary, submitted as it was then, under the id its diary number gives."""
        return cls._create(cls.Submitted, id=initiative_id, **details)  # type: ignore[attr-defined]

    @staticmethod
    def id_for_diary_number(diary_number: str) -> UUID:
        """An imported case's id: the same diary number always gives the same case (an import is idempotent)."""
        return uuid5(NAMESPACE_URL, f"/initiatives/diary-number/{diary_number}")

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        if event_class.__qualname__.endswith(".ScheduledForDecision") and current().effective_on is None \
                and kwargs.get("meeting_date") is not None:
            kwargs.setdefault("effective_on", min(kwargs["meeting_date"], clock.today()))
        super().trigger_event(event_class, **kwargs)

    # --- rules -------------------------------------------------------------

    def is_overdue(self, today: date) -> bool:
        return self.state in UNDECIDED_STATES and self.due_date is not None and self.due_date < today

    @property
    def standing(self) -> str | None:
        """Where a case in the council's procedure stands: 'proposed by …, awaiting …'."""
        return standing(self.proposals) if self.state in UNDECIDED_STATES else None

    @property
    def decision(self) -> dict[str, Any] | None:
        """The latest recorded decision."""
        return self.decisions[-1] if self.decisions else None

    def reminders(self) -> list[Reminder]:
        """While undecided: the preparation past its due date (for the case officer), and a motion
        undecided 11 months and a year after it was raised (for the registrar)."""
        if self.state not in UNDECIDED_STATES:
            return []
        found = []
        if self.due_date is not None:
            found.append(Reminder(
                kind="preparation_due_passed", key=f"preparation_due_passed:{self.due_date}",
                due_on=self.due_date + timedelta(days=1), role="case_officer",
                text=f"The preparation was due on {self.due_date} and the case is undecided",
                details={"due_date": self.due_date.isoformat(), "state": self.state.value}))
        if self.kind is Kind.MOTION:
            for kind, months in MOTION_REMINDERS:
                due_on = months_after(self.submitted_on, months)
                found.append(Reminder(
                    kind=kind, key=f"{kind}:{due_on}", due_on=due_on, role="registrar",
                    text=f"The motion raised on {self.submitted_on} is undecided {months} months later",
                    details={"submitted_on": self.submitted_on.isoformat(), "state": self.state.value}))
        return found

    # --- commands ----------------------------------------------------------

    def register(self, *, diary: str, diary_number: str, registered_on: date, actor: str) -> None:
        self.check_allows("register")
        self._registered(diary=diary, diary_number=diary_number, registered_on=registered_on, actor=actor)

    def refer_for_preparation(
        self, *, preparers: list[dict[str, Any]], due_date: date | None, referred_on: date, actor: str,
        preparing_bodies: Sequence[str] = (),
    ) -> None:
        """`preparing_bodies`: the bodies that prepare the case in turn, each deciding a proposal to the next."""
        self.check_allows("refer_for_preparation")
        for number, body in enumerate(preparing_bodies):
            if same_body(body, self.addressed_to):
                raise InvalidRequest.for_field(f"preparing_bodies.{number}", f"{body} is the body the case is "
                                               "addressed to: it concludes the case, it does not prepare it")
            if any(same_body(body, earlier) for earlier in preparing_bodies[:number]):
                raise InvalidRequest.for_field(f"preparing_bodies.{number}", f"{body} is named twice")
        due_date = due_date or default_due_date(self.kind, self.submitted_on)
        if due_date is None:
            raise InvalidRequest.for_field("due_date", "required for an initiative (a motion defaults to one year)")
        if due_date < referred_on:
            raise InvalidRequest.for_field("due_date", f"must not be before the referral date {referred_on}")
        self._referred_for_preparation(
            preparers=preparers, due_date=due_date, referred_on=referred_on, actor=actor,
            preparing_bodies=list(preparing_bodies), addressed_to=self.addressed_to,
        )

    def draft_answer(
        self, *, answer: dict[str, Any], actor: str, secret_sections: dict[str, str] | None = None,
        marked_on: date | None = None,
    ) -> None:
        """`secret_sections` (section → provision) are marked secret in the same save as the draft, so
        their text is never published unredacted."""
        self.check_allows("draft_answer")
        secret_sections = dict(secret_sections or {})
        for section, provision in secret_sections.items():
            field = f"secret_sections.{section}"
            if section not in ANSWER_SECTIONS:
                raise InvalidRequest.for_field(
                    field, f"not a section of the answer; one of {', '.join(ANSWER_SECTIONS)}")
            if not (provision or "").strip():
                raise InvalidRequest.for_field(field, "the provision the secrecy rests on is required")
            if not answer.get(section):
                raise InvalidRequest.for_field(field, "the answer has no text in this section")
        for number, document in enumerate(answer.get("basis_documents", [])):
            if document.get("document_id") is not None and self.document(str(document["document_id"])) is None:
                raise InvalidRequest.for_field(f"basis_documents.{number}.document_id",
                                               "no document with this id is registered on the case")
        if secret_sections and marked_on is None:
            raise ValueError("marked_on is required with secret_sections")
        self._answer_drafted(answer=answer, revision=self.answer_revision + 1, actor=actor)
        for section, provision in secret_sections.items():
            if (self.secrecy.get(answer_target(section)) or {}).get("provision") != provision.strip():
                self._secrecy_marked(target=answer_target(section), provision=provision.strip(), marked_on=marked_on,
                                     reason=None, actor=actor)

    # --- secrecy (OSL) ---------------------------------------------------------

    def check_secrecy_target(self, target: str, field: str = "target") -> None:
        """A target is an answer section that holds text, or a document registered on the case."""
        try:
            kind, name = parse_target(target)
        except ValueError as error:
            raise InvalidRequest.for_field(field, str(error)) from None
        if kind == "answer" and not (self.answer or {}).get(name):
            raise InvalidRequest.for_field(field, f"the answer has no text in section {name!r}")
        if kind == "document" and self.document(name) is None:
            raise InvalidRequest.for_field(field, f"no document {name!r} is registered on the case")

    def mark_secret(self, *, target: str, provision: str | None, marked_on: date, actor: str,
                    reason: str | None = None) -> bool:
        """Marks a target secret under a provision (in any state: a request for the content may come at any
        time). Marking it again under the same provision changes nothing (False); under another, the new
        provision replaces the old."""
        provision = (provision or "").strip()
        if not provision:
            raise InvalidRequest.for_field("provision", "the provision the secrecy rests on is required, "
                                                        "e.g. OSL 21 kap. 7 §")
        self.check_secrecy_target(target)
        if (self.secrecy.get(target) or {}).get("provision") == provision:
            return False
        self._secrecy_marked(target=target, provision=provision, marked_on=marked_on, reason=reason, actor=actor)
        return True

    def lift_secrecy(self, *, target: str, reason: str, lifted_on: date, actor: str) -> None:
        """Lifts a marking: the content is shown to everyone again, in every read after it."""
        marking = self.secrecy.get(target)
        if marking is None:
            raise InvalidRequest.for_field("target", f"{target!r} is not marked secret")
        self._secrecy_lifted(target=target, provision=marking["provision"], lifted_on=lifted_on, reason=reason,
                             actor=actor)

    def schedule_for_decision(
        self, *, body: str, meeting: str, meeting_date: date | None, actor: str, meeting_id: str | None = None
    ) -> None:
        """`meeting_id` is the meetings service's meeting, when the agenda there put the case here."""
        self.check_allows("schedule_for_decision")
        self._scheduled_for_decision(
            body=body, meeting=meeting, meeting_date=meeting_date, meeting_id=meeting_id, actor=actor
        )

    def is_scheduled_for(self, meeting_id: str) -> bool:
        return self.state is State.SCHEDULED and (self.schedule or {}).get("meeting_id") == meeting_id

    def unschedule(self, *, reason: str, actor: str) -> None:
        """The item was withdrawn from the agenda, or the meeting cancelled: back to waiting for one."""
        self.check_allows("unschedule")
        self._unscheduled(reason=reason, actor=actor)

    def record_decision(
        self, *, outcome: str, paragraph: str | None, text: str, decided_on: date, actor: str,
        proposal_to: str | None = None, body: str | None = None,
    ) -> None:
        """The decision of `body` (by default the one the case is scheduled before); with `proposal_to`, a
        proposal to the body that decides next."""
        self.check_allows("record_decision")
        outcome = Outcome(outcome).value
        body = body or (self.schedule or {}).get("body") or self.addressed_to
        check_decision_level(
            body=body, outcome=outcome, proposal_to=proposal_to,
            addressed_to=self.addressed_to, preparing_bodies=self.preparing_bodies, proposals=self.proposals,
        )
        if proposal_to is not None:
            self._proposal_recorded(outcome=outcome, paragraph=paragraph, text=text, decided_on=decided_on,
                                    body=body, proposal_to=proposal_to, actor=actor)
            return
        self._decision_recorded(
            outcome=outcome, paragraph=paragraph, text=text, decided_on=decided_on, actor=actor
        )

    def finalise(self, *, minutes_adjusted_on: date, actor: str) -> None:
        self.check_allows("finalise")
        self._finalised(minutes_adjusted_on=minutes_adjusted_on, actor=actor)

    def gain_legal_force(self, *, on: date, meeting_id: str, actor: str) -> None:
        """The appeal period after the notice of the adjusted minutes ended on `on`: the decision the
        meeting took stands (laga kraft)."""
        decision = self.decision
        if self.state not in FINAL_STATES or decision is None or decision.get("meeting_id") != meeting_id:
            raise CommandNotAllowed("gain_legal_force", f"{self.state.value}, not decided for good in meeting "
                                    f"{meeting_id}", [])
        if self.legal_force_on is not None:
            raise CommandNotAllowed("gain_legal_force", f"the decision gained legal force on {self.legal_force_on}", [])
        self._decision_gained_legal_force(on=on, meeting_id=meeting_id, paragraph=decision["paragraph"], actor=actor)

    def dispatch(self, *, recipients: list[dict[str, Any]], dispatched_on: date, actor: str) -> None:
        """The decision goes out with the extract of the minutes that records it, when a meeting decided it."""
        self.check_allows("dispatch")
        self._dispatched(recipients=recipients, dispatched_on=dispatched_on, enclosures=self.extracts(), actor=actor)

    def extracts(self) -> list[dict[str, Any]]:
        """The protokollsutdrag of the decision: the meetings service's meeting and paragraph."""
        decision = self.decision or {}
        if not decision.get("meeting_id") or not decision.get("paragraph"):
            return []
        return [{"kind": "extract_of_minutes", "meeting_id": decision["meeting_id"],
                 "paragraph": decision["paragraph"],
                 "title": f"Protokollsutdrag {decision['body']} {decision['decided_on']} {decision['paragraph']}"}]

    def close(self, *, closed_on: date, actor: str) -> None:
        self.check_allows("close")
        self._closed(closed_on=closed_on, actor=actor)

    def register_document(
        self, *, document_id: str, kind: str, direction: str, title: str, dated: date, counterpart: str | None,
        file: dict[str, Any] | None, registered_on: date, secret_under: str | None, actor: str,
    ) -> None:
        """A document (handling) of the case, in the diary: allowed in every state, closed and withdrawn
        included, since a document that arrives late still belongs to the case and must be registered
        (OSL 5 kap. 1 §). A document received or sent has a counterpart (its sender or recipient); none
        is dated after the day it is registered."""
        direction = Direction(direction).value
        if direction != Direction.DRAWN_UP.value and not counterpart:
            raise InvalidRequest.for_field("counterpart", f"required for an {direction} document: its "
                                           + ("sender" if direction == Direction.INCOMING.value else "recipient"))
        if dated > registered_on:
            raise InvalidRequest.for_field("dated", f"must not fall after the day it is registered ({registered_on})")
        if any(document["document_id"] == document_id for document in self.documents):
            raise InvalidRequest.for_field("document_id", f"{document_id} is registered already")
        if secret_under is not None and not secret_under.strip():
            raise InvalidRequest.for_field("secret_under", "the provision the secrecy rests on (e.g. OSL 21 kap. 7 §) "
                                           "is blank: give it, or leave secret_under out for a public document")
        secret_under = secret_under.strip() if secret_under is not None else None
        self._document_registered(
            document_id=document_id, kind=DocumentKind(kind).value, direction=direction, title=title, dated=dated,
            counterpart=counterpart, file=file, registered_on=registered_on, secret_under=secret_under, actor=actor)

    def document(self, document_id: str) -> dict[str, Any] | None:
        return next((d for d in self.documents if d["document_id"] == str(document_id)), None)

    def withdraw(self, *, reason: str, withdrawn_on: date, actor: str) -> None:
        self.check_allows("withdraw")
        self._withdrawn(reason=reason, withdrawn_on=withdrawn_on, actor=actor)

    # --- events ------------------------------------------------------------

    @event("Registered")
    def _registered(self, diary: str, diary_number: str, registered_on: date, actor: str) -> None:
        self.diary = diary
        self.diary_number = diary_number
        self.registered_on = registered_on
        self.state = State.REGISTERED

    class ReferredForPreparation(TracedAggregate.Event):
        """Version 2 names the bodies that prepare the case in turn, and the body it is addressed to,
        so the meetings service can check who may decide it."""

        class_version = 2
        preparers: list[dict[str, Any]]
        due_date: date
        referred_on: date
        actor: str
        preparing_bodies: list[str]
        addressed_to: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["preparing_bodies"] = []
            state["addressed_to"] = None

    @event(ReferredForPreparation)
    def _referred_for_preparation(
        self, preparers: list[dict[str, Any]], due_date: date, referred_on: date, actor: str,
        preparing_bodies: list[str], addressed_to: str | None,
    ) -> None:
        self.preparers = list(preparers)
        self.due_date = due_date
        self.preparing_bodies = list(preparing_bodies)
        self.proposals = []
        self.state = State.IN_PREPARATION

    @event("AnswerDrafted")
    def _answer_drafted(self, answer: dict[str, Any], revision: int, actor: str) -> None:
        self.answer = dict(answer)
        self.answer_revision = revision
        self.state = State.ANSWER_DRAFTED

    @event("SecrecyMarked")
    def _secrecy_marked(self, target: str, provision: str, marked_on: date, reason: str | None, actor: str) -> None:
        self.secrecy = {**self.secrecy, target: {"provision": provision, "marked_on": marked_on, "marked_by": actor}}

    @event("SecrecyLifted")
    def _secrecy_lifted(self, target: str, provision: str, lifted_on: date, reason: str, actor: str) -> None:
        self.secrecy = {name: marking for name, marking in self.secrecy.items() if name != target}

    @event("ScheduledForDecision")
    def _scheduled_for_decision(
        self, body: str, meeting: str, meeting_date: date | None, meeting_id: str | None, actor: str
    ) -> None:
        self.schedule = {"body": body, "meeting": meeting, "meeting_date": meeting_date, "meeting_id": meeting_id}
        self.state = State.SCHEDULED

    @event("Unscheduled")
    def _unscheduled(self, reason: str, actor: str) -> None:
        self.schedule = None
        self.state = State.PROPOSED if self.proposals else State.ANSWER_DRAFTED

    @event("DecisionRecorded")
    def _decision_recorded(
        self, outcome: str, paragraph: str | None, text: str, decided_on: date, actor: str
    ) -> None:
        self.decisions.append(
            {
                "outcome": outcome,
                "paragraph": paragraph,
                "text": text,
                "decided_on": decided_on,
                **(self.schedule or {}),
            }
        )
        if outcome == Outcome.REFERRED_BACK.value:
            self.state = State.IN_PREPARATION
            self.schedule = None
            self.proposals = []  # prepared anew: each preparing body proposes again
        elif outcome == Outcome.TABLED.value:
            self.state = State.SCHEDULED
        else:
            self.state = State.DECIDED

    @event("ProposalRecorded")
    def _proposal_recorded(
        self, outcome: str, paragraph: str | None, text: str, decided_on: date, body: str | None, proposal_to: str,
        actor: str,
    ) -> None:
        self.proposals.append({
            "outcome": outcome, "paragraph": paragraph, "text": text, "decided_on": decided_on,
            "proposal_to": proposal_to, **(self.schedule or {}), "body": body,
        })
        self.schedule = None
        self.state = State.PROPOSED

    @event("Finalised")
    def _finalised(self, minutes_adjusted_on: date, actor: str) -> None:
        self.finalised_on = minutes_adjusted_on
        self.state = State.FINAL

    @event("DecisionGainedLegalForce")
    def _decision_gained_legal_force(self, on: date, meeting_id: str, paragraph: str | None, actor: str) -> None:
        self.legal_force_on = on

    class Dispatched(TracedAggregate.Event):
        """Version 2 names what went with the decision: the extract of the minutes."""

        class_version = 2
        recipients: list[dict[str, Any]]
        dispatched_on: date
        enclosures: list[dict[str, Any]]
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["enclosures"] = []

    @event(Dispatched)
    def _dispatched(self, recipients: list[dict[str, Any]], dispatched_on: date, enclosures: list[dict[str, Any]],
                    actor: str) -> None:
        self.recipients = list(recipients)
        self.dispatched_on = dispatched_on
        self.enclosures = list(enclosures)
        self.state = State.DISPATCHED

    @event("Closed")
    def _closed(self, closed_on: date, actor: str) -> None:
        self.closed_on = closed_on
        self.state = State.CLOSED

    @event("DocumentRegistered")
    def _document_registered(
        self, document_id: str, kind: str, direction: str, title: str, dated: date, counterpart: str | None,
        file: dict[str, Any] | None, registered_on: date, secret_under: str | None, actor: str,
    ) -> None:
        self.documents.append({
            "document_id": document_id, "kind": kind, "direction": direction, "title": title, "dated": dated,
            "counterpart": counterpart, "file": dict(file) if file is not None else None,
            "registered_on": registered_on, "secret_under": secret_under,
        })
        if secret_under:  # secret from its registration (the event is its marking): never published unredacted
            self.secrecy = {**self.secrecy, document_target(document_id): {
                "provision": secret_under, "marked_on": registered_on, "marked_by": actor}}

    @event("Withdrawn")
    def _withdrawn(self, reason: str, withdrawn_on: date, actor: str) -> None:
        self.withdrawal = {"reason": reason, "withdrawn_on": withdrawn_on}
        self.state = State.WITHDRAWN


def format_diary_number(template: str, *, diary: str, year: int, serial: int) -> str:
    """`{diary} {year}-{serial:04d}` gives RUN 2025-0042; `{diary} {serial}-{year}` gives RUN 374-2021."""
    return template.format(diary=diary, year=year, serial=serial)


class CitableEvaluation(TracedAggregate):
    """A completed evaluation of the evaluations service, as this service learnt of it: it may be cited."""

    effective_dates = {"Learnt": None}

    @staticmethod
    def create_id(evaluation_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/citable-evaluations/{evaluation_id}")

    @event("Learnt")
    def __init__(self, *, evaluation_id: str, title: str, completed_on: date, actor: str):
        self.evaluation_id = evaluation_id
        self.title = title
        self.completed_on = completed_on
