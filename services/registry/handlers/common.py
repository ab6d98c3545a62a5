"""What registry's handlers share: loading what a command acts on together with the actor's
authority over it (without telling an actor without authority whether it exists), saving units
with their locks, new ids, and the campaign that covers a unit."""

from __future__ import annotations

import datetime as dt

from services.registry import domain as d
from services.registry.deps import Registry
from services.registry.store import RegistryStore
from shared.authz import Permission, require_scope
from shared.contract.errors import Conflict, NotFound
from shared.runtime.pipeline import Context as BaseContext
from shared.runtime.queries import QueryContext

Context = BaseContext[RegistryStore, Registry]
QCtx = QueryContext[RegistryStore, Registry]


async def target(
    ctx: Context,
    unit_id: str,
    day: dt.date,
    what: str,
    *,
    field: str = "unit_id",
    changes_unit: bool = False,
    permission: Permission | None = None,
) -> tuple[d.Unit, list[str]]:
    """The unit a command acts on, and its ancestry on `day`, once the actor's role and scope are checked
    in one step (DESIGN §2), for the command's permission (or a wider one the change needs). A unit that
    does not exist is refused the same way as one out of the actor's subtree; only a platform admin, who
    may act on any unit, learns that it does not exist."""
    unit = await ctx.store.unit(unit_id)
    ancestry = await ctx.store.ancestry(unit_id, day) if unit is not None else []
    require_scope(ctx.actor, ancestry, permission or ctx.permission, what, changes_unit=changes_unit)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist", [{"field": field, "value": unit_id}])
    return unit, ancestry


def unknown(ctx: Context, what_kind: str, key: str, what: str, field: str) -> NotFound:
    """An id that names nothing: refused as out of scope, except to a platform admin (not_found)."""
    require_scope(ctx.actor, [], ctx.permission, what)
    return NotFound(f"{what_kind} {key} does not exist", [{"field": field, "value": key}])


async def festival_target(ctx: Context, festival_id: str, what: str) -> tuple[d.Festival, d.Unit, list[str]]:
    """A festival an officer of its unit (or above) acts on, with its unit and that unit's ancestry."""
    festival = await ctx.store.festival(festival_id)
    if festival is None:
        raise unknown(ctx, "festival", festival_id, f"{what} festival {festival_id}", "festival_id")
    unit, ancestry = await target(ctx, festival.unit_id, festival.date, f"{what} festival {festival_id}")
    return festival, unit, ancestry


async def campaign_of(ctx: Context, unit_id: str, year: int, day: dt.date) -> d.Campaign:
    ancestry = await ctx.store.ancestry(unit_id, day)
    return d.campaign_for(await ctx.store.campaigns_for(year, ancestry), ancestry, year, unit_id)


async def campaign(ctx: Context, campaign_id: str) -> d.Campaign:
    found = await ctx.store.campaign(campaign_id)
    if found is None:  # cannot happen unless data was edited by hand
        raise NotFound(f"campaign {campaign_id} does not exist")
    return found


async def save_units(store: RegistryStore, units: list[d.Unit]) -> None:
    # a unit that closes is locked against new children; a unit hung under a parent locks that parent
    for u in units:
        if u.valid_to != d.END:
            await store.lock_unit(u.unit_id)
        for parent_id in sorted({v.parent_id for v in u.versions if v.parent_id}):
            await store.lock_children(parent_id)
    codes = sorted({v.code for u in units for v in u.versions if v.code})
    holders = await store.code_holders(codes, [u.unit_id for u in units])
    d.check_codes(units, holders)
    for u in units:
        await store.save_unit(u)


async def new_unit_id(ctx: Context, requested: str | None) -> str:
    if requested is None:
        return ctx.store.new_unit_id(ctx.new_id())  # a new UUIDv7 is free by construction: no read
    if await ctx.store.unit(requested) is not None:
        raise Conflict(f"unit {requested} already exists", [{"field": "unit_id", "value": requested}])
    return requested
