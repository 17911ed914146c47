"""The JSON envelope every published event travels in (docs/events.md documents it).

The envelope is a contract with other systems of the region: fields are only added,
never renamed; `schema_version` is the event class's version and changes when its
payload changes (old versions are upcast on read by eventsourcing).
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

ENVELOPE_VERSION = 1
_EVENT_ID_NAMESPACE = UUID("7d1c0e64-8a51-4d0e-9a8a-2f4c7b1e9a31")
# Carried by the envelope itself, or internal to eventsourcing (a Python class path).
_ENVELOPE_FIELDS = {
    "originator_id", "originator_version", "timestamp", "actor", "originator_topic", "correlation_id", "causation_id",
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
            "payload": {
                name: value
                for name, value in vars(domain_event).items()
                if name not in _ENVELOPE_FIELDS
            },
        }
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
