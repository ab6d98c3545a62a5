"""Registry's campaign commands (an admin of the scope): open, nested inside the campaign above and
around those below; close, which starts the season review. Each reads, then decides, then saves."""

from __future__ import annotations

import datetime as dt

from services.registry.domain import decisions
from services.registry.handlers.common import Context, read_unit
from shared.contract import registry as c
from shared.runtime.pipeline import Handled


async def open_campaign(cmd: c.OpenCampaign, ctx: Context) -> Handled:
    day = cmd.window_start or dt.date(cmd.year, 7, 1)
    scope = await read_unit(ctx, cmd.scope_unit_id, day)
    campaign_id = cmd.campaign_id or ctx.new_id()
    taken = cmd.campaign_id is not None and await ctx.store.campaign(campaign_id) is not None
    others = await ctx.store.campaigns_of_year(cmd.year)
    below = [cp for cp in others if cmd.scope_unit_id in (await ctx.store.ancestry(cp.scope_unit_id, day))[1:]]
    campaign, event = decisions.opening(cmd, campaign_id, taken, scope, others, below, ctx.actor, ctx.permission)
    await ctx.store.save_campaign(campaign)
    return Handled({"campaign_id": campaign_id}, [event])


async def close_campaign(cmd: c.CloseCampaign, ctx: Context) -> Handled:
    campaign = await ctx.store.campaign(cmd.campaign_id)
    scope = await read_unit(ctx, campaign.scope_unit_id, campaign.window_start) if campaign else None
    closed, event = decisions.closing_campaign(cmd, campaign, scope, ctx.actor, ctx.permission, ctx.today)
    await ctx.store.save_campaign(closed)
    return Handled({"campaign_id": closed.campaign_id}, [event])
