"""The initiatives service: HTTP and RPC entrypoints, each load → use case → view."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from nameko.rpc import rpc
from werkzeug.wrappers import Request

from services.initiatives import schemas
from services.initiatives.application import InitiativesApplication
from shared.auth import ROLES, Auth
from shared.dependencies import EventSourcedApplication
from shared.envelope import describe
from shared.http import load_body, load_query
from shared.openapi import ApiDoc

REGISTRARS = ("registrar",)
PREPARERS = ("case_officer", "registrar")
SECRETARIES = ("secretary",)
READERS = ROLES

api = ApiDoc(
    title="Initiatives",
    version="1.0.0",
    description="Initiatives (initiativärenden) and motions, from submission to closure.",
)

initiative_view = schemas.InitiativeView()


class InitiativesService:
    name = "initiatives"

    initiatives = EventSourcedApplication(InitiativesApplication)
    auth = Auth()

    # --- operations ----------------------------------------------------------

    @api.route("GET", "/health", summary="Liveness and the store's state", errors=(503,))
    def health(self, request: Request) -> dict[str, Any]:
        return {"status": "ok", "service": self.name, **self.initiatives.health()}

    @api.route("GET", "/openapi.json", summary="This document")
    def openapi(self, request: Request) -> dict[str, Any]:
        return api.spec()

    @api.route("GET", "/events", summary="The public event feed, after a position",
               query=schemas.FeedQuery, response=schemas.FeedView, roles=READERS)
    def feed(self, request: Request) -> dict[str, Any]:
        self.auth.authorize(request, READERS)
        query = load_query(schemas.FeedQuery(), request)
        return self.initiatives.feed(query["after"], query["limit"])

    # --- commands ------------------------------------------------------------

    @api.route("POST", "/initiatives", summary="Submit an initiative or a motion",
               body=schemas.SubmitInitiative, response=schemas.InitiativeView, status=201,
               roles=PREPARERS)
    def submit_initiative(self, request: Request) -> tuple[int, dict[str, Any]]:
        actor = self.auth.authorize(request, PREPARERS)
        command = load_body(schemas.SubmitInitiative(), request)
        return 201, view(self.initiatives.submit_initiative(actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/register", summary="Register in the diary",
               body=schemas.RegisterInitiative, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=(404, 409))
    def register_initiative(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, REGISTRARS)
        command = load_body(schemas.RegisterInitiative(), request)
        return view(self.initiatives.register_initiative(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/referral", summary="Refer for preparation",
               body=schemas.ReferForPreparation, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=(404, 409))
    def refer_for_preparation(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, REGISTRARS)
        command = load_body(schemas.ReferForPreparation(), request)
        return view(self.initiatives.refer_for_preparation(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/answer", summary="Draft (or revise) the answer",
               body=schemas.DraftAnswer, response=schemas.InitiativeView, roles=PREPARERS,
               errors=(404, 409))
    def draft_answer(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, PREPARERS)
        command = load_body(schemas.DraftAnswer(), request)
        return view(self.initiatives.draft_answer(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/schedule", summary="Schedule for a meeting's decision",
               body=schemas.ScheduleForDecision, response=schemas.InitiativeView, roles=SECRETARIES,
               errors=(404, 409))
    def schedule_for_decision(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, SECRETARIES)
        command = load_body(schemas.ScheduleForDecision(), request)
        return view(self.initiatives.schedule_for_decision(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/decision", summary="Record the meeting's decision",
               body=schemas.RecordDecision, response=schemas.InitiativeView, roles=SECRETARIES,
               errors=(404, 409))
    def record_decision(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, SECRETARIES)
        command = load_body(schemas.RecordDecision(), request)
        return view(self.initiatives.record_decision(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/finalisation",
               summary="Finalise the decision: the minutes are adjusted",
               body=schemas.FinaliseDecision, response=schemas.InitiativeView, roles=SECRETARIES,
               errors=(404, 409))
    def finalise_decision(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, SECRETARIES)
        command = load_body(schemas.FinaliseDecision(), request)
        return view(self.initiatives.finalise_decision(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/dispatch", summary="Dispatch the decision",
               body=schemas.DispatchDecision, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=(404, 409))
    def dispatch_decision(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, REGISTRARS)
        command = load_body(schemas.DispatchDecision(), request)
        return view(self.initiatives.dispatch_decision(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/closure", summary="Close the case",
               body=schemas.CloseInitiative, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=(404, 409))
    def close_initiative(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, REGISTRARS)
        command = load_body(schemas.CloseInitiative(), request)
        return view(self.initiatives.close_initiative(initiative_id, actor=actor.name, **command))

    @api.route("POST", "/initiatives/<uuid:initiative_id>/withdrawal", summary="Withdraw while undecided",
               body=schemas.WithdrawInitiative, response=schemas.InitiativeView, roles=REGISTRARS,
               errors=(404, 409))
    def withdraw_initiative(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        actor = self.auth.authorize(request, REGISTRARS)
        command = load_body(schemas.WithdrawInitiative(), request)
        return view(self.initiatives.withdraw_initiative(initiative_id, actor=actor.name, **command))

    # --- queries -------------------------------------------------------------

    @api.route("GET", "/initiatives", summary="List, filtered by state, diary and overdue",
               query=schemas.ListQuery, response=schemas.InitiativeList, roles=READERS)
    def list_initiatives(self, request: Request) -> dict[str, Any]:
        self.auth.authorize(request, READERS)
        query = load_query(schemas.ListQuery(), request)
        overdue_on = date.today() if query.pop("overdue") else None
        found = self.initiatives.list_initiatives(overdue_on=overdue_on, **query)
        return {"initiatives": initiative_view.dump(found, many=True)}

    @api.route("GET", "/initiatives/<uuid:initiative_id>", summary="One initiative",
               response=schemas.InitiativeView, roles=READERS, errors=(404,))
    def get_initiative(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        self.auth.authorize(request, READERS)
        return view(self.initiatives.get_initiative(initiative_id))

    @api.route("GET", "/initiatives/<uuid:initiative_id>/history",
               summary="Every event in order, and the state as of a version or moment",
               query=schemas.HistoryQuery, response=schemas.HistoryView, roles=READERS, errors=(404,))
    def initiative_history(self, request: Request, initiative_id: UUID) -> dict[str, Any]:
        self.auth.authorize(request, READERS)
        as_of = load_query(schemas.HistoryQuery(), request)["as_of"] or {}
        state, events = self.initiatives.state_as_of(initiative_id, **as_of)
        return {
            "initiative_id": str(initiative_id),
            "as_of": {key: str(value) for key, value in as_of.items()} or None,
            "state": view(state),
            "events": [describe(domain_event) for domain_event in events],
        }

    # --- RPC for the other services ------------------------------------------

    @rpc
    def get_initiative_by_diary_number(self, diary_number: str) -> dict[str, Any]:
        return view(self.initiatives.find_by_diary_number(diary_number))

    @rpc
    def get_initiative_by_id(self, initiative_id: str) -> dict[str, Any]:
        return view(self.initiatives.get_initiative(UUID(initiative_id)))


def view(initiative: Any) -> dict[str, Any]:
    return initiative_view.dump(initiative)
