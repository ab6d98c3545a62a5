"""Registry's movement-model commands (an officer of the unit or above): register a model (mô hình),
record that a unit took it up (nhân rộng); a festival they name is the unit's or an ancestor's. Each
reads, then decides, then saves."""

from __future__ import annotations

from services.registry.domain import decisions
from services.registry.handlers.common import Context, read_unit
from shared.contract import registry as c
from shared.runtime.pipeline import Handled


async def festival_unit(ctx: Context, festival_id: str | None) -> str | None:
    festival = await ctx.store.festival(festival_id) if festival_id else None
    return festival.unit_id if festival else None


async def register_model(cmd: c.RegisterModel, ctx: Context) -> Handled:
    target = await read_unit(ctx, cmd.unit_id, cmd.launched_on)
    model_id = cmd.model_id or ctx.new_id()
    taken = cmd.model_id is not None and await ctx.store.model(model_id) is not None
    festival = await festival_unit(ctx, cmd.festival_id)
    model, event = decisions.model_registration(cmd, model_id, taken, target, festival, ctx.actor, ctx.permission)
    await ctx.store.save_model(model)
    return Handled({"model_id": model_id}, [event])


async def replicate_model(cmd: c.ReplicateModel, ctx: Context) -> Handled:
    target = await read_unit(ctx, cmd.unit_id, cmd.replicated_on)
    model = await ctx.store.model(cmd.model_id)
    existing = await ctx.store.replication(model.model_id, cmd.unit_id) if model else None
    festival = await festival_unit(ctx, cmd.festival_id)
    new, rep, event = decisions.replication(cmd, target, model, existing, festival, ctx.actor, ctx.permission)
    await ctx.store.save_model(new)
    await ctx.store.add_replication(rep)
    return Handled({"model_id": new.model_id, "unit_id": cmd.unit_id}, [event])
