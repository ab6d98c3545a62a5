"""Notifications' MongoDB adapter.

- `recipients`: one document per recipient (an aggregate with an optimistic `version`); webhook
  secrets are kept here, never in an event or a query answer.
- `deliveries`: the delivery log and the send queue in one. Its `_id` is the notification's key:
  `<event id>|<recipient>|<channel>` for an event, `digest|<recipient>|<day>` for a day's digest,
  `<job>|<recipient>|<channel>` for a reminder. Written with `$setOnInsert`, so one key is one
  notification whatever arrives twice.
- `jobs`: reminders scheduled from campaign dates, claimed atomically by one instance.
- replicas of registry and awards, from their events only: `units` (the shared replica), `campaigns`,
  `festivals` (unit, year, status) and `nominations` (the nominee's and the nominating unit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.ids import uuid7
from shared.replicas.units_store import UnitsStore, units_indexes
from shared.runtime.aggregates import AggregateStore
from shared.runtime.mongo import IN_CHUNK, Doc
from shared.runtime.tracing import carrier

UNITS = "units"


class SecretEntry(BaseModel):
    secret: str
    valid_until: dt.datetime | None = None  # None: the current one; set when a rotation retires it


class Recipient(BaseModel):
    recipient_id: str
    scope_unit_id: str
    events: list[str]
    channel: str
    address: str
    mode: str
    language: str
    secrets: list[SecretEntry] = []
    status: str = "active"  # active | disabled | removed
    created_at: dt.datetime
    failing_since: dt.datetime | None = None
    version: int = 1

    def signing_secrets(self, now: dt.datetime) -> list[str]:
        """The secrets that sign now: the current one, and a retired one until its overlap ends."""
        return [s.secret for s in self.secrets if s.valid_until is None or s.valid_until > now]


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    await db.recipients.create_index([("status", ASCENDING), ("scope_unit_id", ASCENDING)])
    await db.deliveries.create_index([("status", ASCENDING), ("next_at", ASCENDING)])
    await db.deliveries.create_index([("seq", DESCENDING)])
    await db.deliveries.create_index([("recipient_id", ASCENDING), ("seq", DESCENDING)])
    await db.deliveries.create_index([("event_ids", ASCENDING)])
    await db.jobs.create_index([("status", ASCENDING), ("due_at", ASCENDING)])
    await db.jobs.create_index([("campaign_id", ASCENDING)])
    await replica_indexes(db)
    await units_indexes(db, UNITS)


async def replica_indexes(db: AsyncDatabase[Doc]) -> None:
    await db.festivals.create_index([("year", ASCENDING), ("unit_id", ASCENDING)])


class NotificationsStore(AggregateStore):
    def __init__(self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None) -> None:
        super().__init__(db, session)
        self.units = UnitsStore(db, session, UNITS)
        self._recipients: list[Recipient] | None = None
        self.nominations: dict[str, Doc | None] = {}
        self.replicas: dict[str, dict[str, Doc | None]] = {"campaigns": {}, "festivals": {}}

    async def recipient(self, recipient_id: str) -> Recipient | None:
        return await self._get("recipients", recipient_id, Recipient)

    async def save_recipient(self, r: Recipient, loaded_version: int | None) -> None:
        await self._save("recipients", "recipient_id", r, loaded_version)

    async def active_recipients(self) -> list[Recipient]:
        """Every active recipient, read once per store (a transaction or a batch)."""
        if self._recipients is None:
            docs = await self.db.recipients.find({"status": "active"}, session=self.s).to_list()
            self._recipients = [Recipient.model_validate(d) for d in docs]
        return self._recipients

    async def load_nominations(self, ids: set[str]) -> None:
        wanted = sorted(i for i in ids if i not in self.nominations)
        for k in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[k : k + IN_CHUNK]
            found = {
                d["_id"]: d for d in await self.db.nominations.find({"_id": {"$in": chunk}}, session=self.s).to_list()
            }
            self.nominations.update({i: found.get(i) for i in chunk})

    async def load_replicas(self, collection: str, ids: set[str]) -> None:
        """Campaigns or festivals named by a batch's events, read in one query per chunk (an email
        names them)."""
        cache = self.replicas[collection]
        wanted = sorted(i for i in ids if i not in cache)
        for k in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[k : k + IN_CHUNK]
            found = {
                d["_id"]: d for d in await self.db[collection].find({"_id": {"$in": chunk}}, session=self.s).to_list()
            }
            cache.update({i: found.get(i) for i in chunk})

    async def replica(self, collection: str, doc_id: str) -> Doc | None:
        if doc_id not in self.replicas[collection]:
            await self.load_replicas(collection, {doc_id})
        return self.replicas[collection][doc_id]

    async def nomination(self, nomination_id: str) -> Doc | None:
        if nomination_id not in self.nominations:
            await self.load_nominations({nomination_id})
        return self.nominations[nomination_id]

    async def campaign(self, campaign_id: str) -> Doc | None:
        return await self.db.campaigns.find_one({"_id": campaign_id}, session=self.s)

    async def campaigns_of(self, year: int) -> list[Doc]:
        return await self.db.campaigns.find({"year": year}, session=self.s).to_list()

    async def festival_status(self, year: int, unit_ids: list[str]) -> dict[str, set[str]]:
        """unit → the statuses of its festivals that year."""
        out: dict[str, set[str]] = {}
        for i in range(0, len(unit_ids), IN_CHUNK):
            chunk = unit_ids[i : i + IN_CHUNK]
            cursor = self.db.festivals.find({"year": year, "unit_id": {"$in": chunk}}, session=self.s)
            for d in await cursor.to_list():
                out.setdefault(d["unit_id"], set()).add(d["status"])
        return out


def new_delivery(
    kind: str,
    recipient_id: str,
    channel: str,
    event_type: str,
    due: dt.datetime,
    now: dt.datetime,
    items: list[Doc],
    names: dict[str, str] | None = None,
    status: str = "pending",
) -> Doc:
    """A notification as `deliveries` keeps it (its `_id`, the notification's key, is the caller's):
    what it carries (`items`: CloudEvents), when it is due, and its sending state. With tracing on, it
    keeps the context of the handler that queued it: its send continues the event's trace."""
    doc: Doc = {
        "kind": kind,  # event | digest_item | digest | reminder
        "recipient_id": recipient_id,
        "channel": channel,
        "event_type": event_type,
        "status": status,
        "attempts": 0,
        "next_at": due,
        "created_at": now,
        "seq": uuid7(),  # the delivery log's order and cursor
        "last_error": None,
        "items": items,
        "event_ids": [i["id"] for i in items],
        "names": names or {},
    }
    if trace := carrier():
        doc["trace"] = trace
    return doc


def public(r: Recipient | Doc) -> dict[str, Any]:
    """A recipient as queries show it: never its secrets."""
    doc = r.model_dump(mode="json") if isinstance(r, Recipient) else Recipient.model_validate(r).model_dump(mode="json")
    secrets = doc.pop("secrets", [])
    doc["secret_rotating"] = len(secrets) > 1
    return doc
