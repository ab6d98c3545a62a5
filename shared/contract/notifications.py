"""Notifications' public contract: recipients (commands), the delivery log (events in
ANTQ_NOTIFICATIONS) and its queries.

Notifications reads registry's and awards' events only. It sends each event in a recipient's scope
whose type matches one of the recipient's patterns, by email (SMTP) or by webhook (Standard Webhooks:
`webhook-id`, `webhook-timestamp`, `webhook-signature` = `v1,` + base64 HMAC-SHA256 of
`id.timestamp.body` under the recipient's `whsec_…` secret), immediately or in a daily digest, and
reminders computed from campaign dates. One notification per (event id, recipient, channel)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

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


def _pattern(value: str) -> str:
    """A CloudEvents type pattern: `vn.antq.` then segments of [a-z0-9_-], with `*` for any run of
    characters (dots included): `vn.antq.registry.festival.*`, `vn.antq.*.nomination.approved.v1`."""
    if not re.fullmatch(r"vn\.antq\.[a-z0-9_.*-]+", value) or ".." in value:
        raise ValueError("a pattern is a CloudEvents type of ours, e.g. vn.antq.registry.festival.*")
    return value


Pattern = Annotated[str, StringConstraints(min_length=9, max_length=120), AfterValidator(_pattern)]
Secret = Annotated[
    str,
    StringConstraints(pattern=r"^whsec_[A-Za-z0-9+/=]{32,88}$"),
    Field(description="A Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes."),
]
EMAIL = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
URL = re.compile(r"^https?://[^\s/?#]+(?::\d{1,5})?(?:/[^\s]*)?$")


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

    @model_validator(mode="after")
    def _address(self) -> AddRecipient:
        if self.channel == "email":
            if not EMAIL.fullmatch(self.address):
                raise ValueError("address: not an email address")
            if self.secret is not None:
                raise ValueError("secret: only a webhook recipient has one")
        elif not URL.fullmatch(self.address):
            raise ValueError("address: a webhook address is an http:// or https:// URL")
        return self


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
    after: Annotated[str, StringConstraints(max_length=400)] | None = Field(
        default=None, description="Cursor: the `cursor` of the previous page."
    )


QUERIES: dict[str, type[Model]] = {"recipients": RecipientsQuery, "deliveries": DeliveriesQuery}
