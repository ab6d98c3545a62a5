"""Notifications' composition root: settings → store → recipients' commands, queries, consumers of
registry's and awards' events → the sender and the reminder scheduler (background) → service host."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from pydantic import Field, SecretStr
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications import consumers, handlers, queries, reminders, sender, store
from shared.contract import notifications as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.mongo import Doc
from shared.runtime.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    http_port: int = 8103
    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay (the embedded mode runs a local sink)")
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none", description="none, starttls (submission, 587) or tls (implicit TLS, 465)"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = Field(default="ANTQ <no-reply@antq.local>", description="The From: of every email")
    send_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one send attempt")
    send_concurrency: int = Field(default=16, ge=1, le=256, description="Sends in flight at once")
    per_recipient_concurrency: int = Field(default=2, ge=1, le=32, description="Sends in flight per recipient")
    send_poll_seconds: float = Field(default=0.5, gt=0, description="How often due notifications are looked for")
    max_attempts: int = Field(default=8, ge=1, le=50, description="Attempts before notification.failed")
    retry_base_seconds: float = Field(default=30.0, gt=0, description="First retry delay; doubles each attempt")
    retry_max_seconds: float = Field(default=3600.0, gt=0, description="Longest retry delay")
    disable_after_seconds: float = Field(
        default=3 * 86_400.0, gt=0, description="A recipient failing this long is disabled (recipient.disabled)"
    )
    secret_overlap_seconds: float = Field(
        default=86_400.0, ge=0, description="How long a rotated-out webhook secret keeps signing beside the new one"
    )
    digest_hour: int = Field(default=7, ge=0, le=23, description="Hour of the daily digest, in the province's zone")
    reminder_hour: int = Field(default=8, ge=0, le=23, description="Hour reminders are sent, in the province's zone")
    window_closing_days: int = Field(default=3, ge=0, le=60, description="Reminder N days before the window ends")
    report_due_days: int = Field(default=3, ge=0, le=60, description="Reminder N days before the report deadline")
    reminder_poll_seconds: float = Field(default=30.0, gt=0, description="How often due reminders are looked for")


def definition() -> ServiceDefinition:
    def store_factory(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> store.NotificationsStore:
        return store.NotificationsStore(db, session)

    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=queries.QUERIES,
        events=contract.EVENTS,
        store_factory=store_factory,
        ensure_indexes=store.ensure_indexes,
        consumers=consumers.consumers(),
        background=[sender.run, reminders.run],
        description="Notifications of the All-People's Festival for Protecting National Security: registry's and "
        "awards' events and reminders from campaign dates, by email and Standard Webhooks, once per recipient.",
    )


def configure(s: NotificationsSettings) -> None:
    """The consumers' and handlers' view of the settings (they are module-level functions)."""
    consumers.SETTINGS.timezone = s.timezone
    consumers.SETTINGS.digest_hour = s.digest_hour
    consumers.SETTINGS.reminder_hour = s.reminder_hour
    consumers.SETTINGS.window_closing_days = s.window_closing_days
    consumers.SETTINGS.report_due_days = s.report_due_days
    handlers.OVERLAP["seconds"] = s.secret_overlap_seconds


def create(
    settings: NotificationsSettings | None = None, clock: Callable[[], dt.datetime] | None = None
) -> ServiceHost:
    s = settings or NotificationsSettings()
    configure(s)
    return ServiceHost(definition(), s, clock)
