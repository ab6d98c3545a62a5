"""What registry's handlers share: reading a unit a command names with its ancestry on the day (the
actor's authority over it is the domain's to judge), saving units with their locks, new unit ids."""

from __future__ import annotations

import datetime as dt

from services.registry import domain as d
from services.registry.deps import Registry
from services.registry.domain.decisions import Target
from services.registry.store import RegistryStore
from shared.runtime.pipeline import Context as BaseContext
from shared.runtime.queries import QueryContext

Context = BaseContext[RegistryStore, Registry]
QCtx = QueryContext[RegistryStore, Registry]


async def read_unit(ctx: Context, unit_id: str, day: dt.date) -> Target:
    """A unit a command names, and its ancestry on `day` (none when there is no such unit)."""
    unit = await ctx.store.unit(unit_id)
    return Target(unit_id, unit, await ctx.store.ancestry(unit_id, day) if unit is not None else [])


async def actor_unit(ctx: Context) -> d.Unit | None:
    """The actor's own unit (a point festival is designated by an actor of its level)."""
    return await ctx.store.unit(ctx.actor.unit) if ctx.actor.unit else None


async def unit_id_of(ctx: Context, requested: str | None) -> tuple[str, bool]:
    """The new unit's id, and whether it is taken (a generated UUIDv7 is free by construction: no read)."""
    if requested is None:
        return ctx.store.new_unit_id(ctx.new_id()), False
    return requested, await ctx.store.unit(requested) is not None


async def save_units(store: RegistryStore, units: list[d.Unit]) -> None:
    # a unit that closes is locked against new children; a unit hung under a parent locks that parent
    closing = [u.unit_id for u in units if u.valid_to != d.END]
    await store.lock(closing, sorted({v.parent_id for u in units for v in u.versions if v.parent_id}))
    # an official code is held by one unit at a time: checked against the holders read in this
    # transaction, as a unique index would be (the unit_codes keys catch a concurrent one)
    codes = sorted({v.code for u in units for v in u.versions if v.code})
    holders = await store.code_holders(codes, [u.unit_id for u in units])
    d.check_codes(units, holders)
    for u in units:
        await store.save_unit(u)
