"""CloudEvents 1.0 attributes of a published envelope, in binary content mode (docs/events.md, "CloudEvents").

The body stays the envelope, unchanged; the attributes travel beside it as AMQP headers, twice: with
`ce-` (the RabbitMQ protocol binding: AMQP 0-9-1 headers, the protocol this suite speaks) and with
`cloudEvents:` (the CNCF AMQP protocol binding's names, written for AMQP 1.0 application properties).
`datacontenttype` is the message's content-type property in both bindings, never a header.
"""
from __future__ import annotations

from typing import Any, Mapping

SPECVERSION = "1.0"
# A reverse-DNS-style prefix makes the type globally unambiguous; the rest is the envelope's type (the routing key).
TYPE_PREFIX = "se.region.cases."
RABBITMQ_PREFIX = "ce-"
AMQP_PREFIX = "cloudEvents:"
# The sequence extension is a string compared lexicographically: a position padded to 20 digits (any int64) sorts so.
SEQUENCE_DIGITS = 20


def source_of(service: str) -> str:
    """The CloudEvents `source`: a URI reference naming the publishing service."""
    return f"/services/{service}"


def type_of(event_type: str) -> str:
    return TYPE_PREFIX + event_type


def sequence_of(position: int) -> str:
    return f"{position:0{SEQUENCE_DIGITS}d}"


def attributes(envelope: Mapping[str, Any]) -> dict[str, str]:
    """The context attributes of an envelope, bar `datacontenttype` (the content-type property)."""
    found = {
        "specversion": SPECVERSION,
        "id": str(envelope["event_id"]),
        "source": source_of(envelope["source"]),
        "type": type_of(envelope["type"]),
        "time": str(envelope["occurred_at"]),
        "sequence": sequence_of(int(envelope["position"])),
    }
    if envelope.get("diary_number"):
        found["subject"] = str(envelope["diary_number"])
    return found


def headers(envelope: Mapping[str, Any]) -> dict[str, str]:
    """The attributes as AMQP headers, under both bindings' names."""
    found = attributes(envelope)
    return {**{RABBITMQ_PREFIX + name: value for name, value in found.items()},
            **{AMQP_PREFIX + name: value for name, value in found.items()}}
