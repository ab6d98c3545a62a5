"""Registry's festival commands (an officer of the unit or above): plan (a point festival designated by
an actor of its level), reschedule, report held with results, cancel. Each reads, then decides, then
saves."""

from __future__ import annotations

from typing import Literal

from services.registry import domain as d
from services.registry.domain import decisions
from services.registry.domain.decisions import Target
from services.registry.handlers.common import Context, actor_unit, read_unit
from shared.authz import is_platform_admin
from shared.contract import registry as c
from shared.runtime.pipeline import Handled


async def plan_festival(cmd: c.PlanFestival, ctx: Context) -> Handled:
    target = await read_unit(ctx, cmd.unit_id, cmd.date)
    designator = await actor_unit(ctx) if cmd.point_level else None
    festival_id = cmd.festival_id or ctx.new_id()
    taken = cmd.festival_id is not None and await ctx.store.festival(festival_id) is not None
    campaigns = await ctx.store.campaigns_for(cmd.year, target.ancestry) if target.unit else []
    active = await ctx.store.active_festivals(cmd.year, cmd.unit_id) if target.unit else []
    festival, event = decisions.planning(
        cmd, festival_id, taken, target, designator, campaigns, active, ctx.actor, ctx.permission
    )
    await ctx.store.save_festival(festival)
    return Handled({"festival_id": festival_id, "campaign_id": festival.campaign_id}, [event])


async def festival_of(ctx: Context, festival_id: str) -> tuple[d.Festival | None, Target | None]:
    """A festival and its unit, read (the unit's ancestry on the festival's date)."""
    festival = await ctx.store.festival(festival_id)
    return festival, await read_unit(ctx, festival.unit_id, festival.date) if festival else None


async def reschedule_festival(cmd: c.RescheduleFestival, ctx: Context) -> Handled:
    festival, target = await festival_of(ctx, cmd.festival_id)
    campaign = await ctx.store.campaign(festival.campaign_id) if festival else None
    new, event = decisions.rescheduling(cmd, festival, target, campaign, ctx.actor, ctx.permission)
    await ctx.store.save_festival(new)
    return Handled({"festival_id": new.festival_id}, [event])


async def report_festival(cmd: c.ReportFestival, ctx: Context) -> Handled:
    festival, target = await festival_of(ctx, cmd.festival_id)
    designating = cmd.point_level and festival is not None and cmd.point_level != festival.point_level
    designator = await actor_unit(ctx) if designating else None
    models = {}
    for model_id in dict.fromkeys(cmd.models_launched):
        model = await ctx.store.model(model_id)
        models[model_id] = (model, await ctx.store.ancestry(model.unit_id, cmd.held_on) if model else [])
    campaign = await ctx.store.campaign(festival.campaign_id) if festival else None
    new, events = decisions.reporting(
        cmd, festival, target, designator, models, campaign, ctx.actor, ctx.permission, ctx.today
    )
    await ctx.store.save_festival(new)
    return Handled(
        {
            "festival_id": new.festival_id,
            "on_time": new.on_time,
            "reported_on": ctx.today.isoformat(),
            "reported_on_time": new.reported_on_time,
        },
        events,
    )


async def cancel_festival(cmd: c.CancelFestival, ctx: Context) -> Handled:
    festival, target = await festival_of(ctx, cmd.festival_id)
    new, event = decisions.cancelling(cmd, festival, target, ctx.actor, ctx.permission)
    await ctx.store.save_festival(new)
    return Handled({"festival_id": new.festival_id}, [event])


async def review_festival_report(
    ctx: Context, festival_id: str, verdict: Literal["accepted", "returned"], text: str | None
) -> Handled:
    festival, target = await festival_of(ctx, festival_id)
    reviewer = None if is_platform_admin(ctx.actor) else ctx.actor.unit
    new, event = decisions.reviewing(
        festival, festival_id, target, verdict, text, reviewer, ctx.actor, ctx.permission, ctx.today
    )
    await ctx.store.save_festival(new)
    return Handled({"festival_id": new.festival_id, "review": new.review}, [event])


async def accept_festival_report(cmd: c.AcceptFestivalReport, ctx: Context) -> Handled:
    return await review_festival_report(ctx, cmd.festival_id, "accepted", cmd.note)


async def return_festival_report(cmd: c.ReturnFestivalReport, ctx: Context) -> Handled:
    return await review_festival_report(ctx, cmd.festival_id, "returned", cmd.reason)
