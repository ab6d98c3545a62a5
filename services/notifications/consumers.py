"""Notifications' consumers, in the kit's batch mode: every event of registry and of awards.

Each event first updates the replicas notifications needs (campaigns and their reminder jobs,
festivals, nominations); then, for every active recipient whose patterns match its type and whose
scope holds one of the units it is about, one notification is queued in `deliveries`, in the same
transaction as the kit's record that the event was applied. The key `<event id>|<recipient>|<channel>`
is written with `$setOnInsert`: the same event again (redelivered, republished under a new
`Nats-Msg-Id`, replayed by a rebuild) queues nothing more.

A recipient gets the events that happen after it was added (by the event's `time`), never the past.
A rebuild replays into fresh replicas and queues nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from pymongo import UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications import rules
from services.notifications.deps import Notifications
from services.notifications.store import UNITS, NotificationsStore, new_delivery, replica_indexes
from shared.contract import awards as a
from shared.contract import registry as r
from shared.replicas.units_store import units_consumer
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from shared.runtime.mongo import Doc
from shared.runtime.rebuild import RenamedDatabase

BATCH = Batch(max_messages=200, max_wait_ms=100)


class UnitNotKnownYet(Exception):
    """An event names a unit the units replica has not seen: retried (the units consumer catches up);
    dead-lettered with this reason if it never does."""


def _store(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> NotificationsStore:
    return NotificationsStore(db, session)


async def _prefetch(tx: Tx[NotificationsStore], events: list[tuple[BaseModel, EventMeta]]) -> None:
    units: set[str] = set()
    for e, meta in events:
        units |= rules.units_of(e.model_dump(mode="json"), actor_unit=meta.actor_unit)
    named: dict[str, set[str]] = {"campaigns": set(), "festivals": set()}
    for e, _ in events:
        for kind, ids in rules.mentioned(e.model_dump(mode="json")).items():
            if kind == "units":
                units |= ids
            else:
                named[kind] |= ids
    await tx.store.units.load(units)
    for kind, ids in named.items():
        await tx.store.load_replicas(kind, ids)
    await tx.store.active_recipients()
    await tx.store.load_nominations({n for e, _ in events if (n := getattr(e, "nomination_id", None))})


async def queue(deps: Notifications, tx: Tx[NotificationsStore], meta: EventMeta, units: set[str]) -> None:
    """Queue the event for every recipient it concerns (nothing during a rebuild)."""
    if isinstance(tx.db, RenamedDatabase) or meta.envelope is None:
        return
    s = deps.settings
    now = deps.now()
    when = meta.time or now
    recipients = [
        x for x in await tx.store.active_recipients() if rules.addressed(x.events, x.created_at, meta.type, when)
    ]
    if not recipients:
        return
    if not units:
        return  # about no unit: in no recipient's scope
    day = rules.local_day(when, s.timezone)
    chains = []
    for unit_id in sorted(units):
        # a unit the replica has not seen yet (a new unit whose own event is being handled by the units
        # consumer meanwhile) stands for itself; its parent, named in the same event, brings the levels above
        known = await tx.store.units.get(unit_id) is not None
        chains.append((await tx.store.units.ancestry(unit_id, day) if known else None) or [unit_id])
    if not any([await tx.store.units.get(u) is not None for u in units]):
        raise UnitNotKnownYet(f"no unit of event {meta.id} ({', '.join(sorted(units))}) is in the units replica yet")
    cloud = meta.envelope.model_dump(mode="json", exclude_none=True)
    names = await names_of(tx.store, cloud.get("data") or {}, units, day)
    for x in recipients:
        if not rules.in_scope(x.scope_unit_id, chains):
            continue
        key = f"{meta.id}|{x.recipient_id}|{x.channel}"
        if x.mode == "digest":  # collected; the day's digest gathers it at the digest hour
            due = rules.digest_due(now, s.digest_hour, s.timezone)
            doc = new_delivery(
                "digest_item", x.recipient_id, x.channel, meta.type, due, now, [cloud], names, status="collected"
            )
        else:
            doc = new_delivery("event", x.recipient_id, x.channel, meta.type, now, now, [cloud], names)
        tx.write("deliveries", UpdateOne({"_id": key}, {"$setOnInsert": doc}, upsert=True))


async def names_of(store: NotificationsStore, data: dict[str, Any], units: set[str], day: dt.date) -> dict[str, str]:
    """What an email shows instead of ids: each unit the event names by its name on the event's day, a
    campaign by its name (else its scope and year), a festival by its unit."""
    mentioned = rules.mentioned(data)

    async def unit_name(unit_id: str) -> str | None:
        record = await store.units.get(unit_id)
        return record.shown(day).name if record is not None else None

    names: dict[str, str] = {}
    for unit_id in sorted(units | mentioned["units"]):
        if (name := await unit_name(unit_id)) is not None:
            names[unit_id] = name
    for campaign_id in mentioned["campaigns"]:
        if (c := await store.replica("campaigns", campaign_id)) is not None:
            scope = await unit_name(c.get("scope_unit_id") or "") or c.get("scope_unit_id")
            names[campaign_id] = c.get("name") or f"{scope} · {c.get('year')}"
    for festival_id in mentioned["festivals"]:
        f = await store.replica("festivals", festival_id)
        name = await unit_name(f.get("unit_id") or "") if f is not None else None
        if f is not None and name is not None:
            names[festival_id] = f"{name} · {f.get('year')}"
    return names


# ------------------------------------------------------------------------------------ registry


FESTIVAL_EVENTS = (
    r.FestivalPlanned,
    r.FestivalRescheduled,
    r.FestivalHeld,
    r.FestivalCancelled,
    r.FestivalReportReturned,
    r.FestivalReportAccepted,
)


def registry_consumer(deps: Notifications) -> Consumer[NotificationsStore]:
    consumer: Consumer[NotificationsStore] = Consumer(
        name="registry",
        store=_store,
        collections=("campaigns", "festivals"),
        indexes=replica_indexes,
        batch=BATCH,
        prefetch=_prefetch,
        description="Every registry event to the recipients in its scope; campaigns (and their reminders) and "
        "festivals kept for the reminders.",
    )

    async def notify(e: BaseModel, meta: EventMeta, tx: Tx[NotificationsStore]) -> None:
        data = e.model_dump(mode="json")
        if isinstance(e, r.CampaignOpened):
            tx.write("campaigns", UpdateOne({"_id": e.campaign_id}, {"$set": data}, upsert=True))
            schedule(deps, tx, e, meta)
        elif isinstance(e, r.CampaignClosed):
            tx.write("campaigns", UpdateOne({"_id": e.campaign_id}, {"$set": {"closed_on": data["closed_on"]}}))
            if not isinstance(tx.db, RenamedDatabase):
                tx.write(
                    "jobs",
                    UpdateMany({"campaign_id": e.campaign_id, "status": "pending"}, {"$set": {"status": "cancelled"}}),
                )
        elif isinstance(e, FESTIVAL_EVENTS):
            status = {
                r.FestivalPlanned: "planned",
                r.FestivalHeld: "held",
                r.FestivalCancelled: "cancelled",
                r.FestivalReportReturned: "returned",  # chased by report_due until it is reported again
                r.FestivalReportAccepted: "accepted",
            }.get(type(e))
            fields: dict[str, Any] = {"unit_id": e.unit_id, "year": e.year}
            update: Doc = (
                {"$set": {**fields, "status": status}}
                if status
                else {
                    "$set": fields,
                    "$setOnInsert": {"status": "planned"},  # a rescheduling is of a planned festival
                }
            )
            tx.write("festivals", UpdateOne({"_id": e.festival_id}, update, upsert=True))
        await queue(deps, tx, meta, rules.units_of(data))

    for model in r.EVENTS.values():
        consumer.on(model)(notify)
    return consumer


def schedule(deps: Notifications, tx: Tx[NotificationsStore], e: r.CampaignOpened, meta: EventMeta) -> None:
    """The campaign's three reminders, as durable jobs (skipped when their moment has passed)."""
    if isinstance(tx.db, RenamedDatabase):
        return
    s = deps.settings
    now = deps.now()
    opened_on = rules.local_day(meta.time or now, s.timezone)
    days = (s.window_closing_days, s.report_due_days)
    for kind, day in rules.reminder_jobs(e.window_start, e.window_end, e.report_deadline, opened_on, *days):
        job_id = f"{e.campaign_id}|{kind}"
        due = rules.at_hour(day, s.reminder_hour, s.timezone)
        tx.write(
            "jobs",
            UpdateOne(
                {"_id": job_id},
                {
                    "$setOnInsert": {
                        "campaign_id": e.campaign_id,
                        "kind": kind,
                        "due_at": due,
                        "status": "pending",
                        "created_at": now,
                    }
                },
                upsert=True,
            ),
        )


# ------------------------------------------------------------------------------------ awards


def awards_consumer(deps: Notifications) -> Consumer[NotificationsStore]:
    consumer: Consumer[NotificationsStore] = Consumer(
        name="awards",
        store=_store,
        collections=("nominations",),
        batch=BATCH,
        prefetch=_prefetch,
        description="Every awards event to the recipients in its scope: the nominee's unit and the nominating unit "
        "(where the nomination was submitted).",
    )

    async def notify(e: BaseModel, meta: EventMeta, tx: Tx[NotificationsStore]) -> None:
        data = e.model_dump(mode="json")
        nomination: Doc | None = None
        if isinstance(e, a.NominationSubmitted):
            nomination = {
                "_id": e.nomination_id,
                "nominee_unit_id": e.nominee.unit_id,
                "nominating_unit_id": meta.actor_unit or e.nominee.unit_id,
            }
            tx.write("nominations", UpdateOne({"_id": e.nomination_id}, {"$set": nomination}, upsert=True))
            tx.store.nominations[e.nomination_id] = nomination  # for the batch's later events
        elif nomination_id := data.get("nomination_id"):
            nomination = await tx.store.nomination(nomination_id)
        actor_unit = meta.actor_unit if isinstance(e, a.NominationSubmitted) else None
        await queue(deps, tx, meta, rules.units_of(data, nomination, actor_unit))

    for model in a.EVENTS.values():
        consumer.on(model)(notify)
    return consumer


def consumers(deps: Notifications) -> list[Consumer[Any]]:
    return [units_consumer("units", UNITS, batch=BATCH), registry_consumer(deps), awards_consumer(deps)]
