"""Reminders from campaign dates, scheduled durably in `jobs` (written when `campaign.opened` is
consumed, cancelled by `campaign.closed`):

- `window_opened`: when the window opens, to the recipients in the campaign's scope;
- `window_closing`: N days before the window ends, to recipients with expected units that have
  nothing planned in their scope (the units are listed);
- `report_due`: N days before the report deadline, to recipients with units whose festival is planned
  but not reported.

A due job is claimed atomically (`pending` → `running`, with a lease): of two instances one runs it.
Running it queues one notification per recipient under a key of the job, with `$setOnInsert`, and
marks the job done, in one transaction: a job run twice (a lease that ran out) queues nothing more.
Jobs live in MongoDB, so a restart loses none; one whose moment passed while the service was down is
run when it comes back."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notifications import digests, rules
from services.notifications.deps import Notifications
from services.notifications.store import NotificationsStore, Recipient, new_delivery
from shared.contract import notifications as c
from shared.contract.envelope import new_event
from shared.contract.ids import uuid7
from shared.replicas.campaigns import expected_kinds
from shared.replicas.day_index import DayIndex
from shared.runtime.mongo import Doc, in_transaction

log = logging.getLogger("antq.notifications.reminders")
MAX_LISTED = 50  # units named in one reminder; the count says how many more


async def claim(deps: Notifications, owner: str) -> Doc | None:
    now = deps.now()
    job: Doc | None = await deps.db.jobs.find_one_and_update(
        {
            "$or": [
                {"status": "pending", "due_at": {"$lte": now}},
                {"status": "running", "lease_until": {"$lt": now}},  # its instance died
            ]
        },
        {"$set": {"status": "running", "owner": owner, "lease_until": now + dt.timedelta(seconds=120)}},
        sort=[("due_at", 1)],
        return_document=ReturnDocument.AFTER,
    )
    return job


async def targets(store: NotificationsStore, job: Doc, campaign: Doc, day: dt.date) -> list[tuple[Recipient, Doc]]:
    """Each recipient the reminder goes to, with its data (the units to chase, for two of the kinds)."""
    kind = job["kind"]
    type_ = c.REMINDER_TYPES[kind]
    scope = campaign["scope_unit_id"]
    out: list[tuple[Recipient, Doc]] = []
    for r in await store.active_recipients():
        if not rules.matches(r.events, type_):
            continue
        mine = await store.units.ancestry(r.scope_unit_id, day)
        if scope in mine:
            root = r.scope_unit_id  # the recipient's scope lies inside the campaign's
        elif r.scope_unit_id in await store.units.ancestry(scope, day):
            root = scope  # the recipient is above the campaign's scope
        else:
            continue
        data: Doc = {
            "reminder": kind,
            "campaign_id": campaign["_id"],
            "campaign_name": campaign.get("name"),
            "year": campaign["year"],
            "scope_unit_id": root,
            "window_start": campaign["window_start"],
            "window_end": campaign["window_end"],
            "report_deadline": campaign["report_deadline"],
        }
        if kind != "window_opened":
            top = await store.units.get(root)
            index = DayIndex([*([top] if top else []), *await store.units.subtree(root, day)], day)
            # the kinds of the campaign that governs the root: the nearest at or above it (DESIGN §2)
            kinds = expected_kinds(await store.campaigns_of(campaign["year"]), await store.units.ancestry(root, day))
            units = index.expected(root, kinds)
            statuses = await store.festival_status(campaign["year"], units)
            chase = rules.to_chase(kind, units, statuses)
            if not chase:
                continue
            data["count"] = len(chase)
            data["units"] = [{"unit_id": u, "name": index.name[u]} for u in chase[:MAX_LISTED]]
        out.append((r, data))
    return out


async def run_job(deps: Notifications, job: Doc, owner: str) -> int:
    store = NotificationsStore(deps.db)
    campaign = await store.campaign(job["campaign_id"])
    now = deps.now()
    day = rules.local_day(now, deps.settings.timezone)
    found = [] if campaign is None or campaign.get("closed_on") else await targets(store, job, campaign, day)
    writes = []
    for recipient, data in found:
        key = f"{job['_id']}|{recipient.recipient_id}|{recipient.channel}"
        cloud = new_event(
            source="antq/notifications",
            type=c.REMINDER_TYPES[job["kind"]],
            subject=job["campaign_id"],
            id=rules.webhook_id(key).removeprefix("msg_"),  # the same reminder keeps its id if run again
            data=data,
            time=now,
        ).model_dump(mode="json", exclude_none=True)
        doc = new_delivery("reminder", recipient.recipient_id, recipient.channel, cloud["type"], now, now, [cloud])
        writes.append(UpdateOne({"_id": key}, {"$setOnInsert": doc}, upsert=True))

    async def work(session: AsyncClientSession) -> bool:
        done = await deps.db.jobs.update_one(
            {"_id": job["_id"], "status": "running", "owner": owner},
            {"$set": {"status": "done", "done_at": now, "sent_to": len(writes)}, "$unset": {"lease_until": ""}},
            session=session,
        )
        if done.matched_count != 1:
            return False  # the lease ran out and another instance has it
        if writes:
            await deps.db.deliveries.bulk_write(writes, ordered=False, session=session)
        return True

    if await in_transaction(deps.mongo, work):
        log.info("reminder queued", extra={"job": job["_id"], "recipients": len(writes)})
        return len(writes)
    return 0


async def overdue_seconds(deps: Notifications) -> float:
    """How long the oldest job not yet done is past its time: 0 when every due job has run (a job
    running under a live lease counts too: one that never finishes keeps this growing)."""
    now = deps.now()
    oldest = await deps.db.jobs.find_one(
        {"status": {"$in": ["pending", "running"]}, "due_at": {"$lte": now}}, {"due_at": 1}, sort=[("due_at", 1)]
    )
    return max(0.0, (now - oldest["due_at"]).total_seconds()) if oldest else 0.0


async def run(deps: Notifications) -> None:
    """Every `reminder_poll_seconds`, run the due jobs and gather the due digests (errors are logged;
    the work is taken again next round); then set `antq_reminder_overdue_seconds` (alert
    AntqReminderOverdue)."""
    owner = uuid7()
    while not deps.stopping.is_set():
        try:
            while (job := await claim(deps, owner)) is not None and not deps.stopping.is_set():
                await run_job(deps, job, owner)
            await digests.gather(deps)
        except Exception as exc:
            log.warning("running reminders or digests failed; retrying", extra={"error": repr(exc)[:300]})
        try:
            deps.sender_metrics.reminder_overdue.set(await overdue_seconds(deps))
        except Exception as exc:
            log.warning("measuring overdue reminders failed", extra={"error": repr(exc)[:300]})
        try:
            await asyncio.wait_for(deps.stopping.wait(), deps.settings.reminder_poll_seconds)
        except TimeoutError:
            pass
