"""A service's AsyncAPI 3.0 document, generated from the code: what it publishes (its event classes), where
(shared.topology's exchanges and routing keys) and what it consumes (its inbox queues).

Served at GET /asyncapi.json and written to docs/asyncapi/<service>.json (`make asyncapi-docs`). JSON
Schemas come from marshmallow through apispec, as the OpenAPI documents' do: the envelope is
shared.schemas.EnvelopeView, and each event's payload a marshmallow schema of its class's fields.
"""
from __future__ import annotations

import types
import typing
from typing import Any, Iterable, Sequence
from urllib.parse import unquote, urlsplit

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from nameko.standalone.events import get_event_exchange

from shared import cloudevents
from shared.envelope import payload_fields
from shared.inbox import inbox_queue
from shared.schemas import EnvelopeView
from shared.secrecy import WITHHELD_FIELDS
from shared.topology import inboxes_of

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING = "0.3.0"
DEFAULT_AMQP_URI = "amqp://127.0.0.1:5672/"  # config.yml's default: what docs/asyncapi/ shows
# What the events' library creates without a name of its own (every aggregate here names its creation event).
NOT_PUBLISHED = {"Event", "Created"}
# Always in an envelope (docs/events.md); `redactions` only where something is withheld.
ENVELOPE_REQUIRED = [name for name in EnvelopeView().fields if name != "redactions"]
PERSISTENT = 2


def event_classes(aggregates: Iterable[type]) -> list[type]:
    """Every event class the aggregates publish (inherited ones too: Initiative.ReminderRaised), by type."""
    found = {}
    for aggregate in aggregates:
        for name in dir(aggregate):
            value = getattr(aggregate, name)
            if (isinstance(value, type) and issubclass(value, aggregate.Event) and name not in NOT_PUBLISHED
                    and value.__qualname__ == f"{aggregate.__qualname__}.{name}"):
                found[value.__qualname__] = value
    return [found[name] for name in sorted(found)]


def for_service(service_class: type, title: str, amqp_uri: str = DEFAULT_AMQP_URI) -> dict[str, Any]:
    """The document of a nameko service class: its name, and the aggregates its application publishes
    (shared.dependencies.EventSourcedApplication; none for a service without one, such as audit)."""
    published = [aggregate for value in vars(service_class).values()
                 for aggregate in getattr(getattr(value, "application_class", None), "published", ())]
    return document(service_class.name, title, published, amqp_uri)  # type: ignore[attr-defined]


def document(service: str, title: str, published: Sequence[type], amqp_uri: str = DEFAULT_AMQP_URI) -> dict[str, Any]:
    """The AsyncAPI document of `service`, whose aggregates `published` are its public events."""
    converter = _converter()
    schemas: dict[str, Any] = {"Envelope": _envelope_schema(converter)}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    published_events = event_classes(published)
    if published_events:
        channel_messages = {}
        for event_class in published_events:
            name = event_class.__qualname__
            schemas[f"{name}.payload"] = _payload_schema(converter, event_class)
            schemas[name] = _typed_envelope({
                "type": {"const": name},
                "schema_version": {"const": getattr(event_class, "class_version", 1)},
                "source": {"const": service},
                "payload": {"$ref": f"#/components/schemas/{name}.payload"},
            })
            messages[name] = _message(name, f"{name}, published by {service}", name)
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
            operations[_key("publish", name)] = {
                "action": "send",
                "title": f"Publish {name}",
                "channel": {"$ref": "#/channels/events"},
                "messages": [{"$ref": f"#/channels/events/messages/{name}"}],
                "bindings": {"amqp": {"cc": [name], "deliveryMode": PERSISTENT, "bindingVersion": AMQP_BINDING}},
            }
        exchange = get_event_exchange(service, {}).name
        channels["events"] = {
            "address": exchange,
            "title": f"The {service} service's events",
            "description": "A durable topic exchange; the routing key is the event type. Bind a queue of your own "
                           "(`#` for everything).",
            "messages": channel_messages,
            "bindings": {"amqp": {"is": "routingKey", "bindingVersion": AMQP_BINDING, "exchange": {
                "name": exchange, "type": "topic", "durable": True, "autoDelete": False,
                "vhost": _vhost(amqp_uri)}}},
        }

    for source, routing_keys in inboxes_of(service).items():
        channel = _camel(source) + "Inbox"
        channel_messages = {}
        for routing_key in routing_keys:
            name = f"{source}.any" if routing_key == "#" else routing_key
            if name not in schemas:
                schemas[name] = _typed_envelope({"source": {"const": source}} if routing_key == "#" else
                                                {"source": {"const": source}, "type": {"const": routing_key}})
            messages[name] = _message(name, f"{'Every event' if routing_key == '#' else routing_key} of {source}, "
                                            f"as {source}'s AsyncAPI document describes it", name)
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        queue = inbox_queue(source, service, routing_keys).name
        channels[channel] = {
            "address": queue,
            "title": f"{service}'s inbox for {source}'s events",
            "description": f"Bound to {source}.events with {', '.join(routing_keys)}; single active consumer, "
                           "applied in order, exactly once (shared.inbox).",
            "messages": channel_messages,
            "bindings": {"amqp": {"is": "queue", "bindingVersion": AMQP_BINDING, "queue": {
                "name": queue, "durable": True, "exclusive": False, "autoDelete": False, "vhost": _vhost(amqp_uri)}}},
        }
        operations[_key("receive", source)] = {
            "action": "receive",
            "title": f"Apply {source}'s events",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in channel_messages],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}},
        }

    schemas["Headers"] = _headers_schema()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:se.region.cases:{service}",
        "info": {
            "title": f"{title}: events",
            "version": "1.0.0",
            "description": f"What the {service} service publishes to RabbitMQ and what it consumes. Every message is "
                           "a CloudEvent in binary content mode: the envelope (docs/events.md) is the body, the "
                           "CloudEvents attributes are headers (ce- and cloudEvents: names).",
        },
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": _server(amqp_uri)},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _converter() -> Any:
    plugin = MarshmallowPlugin()
    # OpenAPI 3.1's schemas are JSON Schema: a nullable field is `"type": [..., "null"]`, as AsyncAPI reads it.
    APISpec(title="events", version="1", openapi_version="3.1.0", plugins=[plugin])
    return plugin.converter


def _envelope_schema(converter: Any) -> dict[str, Any]:
    schema = converter.schema2jsonschema(EnvelopeView)
    schema.pop("additionalProperties", None)  # fields are only ever added (docs/events.md)
    return {**schema, "required": ENVELOPE_REQUIRED,
            "description": "The envelope every event travels in (docs/events.md)."}


def _payload_schema(converter: Any, event_class: type) -> dict[str, Any]:
    hints = typing.get_type_hints(event_class)
    withheld = WITHHELD_FIELDS.get(event_class.__qualname__, ())
    declared = {}
    for name in payload_fields(event_class):
        if name in withheld:
            declared[name] = _field(hints[name], required=True, allow_none=True,
                                    metadata={"description": "null when withheld as secret (see redactions)"})
        else:
            declared[name] = _field(hints[name], required=True)
    schema = converter.schema2jsonschema(Schema.from_dict(declared, name=event_class.__qualname__))
    return {**schema, "description": f"The payload of {event_class.__qualname__}, "
                                     f"schema_version {getattr(event_class, 'class_version', 1)}."}


def _field(hint: Any, **options: Any) -> fields.Field:
    """The marshmallow field of a type hint (what the event class declares)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return _field(rest[0], **{**options, "allow_none": type(None) in args})
        return fields.Raw(**options)
    if origin is list:
        return fields.List(_field(args[0]) if args else fields.Raw(), **options)
    if origin is dict or hint is dict:
        return fields.Dict(**options)
    if hint is typing.Any:
        return fields.Raw(**options)
    return Schema.TYPE_MAPPING[hint](**options)


def _typed_envelope(properties: dict[str, Any]) -> dict[str, Any]:
    """The envelope, with some of its fields fixed (type, schema_version, source) or specified (payload)."""
    return {"allOf": [{"$ref": "#/components/schemas/Envelope"}, {"type": "object", "properties": properties}]}


def _message(name: str, summary: str, schema: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/Headers"},
        "payload": {"$ref": f"#/components/schemas/{schema}"},
        "correlationId": {"description": "The chain of work the event belongs to (docs/events.md)",
                          "location": "$message.payload#/correlation_id"},
        "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": name, "bindingVersion": AMQP_BINDING}},
    }


def _headers_schema() -> dict[str, Any]:
    """The AMQP headers: the suite's own and the CloudEvents attributes under both bindings' names."""
    attributes = {
        "specversion": {"const": cloudevents.SPECVERSION},
        "id": {"type": "string", "format": "uuid", "description": "the envelope's event_id"},
        "source": {"type": "string", "format": "uri-reference", "description": "/services/<the envelope's source>"},
        "type": {"type": "string", "description": f"{cloudevents.TYPE_PREFIX}<the envelope's type>"},
        "time": {"type": "string", "format": "date-time", "description": "the envelope's occurred_at"},
        "sequence": {"type": "string", "pattern": f"^[0-9]{{{cloudevents.SEQUENCE_DIGITS}}}$",
                     "description": "the envelope's position, zero-padded: lexicographic order is position order"},
        "subject": {"type": "string", "description": "the envelope's diary_number (absent when it has none)"},
    }
    required = [name for name in attributes if name != "subject"]
    properties: dict[str, Any] = {
        "position": {"type": "integer", "description": "the envelope's position"},
        "source": {"type": "string", "description": "the envelope's source (the publishing service)"},
    }
    for prefix in (cloudevents.RABBITMQ_PREFIX, cloudevents.AMQP_PREFIX):
        properties.update({prefix + name: schema for name, schema in attributes.items()})
    return {"type": "object", "properties": properties,
            "required": ["position", "source"] + [prefix + name for prefix in
                                                  (cloudevents.RABBITMQ_PREFIX, cloudevents.AMQP_PREFIX)
                                                  for name in required]}


def _first_broker(amqp_uri: str) -> str:
    """The first of the brokers kombu would try (AMQP_URI may list several, `;`-separated)."""
    return amqp_uri.split(";", 1)[0].strip()


def _server(amqp_uri: str) -> dict[str, Any]:
    """Where the broker is, from AMQP_URI (never its credentials)."""
    parts = urlsplit(_first_broker(amqp_uri))
    scheme = parts.scheme or "amqp"
    port = parts.port or (5671 if scheme == "amqps" else 5672)
    return {"host": f"{parts.hostname or 'localhost'}:{port}", "protocol": scheme, "protocolVersion": "0-9-1",
            "pathname": "/" + _vhost(amqp_uri).lstrip("/"),
            "description": "RabbitMQ (AMQP_URI)"}


def _vhost(amqp_uri: str) -> str:
    path = unquote(urlsplit(_first_broker(amqp_uri)).path[1:])  # amqp://h/%2F is the vhost "/"
    return path or "/"


def _key(action: str, name: str) -> str:
    """An operation's key: publishInitiativeRegistered, receiveLettersOfIntent."""
    return action + "".join(part[:1].upper() + part[1:] for part in name.replace("_", ".").split("."))


def _camel(name: str) -> str:
    key = _key("", name)
    return key[:1].lower() + key[1:]

