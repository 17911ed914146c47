"""The letters of intent service's read model: letters and agreements with what strategists filter on,
the reviews and reminders the timers must announce, the reminders raised, and the texts for search."""
from __future__ import annotations

from services.letters_of_intent.domain import CollaborationAgreement, LetterOfIntent
from services.letters_of_intent.schemas import AgreementView, LetterView
from shared.readmodel import Listing, ReadModel, Row, SearchDocument
from shared.reminders import NEXT_REMINDER_DUE, next_reminder_column, reminders_listing

_letter_view, _agreement_view = LetterView(), AgreementView()


def letter_row(letter: LetterOfIntent) -> Row:
    return Row(
        sort_key=f"{letter.signed_on.isoformat()} {letter.title.casefold()}",
        view=_letter_view.dump(letter),
        columns={"state": letter.state.value, "diary_number": letter.diary_number},
        tags={"party": [c["name"] for c in letter.counterparts]},
        document=SearchDocument(
            title=letter.title, diary_number=letter.diary_number,
            texts=[letter.purpose, *letter.areas, *(c["name"] for c in letter.counterparts),
                   *(f["text"] for f in letter.follow_ups), *(r["title"] for r in letter.reports),
                   *(c["reason"] for c in letter.status_changes)],
        ),
    )


def agreement_status(agreement: CollaborationAgreement) -> str:
    return "in_force" if agreement.in_force_on is not None else "awaiting_signatures"


def agreement_row(agreement: CollaborationAgreement) -> Row:
    waiting = [review["due_on"] for review in agreement.reviews.values() if not review["announced"]]
    return Row(
        sort_key=f"{agreement.period_from.isoformat()} {agreement.created_on.isoformat()}",
        view=_agreement_view.dump(agreement),
        columns={"status": agreement_status(agreement), "diary_number": agreement.diary_number,
                 "next_review_due": min(waiting).isoformat() if waiting else None,
                 **next_reminder_column(agreement)},
        tags={"party": agreement.parties, "unsigned": [p for p in agreement.parties if p not in agreement.signatures]},
        document=SearchDocument(
            title=agreement.title, diary_number=agreement.diary_number,
            texts=[agreement.summary, *agreement.parties,
                   *(c["title"] for c in agreement.consultations.values()),
                   *(reply["summary"] for c in agreement.consultations.values() for reply in c["replies"].values()),
                   *(r["title"] for r in agreement.reviews.values())],
        ),
    )


LETTERS = Listing("letters", LetterOfIntent, letter_row, noun="letter of intent",
                  columns={"state": "text", "diary_number": "text"})
AGREEMENTS = Listing("agreements", CollaborationAgreement, agreement_row, noun="agreement",
                     columns={"status": "text", "diary_number": "text", "next_review_due": "text",
                              NEXT_REMINDER_DUE: "text"})
REMINDERS = reminders_listing(CollaborationAgreement, "/agreements")


class LettersOfIntentReadModel(ReadModel):
    listings = (LETTERS, AGREEMENTS, REMINDERS)
