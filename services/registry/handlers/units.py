"""Registry's unit commands: register and update (an officer, below their unit), move, merge, split and
close (an admin: structural changes). Each reads, then decides (the domain), then saves."""

from __future__ import annotations

from services.registry.domain import decisions
from services.registry.domain.decisions import NewUnitRead
from services.registry.handlers.common import Context, read_unit, save_units, unit_id_of
from shared.contract import registry as c
from shared.runtime.pipeline import Handled


async def register_unit(cmd: c.RegisterUnit, ctx: Context) -> Handled:
    # the parent, its ancestors and the requested id (is it taken?) in one read
    await ctx.store.load_units([u for u in (cmd.parent_id, cmd.unit_id) if u])
    parent = await read_unit(ctx, cmd.parent_id, cmd.valid_from) if cmd.parent_id else None
    unit_id, taken = await unit_id_of(ctx, cmd.unit_id)
    unit, events = decisions.registration(cmd, unit_id, taken, parent, ctx.actor, ctx.permission)
    await save_units(ctx.store, [unit])
    return Handled({"unit_id": unit_id}, events)


async def update_unit(cmd: c.UpdateUnit, ctx: Context) -> Handled:
    target = await read_unit(ctx, cmd.unit_id, cmd.effective_date)
    new, events = decisions.update(cmd, target, ctx.actor, ctx.permission)
    await save_units(ctx.store, [new])
    return Handled({"unit_id": new.unit_id}, events)


async def move_unit(cmd: c.MoveUnit, ctx: Context) -> Handled:
    await ctx.store.load_units([cmd.unit_id, cmd.new_parent_id])  # both, with their ancestors, in one read
    target = await read_unit(ctx, cmd.unit_id, cmd.effective_date)
    parent = await read_unit(ctx, cmd.new_parent_id, cmd.effective_date)
    moved, event = decisions.move(cmd, target, parent, ctx.actor, ctx.permission)
    await save_units(ctx.store, [moved])
    return Handled({"unit_id": moved.unit_id}, [event])


async def merge_units(cmd: c.MergeUnits, ctx: Context) -> Handled:
    day = cmd.effective_date
    new = cmd.new_unit
    named = [*cmd.source_unit_ids, cmd.target_unit_id, *((new.parent_id, new.unit_id) if new else ())]
    await ctx.store.load_units([u for u in named if u])  # every unit it names, with their ancestors, in one read
    sources = [await read_unit(ctx, uid, day) for uid in cmd.source_unit_ids]
    into = await read_unit(ctx, cmd.target_unit_id, day) if cmd.target_unit_id is not None else None
    formed = None
    if cmd.new_unit is not None:
        parent_id = cmd.new_unit.parent_id
        parent = await read_unit(ctx, parent_id, day) if parent_id is not None else None
        formed = NewUnitRead(*await unit_id_of(ctx, cmd.new_unit.unit_id), parent)
    closing = [s.unit_id for s in sources if s.unit is not None]
    children = await ctx.store.children(closing, day) if cmd.move_children and closing else []
    children_from = {uid: await ctx.store.children_from(uid, day) for uid in closing}
    changed, events = decisions.merge(cmd, sources, into, formed, children, children_from, ctx.actor, ctx.permission)
    await save_units(ctx.store, changed)
    return Handled({"unit_id": changed[0].unit_id, "children_moved": [ch.unit_id for ch in children]}, events)


async def split_unit(cmd: c.SplitUnit, ctx: Context) -> Handled:
    day = cmd.effective_date
    named = [cmd.unit_id, *(u for p in cmd.parts for u in (p.parent_id, p.unit_id))]
    await ctx.store.load_units([u for u in named if u])  # every unit it names, with their ancestors, in one read
    source = await read_unit(ctx, cmd.unit_id, day)
    period = source.unit.at(day) if source.unit is not None else None
    parts = []
    for spec in cmd.parts:
        parent_id = spec.parent_id or (period.parent_id if period else None)
        parent = await read_unit(ctx, parent_id, day) if parent_id is not None else None
        parts.append(NewUnitRead(*await unit_id_of(ctx, spec.unit_id), parent))
    children = await ctx.store.children([cmd.unit_id], day) if source.unit is not None else []
    children_from = {cmd.unit_id: await ctx.store.children_from(cmd.unit_id, day)} if cmd.close_source else {}
    changed, events = decisions.split(cmd, source, parts, children, children_from, ctx.actor, ctx.permission)
    await save_units(ctx.store, changed)
    return Handled({"unit_id": cmd.unit_id, "part_unit_ids": [p.unit_id for p in parts]}, events)


async def close_unit(cmd: c.CloseUnit, ctx: Context) -> Handled:
    target = await read_unit(ctx, cmd.unit_id, cmd.effective_date)
    open_children = await ctx.store.children_from(cmd.unit_id, cmd.effective_date) if target.unit else []
    closed, event = decisions.closing(cmd, target, open_children, ctx.actor, ctx.permission)
    await ctx.store.lock_unit(closed.unit_id)
    await ctx.store.save_unit(closed)
    return Handled({"unit_id": closed.unit_id}, [event])
