"""InitiativesApplication: one method per use case; load → command → save."""
from __future__ import annotations

import hashlib
from contextlib import nullcontext
from datetime import date, datetime, timezone
from typing import Any, Sequence
from uuid import UUID, uuid4

from services.initiatives.domain import (
    CONCLUSIVE_OUTCOMES,
    CitableEvaluation,
    Initiative,
    Kind,
    format_diary_number,
)
from services.initiatives import importing
from services.initiatives.read_model import InitiativesReadModel
from shared import clock
from shared.application import CaseApplication
from shared.errors import CaseError, InvalidRequest, NotFound
from shared.inbox import Incident, incident_for
from shared.readmodel import Condition, Page, equal_to, tagged, within
from shared.reminders import months_after
from shared.context import also
from eventsourcing.persistence import IntegrityError

from shared.errors import CommandNotAllowed, ConcurrentChange, RuleBroken
from shared.envelope import describe
from shared.secrecy import REDACTABLE_EVENTS, SECRECY_EVENTS, markings_from_events, redact_event
from shared.serials import next_serial, retrying_on_conflict, serial_counter

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

    def draft_answer(
        self, initiative_id: UUID, *, actor: str, secret_sections: dict[str, str] | None = None, **answer: Any
    ) -> Initiative:
        """An evaluation cited as a basis document must be one this service knows to be completed.
        `secret_sections` (section → provision) are marked secret in the same save as the draft."""
        def with_citations_checked(initiative: Initiative) -> dict[str, Any]:
            initiative.check_allows("draft_answer")  # 404 and 409 before 400
            for number, document in enumerate(answer.get("basis_documents", [])):
                if document.get("evaluation_id") is not None:
                    self._check_citable(str(document["evaluation_id"]), f"basis_documents.{number}.evaluation_id")
            return {}

        drafted_on = answer.pop("drafted_on", None)  # the event's effective date, not the answer's content
        with also(effective_on=drafted_on) if drafted_on else nullcontext():
            return self._change(initiative_id, "draft_answer", actor=actor, answer=answer,
                                secret_sections=secret_sections or {}, marked_on=clock.today(),
                                derived=with_citations_checked)

    def register_document(
        self, initiative_id: UUID, *, actor: str, kind: str, direction: str, title: str, dated: date,
        counterpart: str | None = None, file: dict[str, Any] | None = None, secret_under: str | None = None,
    ) -> Initiative:
        """A document (handling) registered on the case; its file, if any, must have been uploaded
        (POST /files): the event records its hash, size and media type as the store has them."""
        return self._change(
            initiative_id, "register_document", actor=actor, document_id=str(uuid4()), kind=kind,
            direction=direction, title=title, dated=dated, counterpart=counterpart,
            registered_on=clock.today(), secret_under=secret_under,
            derived=lambda initiative: {"file": self.resolved_file(file, "file")},  # 404 before 400
        )

    def document_file(self, initiative_id: UUID, document_id: UUID) -> tuple[dict[str, Any], bytes]:
        """A registered document's file and its content, the hash checked (FileCorrupted otherwise)."""
        document = self.load(initiative_id, Initiative).document(str(document_id))
        if document is None or document["file"] is None:
            raise NotFound(f"No document {document_id} with a file on the case {initiative_id}")
        _, content = self.read_file(document["file"]["sha256"])
        return document["file"], content

    def mark_secret(
        self, initiative_id: UUID, *, actor: str, target: str, provision: str | None, reason: str | None = None,
        marked_on: date | None = None,
    ) -> Initiative:
        """Marks a section of the answer or a document secret (OSL); the same marking again writes nothing."""
        return self._change(initiative_id, "mark_secret", actor=actor, target=target, provision=provision,
                            reason=reason, marked_on=marked_on or clock.today())

    def lift_secrecy(
        self, initiative_id: UUID, *, actor: str, target: str, reason: str, lifted_on: date | None = None
    ) -> Initiative:
        return self._change(initiative_id, "lift_secrecy", actor=actor, target=target, reason=reason,
                            lifted_on=lifted_on or clock.today())

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

    # --- import from an older diary (docs/import.md) ----------------------------------------------

    def import_cases(self, raw: bytes, media_type: str, *, filename: str, actor: str) -> list[dict[str, Any]]:
        """Every record of the file as a case with its steps, each recorded as the aggregate's events with
        the step's date, marked imported. The whole file is checked first (every record's steps run on an
        unsaved case): any error, and nothing is written. Then each case is saved in one transaction with
        its diary's counter moved past its serial. A case already imported from the same file is unchanged."""
        records = importing.read_records(raw, media_type)
        meta = {"by": actor, "file": filename, "sha256": hashlib.sha256(raw).hexdigest(),
                "imported_at": datetime.now(timezone.utc).isoformat()}
        planned, errors = [], []
        for number, record in enumerate(records):
            try:
                planned.append(self._planned_import(number, record, meta, actor, records))
            except InvalidRequest as refused:
                errors += refused.errors
        if errors:
            raise InvalidRequest(errors)
        results = []
        for record, initiative in planned:
            if initiative is None:
                results.append({"diary_number": record["diary_number"],
                                "id": Initiative.id_for_diary_number(record["diary_number"]),
                                "outcome": "unchanged", "events": 0})
                continue
            events = len(initiative.pending_events)
            self._save_imported(initiative, record)
            results.append({"diary_number": record["diary_number"], "id": initiative.id, "outcome": "imported",
                            "events": events})
        return results

    def _planned_import(
        self, number: int, record: dict[str, Any], meta: dict[str, Any], actor: str, records: list[dict[str, Any]],
    ) -> tuple[dict[str, Any], Initiative | None]:
        """The case as the record makes it, unsaved; None when the same file imported it already."""
        field = f"records.{number}"
        diary_number = record["diary_number"]
        if any(other["diary_number"] == diary_number for other in records[:number]):
            raise InvalidRequest.for_field(f"{field}.diary_number", f"{diary_number!r} is in the file twice")
        parts = importing.diary_number_parts(self.diary_number_format, self.diary, diary_number)
        if parts is None:
            raise InvalidRequest.for_field(f"{field}.diary_number", f"{diary_number!r} is not a number of the "
                                           f"diary {self.diary} written as it writes them ({self.diary_number_format}"
                                           ", a serial from 1)")
        registered_on = importing.registered_on(record)
        if registered_on is None or record["steps"][0]["step"] != "registered":
            raise InvalidRequest.for_field(f"{field}.steps.0.step", "a case's first step is registered")
        if parts[0] != registered_on.year:
            raise InvalidRequest.for_field(f"{field}.diary_number", f"the year of {diary_number!r} is not the year "
                                           f"it was registered ({registered_on})")
        initiative_id = Initiative.id_for_diary_number(diary_number)
        if self.exists(initiative_id):
            first = next(iter(self.events.get(initiative_id, lte=1)))
            if (getattr(first, "imported", None) or {}).get("sha256") == meta["sha256"]:
                return record, None
            raise InvalidRequest.for_field(f"{field}.diary_number", f"{diary_number!r} was imported from another "
                                           "file; it is not changed")
        if self._diary_number_taken(diary_number):
            raise InvalidRequest.for_field(f"{field}.diary_number", f"{diary_number!r} is already in the diary")
        details = {key: record[key] for key in ("kind", "title", "text", "proposal_clauses", "submitters",
                                                "submitted_on", "addressed_to")}
        with also(imported=meta, effective_on=None):
            initiative = Initiative.imported(initiative_id, actor=actor, **details)
        previous = ("submitted", record["submitted_on"])
        for index, step in enumerate(record["steps"]):
            if step["on"] < previous[1]:
                raise InvalidRequest.for_field(f"{field}.steps.{index}.on", f"{step['on']} is before the step before "
                                               f"it ({previous[0]} {previous[1]}): steps are in the order they happened")
            self._imported_step(initiative, step, f"{field}.steps.{index}", meta, actor, diary_number)
            previous = (step["step"], step["on"])
        return record, initiative

    def _imported_step(
        self, initiative: Initiative, step: dict[str, Any], field: str, meta: dict[str, Any], actor: str,
        diary_number: str,
    ) -> None:
        """One step as the aggregate's command: its refusal names the step."""
        how = importing.STEPS[step["step"]]
        arguments = how.arguments(step)
        if step["step"] == "registered":
            arguments.update(diary=self.diary, diary_number=diary_number)
        with also(imported=meta, effective_on=None if how.dated else step["on"]):
            try:
                getattr(initiative, how.command)(actor=actor, **arguments)
            except CommandNotAllowed as refused:
                raise InvalidRequest.for_field(f"{field}.step", f"{step['step']} is not allowed here: {refused}") \
                    from None
            except InvalidRequest as refused:
                raise InvalidRequest([{**error, "field": f"{field}.{error['field']}"} for error in refused.errors]) \
                    from None
            except RuleBroken as refused:  # the council's procedure (two levels): named on the step
                raise InvalidRequest.for_field(f"{field}.step", f"{step['step']} breaks the rule {refused.rule}: "
                                               f"{refused}") from None
            except ValueError as refused:
                raise InvalidRequest.for_field(f"{field}.step", str(refused)) from None

    def _diary_number_taken(self, diary_number: str) -> bool:
        page = self.list_page("initiatives", {"limit": 1}, conditions=[Condition("diary_number", "=", diary_number)],
                              complete=True)
        return bool(page.items)

    def _save_imported(self, initiative: Initiative, record: dict[str, Any]) -> None:
        """The case's events and its diary's counter, past the case's serial, in one transaction.

        The counter is read before the diary is looked at again: a number the diary issued before then is
        found (the file was checked earlier, and a case may have been registered since); one it issues
        after is above the counter as read, so the counter is moved past it here and the save fails on
        the counter's version. (Looked at only before, a number the diary issued meanwhile was
        imported as well: a counter already past it is not written, so nothing conflicted.)"""
        year, number = importing.diary_number_parts(self.diary_number_format, self.diary, record["diary_number"])
        serial = serial_counter(self, f"diary/{self.diary}", year)
        if self._diary_number_taken(record["diary_number"]):
            raise ConcurrentChange(f"{record['diary_number']} was registered meanwhile; the cases imported before "
                                   "it are saved, it and those after it are not")
        serial.continue_after(number)
        try:
            self.save(serial, initiative)
        except IntegrityError:  # a case registered, or the same case imported, meanwhile: nothing of it was saved
            raise ConcurrentChange(f"{record['diary_number']}: the diary's counter or the case changed meanwhile; "
                                   "import the file again (the cases imported already are unchanged)") from None

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
            initiative = self.find_by_diary_number(diary_number)
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
        initiative = self.find_by_diary_number(diary_number)
        getattr(initiative, command)(**arguments)
        return initiative

    # --- secrecy: what other systems receive --------------------------------

    def redacted_envelopes(self, envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The public feed and the outbox withhold what a case's markings hold secret NOW (a marking takes
        effect in every read after it). Only the events that carry content (AnswerDrafted,
        DocumentRegistered) need their case's markings: read once per case per page."""
        markings: dict[str, dict[str, Any]] = {}
        shown = []
        for envelope in envelopes:
            if envelope["type"] in REDACTABLE_EVENTS:
                if envelope["aggregate_id"] not in markings:
                    markings[envelope["aggregate_id"]] = self.secrecy_of(UUID(envelope["aggregate_id"]))
                envelope = redact_event(envelope, markings[envelope["aggregate_id"]])
            shown.append(envelope)
        return shown

    def secrecy_of(self, initiative_id: UUID) -> dict[str, Any]:
        """A case's markings now, from its marking events alone (a document registered `secret_under` a
        provision, SecrecyMarked, SecrecyLifted): the case is not replayed, so a read of the feed never
        fails on an aggregate that cannot be (a gap an auditor is to find)."""
        events = [describe(self.mapper.to_domain_event(stored)) for stored in self.recorder.select_events(initiative_id)
                  if stored.topic.endswith(SECRECY_EVENTS)]
        return markings_from_events(events).get(str(initiative_id), {})

    # --- queries -----------------------------------------------------------

    def get_initiative(self, initiative_id: UUID) -> Initiative:
        return self.load(initiative_id, Initiative)

    def find_by_diary_number(self, diary_number: str) -> Initiative:
        """The case with that diary number, as stored now (the read model only says which one it is, once:
        a diary number is given to one case for good)."""
        initiative_id = self.facts.get(("diary number", diary_number), lambda: self._case_numbered(diary_number))
        return self.load(initiative_id, Initiative)

    def _case_numbered(self, diary_number: str) -> UUID:
        page = self.list_page("initiatives", {"limit": 1}, conditions=[Condition("diary_number", "=", diary_number)],
                              diary_number=diary_number, complete=True)
        return UUID(page.items[0]["id"])

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
            self._remember_registration(domain_event)
            return domain_event.diary_number
        if domain_event.originator_version == 1:
            return None
        registered = self.facts.get(domain_event.originator_id,
                                    lambda: self._registration(domain_event.originator_id, domain_event.originator_version))
        if registered is None or registered[0] > domain_event.originator_version:
            return None
        return registered[1]

    def _remember_registration(self, registered: Any) -> None:
        """A registration read from the log (by the outbox relay, as it publishes it): its case's diary
        number, and which case has that number, are facts for good. Remembered, a later event of the
        case needs no read of its history to be named, nor an agenda item for it a look-up to find it."""
        self.facts.remember(registered.originator_id, (registered.originator_version, registered.diary_number))
        self.facts.remember(("diary number", registered.diary_number), registered.originator_id)

    def _registration(self, initiative_id: UUID, up_to_version: int) -> tuple[int, str] | None:
        """(version, diary number) of the case's registration, if it was registered by that version."""
        for stored in self.recorder.select_events(initiative_id, lte=up_to_version):
            if stored.topic.endswith("Initiative.Registered"):
                return stored.originator_version, self.mapper.to_domain_event(stored).diary_number
        return None
