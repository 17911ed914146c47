"""LettersOfIntentApplication: one method per use case; load → command → save."""
from __future__ import annotations

from datetime import date
from typing import Any, Sequence
from uuid import UUID, uuid4

from services.letters_of_intent.domain import CollaborationAgreement, LetterOfIntent
from services.letters_of_intent.read_model import LettersOfIntentReadModel
from shared import clock
from shared.application import CaseApplication
from shared.readmodel import Page, equal_to, tagged


class LettersOfIntentApplication(CaseApplication):
    name = "letters_of_intent"
    source = "letters_of_intent"
    published = (LetterOfIntent, CollaborationAgreement)
    read_model_class = LettersOfIntentReadModel
    reminding = (CollaborationAgreement, "agreements")

    def diary_number_of(self, domain_event: Any, position: int) -> str | None:
        """The case an event names itself (a follow-up about a case), else its letter's or agreement's diary
        number, which it was given when recorded and keeps."""
        named = super().diary_number_of(domain_event, position)
        if named or not isinstance(domain_event, (LetterOfIntent.Event, CollaborationAgreement.Event)):
            return named
        if domain_event.originator_version == 1:
            return None  # the first event's own diary number, had it one, is named above
        return self.facts.get(domain_event.originator_id, lambda: self._first_diary_number(domain_event.originator_id))

    def _first_diary_number(self, aggregate_id: UUID) -> str | None:
        first = self.recorder.select_events(aggregate_id, lte=1)
        return getattr(self.mapper.to_domain_event(first[0]), "diary_number", None) if first else None

    # --- letters of intent ---------------------------------------------------------

    def sign_letter_of_intent(self, *, actor: str, **details: Any) -> LetterOfIntent:
        letter = LetterOfIntent(actor=actor, **details)
        self.save(letter)
        return letter

    def add_follow_up(self, letter_id: UUID, *, actor: str, files: Sequence[dict[str, Any]] = (), **entry: Any
                      ) -> LetterOfIntent:
        """Its files must have been uploaded (POST /files); the event records them as the store has them."""
        def with_files_as_stored(letter: LetterOfIntent) -> dict[str, Any]:
            letter.check_allows("add_follow_up")  # 404 and 409 before 400
            return {"files": self.resolved_files(files, "files")}

        return self.change(letter_id, LetterOfIntent, "add_follow_up", follow_up_id=uuid4().hex, actor=actor,
                           derived=with_files_as_stored, **entry)

    def follow_up_file(self, letter_id: UUID, sha256: str) -> tuple[dict[str, Any], bytes]:
        letter = self.load(letter_id, LetterOfIntent)
        return self.read_attached((f for entry in letter.follow_ups for f in entry.get("files", [])), sha256,
                                  f"the letter of intent {letter_id}")

    def compile_interim_report(self, letter_id: UUID, *, actor: str, **period: Any) -> LetterOfIntent:
        return self.change(letter_id, LetterOfIntent, "compile_interim_report", report_id=uuid4().hex,
                           compiled_on=clock.today(), actor=actor, **period)

    def change_letter_status(self, letter_id: UUID, command: str, *, actor: str, **details: Any) -> LetterOfIntent:
        """pause, resume, terminate or renew, each with a reason."""
        return self.change(letter_id, LetterOfIntent, command, actor=actor, **details)

    def get_letter(self, letter_id: UUID) -> LetterOfIntent:
        return self.load(letter_id, LetterOfIntent)

    def list_letters(self, query: dict[str, Any]) -> Page:
        """A page of letters by signing date, by state, party (a counterpart) and diary number."""
        return self.list_page("letters", query, conditions=equal_to(query, "state", "diary_number"),
                              tags=tagged(query, party="party"), diary_number=query.get("diary_number"))

    # --- collaboration agreements --------------------------------------------------

    def draft_agreement(self, *, actor: str, **details: Any) -> CollaborationAgreement:
        agreement = CollaborationAgreement(actor=actor, **details)
        self.save(agreement)
        return agreement

    def change_agreement(self, agreement_id: UUID, command: str, **arguments: Any) -> CollaborationAgreement:
        """The review timer saves agreements too; its announcements never conflict with a command in substance."""
        return self.change(agreement_id, CollaborationAgreement, command, retry_on_conflict=True, **arguments)

    def sign_contract(self, agreement_id: UUID, *, actor: str, **signature: Any) -> CollaborationAgreement:
        return self.change_agreement(agreement_id, "sign", actor=actor, **signature)

    def open_consultation(self, agreement_id: UUID, *, actor: str, **details: Any) -> CollaborationAgreement:
        return self.change_agreement(agreement_id, "open_consultation", consultation_id=uuid4().hex, actor=actor,
                                     **details)

    def record_reply(self, agreement_id: UUID, consultation_id: str, *, actor: str,
                     files: Sequence[dict[str, Any]] = (), **reply: Any) -> CollaborationAgreement:
        def with_files_as_stored(agreement: CollaborationAgreement) -> dict[str, Any]:
            agreement.consultation(consultation_id)  # 404 before 400
            return {"files": self.resolved_files(files, "files")}

        return self.change_agreement(agreement_id, "record_reply", consultation_id=consultation_id, actor=actor,
                                     derived=with_files_as_stored, **reply)

    def reply_file(self, agreement_id: UUID, sha256: str) -> tuple[dict[str, Any], bytes]:
        agreement = self.load(agreement_id, CollaborationAgreement)
        return self.read_attached(agreement.reply_files(), sha256, f"the agreement {agreement_id}")

    def overdue_replies(self, agreement_id: UUID, consultation_id: str, today: date) -> list[str]:
        return self.load(agreement_id, CollaborationAgreement).overdue_recipients(consultation_id, today)

    def schedule_review(self, agreement_id: UUID, *, actor: str, **review: Any) -> CollaborationAgreement:
        return self.change_agreement(agreement_id, "schedule_review", review_id=uuid4().hex, actor=actor, **review)

    def announce_due_reviews(self, today: date) -> int:
        """Announces every review due by today, once: a second instance doing the same loses the race."""
        return self.change_each_due("agreements", "next_review_due", today, self._announce_for)

    def _announce_for(self, agreement_id: UUID, today: date) -> int:
        agreement = self.load(agreement_id, CollaborationAgreement)
        count = agreement.announce_due_reviews(today=today, actor=self.source)
        if count:
            self.save(agreement)
        return count

    def get_agreement(self, agreement_id: UUID) -> CollaborationAgreement:
        return self.load(agreement_id, CollaborationAgreement)

    def list_agreements(self, query: dict[str, Any]) -> Page:
        """A page of agreements by the start of their period, by status, party and diary number."""
        return self.list_page("agreements", query, conditions=equal_to(query, "status", "diary_number"),
                              tags=tagged(query, party="party", unsigned="unsigned_by"),
                              diary_number=query.get("diary_number"))
