"""Who consumes whose events inside the suite: one table, read by both ends.

The consuming service's inbox binds its queue from it, and the publishing
service's outbox relay declares the same queues before it publishes, so an event
published before the consumer ever started waits in its queue instead of being
dropped by an exchange with nothing bound.
"""
from __future__ import annotations

# source service -> consuming service -> event types (routing keys) it applies
SUBSCRIPTIONS: dict[str, dict[str, list[str]]] = {
    # a review falling due plans an evaluation
    "letters_of_intent": {"evaluations": ["CollaborationAgreement.ReviewFellDue"]},
    # a completed evaluation can be cited in an initiative's answer
    "evaluations": {"initiatives": ["Evaluation.Completed"]},
    # what a meeting decides happens to the case
    "meetings": {
        "initiatives": [
            "Meeting.ItemAdded", "Meeting.ItemWithdrawn", "Meeting.Cancelled",
            "Meeting.ItemDecided", "Meeting.MinutesAdjusted",
        ],
    },
}


def inboxes_of(service: str) -> dict[str, list[str]]:
    """The sources a service consumes, with the event types it takes from each."""
    return {source: consumers[service] for source, consumers in SUBSCRIPTIONS.items() if service in consumers}


def subscribers_of(source: str) -> dict[str, list[str]]:
    return SUBSCRIPTIONS.get(source, {})
