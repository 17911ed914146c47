"""InitiativesApplication: one method per use case; load → command → save."""
from __future__ import annotations

from datetime import date
from typing import Any, Sequence
from uuid import UUID, uuid4

from services.initiatives.domain import (
    CONCLUSIVE_OUTCOMES,
    CitableEvaluation,
    Initiative,
    Kind,
    format_diary_number,
)
from services.initiatives.read_model import InitiativesReadModel
from shared import clock
from shared.application import CaseApplication
from shared.errors import CaseError, InvalidRequest, NotFound
from shared.inbox import Incident, incident_for
from shared.readmodel import Condition, Page, equal_to, tagged, within
from shared.reminders import months_after
from shared.serials import next_serial, retrying_on_conflict

CONCLUSIVE_OUTCOME_VALUES = {outcome.value for outcome in CONCLUSIVE_OUTCOMES}
DEFAULT_DIARY = "RUN"
DEFAULT_DIARY_NUMBER_FORMAT = "{diary} {year}-{serial:04d}"
DEFAULT_REGION_NAME = "Regionen"


class InitiativesApplication(CaseApplication):
    name = "initiatives"
    source = "initiatives"
    published = (Initiative, Incident)
    inbox_sources = ("meetings", "evaluations")
    read_model_class = InitiativesReadModel
    reminding = (Initiative, "initiatives")

    def __init__(self, env: dict[str, str] | None = None):
        super().__init__(env=env)
        self.diary = self.env.get("DIARY", DEFAULT_DIARY)
        self.diary_number_format = self.env.get("DIARY_NUMBER_FORMAT", DEFAULT_DIARY_NUMBER_FORMAT)
        self.region_name = self.env.get("REGION_NAME", DEFAULT_REGION_NAME)  # who issues the reports

    # --- commands ----------------------------------------------------------

    def submit_initiative(self, *, actor: str, **details: Any) -> Initiative:
        initiative = Initiative(actor=actor, **details)
        self.save(initiative)
        return initiative

    def register_initiative(
        self, initiative_id: UUID, *, actor: str, registered_on: date | None = None
    ) -> Initiative:
        """Issues the next serial in the diary and registers the case, atomically."""
        return retrying_on_conflict(
            self._register_once, initiative_id, actor, registered_on or clock.today()
        )

    def _register_once(self, initiative_id: UUID, actor: str, registered_on: date) -> Initiative:
        initiative = self.load(initiative_id, Initiative)
        initiative.check_allows("register")
        serial = next_serial(self, f"diary/{self.diary}", registered_on.year)
        diary_number = format_diary_number(
            self.diary_number_format, diary=self.diary, year=serial.year, serial=serial.last
        )
        initiative.register(
            diary=self.diary, diary_number=diary_number, registered_on=registered_on, actor=actor
        )
        self.save(serial, initiative)
        return initiative

    def refer_for_preparation(
        self, initiative_id: UUID, *, actor: str, preparers: list[dict[str, Any]],
        due_date: date | None = None, referred_on: date | None = None, preparing_bodies: Sequence[str] = (),
    ) -> Initiative:
        return self._change(
            initiative_id, "refer_for_preparation", actor=actor, preparers=preparers,
            due_date=due_date, referred_on=referred_on or clock.today(), preparing_bodies=preparing_bodies,
        )

    def draft_answer(self, initiative_id: UUID, *, actor: str, **answer: Any) -> Initiative:
        """An evaluation cited as a basis document must be one this service knows to be completed."""
        self.load(initiative_id, Initiative).check_allows("draft_answer")  # 404 and 409 before 400
        for number, document in enumerate(answer.get("basis_documents", [])):
            if document.get("evaluation_id") is not None:
                self._check_citable(str(document["evaluation_id"]), f"basis_documents.{number}.evaluation_id")
        return self._change(initiative_id, "draft_answer", actor=actor, answer=answer)

    def register_document(
        self, initiative_id: UUID, *, actor: str, kind: str, direction: str, title: str, dated: date,
        counterpart: str | None = None, file: dict[str, Any] | None = None, secret_under: str | None = None,
    ) -> Initiative:
        """A document (handling) registered on the case; its file, if any, must have been uploaded
        (POST /files): the event records its hash, size and media type as the store has them."""
        self.load(initiative_id, Initiative)  # 404 before 400
        return self._change(
            initiative_id, "register_document", actor=actor, document_id=str(uuid4()), kind=kind,
            direction=direction, title=title, dated=dated, counterpart=counterpart,
            file=self.resolved_file(file, "file"), registered_on=clock.today(), secret_under=secret_under,
        )

    def document_file(self, initiative_id: UUID, document_id: UUID) -> tuple[dict[str, Any], bytes]:
        """A registered document's file and its content, the hash checked (FileCorrupted otherwise)."""
        document = self.load(initiative_id, Initiative).document(str(document_id))
        if document is None or document["file"] is None:
            raise NotFound(f"No document {document_id} with a file on the case {initiative_id}")
        _, content = self.read_file(document["file"]["sha256"])
        return document["file"], content

    def _check_citable(self, evaluation_id: str, field: str) -> None:
        if not self.exists(CitableEvaluation.create_id(evaluation_id)):
            raise InvalidRequest.for_field(
                field, f"no completed evaluation {evaluation_id} (unknown, not completed, or not yet arrived)")

    def schedule_for_decision(
        self, initiative_id: UUID, *, actor: str, body: str, meeting: str, meeting_date: date | None = None
    ) -> Initiative:
        return self._change(
            initiative_id, "schedule_for_decision", actor=actor, body=body, meeting=meeting,
            meeting_date=meeting_date,
        )

    def record_decision(
        self, initiative_id: UUID, *, actor: str, outcome: str, text: str,
        paragraph: str | None = None, decided_on: date | None = None, proposal_to: str | None = None,
    ) -> Initiative:
        return self._change(
            initiative_id, "record_decision", actor=actor, outcome=outcome, text=text,
            paragraph=paragraph, decided_on=decided_on or clock.today(), proposal_to=proposal_to,
        )

    def finalise_decision(
        self, initiative_id: UUID, *, actor: str, minutes_adjusted_on: date | None = None
    ) -> Initiative:
        return self._change(
            initiative_id, "finalise", actor=actor, minutes_adjusted_on=minutes_adjusted_on or clock.today()
        )

    def dispatch_decision(
        self, initiative_id: UUID, *, actor: str, recipients: list[dict[str, Any]],
        dispatched_on: date | None = None,
    ) -> Initiative:
        return self._change(
            initiative_id, "dispatch", actor=actor, recipients=recipients,
            dispatched_on=dispatched_on or clock.today(),
        )

    def close_initiative(self, initiative_id: UUID, *, actor: str, closed_on: date | None = None) -> Initiative:
        return self._change(initiative_id, "close", actor=actor, closed_on=closed_on or clock.today())

    def withdraw_initiative(
        self, initiative_id: UUID, *, actor: str, reason: str, withdrawn_on: date | None = None
    ) -> Initiative:
        return self._change(
            initiative_id, "withdraw", actor=actor, reason=reason, withdrawn_on=withdrawn_on or clock.today()
        )

    def _change(self, initiative_id: UUID, command: str, **arguments: Any) -> Initiative:
        return self.change(initiative_id, Initiative, command, **arguments)

    # --- policy: what the meetings decide happens to the case --------------------

    def when(self, source: str, envelope: dict[str, Any]) -> list[Any]:
        if source == "evaluations" and envelope["type"] == "Evaluation.Completed":
            payload = envelope["payload"]
            if self.exists(CitableEvaluation.create_id(envelope["aggregate_id"])):
                return []
            return [CitableEvaluation(evaluation_id=envelope["aggregate_id"], title=payload["title"],
                                      completed_on=date.fromisoformat(payload["completed_on"]),
                                      actor=envelope["actor"] or source)]
        if source != "meetings":
            return []
        payload, actor = envelope["payload"], envelope["actor"] or source
        if envelope["type"] == "Meeting.MinutesAdjusted":
            return self._for_each_case(source, envelope, [  # a proposal waits for the body that concludes
                d["diary_number"] for d in payload["decisions"]
                if d["outcome"] in CONCLUSIVE_OUTCOME_VALUES and not d.get("proposal_to")
            ], "finalise", actor=actor, minutes_adjusted_on=date.fromisoformat(payload["adjusted_on"]))
        if envelope["type"] == "Meeting.ReminderRaised":
            if payload["kind"] != "appeal_period_ended":
                return []
            return self._for_each_case(source, envelope, [  # laga kraft; a proposal is no decision to appeal
                d["diary_number"] for d in payload["details"]["decisions"]
                if d["outcome"] in CONCLUSIVE_OUTCOME_VALUES and not d.get("proposal_to")
            ], "gain_legal_force", actor=actor, on=date.fromisoformat(payload["due_on"]),
                meeting_id=envelope["aggregate_id"])
        meeting_id = envelope["aggregate_id"]
        if envelope["type"] == "Meeting.Cancelled":
            return self._unscheduled(payload["diary_numbers"], meeting_id, actor=actor,
                                     reason=f"Sammanträdet ställdes in: {payload['reason']}")
        if not envelope.get("diary_number"):
            return []  # an agenda item that is not a case
        if envelope["type"] == "Meeting.ItemAdded":
            return [self._changed(envelope["diary_number"], "schedule_for_decision", actor=actor,
                                  body=payload["body"], meeting=payload["meeting"], meeting_id=meeting_id,
                                  meeting_date=date.fromisoformat(payload["meeting_date"]))]
        if envelope["type"] == "Meeting.ItemDecided":
            return [self._changed(envelope["diary_number"], "record_decision", actor=actor,
                                  outcome=payload["outcome"], paragraph=payload["paragraph"],
                                  text=payload["text"], decided_on=date.fromisoformat(payload["decided_on"]),
                                  proposal_to=payload.get("proposal_to"), body=payload["body"])]
        if envelope["type"] == "Meeting.ItemWithdrawn":
            return self._unscheduled([envelope["diary_number"]], meeting_id, actor=actor,
                                     reason=f"Utgick ur föredragningslistan: {payload['reason']}")
        return []

    def _unscheduled(self, diary_numbers: list[str], meeting_id: str, **arguments: Any) -> list[Initiative]:
        """Cases this meeting had scheduled wait for another; a case since put on another meeting stays."""
        unscheduled = []
        for diary_number in diary_numbers:
            initiative = self.load(self.find_by_diary_number(diary_number).id, Initiative)
            if initiative.is_scheduled_for(meeting_id):
                initiative.unschedule(**arguments)
                unscheduled.append(initiative)
        return unscheduled

    def _for_each_case(
        self, source: str, envelope: dict[str, Any], diary_numbers: list[str | None], command: str, **arguments: Any
    ) -> list[Any]:
        """One event about several cases: a case that refuses becomes an incident, the others go on."""
        changed: list[Any] = []
        for diary_number in filter(None, diary_numbers):
            try:
                changed.append(self._changed(diary_number, command, **arguments))
            except CaseError as refused:
                changed.append(incident_for(source, envelope, refused, diary_number))
        return changed

    def _changed(self, diary_number: str, command: str, **arguments: Any) -> Initiative:
        initiative = self.load(self.find_by_diary_number(diary_number).id, Initiative)
        getattr(initiative, command)(**arguments)
        return initiative

    # --- queries -----------------------------------------------------------

    def get_initiative(self, initiative_id: UUID) -> Initiative:
        return self.load(initiative_id, Initiative)

    def find_by_diary_number(self, diary_number: str) -> Initiative:
        """The case with that diary number, as stored now (the read model only says which one it is)."""
        page = self.list_page("initiatives", {"limit": 1}, conditions=[Condition("diary_number", "=", diary_number)],
                              diary_number=diary_number, complete=True)
        return self.load(UUID(page.items[0]["id"]), Initiative)

    def list_initiatives(self, query: dict[str, Any], *, today: date) -> Page:
        """A page of cases; every filter given must hold. `overdue`: undecided past the due date."""
        conditions = [*equal_to(query, "state", "kind", "diary", "diary_number"),
                      *within("registered_on", query.get("registered_from"), query.get("registered_to")),
                      *within("decided_on", query.get("decided_from"), query.get("decided_to"))]
        if query.get("overdue"):
            conditions += [Condition("undecided", "=", 1), Condition("due_date", "<", today.isoformat())]
        return self.list_page("initiatives", query, conditions=conditions, diary_number=query.get("diary_number"),
                              tags=tagged(query, submitter="submitter", party="party", preparer="preparer"))

    def undecided_motions(self, on: date) -> list[dict[str, Any]]:
        """Every motion undecided on a day, by submission (KL 5:35: the council hears of them twice a
        year): those undecided now and raised by then, and those decided or withdrawn since."""
        raised = [Condition("kind", "=", Kind.MOTION.value), Condition("submitted_on", "<=", on.isoformat())]
        found = [*self.rows_where("initiatives", [*raised, Condition("undecided", "=", 1)]),
                 *self.rows_where("initiatives", [*raised, Condition("settled_on", ">", on.isoformat())])]
        motions = []
        for case in sorted(found, key=lambda case: (case["submitted_on"], case["diary_number"] or "")):
            submitted_on = date.fromisoformat(case["submitted_on"])
            one_year_on = months_after(submitted_on, 12)
            motions.append({
                "id": case["id"], "diary_number": case["diary_number"], "title": case["title"],
                "submitters": case["submitters"], "submitted_on": submitted_on, "state": case["state"],
                "due_date": date.fromisoformat(case["due_date"]) if case["due_date"] else None,
                "one_year_on": one_year_on, "past_one_year": on >= one_year_on,
            })
        return motions

    def diary_number_of(self, domain_event: Any, position: int) -> str | None:
        """An initiative's events name its case from its registration on."""
        if not isinstance(domain_event, Initiative.Event):
            return super().diary_number_of(domain_event, position)
        if isinstance(domain_event, Initiative.Registered):  # type: ignore[attr-defined]
            return domain_event.diary_number
        if domain_event.originator_version == 1:
            return None
        registered = self.facts.get(domain_event.originator_id,
                                    lambda: self._registration(domain_event.originator_id, domain_event.originator_version))
        if registered is None or registered[0] > domain_event.originator_version:
            return None
        return registered[1]

    def _registration(self, initiative_id: UUID, up_to_version: int) -> tuple[int, str] | None:
        """(version, diary number) of the case's registration, if it was registered by that version."""
        for stored in self.recorder.select_events(initiative_id, lte=up_to_version):
            if stored.topic.endswith("Initiative.Registered"):
                return stored.originator_version, self.mapper.to_domain_event(stored).diary_number
        return None
