"""Registry's campaign commands (an admin of the scope): open, nested inside the campaign above
and around those below; close, which starts the season review."""

from __future__ import annotations

import datetime as dt

from services.registry import domain as d
from services.registry.handlers.common import Context, target, unknown
from shared.contract import registry as c
from shared.contract.errors import Conflict
from shared.runtime.pipeline import Handled


async def open_campaign(cmd: c.OpenCampaign, ctx: Context) -> Handled:
    day = cmd.window_start or dt.date(cmd.year, 7, 1)
    what = f"open a campaign for {cmd.scope_unit_id}"
    scope, ancestry = await target(ctx, cmd.scope_unit_id, day, what, field="scope_unit_id")
    existing = await ctx.store.campaign_by_scope(cmd.year, scope.unit_id)
    if existing is not None:
        raise Conflict(
            f"unit {scope.unit_id} already has campaign {existing.campaign_id} for {cmd.year}",
            [{"campaign_id": existing.campaign_id}],
        )
    campaign_id = cmd.campaign_id or ctx.new_id()
    if cmd.campaign_id is not None and await ctx.store.campaign(campaign_id) is not None:
        raise Conflict(f"campaign {campaign_id} already exists")
    others = await ctx.store.campaigns_of_year(cmd.year)
    upper = d.nearest(others, ancestry[1:], cmd.year)
    lower = [cp for cp in others if scope.unit_id in (await ctx.store.ancestry(cp.scope_unit_id, day))[1:]]
    campaign, event = d.open_campaign(cmd, campaign_id, scope, upper, lower)
    await ctx.store.save_campaign(campaign)
    return Handled({"campaign_id": campaign_id}, [event])


async def close_campaign(cmd: c.CloseCampaign, ctx: Context) -> Handled:
    what = f"close campaign {cmd.campaign_id}"
    campaign = await ctx.store.campaign(cmd.campaign_id)
    if campaign is None:
        raise unknown(ctx, "campaign", cmd.campaign_id, what, "campaign_id")
    await target(ctx, campaign.scope_unit_id, campaign.window_start, what)
    closed, event = d.close_campaign(campaign, cmd, ctx.today)
    await ctx.store.save_campaign(closed)
    return Handled({"campaign_id": campaign.campaign_id}, [event])
