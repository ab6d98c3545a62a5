"""The CloudEvents 1.0 structured-JSON envelope every message on the bus travels in.

Commands and events share it; the actor rides in three string extension attributes."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from shared.contract.errors import MalformedMessage, PayloadTooLarge, ValidationFailed
from shared.contract.ids import uuid7
from shared.contract.types import MAX_PAYLOAD_BYTES

Role = Literal["officer", "approver", "admin"]
# an extension attribute: one line of printable text (a tab or a newline in an actor id is refused)
Attr = Annotated[str, StringConstraints(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]
EventType = Annotated[
    str,
    StringConstraints(max_length=200, pattern=r"^vn\.antq\.[a-z]+(\.[a-z][a-z0-9-]*)+\.v[0-9]+$"),
]


class Actor(BaseModel):
    """Who sends a command: id, the unit they act for, and their role."""

    model_config = ConfigDict(frozen=True)
    id: str
    unit: str | None
    role: Role


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured JSON document (the envelope of DESIGN §3)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="Unique id; also the Nats-Msg-Id header and, for commands, the idempotency key."
    )
    source: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    type: EventType = Field(description="vn.antq.<service>.<aggregate>.<event>.v<N> or vn.antq.<service>.<action>.v<N>")
    subject: Attr | None = Field(default=None, description="The aggregate id.")
    time: dt.datetime | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: Attr | None = None
    causationid: Attr | None = None
    actorid: Attr | None = None
    actorunit: Attr | None = None
    actorrole: Attr | None = None
    aggregateversion: int | None = Field(default=None, description="Version of the aggregate after this event.")
    supersededby: EventType | None = Field(
        default=None,
        description="On an event also published in a newer major version: that version's type. A consumer of "
        "the newer major skips this one (it reads the newer twin); a consumer of this major reads it as before.",
    )

    @field_validator("time")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("time must carry a timezone (UTC)")
        return value

    def actor(self) -> Actor:
        """The actor of a command; raises ValidationFailed when missing or inconsistent."""
        problems: list[dict[str, Any]] = []
        if not self.actorid:
            problems.append({"field": "actorid", "message": "required"})
        if self.actorrole not in ("officer", "approver", "admin"):
            problems.append({"field": "actorrole", "message": "must be one of officer, approver, admin"})
        if not self.actorunit and self.actorrole != "admin":
            problems.append({"field": "actorunit", "message": "required unless actorrole is admin"})
        if problems:
            raise ValidationFailed("the message carries no valid actor", problems)
        return Actor(id=str(self.actorid), unit=self.actorunit or None, role=self.actorrole)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class CommandAccepted(BaseModel):
    """Outcome of a command sent through the durable intake: accepted, with its result."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    command_id: str
    command_type: str
    result: dict[str, Any]


class CommandRejected(BaseModel):
    """Outcome of a command sent through the durable intake: refused, with the error of the reply."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    command_id: str
    command_type: str
    error: dict[str, Any]


# Every service publishes these as antq.<service>.command.accepted|rejected.v1 (DESIGN §3).
OUTCOME_EVENTS: dict[tuple[str, str], type[BaseModel]] = {
    ("command", "accepted"): CommandAccepted,
    ("command", "rejected"): CommandRejected,
}


def new_event(
    *,
    source: str,
    type: str,
    data: dict[str, Any],
    subject: str | None = None,
    id: str | None = None,
    time: dt.datetime | None = None,
    correlationid: str | None = None,
    causationid: str | None = None,
    actor: Actor | None = None,
    aggregateversion: int | None = None,
    supersededby: str | None = None,
) -> CloudEvent:
    return CloudEvent(
        id=id or uuid7(),
        source=source,
        type=type,
        subject=subject,
        time=time or dt.datetime.now(dt.UTC),
        data=data,
        correlationid=correlationid,
        causationid=causationid,
        actorid=actor.id if actor else None,
        actorunit=(actor.unit or "") if actor else None,
        actorrole=actor.role if actor else None,
        aggregateversion=aggregateversion,
        supersededby=supersededby,
    )


M = TypeVar("M", bound=BaseModel)


def validate_strict(model: type[M], data: Any) -> M:
    """Validate inbound `data` (already parsed JSON) the way JSON reads: strictly, so a wrong type is
    refused instead of coerced — `true` or `"1000"` is not an amount of VND, `2026.0` is not a year, and
    a number is not a date. (Python-mode validation would take all of those.)"""
    return model.model_validate_json(json.dumps(data), strict=True)


def pydantic_details(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Turn a pydantic error into the reply's `details` (field path, message), bounded in size."""
    out = []
    for err in exc.errors()[:50]:
        loc = ".".join(str(p) for p in err["loc"])
        out.append({"field": f"{prefix}{loc}" if loc else prefix.rstrip("."), "message": err["msg"]})
    return out


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first string holding a lone surrogate (valid JSON, not valid Unicode)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "<root>"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _lone_surrogate(key) is not None:
            return f"{path}.{key!r}".lstrip(".")
        found = _lone_surrogate(item, f"{path}.{key}".lstrip("."))
        if found is not None:
            return found
    return None


def read_json(raw: bytes, max_bytes: int = MAX_PAYLOAD_BYTES, allow_empty: bool = False) -> dict[str, Any]:
    """The JSON object in a message body. Refuses, with a clear error: bodies over the limit, bytes
    that are not UTF-8 or not JSON, nesting too deep to parse (`malformed`), and text that is not
    valid Unicode, such as an escaped lone surrogate (`validation_failed`, naming the field)."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"payload is {len(raw)} bytes; the limit is {max_bytes}")
    if allow_empty and not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")  # strict: json.loads(bytes) would let encoded surrogates through
    except UnicodeDecodeError as exc:
        raise MalformedMessage(f"body is not UTF-8: {str(exc)[:200]}") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # bad JSON, or nested too deep to parse
        if "int_max_str_digits" in str(exc):  # Python's guard against huge integers, not the sender's concern
            raise MalformedMessage(
                "body is not valid JSON for this service: a number has more than 4300 digits"
            ) from None
        raise MalformedMessage(f"body is not valid JSON: {str(exc)[:200] or type(exc).__name__}") from None
    if not isinstance(doc, dict):
        raise MalformedMessage("body must be a JSON object (a CloudEvents structured document)")
    if _SURROGATE_ESCAPE.search(text):  # only an escape can smuggle a surrogate past the strict decoder
        try:
            bad = _lone_surrogate(doc)
        except RecursionError:
            raise MalformedMessage("body is nested too deeply") from None
        if bad is not None:
            raise ValidationFailed(
                f"text in {bad} is not valid Unicode (a lone surrogate)",
                [{"field": bad, "message": "not valid Unicode"}],
            )
    return doc


def parse_envelope(raw: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> CloudEvent:
    """Parse and validate a structured CloudEvent; every failure is a ValidationFailed subclass."""
    doc = read_json(raw, max_bytes)
    try:
        return CloudEvent.model_validate(doc)
    except ValidationError as exc:
        raise ValidationFailed("the envelope is not a valid CloudEvent", pydantic_details(exc)) from None


def best_effort_id(raw: bytes) -> str | None:
    """The `id` of a message that failed validation, if one can be read, to echo in the reply (also
    from a body with bytes that are not UTF-8 elsewhere)."""
    try:
        doc = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return None
    value = doc.get("id") if isinstance(doc, dict) else None
    if not isinstance(value, str) or not 0 < len(value) <= 128 or "\ufffd" in value:
        return None
    if _lone_surrogate(value) is not None:
        return None
    return value
