"""Registry's unit commands: register and update (an officer, below their unit), move, merge,
split and close (an admin: structural changes)."""

from __future__ import annotations

import datetime as dt

from services.registry import domain as d
from services.registry.handlers.common import Context, new_unit_id, save_units, target
from shared.authz import Permission, require_platform_admin
from shared.contract import registry as c
from shared.contract.errors import Conflict, RuleViolation
from shared.runtime.pipeline import Handled


async def register_unit(cmd: c.RegisterUnit, ctx: Context) -> Handled:
    if cmd.parent_id is None:
        require_platform_admin(ctx.actor, "register a province")
        parent = None
    else:
        what = f"register a unit under {cmd.parent_id}"
        parent, _ = await target(ctx, cmd.parent_id, cmd.valid_from, what, field="parent_id")
    unit_id = await new_unit_id(ctx, cmd.unit_id)
    unit, events = d.register_unit(cmd, unit_id, parent)
    await save_units(ctx.store, [unit])
    return Handled({"unit_id": unit_id}, events)


async def update_unit(cmd: c.UpdateUnit, ctx: Context) -> Handled:
    what = f"update unit {cmd.unit_id}"
    # a commune becoming a ward is a structural change: the actor needs the wider permission
    permission: Permission | None = "restructure" if cmd.kind is not None else None
    unit, _ = await target(ctx, cmd.unit_id, cmd.effective_date, what, changes_unit=True, permission=permission)
    new, events = d.update_unit(unit, cmd)
    await save_units(ctx.store, [new])
    return Handled({"unit_id": unit.unit_id}, events)


async def move_unit(cmd: c.MoveUnit, ctx: Context) -> Handled:
    day = cmd.effective_date
    unit, _ = await target(ctx, cmd.unit_id, day, f"move unit {cmd.unit_id}")
    parent, ancestry = await target(
        ctx, cmd.new_parent_id, day, f"move a unit under {cmd.new_parent_id}", field="new_parent_id"
    )
    moved, event = d.move_unit(unit, parent, day, ancestry)
    await save_units(ctx.store, [moved])
    return Handled({"unit_id": unit.unit_id}, [event])


async def merge_units(cmd: c.MergeUnits, ctx: Context) -> Handled:
    day = cmd.effective_date
    sources = [
        (await target(ctx, uid, day, f"merge unit {uid}", field="source_unit_ids"))[0] for uid in cmd.source_unit_ids
    ]
    if cmd.target_unit_id is not None:
        what = f"merge into unit {cmd.target_unit_id}"
        into, _ = await target(ctx, cmd.target_unit_id, day, what, field="target_unit_id")
        created = False
    else:
        assert cmd.new_unit is not None
        spec = cmd.new_unit
        if spec.parent_id in cmd.source_unit_ids:
            raise RuleViolation(f"the new unit cannot hang under {spec.parent_id}, which closes in this merge")
        if spec.parent_id is None:
            require_platform_admin(ctx.actor, "create a province")
            parent = None
        else:
            what = f"create a unit under {spec.parent_id}"
            parent, _ = await target(ctx, spec.parent_id, day, what, field="new_unit.parent_id")
        into = d.new_unit(spec, await new_unit_id(ctx, spec.unit_id), day, parent, [s.unit_id for s in sources])
        created = True
    children = await ctx.store.children([s.unit_id for s in sources], day) if cmd.move_children else []
    await refuse_orphans(ctx, [s.unit_id for s in sources], day, {ch.unit_id for ch in children})
    changed, events = d.merge_units(sources, into, created, children, day)
    await save_units(ctx.store, changed)
    return Handled({"unit_id": into.unit_id, "children_moved": [ch.unit_id for ch in children]}, events)


async def split_unit(cmd: c.SplitUnit, ctx: Context) -> Handled:
    day = cmd.effective_date
    source, _ = await target(ctx, cmd.unit_id, day, f"split unit {cmd.unit_id}")
    default_parent = source.require_active(day).parent_id
    parts: list[d.Unit] = []
    assignment: dict[str, str] = {}
    for i, spec in enumerate(cmd.parts):
        parent_id = spec.parent_id or default_parent
        if cmd.close_source and parent_id == source.unit_id:
            raise RuleViolation(f"part {i} cannot hang under {source.unit_id}, which closes in this split")
        parent = None
        if parent_id is not None:  # creating a unit under a parent needs authority over that parent
            what = f"create a unit under {parent_id}"
            parent, _ = await target(ctx, parent_id, day, what, field=f"parts.{i}.parent_id")
        unit_id = await new_unit_id(ctx, spec.unit_id)
        if unit_id in {p.unit_id for p in parts}:
            raise Conflict(f"part unit_id {unit_id} repeats")
        parts.append(d.new_unit(spec.model_copy(update={"parent_id": parent_id}), unit_id, day, parent, []))
        for child in spec.children:
            if child in assignment:
                raise Conflict(f"child {child} is assigned to two parts")
            assignment[child] = unit_id
    children = await ctx.store.children([source.unit_id], day)
    if cmd.close_source:
        await refuse_orphans(ctx, [source.unit_id], day, set(assignment))
    changed, events = d.split_unit(source, parts, assignment, children, day, cmd.close_source)
    await save_units(ctx.store, changed)
    return Handled({"unit_id": source.unit_id, "part_unit_ids": [p.unit_id for p in parts]}, events)


async def refuse_orphans(ctx: Context, closing: list[str], day: dt.date, moving: set[str]) -> None:
    """Units that close must not keep children (active or future-dated) that do not move with them."""
    for uid in closing:
        left = [ch for ch in await ctx.store.children_from(uid, day) if ch not in moving]
        if left:
            raise RuleViolation(
                f"unit {uid} closes on {day} but keeps children that do not move: {', '.join(left[:20])}; "
                "move or close them first"
            )


async def close_unit(cmd: c.CloseUnit, ctx: Context) -> Handled:
    unit, _ = await target(ctx, cmd.unit_id, cmd.effective_date, f"close unit {cmd.unit_id}")
    open_children = await ctx.store.children_from(unit.unit_id, cmd.effective_date)
    closed, event = d.close_unit(unit, cmd, open_children)
    await ctx.store.lock_unit(unit.unit_id)
    await ctx.store.save_unit(closed)
    return Handled({"unit_id": unit.unit_id}, [event])
