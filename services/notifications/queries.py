"""Notifications' queries: recipients (never their secrets) and the delivery log, read by an admin of
the recipient's scope or above (DESIGN §2: recipients' addresses are an admin's); a list without a
scope lists the recipients of the actor's subtree."""

from __future__ import annotations

from typing import Any

from services.notifications.deps import Notifications
from services.notifications.store import NotificationsStore, public
from shared.authz import is_platform_admin, require_read
from shared.contract import notifications as c
from shared.runtime.mongo import Doc
from shared.runtime.queries import QueryContext, QuerySpec

QCtx = QueryContext[NotificationsStore, Notifications]


async def readable_scopes(ctx: QCtx, scope_unit_id: str | None, what: str) -> list[str] | None:
    """The recipients' scopes the actor reads: `scope_unit_id`'s, if it is in the actor's subtree; with
    none asked, those of every recipient in the actor's subtree (None: any, to a platform admin)."""
    if scope_unit_id is not None:
        require_read(ctx.actor, await ctx.store.units.ancestry(scope_unit_id, ctx.today), what, role="admin")
        return [scope_unit_id]
    require_read(ctx.actor, [ctx.actor.unit] if ctx.actor.unit else [], what, role="admin")
    if is_platform_admin(ctx.actor):
        return None
    scopes: list[str] = await ctx.store.db.recipients.distinct("scope_unit_id")
    return sorted([s for s in scopes if ctx.actor.unit in await ctx.store.units.ancestry(s, ctx.today)])


async def q_recipients(q: c.RecipientsQuery, ctx: QCtx) -> dict[str, Any]:
    flt: Doc = {} if q.include_removed else {"status": {"$ne": "removed"}}
    scopes = await readable_scopes(ctx, q.scope_unit_id, "recipients")
    if scopes is not None:
        flt["scope_unit_id"] = {"$in": scopes}
    if q.channel:
        flt["channel"] = q.channel
    if q.after:
        flt["_id"] = {"$gt": q.after}
    docs = await ctx.store.db.recipients.find(flt).sort("_id", 1).limit(q.limit + 1).to_list()
    page = docs[: q.limit]
    return {
        "recipients": [public(d) for d in page],
        "next": page[-1]["_id"] if len(docs) > q.limit else None,
    }


def delivery_view(d: Doc) -> dict[str, Any]:
    return {
        "notification_id": d["_id"],
        "kind": d.get("kind"),
        "recipient_id": d.get("recipient_id"),
        "channel": d.get("channel"),
        "event_type": d.get("event_type"),
        "event_ids": d.get("event_ids", []),
        "status": d.get("status"),
        "attempts": d.get("attempts", 0),
        "last_error": d.get("last_error"),
        "created_at": d["created_at"].isoformat() if d.get("created_at") else None,
        "next_at": d["next_at"].isoformat()
        if d.get("next_at") and d.get("status") in ("pending", "collected")
        else None,
        "sent_at": d["sent_at"].isoformat() if d.get("sent_at") else None,
        "cursor": d.get("seq"),
    }


async def q_deliveries(q: c.DeliveriesQuery, ctx: QCtx) -> dict[str, Any]:
    flt: Doc = {}
    if q.recipient_id:
        r = await ctx.store.recipient(q.recipient_id)
        scope = await ctx.store.units.ancestry(r.scope_unit_id, ctx.today) if r is not None else []
        require_read(ctx.actor, scope, f"the deliveries of recipient {q.recipient_id}", role="admin")
        flt["recipient_id"] = q.recipient_id
    else:
        scopes = await readable_scopes(ctx, None, "deliveries")
        if scopes is not None:
            ids = await ctx.store.db.recipients.distinct("_id", {"scope_unit_id": {"$in": scopes}})
            flt["recipient_id"] = {"$in": ids}
    if q.event_id:
        flt["event_ids"] = q.event_id
    if q.status:
        flt["status"] = q.status
    if q.after:
        flt["seq"] = {"$lt": q.after}
    cursor = ctx.store.db.deliveries.find(flt, {"items": 0}).sort("seq", -1).limit(q.limit + 1)
    docs = await cursor.to_list()
    page = docs[: q.limit]
    return {
        "deliveries": [delivery_view(d) for d in page],
        "next": page[-1].get("seq") if len(docs) > q.limit else None,
    }


QUERIES: list[QuerySpec] = [
    QuerySpec("recipients", c.RecipientsQuery, q_recipients, "Recipients (never their secrets), paged by id."),
    QuerySpec(
        "deliveries",
        c.DeliveriesQuery,
        q_deliveries,
        "The delivery log, newest first, by recipient, event and status; paged with `next`.",
    ),
]
