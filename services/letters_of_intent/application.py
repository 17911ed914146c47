"""LettersOfIntentApplication: one method per use case; load → command → save."""
from __future__ import annotations

import logging
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from services.letters_of_intent.domain import CollaborationAgreement, LetterOfIntent, LetterState
from shared.application import CaseApplication
from shared.projection import AggregateIndex
from shared.serials import retrying_on_conflict

log = logging.getLogger(__name__)


class LettersOfIntentApplication(CaseApplication):
    name = "letters_of_intent"
    source = "letters_of_intent"
    published = (LetterOfIntent, CollaborationAgreement)

    def __init__(self, env: Any = None):
        super().__init__(env=env)
        self.letters: AggregateIndex[LetterOfIntent] = AggregateIndex(self, LetterOfIntent)
        self.agreements: AggregateIndex[CollaborationAgreement] = AggregateIndex(self, CollaborationAgreement)

    def diary_number_of(self, domain_event: Any, position: int) -> str | None:
        """The case an event names itself (a follow-up about a case), else its letter's or agreement's diary number."""
        named = super().diary_number_of(domain_event, position)
        if named:
            return named
        for index in (self.letters, self.agreements):
            if position > index.position:
                index.catch_up()
            aggregate = index.aggregates.get(domain_event.originator_id)
            if aggregate is not None:
                return aggregate.diary_number
        return None

    # --- letters of intent ---------------------------------------------------------

    def sign_letter_of_intent(self, *, actor: str, **details: Any) -> LetterOfIntent:
        letter = LetterOfIntent(actor=actor, **details)
        self.save(letter)
        return letter

    def add_follow_up(self, letter_id: UUID, *, actor: str, **entry: Any) -> LetterOfIntent:
        return self.change(letter_id, LetterOfIntent, "add_follow_up", follow_up_id=uuid4().hex, actor=actor, **entry)

    def compile_interim_report(self, letter_id: UUID, *, actor: str, **period: Any) -> LetterOfIntent:
        return self.change(letter_id, LetterOfIntent, "compile_interim_report", report_id=uuid4().hex,
                           compiled_on=date.today(), actor=actor, **period)

    def change_letter_status(self, letter_id: UUID, command: str, *, actor: str, **details: Any) -> LetterOfIntent:
        """pause, resume, terminate or renew, each with a reason."""
        return self.change(letter_id, LetterOfIntent, command, actor=actor, **details)

    def get_letter(self, letter_id: UUID) -> LetterOfIntent:
        return self.load(letter_id, LetterOfIntent)

    def list_letters(self, *, state: str | None = None) -> list[LetterOfIntent]:
        letters = self.letters.all()
        if state is not None:
            letters = [letter for letter in letters if letter.state is LetterState(state)]
        return sorted(letters, key=lambda letter: (letter.signed_on, letter.title))

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

    def record_reply(self, agreement_id: UUID, consultation_id: str, *, actor: str, **reply: Any) -> CollaborationAgreement:
        return self.change_agreement(agreement_id, "record_reply", consultation_id=consultation_id, actor=actor,
                                     **reply)

    def overdue_replies(self, agreement_id: UUID, consultation_id: str, today: date) -> list[str]:
        return self.load(agreement_id, CollaborationAgreement).overdue_recipients(consultation_id, today)

    def schedule_review(self, agreement_id: UUID, *, actor: str, **review: Any) -> CollaborationAgreement:
        return self.change_agreement(agreement_id, "schedule_review", review_id=uuid4().hex, actor=actor, **review)

    def announce_due_reviews(self, today: date) -> int:
        """Announces every review due by today, once: a second instance doing the same loses the race."""
        announced = 0
        for agreement in self.agreements.all():
            if agreement.due_reviews(today):
                try:
                    announced += retrying_on_conflict(self._announce_for, agreement.id, today)
                except Exception:  # noqa: BLE001 - one agreement failing must not hold back the others
                    log.exception("could not announce the due reviews of agreement %s", agreement.id)
        return announced

    def _announce_for(self, agreement_id: UUID, today: date) -> int:
        agreement = self.load(agreement_id, CollaborationAgreement)
        count = agreement.announce_due_reviews(today=today, actor=self.source)
        if count:
            self.save(agreement)
        return count

    def get_agreement(self, agreement_id: UUID) -> CollaborationAgreement:
        return self.load(agreement_id, CollaborationAgreement)

    def list_agreements(self) -> list[CollaborationAgreement]:
        return sorted(self.agreements.all(), key=lambda agreement: agreement.period_from)
