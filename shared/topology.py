"""Who consumes whose events inside the suite: one table, read by both ends.

The consuming service's inbox binds its queue from it, and the publishing
service's outbox relay declares the same queues before it publishes, so an event
published before the consumer ever started waits in its queue instead of being
dropped by an exchange with nothing bound.
"""
from __future__ import annotations

# The audit service indexes every event of every service by the cases it names.
EVERY_EVENT = ["#"]

# source service -> consuming service -> event types (routing keys) it applies
SUBSCRIPTIONS: dict[str, dict[str, list[str]]] = {
    "initiatives": {
        "meetings": [  # who may decide a case: the bodies preparing it, their proposals, a referral back
            "Initiative.ReferredForPreparation", "Initiative.ProposalRecorded", "Initiative.DecisionRecorded",
        ],
        "audit": EVERY_EVENT,
    },
    "letters_of_intent": {
        "evaluations": ["CollaborationAgreement.ReviewFellDue"],  # a review falling due plans an evaluation
        "audit": EVERY_EVENT,
    },
    "evaluations": {
        "initiatives": ["Evaluation.Completed"],  # a completed evaluation can be cited in an initiative's answer
        "audit": EVERY_EVENT,
    },
    "meetings": {
        "initiatives": [  # what a meeting decides happens to the case
            "Meeting.ItemAdded", "Meeting.ItemWithdrawn", "Meeting.Cancelled",
            "Meeting.ItemDecided", "Meeting.MinutesAdjusted",
            "Meeting.ReminderRaised",  # the appeal period ended: the decisions gain legal force (laga kraft)
        ],
        "audit": EVERY_EVENT,
    },
}


def inboxes_of(service: str) -> dict[str, list[str]]:
    """The sources a service consumes, with the event types it takes from each."""
    return {source: consumers[service] for source, consumers in SUBSCRIPTIONS.items() if service in consumers}


def subscribers_of(source: str) -> dict[str, list[str]]:
    return SUBSCRIPTIONS.get(source, {})
