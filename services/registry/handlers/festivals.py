"""Registry's festival commands (an officer of the unit or above): plan (a point festival
designated by an actor of its level), reschedule, report held with results, cancel."""

from __future__ import annotations

import datetime as dt

from services.registry import domain as d
from services.registry.handlers.common import Context, campaign, campaign_of, festival_target, target
from shared.contract import registry as c
from shared.contract.errors import Conflict
from shared.runtime.pipeline import Handled


async def _designator(ctx: Context, level: c.PointLevel, ancestry: list[str], day: dt.date) -> str | None:
    actor_unit = await ctx.store.unit(ctx.actor.unit) if ctx.actor.unit else None
    return d.designation(level, ctx.actor, actor_unit, ancestry, day)


async def plan_festival(cmd: c.PlanFestival, ctx: Context) -> Handled:
    unit, ancestry = await target(ctx, cmd.unit_id, cmd.date, f"plan a festival for {cmd.unit_id}")
    unit.require_active(cmd.date)
    designated_by = await _designator(ctx, cmd.point_level, ancestry, cmd.date) if cmd.point_level else None
    festival_id = cmd.festival_id or ctx.new_id()
    if cmd.festival_id is not None and await ctx.store.festival(festival_id) is not None:
        raise Conflict(f"festival {festival_id} already exists", [{"field": "festival_id"}])
    covering = await campaign_of(ctx, unit.unit_id, cmd.year, cmd.date)
    active = await ctx.store.active_festivals(cmd.year, unit.unit_id)
    festival, event = d.plan_festival(cmd, festival_id, unit, covering, active, designated_by)
    await ctx.store.save_festival(festival)
    return Handled({"festival_id": festival_id, "campaign_id": covering.campaign_id}, [event])


async def reschedule_festival(cmd: c.RescheduleFestival, ctx: Context) -> Handled:
    festival, unit, _ = await festival_target(ctx, cmd.festival_id, "reschedule")
    new, event = d.reschedule_festival(festival, cmd, unit, await campaign(ctx, festival.campaign_id))
    await ctx.store.save_festival(new)
    return Handled({"festival_id": festival.festival_id}, [event])


async def report_festival(cmd: c.ReportFestival, ctx: Context) -> Handled:
    festival, unit, ancestry = await festival_target(ctx, cmd.festival_id, "report")
    designated_by = None
    if cmd.point_level and cmd.point_level != festival.point_level:
        designated_by = await _designator(ctx, cmd.point_level, ancestry, cmd.held_on)
    launched = {}
    for model_id in dict.fromkeys(cmd.models_launched):
        model = await ctx.store.model(model_id)
        launched[model_id] = (model, await ctx.store.ancestry(model.unit_id, cmd.held_on) if model else [])
    d.check_models_launched(festival.unit_id, cmd.held_on, launched)
    covering = await campaign(ctx, festival.campaign_id)
    new, event = d.report_festival(festival, cmd, unit, covering, ctx.today, designated_by)
    await ctx.store.save_festival(new)
    return Handled(
        {
            "festival_id": festival.festival_id,
            "on_time": new.on_time,
            "reported_on": ctx.today.isoformat(),
            "reported_on_time": new.reported_on_time,
        },
        [event],
    )


async def cancel_festival(cmd: c.CancelFestival, ctx: Context) -> Handled:
    festival, _, _ = await festival_target(ctx, cmd.festival_id, "cancel")
    new, event = d.cancel_festival(festival, cmd)
    await ctx.store.save_festival(new)
    return Handled({"festival_id": festival.festival_id}, [event])
