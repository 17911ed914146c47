"""A case's timeline across the services: every published event naming its diary number, in time order."""
from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping

from shared.envelope import effective_on_of


def case_timeline(
    feeds: Mapping[str, Iterable[dict[str, Any]]], diary_number: str, as_of: datetime | None = None,
    in_effect_on: date | None = None,
) -> list[dict[str, Any]]:
    """The events of every service about one case, merged by when they occurred (then source and position);
    or, `in_effect_on`, those in effect on that day, merged by their effective dates (then when they occurred).

    In effect on a day are each aggregate's events in version order up to the first whose effective date
    (shared.envelope.effective_on) is later: what a later event says cannot have been in effect before what
    its aggregate recorded earlier. Every entry carries its `effective_on` (computed where an envelope kept
    from before the field has none).

    An event belongs to the case when it names it, or when it names no case at all and
    its aggregate has an event that does: the submission before the case was registered,
    the convening, opening and adjustment of the meeting that decided it. What names
    another case (the next item on that meeting's agenda) stays out.
    """
    every = [{**envelope, "effective_on": effective_on_of(envelope).isoformat()}
             for feed in feeds.values() for envelope in feed]
    if in_effect_on is not None:
        every = in_effect(every, in_effect_on)
    involved = {(e["source"], e["aggregate_id"]) for e in every if concerns(e, diary_number)}
    entries = [
        envelope
        for envelope in every
        if (concerns(envelope, diary_number)
            or ((envelope["source"], envelope["aggregate_id"]) in involved and not named_cases(envelope)))
        and (as_of is None or datetime.fromisoformat(envelope["occurred_at"]) <= as_of)
    ]
    if in_effect_on is not None:
        return with_causes(sorted(entries, key=lambda e: (e["effective_on"], _instant(e), e["source"], e["position"])))
    return with_causes(sorted(entries, key=lambda e: (e["occurred_at"], e["source"], e["position"])))


def in_effect(envelopes: Iterable[dict[str, Any]], day: date) -> list[dict[str, Any]]:
    """Of each aggregate's envelopes, in version order, those up to the first that took effect after `day`."""
    by_aggregate: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for envelope in envelopes:
        by_aggregate.setdefault((envelope["source"], envelope["aggregate_id"]), []).append(envelope)
    day_text = day.isoformat()
    return [envelope for events in by_aggregate.values()
            for envelope in itertools.takewhile(lambda e: e["effective_on"] <= day_text,
                                                sorted(events, key=lambda e: e["aggregate_version"]))]


def _instant(envelope: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(envelope["occurred_at"])


def with_causes(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entry with `caused_by`: the event whose arrival recorded it (its envelope's `causation_id`),
    named by where it is in this timeline; null when the entry names no cause.

    The cause is looked for in the timeline itself, so the same events give the same answer
    wherever they are read from (the services, the index, an archive package). A cause outside
    the timeline (not about the case, or after `as_of`) keeps its id, with the rest null.
    """
    by_id = {entry["event_id"]: entry for entry in timeline if entry.get("event_id")}
    return [{**entry, "caused_by": _cause(entry.get("causation_id"), by_id)} for entry in timeline]


def _cause(causation_id: str | None, by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    if not causation_id:
        return None
    cause = by_id.get(causation_id, {})
    return {"event_id": causation_id, **{key: cause.get(key) for key in _CAUSE_FIELDS}}


_CAUSE_FIELDS = ("source", "type", "aggregate_id", "aggregate_version", "position", "occurred_at")


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
    """One line for a person: when, which service, who, what, the event's data, and what caused it."""
    payload = describe_payload(envelope["payload"]) if describe_payload else _readable(envelope["payload"])
    when = datetime.fromisoformat(envelope["occurred_at"]).strftime("%Y-%m-%d %H:%M:%S")
    if envelope.get("effective_on") and envelope["effective_on"] != when[:10]:
        when += f" (in effect {envelope['effective_on']})"
    if envelope.get("imported"):
        when += " (imported)"
    line = f"{when}  {envelope['source']:<18} {envelope['type']:<42} {envelope.get('actor') or '':<28} {payload}"
    cause = envelope.get("caused_by")
    if cause:
        named = f"{cause['source']} {cause['type']}" if cause.get("type") else f"event {cause['event_id']}"
        line += f"  ← caused by {named}"
    return line


def _readable(payload: Mapping[str, Any]) -> str:
    parts = []
    for key, value in payload.items():
        if value in (None, [], {}, ""):
            continue
        text = value if isinstance(value, str) else repr(value)
        parts.append(f"{key}={text[:80]}")
    return "; ".join(parts)
