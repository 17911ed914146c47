"""Secrecy (sekretess, OSL): what a marked case shows to someone not cleared to read its content.

A case's markings are a dict, target → {"provision", "marked_on", "marked_by"}. A target is
`answer.<section>` (one of the answer's text sections) or `document:<document_id>` (a registered
document). OSL 5 kap. keeps the diary entry public: a document's diary number, dates, counterpart,
kind and direction stay; only its content (title and file) and a section's text are withheld, and
what was withheld is named with its provision.

One way for every read: the case view, its history and as-of states, list rows, the public feed and
what the outbox publishes, the audit service's reads and the public archive package all call these.
Every function returns a copy; nothing given is changed.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

ANSWER_SECTIONS = ("summary", "proposal", "assessed_results_and_consequences", "resources_and_financing",
                   "gender_equality")
DOCUMENT_CONTENT = ("title", "file")  # what a secret document withholds; its diary entry stays
DEFAULT_CLEARED_ROLES = ("registrar", "case_officer", "auditor")
# The events whose payload carries content that a marking withholds (the others carry none).
REDACTABLE_EVENTS = frozenset({"Initiative.AnswerDrafted", "Initiative.DocumentRegistered"})
MARKED, LIFTED = "Initiative.SecrecyMarked", "Initiative.SecrecyLifted"
REGISTERED = "Initiative.DocumentRegistered"  # with `secret_under`, a marking from the document's registration
SECRECY_EVENTS = (MARKED, LIFTED, REGISTERED)  # the events a case's markings follow from
# The payload fields an event carries null when they are withheld (an answer's sections are inside its `answer`).
WITHHELD_FIELDS = {REGISTERED: DOCUMENT_CONTENT}
ANSWER_PREFIX, DOCUMENT_PREFIX = "answer.", "document:"

Markings = Mapping[str, Mapping[str, Any]]


def answer_target(section: str) -> str:
    return f"{ANSWER_PREFIX}{section}"


def document_target(document_id: str) -> str:
    return f"{DOCUMENT_PREFIX}{document_id}"


def parse_target(target: str) -> tuple[str, str]:
    """("answer", section) or ("document", document_id); ValueError for anything else."""
    if target.startswith(ANSWER_PREFIX) and target[len(ANSWER_PREFIX):] in ANSWER_SECTIONS:
        return "answer", target[len(ANSWER_PREFIX):]
    if target.startswith(DOCUMENT_PREFIX) and target[len(DOCUMENT_PREFIX):].strip():
        return "document", target[len(DOCUMENT_PREFIX):]
    raise ValueError(f"not a target: {target!r}; one of {', '.join(answer_target(s) for s in ANSWER_SECTIONS)} "
                     "or document:<document_id>")


def cleared_roles(value: str | Iterable[str] | None) -> frozenset[str]:
    """The roles cleared to read secret content (SECRECY_CLEARED_ROLES, comma-separated; default
    registrar, case_officer, auditor). An unknown role is a configuration error."""
    from shared.auth import ROLES, ConfigurationError

    if value is None or (isinstance(value, str) and not value.strip()):
        return frozenset(DEFAULT_CLEARED_ROLES)
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
    roles = frozenset(name for name in names if name)
    unknown = roles - set(ROLES)
    if unknown:
        raise ConfigurationError(f"Unknown roles in SECRECY_CLEARED_ROLES: {sorted(unknown)}; the roles are "
                                 f"{list(ROLES)}")
    return roles


def is_cleared(roles: Iterable[str], cleared: Iterable[str]) -> bool:
    return bool(set(roles) & set(cleared))


def redaction(target: str, marking: Mapping[str, Any]) -> dict[str, Any]:
    return {"target": target, "provision": marking["provision"]}


def redact_answer(answer: Mapping[str, Any] | None, markings: Markings) -> tuple[dict[str, Any] | None, list[dict]]:
    """The answer with each marked section's text withheld (null), and what was withheld."""
    if answer is None:
        return None, []
    shown, withheld = dict(answer), []
    if shown.get("basis_documents"):  # one that names a secret document does not show its title
        shown["basis_documents"] = [
            redact_document(d, markings) if d.get("document_id") and document_target(str(d["document_id"])) in markings
            else d for d in shown["basis_documents"]]
        withheld += [{"target": document_target(str(d["document_id"])), **d["redacted"]}
                     for d in shown["basis_documents"] if "redacted" in d]
    for section in ANSWER_SECTIONS:
        marking = markings.get(answer_target(section))
        if marking is not None and shown.get(section) is not None:
            shown[section] = None
            withheld.append(redaction(answer_target(section), marking))
    return shown, withheld


def redact_document(document: Mapping[str, Any], markings: Markings) -> dict[str, Any]:
    """A secret document keeps its diary entry; its title and file are withheld and it says under what."""
    marking = markings.get(document_target(str(document.get("document_id"))))
    if marking is None:
        return dict(document)
    withheld = {name: None for name in DOCUMENT_CONTENT if name in document}
    return {**document, **withheld, "redacted": {"provision": marking["provision"]}}


def redact_documents(documents: Iterable[Mapping[str, Any]] | None, markings: Markings) -> tuple[list, list[dict]]:
    shown = [redact_document(document, markings) for document in documents or ()]
    withheld = [{"target": document_target(str(d["document_id"])), "provision": d["redacted"]["provision"]}
                for d in shown if "redacted" in d]
    return shown, withheld


def redact_case(view: Mapping[str, Any], markings: Markings | None = None) -> dict[str, Any]:
    """A case (its view, or its state as a dict) with what is marked withheld, and `redactions` naming
    it. `markings`: the case's current ones (default: the view's own `secrecy`)."""
    markings = view.get("secrecy") or {} if markings is None else markings
    shown, withheld = dict(view), []
    if "answer" in view:
        shown["answer"], withheld = redact_answer(view["answer"], markings)
    if "documents" in view:
        shown["documents"], documents = redact_documents(view["documents"], markings)
        withheld += documents
    shown["redactions"] = [r for number, r in enumerate(withheld) if r not in withheld[:number]]
    return shown


def redact_payload(event_type: str, payload: Mapping[str, Any], markings: Markings) -> tuple[dict[str, Any], list]:
    """An event's payload with what the markings withhold; only AnswerDrafted and DocumentRegistered carry any."""
    if event_type == "Initiative.AnswerDrafted":
        answer, withheld = redact_answer(payload.get("answer"), markings)
        return {**payload, "answer": answer}, withheld
    if event_type == "Initiative.DocumentRegistered":
        shown = redact_document(payload, markings)
        withheld = [{"target": document_target(str(payload.get("document_id"))), **shown.pop("redacted")}] \
            if "redacted" in shown else []
        return shown, withheld
    return dict(payload), []


def redact_event(event: Mapping[str, Any], markings: Markings) -> dict[str, Any]:
    """An event view or envelope with its payload redacted; `redactions` is added where something was."""
    if event.get("type") not in REDACTABLE_EVENTS:
        return dict(event)
    payload, withheld = redact_payload(event["type"], event.get("payload") or {}, markings)
    shown = {**event, "payload": payload}
    if withheld:
        shown["redactions"] = withheld
    return shown


def markings_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each aggregate's markings (aggregate id → target → marking) after the marking and lifting
    events given (envelopes or event views, in order); a document registered `secret_under` a
    provision is marked by its registration."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for event in events:
        payload = event.get("payload") or {}
        if event.get("type") == REGISTERED and payload.get("secret_under"):  # secret from its registration
            event = {**event, "type": MARKED, "payload": {
                "target": document_target(str(payload.get("document_id"))), "provision": payload["secret_under"],
                "marked_on": payload.get("registered_on"), "actor": event.get("actor")}}
            payload = event["payload"]
        if event.get("type") not in (MARKED, LIFTED):
            continue
        markings = found.setdefault(str(event.get("aggregate_id")), {})
        if event["type"] == MARKED:
            markings[payload["target"]] = {"provision": payload["provision"], "marked_on": payload.get("marked_on"),
                                           "marked_by": payload.get("actor") or event.get("actor")}
        else:
            markings.pop(payload["target"], None)
    return found


def redact_events(events: Iterable[Mapping[str, Any]],
                  markings: Mapping[str, Markings]) -> list[dict[str, Any]]:
    """Events of several aggregates, each redacted by its aggregate's markings (aggregate id → markings)."""
    return [redact_event(event, markings.get(str(event.get("aggregate_id")), {})) for event in events]
