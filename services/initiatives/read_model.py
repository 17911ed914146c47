"""The initiatives' read model: the list of cases with what registrars filter on, the reminders raised on them,
and their texts for search."""
from __future__ import annotations

from typing import Any

from services.initiatives.domain import CONCLUSIVE_OUTCOMES, UNDECIDED_STATES, Initiative
from services.initiatives.schemas import InitiativeView
from shared.inbox import INCIDENTS
from shared.readmodel import Listing, ReadModel, Row, SearchDocument
from shared.reminders import NEXT_REMINDER_DUE, next_reminder_column, reminders_listing
from shared.secrecy import ANSWER_SECTIONS, redact_answer

CONCLUSIVE = {outcome.value for outcome in CONCLUSIVE_OUTCOMES}
ANSWER_TEXTS = ANSWER_SECTIONS
_view = InitiativeView()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def settled_on(initiative: Initiative, conclusive: list[dict[str, Any]]) -> Any:
    """The day the case stopped being undecided: decided for good, or withdrawn (None while undecided)."""
    if initiative.state in UNDECIDED_STATES:
        return None
    if conclusive:
        return conclusive[-1]["decided_on"]
    return (initiative.withdrawal or {}).get("withdrawn_on")


def initiative_row(initiative: Initiative) -> Row:
    conclusive = [d for d in initiative.decisions if d["outcome"] in CONCLUSIVE]
    # A secret section is kept out of the search document: no one finds the case by its words, nor sees
    # them in a snippet (the row's view holds them; every read redacts it for its reader).
    answer = redact_answer(initiative.answer, getattr(initiative, "secrecy", {}))[0] or {}
    return Row(
        sort_key=initiative.created_on.isoformat(),
        view=_view.dump(initiative),
        columns={
            "state": initiative.state.value, "kind": initiative.kind.value, "diary": initiative.diary,
            "diary_number": initiative.diary_number, "registered_on": _iso(initiative.registered_on),
            "decided_on": _iso(conclusive[-1]["decided_on"]) if conclusive else None,
            "due_date": _iso(initiative.due_date), "undecided": int(initiative.state in UNDECIDED_STATES),
            "submitted_on": _iso(initiative.submitted_on), "settled_on": _iso(settled_on(initiative, conclusive)),
            **next_reminder_column(initiative),
        },
        tags={
            "submitter": [s["name"] for s in initiative.submitters],
            "party": [s.get("party") for s in initiative.submitters],
            "preparer": [p["name"] for p in initiative.preparers],
        },
        document=SearchDocument(
            title=initiative.title, diary_number=initiative.diary_number,
            texts=[initiative.text, *initiative.proposal_clauses, *(answer.get(name) for name in ANSWER_TEXTS),
                   *(d["text"] for d in initiative.decisions)],
        ),
    )


INITIATIVES = Listing(
    "initiatives", Initiative, initiative_row, label="Initiative", noun="initiative",
    columns={"state": "text", "kind": "text", "diary": "text", "diary_number": "text", "registered_on": "text",
             "decided_on": "text", "due_date": "text", "undecided": "integer", "submitted_on": "text",
             "settled_on": "text", NEXT_REMINDER_DUE: "text"},
)
REMINDERS = reminders_listing(Initiative, "/initiatives")


class InitiativesReadModel(ReadModel):
    listings = (INITIATIVES, INCIDENTS, REMINDERS)
