"""The service's AsyncAPI 3 document: FastStream's, generated from the running broker, plus what its
generator does not see: the reply of every request, the durable intake and the event consumers
(both run on the kit's own pull loop)."""

from __future__ import annotations

from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI

from shared.contract.subjects import intake_subject
from shared.runtime.bus import Reply
from shared.runtime.consumers import Consumer

CONTRACT_VERSION = "1.0.0"


def document(broker: NatsBroker, service: str, description: str, consumers: list[Consumer[Any]]) -> dict[str, Any]:
    spec = AsyncAPI(
        broker,
        title=f"ANTQ {service}",
        version=CONTRACT_VERSION,
        description=description,
        schema_version="3.0.0",
    ).to_specification()
    doc: dict[str, Any] = spec.to_jsonable()
    return with_consumers(with_intake(with_replies(doc), service), consumers)


def lift(components: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Put a model's schema into `components.schemas`, with its nested models beside it: pydantic keeps
    them under the schema's own `$defs` while its references point at `#/components/schemas/<model>`."""
    schemas = components.setdefault("schemas", {})
    for nested, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(nested, definition)
    schemas[name] = schema


def with_intake(doc: dict[str, Any], service: str) -> dict[str, Any]:
    """The durable intake: a `receive` of the same CloudEvent commands, on the intake stream."""
    subject = intake_subject(service, "*")
    ref = subject.replace("*", "%2A")
    message = f"{subject}:SubscribeMessage"
    doc.setdefault("components", {}).setdefault("messages", {})[message] = {
        "correlationId": {"location": "$message.header#/correlation_id"},
        "payload": {"$ref": "#/components/schemas/CloudEvent"},
        "title": message,
    }
    doc["channels"][subject] = {
        "address": subject,
        "bindings": {"nats": {"bindingVersion": "custom", "subject": subject}},
        "description": "Durable command intake: the same CloudEvent commands as antq.cmd.<service>.<action>; "
        f"the outcome is published as antq.{service}.command.accepted.v1 or ...rejected.v1.",
        "messages": {"SubscribeMessage": {"$ref": f"#/components/messages/{ref}:SubscribeMessage"}},
        "servers": [{"$ref": "#/servers/development"}],
    }
    doc.setdefault("operations", {})[subject] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{ref}"},
        "messages": [{"$ref": f"#/channels/{ref}/messages/SubscribeMessage"}],
    }
    return doc


def with_replies(doc: dict[str, Any]) -> dict[str, Any]:
    """FastStream does not document request/reply answers: add the reply to every command and
    query operation (AsyncAPI 3 `operation.reply`, to the requester's NATS inbox)."""
    components = doc.setdefault("components", {})
    lift(components, "Reply", Reply.model_json_schema(ref_template="#/components/schemas/{model}"))
    components.setdefault("messages", {})["Reply"] = {
        "name": "Reply",
        "title": "Reply to a command or query",
        "contentType": "application/json",
        "payload": {"$ref": "#/components/schemas/Reply"},
    }
    doc["channels"]["reply"] = {
        "address": None,
        "description": "The requester's inbox: the NATS reply subject of the request.",
        "messages": {"Reply": {"$ref": "#/components/messages/Reply"}},
    }
    for name, op in doc.get("operations", {}).items():
        if name.startswith(("antq.cmd.", "antq.query.", "antq.ops.")):
            op["reply"] = {
                "channel": {"$ref": "#/channels/reply"},
                "messages": [{"$ref": "#/channels/reply/messages/Reply"}],
            }
    return doc


def with_consumers(doc: dict[str, Any], consumers: list[Consumer[Any]]) -> dict[str, Any]:
    """Document what the service listens to: a `receive` operation per consumed event type (the
    consumers run on their own pull loop, which FastStream's generator does not see)."""
    components = doc.setdefault("components", {})
    for consumer in consumers:
        for t, handler in sorted(consumer.handlers.items()):
            subject = "antq." + t.removeprefix("vn.antq.")
            name = handler.model.__name__
            lift(components, name, handler.model.model_json_schema(ref_template="#/components/schemas/{model}"))
            components.setdefault("messages", {})[name] = {
                "name": name,
                "title": t,
                "contentType": "application/cloudevents+json",
                "payload": {"$ref": f"#/components/schemas/{name}"},
            }
            channel = f"{subject}:{consumer.name}"
            doc["channels"][channel] = {
                "address": subject,
                "description": f"Consumed by {consumer.name} (durable, stream {consumer.stream}): CloudEvent `data`.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            doc.setdefault("operations", {})[f"{channel}:receive"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": consumer.description or f"{consumer.name} applies {t}",
            }
    return doc
