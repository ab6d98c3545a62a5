"""Registry's queries: a unit with its history and lineage, units at a date (children, subtree,
roots, filtered by kind or by a name typed with or without diacritics), festivals, campaigns, models."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.registry import domain as d
from services.registry.handlers.common import QCtx
from services.registry.store import valid_to_out
from shared.contract import registry as c
from shared.contract.errors import NotFound
from shared.contract.text import fold


async def _unit(ctx: QCtx, unit_id: str, field: str = "unit_id") -> d.Unit:
    unit = await ctx.store.unit(unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist", [{"field": field, "value": unit_id}])
    return unit


def unit_view(u: d.Unit, day: dt.date) -> dict[str, Any]:
    v = u.at(day)
    shown = v or (u.versions[0] if day < u.valid_from else u.current)
    status = "active" if v else ("not_yet_valid" if day < u.valid_from else "closed")
    return {
        "unit_id": u.unit_id,
        "kind": u.kind_at(day),
        "code": shown.code,
        "name": shown.name,
        "parent_id": shown.parent_id,
        "flags": shown.flags,
        "status": status,
        "as_of": day.isoformat(),
        "valid_from": u.valid_from.isoformat(),
        "valid_to": valid_to_out(u.valid_to.isoformat()),
    }


async def q_unit(q: c.UnitQuery, ctx: QCtx) -> dict[str, Any]:
    unit = await _unit(ctx, q.unit_id)
    day = q.date or ctx.today
    view = unit_view(unit, day)
    view["ancestors"] = (await ctx.store.ancestry(unit.unit_id, day))[1:]
    view["history"] = [
        {**v.model_dump(mode="json"), "valid_to": valid_to_out(v.valid_to.isoformat())} for v in unit.versions
    ]
    view["predecessors"] = [p.model_dump(mode="json") for p in unit.predecessors]
    view["successors"] = [s.model_dump(mode="json") for s in unit.successors]
    view["closed_reason"] = unit.closed_reason
    view["version"] = unit.version
    return view


async def q_units(q: c.UnitsQuery, ctx: QCtx) -> dict[str, Any]:
    day = q.date or ctx.today
    if q.parent_id is not None:
        await _unit(ctx, q.parent_id, "parent_id")
    if q.depth == "subtree":
        if q.parent_id:
            units = await ctx.store.subtree(q.parent_id, day)
        else:
            units = await ctx.store.roots(day, None, 0)
            for root in list(units):
                units += await ctx.store.subtree(root.unit_id, day)
        units.sort(key=lambda u: u.unit_id)
        if q.after:
            units = [u for u in units if u.unit_id > q.after]
    elif q.parent_id is None:
        units = await ctx.store.roots(day, q.after, q.limit + 1)
    else:
        units = await ctx.store.children([q.parent_id], day, q.after, q.limit + 1 if not q.kinds else 0)
    if q.kinds:
        units = [u for u in units if u.kind_at(day) in q.kinds]
    if q.name_contains:
        needle = fold(q.name_contains)
        units = [u for u in units if needle in fold(u.shown(day).name)]
    page = units[: q.limit]
    more = len(units) > q.limit
    return {
        "as_of": day.isoformat(),
        "units": [unit_view(u, day) for u in page],
        "next": page[-1].unit_id if more else None,
    }


async def q_festival(q: c.FestivalQuery, ctx: QCtx) -> dict[str, Any]:
    festival = await ctx.store.festival(q.festival_id)
    if festival is None:
        raise NotFound(f"festival {q.festival_id} does not exist")
    return festival.model_dump(mode="json")


async def q_festivals(q: c.FestivalsQuery, ctx: QCtx) -> dict[str, Any]:
    found = await ctx.store.festivals(q.unit_id, q.year, q.after, q.limit + 1)
    page = found[: q.limit]
    return {
        "festivals": [f.model_dump(mode="json") for f in page],
        "next": page[-1].festival_id if len(found) > q.limit else None,
    }


async def q_campaign(q: c.CampaignQuery, ctx: QCtx) -> dict[str, Any]:
    if q.campaign_id:
        campaign = await ctx.store.campaign(q.campaign_id)
    else:
        assert q.year is not None and q.scope_unit_id is not None
        campaign = await ctx.store.campaign_by_scope(q.year, q.scope_unit_id)
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign.model_dump(mode="json")


async def q_model(q: c.ModelQuery, ctx: QCtx) -> dict[str, Any]:
    model = await ctx.store.model(q.model_id)
    if model is None:
        raise NotFound(f"model {q.model_id} does not exist")
    page = await ctx.store.replications(model.model_id, q.after, q.limit + 1)
    more = len(page) > q.limit
    page = page[: q.limit]
    return {
        **model.model_dump(mode="json"),
        "replicated_at": [r.model_dump(mode="json", exclude={"model_id"}) for r in page],
        "next": page[-1].unit_id if more and page else None,
    }
