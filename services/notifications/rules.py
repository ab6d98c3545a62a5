"""Notifications' pure rules: which recipients an event goes to, when a digest and a reminder are due,
the retry schedule, and the Standard Webhooks signature. No I/O here."""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import hashlib
import hmac
import random
import secrets as rnd
import uuid
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """`*` stands for any run of characters, dots included: `vn.antq.registry.festival.*` matches
    `vn.antq.registry.festival.held.v1`."""
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def units_of(data: dict[str, Any], nomination: dict[str, Any] | None = None, actor_unit: str | None = None) -> set[str]:
    """The units an event is about: the unit, campaign scope or nominee it names (a decision over many:
    its granting unit and each nominee's), and for awards' nomination events the nominating unit (where
    the nomination was submitted)."""
    found = {
        data.get(k)
        for k in (
            "unit_id",
            "scope_unit_id",
            "parent_id",
            "from_parent_id",
            "to_parent_id",
            "target_unit_id",
            "source_unit_id",
            "approver_unit_id",  # an overdue dossier: the granting authority is reminded
        )
    }
    nominee = data.get("nominee")
    if isinstance(nominee, dict):
        found.add(nominee.get("unit_id"))
    if isinstance(data.get("nominations"), list):  # a decision over many: its authority and every nominee's unit
        authority = data.get("decided_by")
        found.add(authority.get("unit_id") if isinstance(authority, dict) else None)
        for item in data["nominations"]:
            if isinstance(item, dict) and isinstance(item.get("nominee"), dict):
                found.add(item["nominee"].get("unit_id"))
    if nomination is not None:
        found |= {nomination.get("nominee_unit_id"), nomination.get("nominating_unit_id")}
    if actor_unit:
        found.add(actor_unit)
    return {u for u in found if isinstance(u, str) and u}


UNIT_LISTS = ("successor_unit_ids", "successor_ids", "source_unit_ids", "predecessor_ids", "part_unit_ids")


def mentioned(data: dict[str, Any]) -> dict[str, set[str]]:
    """Every unit, campaign and festival an event names (an email shows each by its name): the units of
    `units_of`, those of the lineage lists, and the campaigns and festivals it refers to."""
    units = units_of(data) | {u for k in UNIT_LISTS for u in (data.get(k) or []) if isinstance(u, str) and u}
    refs = {
        "campaigns": {data.get("campaign_id"), data.get("upper_campaign_id")},
        "festivals": {data.get("festival_id")},
    }
    return {"units": units, **{k: {i for i in v if isinstance(i, str) and i} for k, v in refs.items()}}


def addressed(patterns: Iterable[str], created_at: dt.datetime, event_type: str, when: dt.datetime) -> bool:
    """Whether a recipient gets an event: its type matches one of the recipient's patterns, and it happened
    once the recipient was there (a new recipient gets what happens next, never the past)."""
    return matches(patterns, event_type) and created_at <= when


def in_scope(scope_unit_id: str, ancestries: Iterable[list[str]]) -> bool:
    """A recipient of scope S gets an event about a unit whose ancestry (on the event's day) holds S."""
    return any(scope_unit_id in chain for chain in ancestries)


def local_day(at: dt.datetime, tz: str) -> dt.date:
    return at.astimezone(ZoneInfo(tz)).date()


def at_hour(day: dt.date, hour: int, tz: str) -> dt.datetime:
    """`hour`:00 of `day` in the province's time zone, as UTC."""
    return dt.datetime.combine(day, dt.time(hour), ZoneInfo(tz)).astimezone(dt.UTC)


def digest_due(now: dt.datetime, hour: int, tz: str) -> dt.datetime:
    """The next digest hour after `now`: today's if it has not struck yet, else tomorrow's."""
    today = at_hour(local_day(now, tz), hour, tz)
    return today if now < today else at_hour(local_day(now, tz) + dt.timedelta(days=1), hour, tz)


def reminder_jobs(
    window_start: dt.date,
    window_end: dt.date,
    report_deadline: dt.date,
    opened_on: dt.date,
    closing_days: int,
    due_days: int,
) -> list[tuple[str, dt.date]]:
    """A campaign's reminders and the day each is due: when the window opens; `closing_days` before it
    ends; `due_days` before the report deadline. One whose moment is over when the campaign opens is not
    scheduled; one whose day has passed (but not its moment) is due the day it opens."""
    jobs = [
        ("window_opened", window_start, window_end),
        ("window_closing", window_end - dt.timedelta(days=closing_days), window_end),
        ("report_due", report_deadline - dt.timedelta(days=due_days), report_deadline),
    ]
    return [(kind, max(day, opened_on)) for kind, day, until in jobs if until >= opened_on]


def to_chase(kind: str, units: Iterable[str], statuses: dict[str, set[str]]) -> list[str]:
    """The units a reminder chases: for `window_closing`, those with nothing planned (no festival, or
    only cancelled ones); for `report_due`, those with a festival planned and not reported held, or
    whose report the level above returned (until it is reported again)."""
    if kind == "window_closing":
        return [u for u in units if not (statuses.get(u, set()) - {"cancelled"})]
    return [u for u in units if statuses.get(u, set()) & {"planned", "returned"}]


def backoff(attempt: int, base: float, cap: float, jitter: float = 0.25) -> float:
    """Seconds before attempt `attempt + 1`: base × 2^(attempt-1), capped, ± `jitter` of itself."""
    delay = float(min(cap, base * 2 ** max(0, attempt - 1)))
    return max(0.0, delay * (1 + random.uniform(-jitter, jitter)))


# ------------------------------------------------------------------------------------ webhooks


def new_secret() -> str:
    return "whsec_" + base64.b64encode(rnd.token_bytes(32)).decode()


def webhook_id(key: str) -> str:
    """The `webhook-id` of a notification: stable across its retries (receivers deduplicate on it)."""
    return "msg_" + uuid.uuid5(uuid.NAMESPACE_URL, "antq:" + key).hex


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Every signing secret's signature, space-separated (both while a secret is being rotated)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)
