"""The letters of intent service: letters of intent and collaboration agreements over HTTP.

Strategists change things; every role may read. A timer announces reviews that
have fallen due (each once: the announcement is an event of the agreement).
"""
from __future__ import annotations

from typing import Any
from uuid import UUID

from nameko.timer import timer
from werkzeug.wrappers import Response

from services.letters_of_intent import schemas
from services.letters_of_intent.application import LettersOfIntentApplication
from services.letters_of_intent.domain import CollaborationAgreement, LetterOfIntent
from shared import schemas as shared_schemas
from shared import clock
from shared.auth import ROLES, Actor, Auth
from shared.dependencies import EventSourcedApplication
from shared.files import ALLOWED_MEDIA_TYPES
from shared.http import Paged, file_response
from shared.openapi import FILE, ApiDoc
from shared.operations import operations
from shared.views import history_response

STRATEGISTS = ("strategist",)
READERS = ROLES
NOT_NOW = (404, 409)
REVIEW_CHECK_SECONDS = 5

api = ApiDoc(
    title="Letters of intent",
    version="1.0.0",
    description="Letters of intent (avsiktsförklaringar) with their follow-up and interim reports; collaboration "
                "agreements (samverkansöverenskommelser) with each party's contract, consultations and reviews.",
)
Loaded = dict[str, Any]


class LettersOfIntentService(operations(api, "letters", reminders=True, uploaders=STRATEGISTS)):
    name = "letters_of_intent"

    letters = EventSourcedApplication(LettersOfIntentApplication)
    auth = Auth()

    @timer(interval=REVIEW_CHECK_SECONDS)
    def announce_due_reviews(self) -> int:
        return self.letters.announce_due_reviews(clock.today())

    # --- letters of intent ---------------------------------------------------

    @api.route("POST", "/letters", summary="Record a signed letter of intent", body=schemas.SignLetterOfIntent,
               response=schemas.LetterView, status=201, roles=STRATEGISTS)
    def sign_letter_of_intent(self, actor: Actor, command: Loaded) -> dict[str, Any]:
        return letter_view(self.letters.sign_letter_of_intent(actor=actor.recorded_as, **command))

    @api.route("POST", "/letters/<uuid:letter_id>/follow-ups", summary="Add a follow-up entry",
               body=schemas.AddFollowUp, response=schemas.LetterView, roles=STRATEGISTS, errors=NOT_NOW)
    def add_follow_up(self, actor: Actor, command: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.add_follow_up(letter_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/letters/<uuid:letter_id>/reports", summary="Compile an interim report of a period",
               body=schemas.CompileInterimReport, response=schemas.LetterView, roles=STRATEGISTS, errors=NOT_NOW)
    def compile_interim_report(self, actor: Actor, command: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.compile_interim_report(letter_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/letters/<uuid:letter_id>/pause", summary="Pause the cooperation",
               body=schemas.ChangeStatus, response=schemas.LetterView, roles=STRATEGISTS, errors=NOT_NOW)
    def pause_letter(self, actor: Actor, command: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.change_letter_status(letter_id, "pause", actor=actor.recorded_as, **command))

    @api.route("POST", "/letters/<uuid:letter_id>/resumption", summary="Resume a paused cooperation",
               body=schemas.ChangeStatus, response=schemas.LetterView, roles=STRATEGISTS, errors=NOT_NOW)
    def resume_letter(self, actor: Actor, command: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.change_letter_status(letter_id, "resume", actor=actor.recorded_as, **command))

    @api.route("POST", "/letters/<uuid:letter_id>/termination", summary="Terminate the letter",
               body=schemas.ChangeStatus, response=schemas.LetterView, roles=STRATEGISTS, errors=NOT_NOW)
    def terminate_letter(self, actor: Actor, command: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.change_letter_status(letter_id, "terminate", actor=actor.recorded_as, **command))

    @api.route("POST", "/letters/<uuid:letter_id>/renewal", summary="Renew the letter, with a new review date",
               body=schemas.RenewLetter, response=schemas.LetterView, roles=STRATEGISTS, errors=NOT_NOW)
    def renew_letter(self, actor: Actor, command: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.change_letter_status(letter_id, "renew", actor=actor.recorded_as, **command))

    @api.route("GET", "/letters", summary="A page of letters of intent by signing date; by state, party and "
               "diary number", query=schemas.LetterQuery, response=schemas.LetterList, roles=READERS, errors=(404,))
    def list_letters(self, actor: Actor, query: Loaded) -> Paged:
        return Paged("letters", self.letters.list_letters(query))

    @api.route("GET", "/letters/<uuid:letter_id>", summary="One letter of intent", response=schemas.LetterView,
               roles=READERS, errors=(404,))
    def get_letter(self, actor: Actor, _: Loaded, letter_id: UUID) -> dict[str, Any]:
        return letter_view(self.letters.get_letter(letter_id))

    @api.route("GET", "/letters/<uuid:letter_id>/files/<sha256>", summary="A file of one of the letter's "
               "follow-ups, its SHA-256 checked as it is read", response=FILE, media_types=tuple(ALLOWED_MEDIA_TYPES),
               roles=READERS, errors=(404,))
    def follow_up_file(self, actor: Actor, _: Loaded, letter_id: UUID, sha256: str) -> Response:
        file, content = self.letters.follow_up_file(letter_id, sha256)
        return file_response(content, file["media_type"], file["filename"])

    @api.route("GET", "/letters/<uuid:letter_id>/history", summary="The letter's events and state as of a point",
               query=shared_schemas.HistoryQuery, response=schemas.LetterHistory, roles=READERS, errors=(404,))
    def letter_history(self, actor: Actor, query: Loaded, letter_id: UUID) -> dict[str, Any]:
        return history_response(self.letters, letter_id, LetterOfIntent, query["as_of"], letter_view,
                                in_effect_on=query["in_effect_on"])

    # --- collaboration agreements --------------------------------------------

    @api.route("POST", "/agreements", summary="Record an agreement and its parties", body=schemas.DraftAgreement,
               response=schemas.AgreementView, status=201, roles=STRATEGISTS)
    def draft_agreement(self, actor: Actor, command: Loaded) -> dict[str, Any]:
        return agreement_view(self.letters.draft_agreement(actor=actor.recorded_as, **command))

    @api.route("POST", "/agreements/<uuid:agreement_id>/signatures", summary="A party signs its contract",
               body=schemas.SignContract, response=schemas.AgreementView, roles=STRATEGISTS, errors=NOT_NOW)
    def sign_contract(self, actor: Actor, command: Loaded, agreement_id: UUID) -> dict[str, Any]:
        return agreement_view(self.letters.sign_contract(agreement_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/agreements/<uuid:agreement_id>/consultations", summary="Open a consultation (remiss)",
               body=schemas.OpenConsultation, response=schemas.AgreementView, roles=STRATEGISTS, errors=NOT_NOW)
    def open_consultation(self, actor: Actor, command: Loaded, agreement_id: UUID) -> dict[str, Any]:
        return agreement_view(self.letters.open_consultation(agreement_id, actor=actor.recorded_as, **command))

    @api.route("POST", "/agreements/<uuid:agreement_id>/consultations/<consultation_id>/replies",
               summary="Record a party's reply", body=schemas.RecordReply, response=schemas.AgreementView,
               roles=STRATEGISTS, errors=NOT_NOW)
    def record_reply(self, actor: Actor, command: Loaded, agreement_id: UUID, consultation_id: str) -> dict[str, Any]:
        return agreement_view(self.letters.record_reply(agreement_id, consultation_id, actor=actor.recorded_as, **command))

    @api.route("GET", "/agreements/<uuid:agreement_id>/consultations/<consultation_id>/overdue",
               summary="Recipients whose reply is overdue on a date", query=schemas.OverdueQuery,
               response=schemas.OverdueView, roles=READERS, errors=(404,))
    def overdue_replies(self, actor: Actor, query: Loaded, agreement_id: UUID, consultation_id: str) -> dict[str, Any]:
        on = query["on"] or clock.today()
        overdue = self.letters.overdue_replies(agreement_id, consultation_id, on)
        return {"consultation_id": consultation_id, "on": on.isoformat(), "overdue": overdue}

    @api.route("POST", "/agreements/<uuid:agreement_id>/reviews",
               summary="Schedule a review (mid-term, relevance); its falling due is published once",
               body=schemas.ScheduleReview, response=schemas.AgreementView, roles=STRATEGISTS, errors=NOT_NOW)
    def schedule_review(self, actor: Actor, command: Loaded, agreement_id: UUID) -> dict[str, Any]:
        return agreement_view(self.letters.schedule_review(agreement_id, actor=actor.recorded_as, **command))

    @api.route("GET", "/agreements", summary="A page of collaboration agreements by period; by status, party and "
               "diary number", query=schemas.AgreementQuery, response=schemas.AgreementList, roles=READERS,
               errors=(404,))
    def list_agreements(self, actor: Actor, query: Loaded) -> Paged:
        return Paged("agreements", self.letters.list_agreements(query))

    @api.route("GET", "/agreements/<uuid:agreement_id>", summary="One agreement, with each party's status",
               response=schemas.AgreementView, roles=READERS, errors=(404,))
    def get_agreement(self, actor: Actor, _: Loaded, agreement_id: UUID) -> dict[str, Any]:
        return agreement_view(self.letters.get_agreement(agreement_id))

    @api.route("GET", "/agreements/<uuid:agreement_id>/files/<sha256>", summary="A file of a consultation "
               "reply on the agreement, its SHA-256 checked as it is read", response=FILE,
               media_types=tuple(ALLOWED_MEDIA_TYPES), roles=READERS, errors=(404,))
    def reply_file(self, actor: Actor, _: Loaded, agreement_id: UUID, sha256: str) -> Response:
        file, content = self.letters.reply_file(agreement_id, sha256)
        return file_response(content, file["media_type"], file["filename"])

    @api.route("GET", "/agreements/<uuid:agreement_id>/history",
               summary="The agreement's events and state as of a point", query=shared_schemas.HistoryQuery,
               response=schemas.AgreementHistory, roles=READERS, errors=(404,))
    def agreement_history(self, actor: Actor, query: Loaded, agreement_id: UUID) -> dict[str, Any]:
        return history_response(self.letters, agreement_id, CollaborationAgreement, query["as_of"], agreement_view,
                                in_effect_on=query["in_effect_on"])


letter_schema = schemas.LetterView()
agreement_schema = schemas.AgreementView()


def letter_view(letter: LetterOfIntent) -> dict[str, Any]:
    return letter_schema.dump(letter)


def agreement_view(agreement: CollaborationAgreement) -> dict[str, Any]:
    return agreement_schema.dump(agreement)
