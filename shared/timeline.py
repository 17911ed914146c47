"""A case's timeline across the services: every published event naming its diary number, in time order."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable, Mapping


def case_timeline(
    feeds: Mapping[str, Iterable[dict[str, Any]]], diary_number: str, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """The events of every service about one case, merged by when they occurred (then source and position).

    An event belongs to the case when it names it, or when it names no case at all and
    its aggregate has an event that does: the submission before the case was registered,
    the convening, opening and adjustment of the meeting that decided it. What names
    another case (the next item on that meeting's agenda) stays out.
    """
    every = [envelope for feed in feeds.values() for envelope in feed]
    involved = {(e["source"], e["aggregate_id"]) for e in every if concerns(e, diary_number)}
    entries = [
        envelope
        for envelope in every
        if (concerns(envelope, diary_number)
            or ((envelope["source"], envelope["aggregate_id"]) in involved and not named_cases(envelope)))
        and (as_of is None or datetime.fromisoformat(envelope["occurred_at"]) <= as_of)
    ]
    return sorted(entries, key=lambda e: (e["occurred_at"], e["source"], e["position"]))


def concerns(envelope: Mapping[str, Any], diary_number: str) -> bool:
    return diary_number in named_cases(envelope)


def named_cases(envelope: Mapping[str, Any]) -> set[str]:
    """The cases an event names: in its envelope, or among the cases of an event about several
    (adjusted minutes list their decisions, a cancelled meeting its cases)."""
    payload = envelope.get("payload") or {}
    named = {d.get("diary_number") for d in payload.get("decisions") or [] if isinstance(d, dict)}
    named.update(payload.get("diary_numbers") or [])
    named.add(envelope.get("diary_number"))
    return {number for number in named if number}


def describe_entry(envelope: Mapping[str, Any], describe_payload: Callable[[Mapping[str, Any]], str] | None = None) -> str:
    """One line for a person: when, which service, who, what, and the event's data."""
    payload = describe_payload(envelope["payload"]) if describe_payload else _readable(envelope["payload"])
    when = datetime.fromisoformat(envelope["occurred_at"]).strftime("%Y-%m-%d %H:%M:%S")
    return f"{when}  {envelope['source']:<18} {envelope['type']:<42} {envelope.get('actor') or '':<28} {payload}"


def _readable(payload: Mapping[str, Any]) -> str:
    parts = []
    for key, value in payload.items():
        if value in (None, [], {}, ""):
            continue
        text = value if isinstance(value, str) else repr(value)
        parts.append(f"{key}={text[:80]}")
    return "; ".join(parts)
