"""What another system would check of a published message: that it is a CloudEvent (parsed by the CNCF SDK
under both bindings the outbox follows) whose attributes are its envelope's, and that the envelope is what
the publishing service's AsyncAPI document says of its type."""
from __future__ import annotations

import json
from typing import Any, Mapping
from uuid import UUID

from cloudevents.core.bindings import amqp, rabbitmq
from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from shared import cloudevents as attributes_of


def parsed(headers: Mapping[str, Any], content_type: str | None, body: bytes) -> list[Any]:
    """The message read by the SDK's RabbitMQ binding (ce- headers) and its AMQP binding (cloudEvents:
    application properties, which RabbitMQ's headers are): both validate the attributes as they build them."""
    return [
        rabbitmq.from_binary(rabbitmq.RabbitMQMessage(headers=dict(headers), content_type=content_type, body=body),
                             JSONFormat()),
        amqp.from_binary(amqp.AMQPMessage(properties={"content-type": content_type}, application_properties=dict(headers),
                                          application_data=body), JSONFormat()),
    ]


def check_cloudevent(headers: Mapping[str, Any], content_type: str | None, body: bytes) -> dict[str, Any]:
    """The envelope of a valid CloudEvent whose attributes match it; AssertionError (or the SDK's error) if not."""
    envelope = json.loads(body)
    expected = {**attributes_of.attributes(envelope), "datacontenttype": "application/json"}
    for prefix in (attributes_of.RABBITMQ_PREFIX, attributes_of.AMQP_PREFIX):  # the SDK makes up a missing id
        missing = [name for name in ("specversion", "id", "source", "type") if prefix + name not in headers]
        assert not missing, f"{envelope.get('type')} at {envelope.get('position')}: no {prefix}{missing}"
    for event in parsed(headers, content_type, body):
        found = {name: value for name, value in event.get_attributes().items() if value is not None}
        found["time"] = event.get_time().isoformat()
        assert found == expected, f"{envelope.get('type')} at {envelope.get('position')}: {found} != {expected}"
        assert event.get_data() == envelope
    # the attributes mean what docs/events.md says, not only what shared.cloudevents computes (jsonschema's
    # draft-7 format checker does not check `uuid`: the id is read as one here)
    assert expected["id"] == envelope["event_id"] == str(UUID(expected["id"]))
    assert expected["source"] == f"/services/{envelope['source']}"
    assert expected["type"].endswith("." + envelope["type"]) and int(expected["sequence"]) == envelope["position"]
    assert expected.get("subject") == envelope["diary_number"]
    assert headers["position"] == envelope["position"] and headers["source"] == envelope["source"]
    return envelope


def schema_errors(document: Mapping[str, Any], envelope: Mapping[str, Any]) -> list[str]:
    """What is wrong with an envelope by the AsyncAPI document's schema of its type (no such type is wrong too)."""
    name = envelope.get("type")
    if name not in document["components"]["schemas"]:
        return [f"{name} is not in the document"]
    registry = Registry().with_resource("urn:asyncapi", Resource(contents=dict(document), specification=DRAFT7))
    validator = Draft7Validator({"$ref": f"urn:asyncapi#/components/schemas/{name}"}, registry=registry,
                                format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"{name} {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(envelope)]


def header_errors(document: Mapping[str, Any], headers: Mapping[str, Any]) -> list[str]:
    registry = Registry().with_resource("urn:asyncapi", Resource(contents=dict(document), specification=DRAFT7))
    validator = Draft7Validator({"$ref": "urn:asyncapi#/components/schemas/Headers"}, registry=registry,
                                format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"headers {'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(headers)]
