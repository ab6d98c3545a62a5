"""Notifications' settings and its dependencies object: what its handlers, consumers and background
workers (the sender, the reminders and digests) are given, built in app.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram
from pydantic import Field, SecretStr, field_validator
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.egress import Policy, Resolver, system_resolver
from shared.contract.services import service
from shared.runtime.kit import Kit
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc
from shared.runtime.outbox import Outbox
from shared.runtime.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    http_port: int = service("notifications").http_port
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
    webhook_allowed_networks: list[str] = Field(
        default=[],
        description="Networks a webhook may reach although they are not public (CIDRs, JSON list); loopback, "
        "private, link-local, multicast and reserved addresses are refused otherwise (development allows loopback)",
    )

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError: not a network
        return value


class SenderMetrics:
    def __init__(self, metrics: Metrics) -> None:
        self.outcomes = Counter(
            "antq_notifications_total",
            "Notification attempts, by channel and outcome (sent, retry, failed)",
            ["channel", "outcome"],
            registry=metrics.registry,
        )
        self.seconds = Histogram(
            "antq_notification_send_seconds",
            "Time of one send attempt, by channel",
            ["channel"],
            registry=metrics.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.reminder_overdue = Gauge(
            "antq_reminder_overdue_seconds",
            "How long the oldest reminder job not yet run is past its time (0: none); set each round",
            registry=metrics.registry,
        )


@dataclass(frozen=True)
class Notifications:
    settings: NotificationsSettings
    kit: Kit
    sender_metrics: SenderMetrics
    resolver: Resolver = system_resolver  # a name's addresses (tests give a resolver of their own)

    @property
    def egress(self) -> Policy:
        """Where webhooks may go (services/notifications/egress.py)."""
        return Policy.of(self.settings.webhook_allowed_networks, self.settings.env == "production")

    @property
    def db(self) -> AsyncDatabase[Doc]:
        return self.kit.db

    @property
    def mongo(self) -> AsyncMongoClient[Doc]:
        return self.kit.mongo

    @property
    def outbox(self) -> Outbox:
        return self.kit.outbox

    @property
    def stopping(self) -> asyncio.Event:
        return self.kit.stopping

    def now(self) -> dt.datetime:
        return self.kit.clock()
