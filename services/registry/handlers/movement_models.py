"""Registry's movement-model commands (an officer of the unit or above): register a model (mô hình),
record that a unit took it up (nhân rộng); a festival they name is the unit's or an ancestor's. Each
reads, then decides, then saves."""

from __future__ import annotations

from services.registry.domain import model_decisions as decisions
from services.registry.domain.decisions import Target
from services.registry.domain.movement_models import MovementModel
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
    model, event = decisions.model_registration(
        cmd, model_id, taken, target, festival, ctx.actor, ctx.permission, ctx.today
    )
    await ctx.store.save_model(model)
    return Handled({"model_id": model_id}, [event])


async def replicate_model(cmd: c.ReplicateModel, ctx: Context) -> Handled:
    target = await read_unit(ctx, cmd.unit_id, cmd.replicated_on)
    model = await ctx.store.model(cmd.model_id)
    existing = await ctx.store.replication(model.model_id, cmd.unit_id) if model else None
    festival = await festival_unit(ctx, cmd.festival_id)
    new, rep, event = decisions.replication(
        cmd, target, model, existing, festival, ctx.actor, ctx.permission, ctx.today
    )
    await ctx.store.save_model(new)
    await ctx.store.add_replication(rep)
    return Handled({"model_id": new.model_id, "unit_id": cmd.unit_id}, [event])


async def model_of(ctx: Context, model_id: str) -> tuple[MovementModel | None, Target | None]:
    """A model and its unit, read (the unit's ancestry today)."""
    model = await ctx.store.model(model_id)
    return model, await read_unit(ctx, model.unit_id, ctx.today) if model else None


async def recognise_model(cmd: c.RecogniseModel, ctx: Context) -> Handled:
    model, target = await model_of(ctx, cmd.model_id)
    recorder = await ctx.store.unit(ctx.actor.unit) if ctx.actor.unit else None
    kind = recorder.kind_at(cmd.recognised_on) if recorder and recorder.at(cmd.recognised_on) else None
    new, event = decisions.recognition(cmd, model, target, kind, ctx.actor, ctx.permission, ctx.today)
    await ctx.store.save_model(new)
    return Handled({"model_id": new.model_id, "state": new.state_on(ctx.today)}, [event])


async def retire_model(cmd: c.RetireModel, ctx: Context) -> Handled:
    model, target = await model_of(ctx, cmd.model_id)
    new, event = decisions.retirement(cmd, model, target, ctx.actor, ctx.permission, ctx.today)
    await ctx.store.save_model(new)
    return Handled({"model_id": new.model_id, "state": new.state_on(ctx.today)}, [event])
