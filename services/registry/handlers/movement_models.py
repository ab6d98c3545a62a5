"""Registry's movement-model commands (an officer of the unit or above): register a model (mô hình),
record that a unit took it up (nhân rộng); a festival they name is the unit's or an ancestor's."""

from __future__ import annotations

from services.registry import domain as d
from services.registry.handlers.common import Context, target
from shared.contract import registry as c
from shared.contract.errors import Conflict, NotFound
from shared.runtime.pipeline import Handled


async def _festival_unit(ctx: Context, festival_id: str | None) -> str | None:
    festival = await ctx.store.festival(festival_id) if festival_id else None
    return festival.unit_id if festival else None


async def register_model(cmd: c.RegisterModel, ctx: Context) -> Handled:
    what = f"register a model for {cmd.unit_id}"
    unit, ancestry = await target(ctx, cmd.unit_id, cmd.launched_on, what)
    model_id = cmd.model_id or ctx.new_id()
    if cmd.model_id is not None and await ctx.store.model(model_id) is not None:
        raise Conflict(f"model {model_id} already exists", [{"field": "model_id"}])
    model, event = d.register_model(cmd, model_id, unit, await _festival_unit(ctx, cmd.festival_id), ancestry)
    await ctx.store.save_model(model)
    return Handled({"model_id": model_id}, [event])


async def replicate_model(cmd: c.ReplicateModel, ctx: Context) -> Handled:
    what = f"replicate a model at {cmd.unit_id}"
    unit, ancestry = await target(ctx, cmd.unit_id, cmd.replicated_on, what)
    model = await ctx.store.model(cmd.model_id)
    if model is None:
        raise NotFound(f"model {cmd.model_id} does not exist", [{"field": "model_id"}])
    existing = await ctx.store.replication(model.model_id, unit.unit_id)
    festival_unit = await _festival_unit(ctx, cmd.festival_id)
    new, rep, event = d.replicate_model(model, cmd, unit, existing, festival_unit, ancestry)
    await ctx.store.save_model(new)
    await ctx.store.add_replication(rep)
    return Handled({"model_id": model.model_id, "unit_id": unit.unit_id}, [event])
