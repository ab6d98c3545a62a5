"""The events a command causes, enveloped: its domain events (caused by it, in its correlation, by its
actor) and, on the durable intake, its outcome (`command.accepted|rejected`), also for a command
whose envelope could not be read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from shared.contract.envelope import Actor, CloudEvent, new_event
from shared.contract.events import DomainEvent
from shared.contract.subjects import event_type


def domain_event(
    source: str, service: str, e: DomainEvent, cause: CloudEvent, actor: Actor, at: dt.datetime
) -> CloudEvent:
    return new_event(
        source=source,
        type=event_type(service, e.aggregate, e.name, e.version),
        subject=e.subject,
        data=e.data.model_dump(mode="json"),
        correlationid=cause.correlationid or cause.id,
        causationid=cause.id,
        actor=actor,
        aggregateversion=e.aggregate_version,
        time=at,
        supersededby=event_type(service, e.aggregate, e.name, e.superseded_by) if e.superseded_by else None,
    )


def outcome_event(
    source: str,
    service: str,
    cause: CloudEvent,
    verdict: str,
    body: dict[str, Any],
    event_id: str,
    at: dt.datetime,
) -> CloudEvent:
    event = new_event(
        id=event_id,
        source=source,
        type=event_type(service, "command", verdict),
        subject=cause.id,
        data={"command_id": cause.id, "command_type": cause.type, **body},
        correlationid=cause.correlationid or cause.id,
        causationid=cause.id,
        time=at,
    )
    # the sender's actor attributes are echoed as given, even when they were the problem
    return event.model_copy(
        update={"actorid": cause.actorid, "actorunit": cause.actorunit, "actorrole": cause.actorrole}
    )


def unreadable_cause(raw: bytes, command_id: str) -> CloudEvent:
    """What can be read of a command whose envelope is not valid: its id, type and actor as given."""
    doc = _object_or_empty(raw)
    return CloudEvent.model_construct(
        id=command_id,
        source="unparseable",
        type=str(doc.get("type", ""))[:200],
        correlationid=None,
        actorid=_attr(doc.get("actorid")),
        actorunit=_attr(doc.get("actorunit")),
        actorrole=_attr(doc.get("actorrole")),
    )


def _attr(value: Any) -> str | None:
    """An actor attribute of an unreadable command, echoed as given when it is a string."""
    return value[:128] if isinstance(value, str) and value else None


def _object_or_empty(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}
