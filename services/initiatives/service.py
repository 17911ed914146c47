"""The initiatives service: HTTP and RPC entrypoints, each one use case and its view.

Routes declare their roles and schemas once (shared.openapi): the token is checked
and the payload loaded before the method runs, and the same declaration is the
OpenAPI document.
"""
from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from werkzeug.wrappers import Response

from services.initiatives import reports, schemas
from services.initiatives.application import InitiativesApplication
from services.initiatives.domain import Initiative
from shared import clock
from shared.auth import ROLES, Actor, Auth
from shared.errors import Forbidden
from shared.files import ALLOWED_MEDIA_TYPES
from shared.dependencies import Clearance, EventSourcedApplication
from shared import schemas as shared_schemas
from shared.fields import parse_uuid
from shared.http import Paged, file_response
from shared.openapi import FILE, ApiDoc
from shared.operations import operations
from shared.pdf import rendered
from shared.rpc import rpc
from shared.secrecy import document_target
from shared.views import history_response

REGISTRARS = ("registrar",)
SUBMITTERS = ("registrar", "case_officer")
CASE_OFFICERS = ("case_officer",)
SECRETARIES = ("secretary",)
READERS = ROLES
CASE_ERRORS = (404, 409)
PDF = "application/pdf"

api = ApiDoc(
    title="Initiatives",
    version="1.0.0",
    description="Initiatives (initiativärenden) and motions, from submission to closure.",
)
Loaded = dict[str, Any]


class InitiativesService(operations(api, "initiatives", consumes_events=True, reminders=True, uploaders=SUBMITTERS)):
    name = "initiatives"

    # Decisions on cases are taken in meetings: their events drive the case (shared.topology).
    initiatives = EventSourcedApplication(InitiativesApplication)
    auth = Auth()
    clearance = Clearance()  # who reads secret content (SECRECY_CLEARED_ROLES; shared.secrecy)

    # --- commands ------------------------------------------------------------

    @api.route("POST", "/initiatives", summary="Submit an initiative or a motion",
               body=schemas.SubmitInitiative, response=schemas.InitiativeView, status=201, roles=SUBMITTERS)
    def submit_initiative(self, actor: Actor, command: Loaded) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.submit_initiative(actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/register", summary="Register in the diary",
               body=schemas.RegisterInitiative, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=CASE_ERRORS)
    def register_initiative(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.register_initiative(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/referral", summary="Refer for preparation",
               body=schemas.ReferForPreparation, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=CASE_ERRORS)
    def refer_for_preparation(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.refer_for_preparation(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/answer", summary="Draft (or revise) the answer",
               body=schemas.DraftAnswerCommand, response=schemas.InitiativeView, roles=CASE_OFFICERS,
               errors=CASE_ERRORS)
    def draft_answer(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.draft_answer(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/schedule", summary="Schedule for a meeting's decision",
               body=schemas.ScheduleForDecision, response=schemas.InitiativeView, roles=SECRETARIES,
               errors=CASE_ERRORS)
    def schedule_for_decision(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.schedule_for_decision(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/decision", summary="Record the meeting's decision",
               body=schemas.RecordDecision, response=schemas.InitiativeView, roles=SECRETARIES,
               errors=CASE_ERRORS)
    def record_decision(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.record_decision(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/finalisation",
               summary="Finalise the decision: the minutes are adjusted",
               body=schemas.FinaliseDecision, response=schemas.InitiativeView, roles=SECRETARIES,
               errors=CASE_ERRORS)
    def finalise_decision(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.finalise_decision(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/dispatch", summary="Dispatch the decision",
               body=schemas.DispatchDecision, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=CASE_ERRORS)
    def dispatch_decision(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.dispatch_decision(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/closure", summary="Close the case",
               body=schemas.CloseInitiative, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=CASE_ERRORS)
    def close_initiative(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.close_initiative(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/withdrawal", summary="Withdraw while undecided",
               body=schemas.WithdrawInitiative, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=CASE_ERRORS)
    def withdraw_initiative(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.withdraw_initiative(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/secrecy", summary="Mark a section of the answer or a "
               "document secret (sekretess) under a provision of OSL; the same marking again changes nothing",
               body=schemas.MarkSecret, response=schemas.InitiativeView, roles=REGISTRARS, errors=(404,))
    def mark_secret(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.mark_secret(
            initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/secrecy/lifted", summary="Lift a secrecy marking: every "
               "read and GET /events show the content again (a subscriber that received it withheld over RabbitMQ "
               "reads it there: SecrecyLifted names what was lifted)", body=schemas.LiftSecrecy,
               response=schemas.InitiativeView, roles=REGISTRARS, errors=(404,))
    def lift_secrecy(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.lift_secrecy(
            initiative_id, actor=actor.recorded_as, **command))

    def shown(self, actor: Actor | None, initiative: Any) -> dict[str, Any]:
        """The case as this reader may see it: content marked secret withheld unless the role is cleared."""
        return self.clearance.case(actor, view(initiative))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/documents", summary="Register a document (handling) "
               "on the case, with its file uploaded first (POST /files); in every state. A case officer registers "
               "documents drawn up (drawn_up) only", body=schemas.RegisterDocument, response=schemas.InitiativeView,
               status=201, roles=SUBMITTERS, errors=CASE_ERRORS)
    def register_document(self, actor: Actor, command: Loaded, initiative_id: UUID) -> dict[str, Any]:
        if "registrar" not in actor.roles and command["direction"] != "drawn_up":
            raise Forbidden("A case officer registers documents drawn up (drawn_up); the registrar registers "
                            "documents received and sent")
        return self.shown(actor, self.initiatives.register_document(initiative_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/imports", summary="Import cases from an older diary: the body is the file (JSON or CSV, "
               "docs/import.md); every step is recorded with its own date, marked imported; all or nothing per "
               "file check, one transaction per case; the same file again changes nothing",
               query=schemas.ImportQuery, raw_body=("application/json", "text/csv"), response=schemas.ImportResult,
               status=201, roles=REGISTRARS, errors=(409,))
    def import_cases(self, actor: Actor, loaded: Loaded) -> Any:
        records = self.initiatives.import_cases(loaded["body"], loaded["media_type"], filename=loaded["filename"],
                                                actor=actor.recorded_as)
        result = import_result.dump({"filename": loaded["filename"], "records": records,
                                     "sha256": hashlib.sha256(loaded["body"]).hexdigest()})
        return (201 if any(r["outcome"] == "imported" for r in records) else 200), result

    # --- queries -------------------------------------------------------------

    @api.route("GET", "/initiatives/<uuid:initiative_id>/documents/<uuid:document_id>/file",
               summary="A registered document's file, its SHA-256 checked as it is read (500 file-corrupted when "
                       "it does not match); 403 to a role not cleared when the document is secret", response=FILE,
               media_types=tuple(ALLOWED_MEDIA_TYPES),
               roles=READERS, errors=(404,))
    def document_file(self, actor: Actor, _: Loaded, initiative_id: UUID, document_id: UUID) -> Response:
        marking = self.initiatives.secrecy_of(initiative_id).get(document_target(str(document_id)))
        if marking is not None and not self.clearance.sees_secrets(actor):
            raise Forbidden(f"The document is secret (sekretess) under {marking['provision']}; "
                            "only roles cleared for secret content read its file")
        file, content = self.initiatives.document_file(initiative_id, document_id)
        return file_response(content, file["media_type"], file["filename"])

    @api.route("GET", "/initiatives", summary="A page of cases, oldest first; filtered by state, kind, diary, "
               "dates, people and overdue; ?diary_number= looks one up", query=schemas.ListQuery,
               response=schemas.InitiativeList, roles=READERS, errors=(404,))
    def list_initiatives(self, actor: Actor, query: Loaded) -> Paged:
        page = self.initiatives.list_initiatives(query, today=clock.today())
        page.items = [self.clearance.case(actor, row) for row in page.items]
        return Paged("initiatives", page)

    @api.route("GET", "/initiatives/<uuid:initiative_id>", summary="One initiative",
               response=schemas.InitiativeView, roles=READERS, errors=(404,))
    def get_initiative(self, actor: Actor, _: Loaded, initiative_id: UUID) -> dict[str, Any]:
        return self.shown(actor, self.initiatives.get_initiative(initiative_id))

    @api.route("GET", "/initiatives/<uuid:initiative_id>/history",
               summary="Every event in order, and the state as of a version or moment",
               query=shared_schemas.HistoryQuery, response=schemas.InitiativeHistory, roles=READERS,
               errors=(404,))
    def initiative_history(self, actor: Actor, query: Loaded, initiative_id: UUID) -> dict[str, Any]:
        history = history_response(self.initiatives, initiative_id, Initiative, query["as_of"], view,
                                   in_effect_on=query["in_effect_on"])
        if self.clearance.sees_secrets(actor):
            return {**history, "state": {**history["state"], "redactions": []}}
        markings = self.initiatives.secrecy_of(initiative_id)  # now: a marking covers every earlier state
        return {**history, "state": self.clearance.case(actor, history["state"], markings),
                "events": self.clearance.events(actor, history["events"], {str(initiative_id): markings})}

    @api.route("GET", "/reports/undecided-motions", summary="The motions undecided on a day (default today), "
               "oldest first, and which had waited a year", query=schemas.UndecidedMotionsQuery,
               response=schemas.UndecidedMotionsReport, roles=READERS)
    def undecided_motions(self, actor: Actor, query: Loaded) -> dict[str, Any]:
        return self.undecided_motions_report(query)

    @api.route("GET", "/reports/undecided-motions.pdf", summary="The same report as a document for the council "
               "(REDOVISNING AV EJ AVGJORDA MOTIONER)", query=schemas.UndecidedMotionsQuery, response=FILE,
               media_types=(PDF,), roles=READERS)
    def undecided_motions_pdf(self, actor: Actor, query: Loaded) -> Response:
        report = self.undecided_motions_report(query)
        return file_response(rendered(reports.undecided_motions_pdf, report, self.initiatives.region_name), PDF,
                             reports.undecided_motions_filename(report["on"]))

    def undecided_motions_report(self, query: Loaded) -> dict[str, Any]:
        on = query["on"] or clock.today()
        motions = self.initiatives.undecided_motions(on)
        return undecided_motions_report.dump({
            "on": on, "count": len(motions), "past_one_year": sum(m["past_one_year"] for m in motions),
            "motions": motions})

    # --- RPC for the other services ------------------------------------------

    @rpc
    def get_initiative_by_diary_number(self, diary_number: str) -> dict[str, Any]:
        return self.shown(None, self.initiatives.find_by_diary_number(diary_number))

    @rpc
    def get_initiative_by_id(self, initiative_id: str) -> dict[str, Any]:
        return self.shown(None, self.initiatives.get_initiative(parse_uuid(initiative_id, "initiative_id")))


initiative_view = schemas.InitiativeView()
undecided_motions_report = schemas.UndecidedMotionsReport()
import_result = schemas.ImportResult()


def view(initiative: Any) -> dict[str, Any]:
    return initiative_view.dump(initiative)
