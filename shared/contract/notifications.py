"""Notifications' public contract: recipients (commands), the delivery log (events in
ANTQ_NOTIFICATIONS) and its queries.

Notifications reads registry's and awards' events only. It sends each event in a recipient's scope
whose type matches one of the recipient's patterns, by email (SMTP) or by webhook (Standard Webhooks:
`webhook-id`, `webhook-timestamp`, `webhook-signature` = `v1,` + base64 HMAC-SHA256 of
`id.timestamp.body` under the recipient's `whsec_…` secret), immediately or in a daily digest, and
reminders computed from campaign dates. One notification per (event id, recipient, channel)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import functools
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from shared.contract import awards, registry
from shared.contract.subjects import event_type
from shared.contract.types import Fact, Id, Model

SERVICE = "notifications"

Channel = Literal["email", "webhook"]
Mode = Literal["immediate", "digest"]
Language = Literal["vi", "en"]
DeliveryStatus = Literal["pending", "sending", "sent", "failed", "collected", "digested"]

# reminders are notifications of their own types, matched by the same patterns as events
REMINDER_TYPES = {
    "window_opened": "vn.antq.notifications.reminder.window-opened.v1",
    "window_closing": "vn.antq.notifications.reminder.window-closing.v1",
    "report_due": "vn.antq.notifications.reminder.report-due.v1",
}


@functools.cache
def known_types() -> tuple[str, ...]:
    """Every type a recipient can ask for: the events of registry and awards, and the reminders."""
    sources = ((registry.SERVICE, registry.EVENTS), (awards.SERVICE, awards.EVENTS))
    events = {event_type(service, a, e) for service, table in sources for a, e in table}
    return tuple(sorted({*events, *REMINDER_TYPES.values()}))


def _pattern(value: str) -> str:
    """A CloudEvents type pattern: `vn.antq.` then segments of [a-z0-9_-], with `*` for any run of
    characters (dots included): `vn.antq.registry.festival.*`, `vn.antq.*.nomination.approved.v1`.
    It must match at least one type notifications sends: a typo is refused, not silently unmatched."""
    if not re.fullmatch(r"vn\.antq\.[a-z0-9_.*-]+", value) or ".." in value:
        raise ValueError("a pattern is a CloudEvents type of ours, e.g. vn.antq.registry.festival.*")
    if not any(fnmatch.fnmatchcase(t, value) for t in known_types()):
        raise ValueError(
            f"{value!r} matches no event type; e.g. vn.antq.registry.festival.*, vn.antq.awards.nomination.*, "
            "vn.antq.notifications.reminder.* (the types are the events of registry and awards, and the reminders)"
        )
    return value


def _secret(value: str) -> str:
    """`whsec_` + standard base64 of 24 to 64 bytes (what Standard Webhooks libraries accept)."""
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a secret is whsec_ followed by base64 (of 24 to 64 random bytes)") from None
    if not 24 <= len(key) <= 64 or not any(key):
        raise ValueError(f"a secret's key is 24 to 64 random bytes; this one has {len(key)}")
    return value


Pattern = Annotated[str, StringConstraints(min_length=9, max_length=120), AfterValidator(_pattern)]
Secret = Annotated[
    str,
    StringConstraints(pattern=r"^whsec_[A-Za-z0-9+/=]{32,88}$"),
    AfterValidator(_secret),
    Field(description="A Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes."),
]
EMAIL = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
URL = re.compile(r"^https?://[^\s/?#@]+(?::\d{1,5})?(?:[/?#][^\s]*)?$")  # no user:password@ in it


# ---------------------------------------------------------------- commands


class AddRecipient(Model):
    """A recipient of the events in a unit's subtree whose types match `events`."""

    recipient_id: Id | None = None
    scope_unit_id: Id = Field(description="The recipient gets the events of this unit's whole subtree.")
    events: Annotated[list[Pattern], Field(min_length=1, max_length=50)]
    channel: Channel
    address: Annotated[str, StringConstraints(min_length=3, max_length=500)] = Field(
        description="An email address (channel email) or an http(s) URL (channel webhook)."
    )
    mode: Mode = Field(default="immediate", description="digest: once a day, at the configured hour.")
    language: Language = "vi"
    secret: Secret | None = Field(default=None, description="Webhook only; generated (and returned once) if omitted.")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        if channel == "email" and not EMAIL.fullmatch(value):
            raise ValueError("not an email address")
        if channel == "webhook" and not URL.fullmatch(value):
            raise ValueError("a webhook address is an http:// or https:// URL, without user:password@")
        return value

    @field_validator("secret")
    @classmethod
    def _webhook_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("channel") == "email":
            raise ValueError("only a webhook recipient has a secret")
        return value


class RemoveRecipient(Model):
    recipient_id: Id


class RotateSecret(Model):
    """A new secret for a webhook recipient; the old one keeps signing beside it for the overlap."""

    recipient_id: Id
    secret: Secret | None = Field(default=None, description="Generated (and returned once) if omitted.")


COMMANDS: dict[str, type[Model]] = {
    "add-recipient": AddRecipient,
    "remove-recipient": RemoveRecipient,
    "rotate-secret": RotateSecret,
}


# ---------------------------------------------------------------- events


class RecipientAdded(Fact):
    recipient_id: str
    scope_unit_id: str
    events: list[str]
    channel: str
    mode: str
    language: str


class RecipientRemoved(Fact):
    recipient_id: str


class SecretRotated(Fact):
    """The secret itself is never in an event."""

    recipient_id: str
    old_valid_until: dt.datetime


class RecipientDisabled(Fact):
    recipient_id: str
    reason: str
    failing_since: dt.datetime


class NotificationSent(Fact):
    notification_id: str = Field(description="`<event id>|<recipient>|<channel>`, or the digest's / reminder's id.")
    recipient_id: str
    channel: str
    event_ids: list[str] = Field(description="The events it carried (several for a digest).")
    event_type: str
    attempts: int


class NotificationFailed(Fact):
    notification_id: str
    recipient_id: str
    channel: str
    event_ids: list[str]
    event_type: str
    attempts: int
    error: str


EVENTS: dict[tuple[str, str], type[Fact]] = {
    ("recipient", "added"): RecipientAdded,
    ("recipient", "removed"): RecipientRemoved,
    ("recipient", "secret-rotated"): SecretRotated,
    ("recipient", "disabled"): RecipientDisabled,
    ("notification", "sent"): NotificationSent,
    ("notification", "failed"): NotificationFailed,
}


# ---------------------------------------------------------------- queries

Limit = Annotated[int, Field(ge=1, le=1000)]


class RecipientsQuery(Model):
    """Recipients (never their secrets), by id, paged."""

    scope_unit_id: Id | None = None
    channel: Channel | None = None
    include_removed: bool = False
    limit: Limit = 100
    after: Id | None = Field(default=None, description="Cursor: the last recipient_id of the previous page.")


class DeliveriesQuery(Model):
    """The delivery log, newest first, paged."""

    recipient_id: Id | None = None
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    status: DeliveryStatus | None = None
    limit: Limit = 100
    after: Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{32,36}$")] | None = Field(
        default=None, description="Cursor: the `next` of the previous page."
    )


QUERIES: dict[str, type[Model]] = {"recipients": RecipientsQuery, "deliveries": DeliveriesQuery}
