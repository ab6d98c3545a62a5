"""The two channels: email through SMTP (aiosmtplib) and webhooks (httpx, Standard Webhooks
signatures). Each send has a timeout and ends in an `Attempt`; nothing here retries or writes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import httpx
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifications import egress, rules, titles
from services.notifications.rules import UNIT_LISTS
from shared.runtime.settings import ServiceSettings
from shared.runtime.tracing import carrier

TEMPLATES = Path(__file__).parent / "templates"
TZ: str = ServiceSettings.model_fields["timezone"].default  # the province's calendar, unless told otherwise
MAX_ROWS = 20  # fields shown per event in an email


@dataclass(frozen=True)
class Attempt:
    ok: bool
    error: str | None = None
    permanent: bool = False  # no retry can fix it (an address the relay refuses for good)
    attempted: bool = True  # False: nothing was sent (the recipient is gone)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # none | starttls | tls
    username: str | None
    password: str | None
    sender: str
    timeout: float
    timezone: str = TZ  # the calendar dates and times are shown in


def _vn_date(value: Any) -> str:
    """dd/mm/yyyy, as Vietnamese documents write dates."""
    try:
        return dt.date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
TEXT_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, undefined=StrictUndefined)
for _env in (ENV, TEXT_ENV):
    _env.filters["vn_date"] = _vn_date


UNIT_FIELDS = (
    "unit_id",
    "scope_unit_id",
    "parent_id",
    "from_parent_id",
    "to_parent_id",
    "origin_unit_id",
    "target_unit_id",
    "source_unit_id",
)


NAMED_FIELDS = (*UNIT_FIELDS, *UNIT_LISTS, "campaign_id", "upper_campaign_id", "festival_id")
# ids with no name to show: kept (the reader may need them to act) but listed after what reads as words
REFERENCES = ("nomination_id", "award_id", "gift_id", "model_id", "person_id", "replaces_award_id")


def _value(key: str, value: Any, language: str, names: dict[str, str], tz: str = TZ) -> str:
    """A field as people read it: yes/no, dd/mm/yyyy, 1.234.567 (not for a year), a unit by its name,
    a plan's items listed."""
    if isinstance(value, bool):
        return ("có" if value else "không") if language == "vi" else ("yes" if value else "no")
    if isinstance(value, int):
        if key == "year" or key.endswith("_year") or abs(value) < 1000:
            return str(value)
        return f"{value:,}".replace(",", "." if language == "vi" else ",")
    if isinstance(value, str):
        if key in NAMED_FIELDS and value in names:
            return f"{names[value]} ({value})"
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            return _vn_date(value)
        if len(value) > 10 and value[4] == "-" and value[10] == "T":
            try:
                at = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
                return at.strftime("%d/%m/%Y %H:%M")
            except ValueError:
                return value[:500]
        return value[:500]
    if isinstance(value, list):
        return ", ".join(_value(key, v, language, names, tz) for v in value)[:500]
    if isinstance(value, dict):
        parts = [
            f"{titles.label(k, language)}: {_value(k, v, language, names, tz)}"
            for k, v in value.items()
            if v not in (None, [], {}, "")
        ]
        return "; ".join(parts)[:500]
    return str(value)[:500]


def item_view(
    cloud: dict[str, Any], language: str, names: dict[str, str] | None = None, tz: str = TZ
) -> dict[str, Any]:
    data = cloud.get("data") or {}
    names = names or {}

    def last(key: str) -> bool:  # an id with no name goes after the rows that read as words
        return key in REFERENCES or (key in NAMED_FIELDS and isinstance(data[key], str) and data[key] not in names)

    rows = [
        {"label": titles.label(k, language), "value": _value(k, data[k], language, names, tz)}
        for k in sorted(data, key=last)
        if data[k] not in (None, [], {}, "")
    ][:MAX_ROWS]
    return {
        "title": titles.title(str(cloud.get("type", "")), language),
        "time": _value("time", str(cloud.get("time", "")), language, {}, tz),
        "rows": rows,
    }


def render(delivery: dict[str, Any], language: str, recipient_label: str, tz: str = TZ) -> tuple[str, str, str]:
    """(subject, text, html) of a delivery in the recipient's language."""
    kind = delivery["kind"]
    items = delivery.get("items") or []
    if kind == "digest":
        day = _vn_date(delivery.get("period", ""))
        subject = (
            f"Tổng hợp {len(items)} thông báo ngày {day}"
            if language == "vi"
            else f"Digest of {len(items)} notifications, {day}"
        )
    else:
        subject = titles.title(delivery["event_type"], language)
    reminder = (items[0].get("data") if kind == "reminder" and items else None) or {}
    context = {
        "subject": subject,
        "kind": kind,
        "items": [item_view(i, language, delivery.get("names") or {}, tz) for i in items] if kind != "reminder" else [],
        "reminder": reminder,
        "recipient_label": recipient_label,
        "notification_id": delivery["_id"],
    }
    text = TEXT_ENV.get_template(f"{language}/message.txt").render(context)
    html = ENV.get_template(f"{language}/message.html").render(context)
    return subject, text, html


async def send_email(cfg: SmtpConfig, to: str, delivery: dict[str, Any], language: str) -> Attempt:
    subject, text, html = render(delivery, language, to, cfg.timezone)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = to
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))  # the relay's clock: when it is sent
    # the same notification keeps its Message-ID across retries: a mail client shows a resend once
    msg["Message-ID"] = make_msgid(idstring=rules.webhook_id(delivery["_id"]), domain="antq.local")
    msg["X-Antq-Notification"] = delivery["_id"]
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    try:
        await aiosmtplib.send(
            msg,
            hostname=cfg.host,
            port=cfg.port,
            username=cfg.username,
            password=cfg.password,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            timeout=cfg.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        return Attempt(False, f"SMTP refused the recipient: {exc}"[:500], permanent=all(500 <= c < 600 for c in codes))
    except aiosmtplib.SMTPResponseException as exc:
        return Attempt(False, f"SMTP {exc.code}: {exc.message}"[:500], permanent=500 <= exc.code < 600)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return Attempt(False, f"SMTP: {exc!r}"[:500])
    return Attempt(True)


def webhook_body(delivery: dict[str, Any]) -> bytes:
    """One event: its CloudEvent. A digest: the CloudEvents batch format (a JSON array)."""
    items = delivery.get("items") or []
    payload: Any = items if delivery["kind"] == "digest" else items[0]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def send_webhook(
    client: httpx.AsyncClient,
    url: str,
    secrets: list[str],
    delivery: dict[str, Any],
    timeout: float,
    address: str | None = None,
) -> Attempt:
    """`address`: the checked address to connect to (services/notifications/egress.py); the URL's host
    is still what the receiver sees, in the Host header and as the TLS server name."""
    body = webhook_body(delivery)
    msg_id = rules.webhook_id(delivery["_id"])
    ts = int(dt.datetime.now(dt.UTC).timestamp())  # the receiver checks it against its own clock
    headers = {
        "content-type": "application/cloudevents-batch+json"
        if delivery["kind"] == "digest"
        else "application/cloudevents+json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": rules.signature_header(secrets, msg_id, ts, body),
        "user-agent": "antq-notifications/1",
        **carrier(),  # traceparent, with tracing on: the receiver may continue the trace
    }
    extensions: dict[str, Any] = {}
    if address is not None:
        host = egress.target_of(url).host
        url, headers["host"] = egress.pinned(url, address)
        extensions["sni_hostname"] = host
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout, extensions=extensions)
    except httpx.TimeoutException:
        return Attempt(False, f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return Attempt(False, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Attempt(True)
    return Attempt(False, f"HTTP {response.status_code}: {response.text[:200]}")
