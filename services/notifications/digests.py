"""Daily digests. A digest recipient's notifications are collected in `deliveries` (`digest_item`,
status `collected`, each under its own key, so an event is collected once) with the digest hour they
wait for. When it strikes, the items due are gathered into one `digest` notification, which the
sender sends like any other, and marked `digested` — in one transaction, guarded so that of two
instances gathering at once only one succeeds. An item committed late (after its hour's digest was
gathered) goes out with the next gathering: it is never lost and never sent twice."""

from __future__ import annotations

import logging

from pymongo.asynchronous.client_session import AsyncClientSession

from services.notifications import rules
from services.notifications.deps import Notifications
from services.notifications.store import new_delivery
from shared.contract.ids import uuid7
from shared.runtime.mongo import Doc, in_transaction

log = logging.getLogger("antq.notifications.digests")
MAX_ITEMS = 500  # events in one digest; more wait for the next gathering (at once)


class Raced(Exception):
    """Another instance gathered some of these items first: its digest stands, this one is dropped."""


async def gather(deps: Notifications) -> int:
    """Gather every recipient's due items into digests. Returns how many digests were made."""
    now = deps.now()
    db = deps.db
    due = {"kind": "digest_item", "status": "collected", "next_at": {"$lte": now}}
    made = 0
    for recipient_id in await db.deliveries.distinct("recipient_id", due):
        items = (
            await db.deliveries.find({**due, "recipient_id": recipient_id}).sort("seq", 1).limit(MAX_ITEMS).to_list()
        )
        if not items:
            continue
        period = rules.local_day(min(i["next_at"] for i in items), deps.settings.timezone).isoformat()
        digest_id = f"digest|{recipient_id}|{period}|{uuid7()}"
        names = {k: v for i in items for k, v in (i.get("names") or {}).items()}
        digest: Doc = {
            "_id": digest_id,
            "period": period,
            **new_delivery(
                "digest", recipient_id, items[0]["channel"], "digest", now, now, [i["items"][0] for i in items], names
            ),
        }
        ids = [i["_id"] for i in items]

        async def work(session: AsyncClientSession, ids: list[str] = ids, digest: Doc = digest) -> None:
            taken = await db.deliveries.update_many(
                {"_id": {"$in": ids}, "status": "collected"},
                {"$set": {"status": "digested", "digest_id": digest["_id"]}},
                session=session,
            )
            if taken.modified_count != len(ids):
                raise Raced
            await db.deliveries.insert_one(digest, session=session)

        try:
            await in_transaction(deps.mongo, work)
        except Raced:
            continue
        made += 1
        log.info("digest gathered", extra={"recipient": recipient_id, "events": len(ids)})
    return made
