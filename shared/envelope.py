"""The JSON envelope every published event travels in (docs/events.md documents it).

The envelope is a contract with other systems of the region: fields are only added,
never renamed; `schema_version` is the event class's version and changes when its
payload changes (old versions are upcast on read by eventsourcing).
"""
from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from typing import Any, Mapping
from uuid import UUID, uuid5

from shared import clock

ENVELOPE_VERSION = 1
_EVENT_ID_NAMESPACE = UUID("7d1c0e64-8a51-4d0e-9a8a-2f4c7b1e9a31")
# Carried by the envelope itself, or internal to eventsourcing (a Python class path).
_ENVELOPE_FIELDS = {
    "originator_id", "originator_version", "timestamp", "actor", "originator_topic", "correlation_id", "causation_id",
    "effective_on", "imported",
}


def event_type(domain_event: Any) -> str:
    """`Initiative.Registered`: aggregate and event, a dot apart (AMQP topic words)."""
    return type(domain_event).__qualname__


def event_id(domain_event: Any) -> UUID:
    """Stable across re-publication, so subscribers can deduplicate on it."""
    return uuid5(
        _EVENT_ID_NAMESPACE,
        f"{domain_event.originator_id}:{domain_event.originator_version}",
    )


def describe(domain_event: Any) -> dict[str, Any]:
    """What every view of an event shows: identity, type, version, when, who, why, what.

    `correlation_id` and `causation_id` are what the event was stored with (shared.domain);
    an event stored before they existed shows null for both.
    """
    return to_json_compatible(
        {
            "event_id": event_id(domain_event),
            "type": event_type(domain_event),
            "schema_version": getattr(type(domain_event), "class_version", 1),
            "aggregate_id": domain_event.originator_id,
            "aggregate_version": domain_event.originator_version,
            "occurred_at": domain_event.timestamp,
            "actor": getattr(domain_event, "actor", None),
            "correlation_id": getattr(domain_event, "correlation_id", None),
            "causation_id": getattr(domain_event, "causation_id", None),
            "effective_on": effective_on(domain_event),
            "imported": getattr(domain_event, "imported", None),
            "payload": {
                name: value
                for name, value in vars(domain_event).items()
                if name not in _ENVELOPE_FIELDS
            },
        }
    )


def payload_fields(event_class: type) -> list[str]:
    """The fields of an event class its envelope's `payload` carries (as `describe` reads them)."""
    return [field.name for field in dataclasses.fields(event_class) if field.name not in _ENVELOPE_FIELDS]


def effective_on(domain_event: Any) -> date:
    """The business date an event took effect: its own `effective_on` when it carries one (an imported step
    whose payload has no date of its own); else its payload's business date, named by its aggregate's
    `effective_dates` table (registered_on, decided_on, ...); else the Swedish calendar day it was recorded."""
    own = getattr(domain_event, "effective_on", None)
    if own is not None:
        return own
    field = date_field(type(domain_event))
    value = getattr(domain_event, field, None) if field else None
    if isinstance(value, datetime):
        return clock.local_date(value)
    if isinstance(value, date):
        return value
    return clock.local_date(domain_event.timestamp)


def date_field(event_class: type) -> str | None:
    """The payload field holding the business date of events of this class, from its aggregate's table."""
    return date_field_named(aggregate_of(event_class), event_class.__qualname__.rsplit(".", 1)[-1])


def date_field_named(aggregate: Any, name: str) -> str | None:
    for cls in getattr(aggregate, "__mro__", ()):
        table = vars(cls).get("effective_dates") or {}
        if name in table:
            return table[name]
    return None


def is_mapped(event_class: type) -> bool:
    """Whether the event's aggregate names the event in its table (with a field, or None: recorded date only)."""
    aggregate = aggregate_of(event_class)
    name = event_class.__qualname__.rsplit(".", 1)[-1]
    return any(name in (vars(cls).get("effective_dates") or {}) for cls in getattr(aggregate, "__mro__", ()))


def aggregate_of(event_class: type) -> Any:
    """The aggregate class an event class is declared in (Initiative for Initiative.Registered)."""
    found: Any = sys.modules.get(event_class.__module__)
    for part in event_class.__qualname__.split(".")[:-1]:
        found = getattr(found, part, None)
    return found


def read_basis(in_effect_on: date | None) -> dict[str, Any]:
    """What a history or timeline read answers: as recorded (by `as_of`, or now), or as in effect on a day."""
    return {"basis": "recorded" if in_effect_on is None else "in_effect",
            "in_effect_on": in_effect_on.isoformat() if in_effect_on else None}


def effective_on_of(envelope: Mapping[str, Any]) -> date:
    """An envelope's effective date: its `effective_on`, or for an envelope published (and kept) before the
    field existed, the Swedish calendar day it occurred (what the service computes for such events too,
    unless their aggregate names a business date: an old envelope's payload is read for it then)."""
    given = envelope.get("effective_on")
    if given:
        return date.fromisoformat(given)
    from shared.domain import AGGREGATES

    aggregate, _, name = str(envelope.get("type", "")).rpartition(".")
    field = date_field_named(AGGREGATES.get(aggregate), name)
    value = (envelope.get("payload") or {}).get(field) if field else None
    if isinstance(value, str):
        try:
            return clock.local_date(datetime.fromisoformat(value)) if "T" in value else date.fromisoformat(value)
        except ValueError:
            pass
    return clock.local_date(datetime.fromisoformat(envelope["occurred_at"]))


def is_envelope(envelope: Any) -> bool:
    """Whether a message keeps the envelope's contract as far as a consumer relies on it: a position,
    a type and a payload."""
    return (
        isinstance(envelope, dict)
        and isinstance(envelope.get("position"), int) and envelope["position"] > 0
        and isinstance(envelope.get("type"), str)
        and isinstance(envelope.get("payload"), dict)
    )


def to_envelope(
    source: str,
    position: int,
    domain_event: Any,
    diary_number: str | None,
    chain: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`chain` is the event's link in its aggregate's hash chain (shared.chain), null if it has none."""
    return {
        "envelope_version": ENVELOPE_VERSION,
        "source": source,
        "position": position,
        "diary_number": diary_number,
        **describe(domain_event),
        "chain": chain,
    }


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def to_json_compatible(value: Any) -> Any:
    return json.loads(dumps(value))
