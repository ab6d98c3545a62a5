"""Registry's queries: a unit with its history and lineage, units at a date (children, subtree,
roots, filtered by kind or by a name typed with or without diacritics), festivals, campaigns, models.

Each is read like a command acts (DESIGN §2): a unit's record, festivals, campaigns and models by an
actor of the unit or below it, or of a unit they govern (its ancestors' records, the campaigns above
it); listings of children and subtrees only inside the actor's own subtree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.registry import domain as d
from services.registry.handlers.common import QCtx
from services.registry.store import valid_to_out
from shared.authz import is_platform_admin, require_read
from shared.contract import registry as c
from shared.contract.errors import NotFound
from shared.contract.text import fold


async def _unit(
    ctx: QCtx, unit_id: str, day: dt.date, what: str, field: str = "unit_id", related: bool = True
) -> d.Unit:
    """A unit the actor may read about on `day` (`related`: also one above the actor's unit); an unknown
    one is refused like one out of scope, except to a platform admin, who is told it does not exist."""
    unit = await ctx.store.unit(unit_id)
    ancestry = await ctx.store.ancestry(unit_id, day) if unit is not None else []
    above = await ctx.store.ancestry(ctx.actor.unit, day) if related and ctx.actor.unit else None
    require_read(ctx.actor, ancestry, what, above=above)
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
    day = q.date or ctx.today
    unit = await _unit(ctx, q.unit_id, day, f"unit {q.unit_id}")
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
    parent_id = q.parent_id
    if parent_id is None and not is_platform_admin(ctx.actor):
        # a list without a unit lists the actor's subtree: the roots are a platform operator's to list
        parent_id = ctx.actor.unit
    if parent_id is not None:
        await _unit(ctx, parent_id, day, f"the units under {parent_id}", "parent_id", related=False)
    if q.depth == "subtree":
        if parent_id:
            units = await ctx.store.subtree(parent_id, day)
        else:
            units = await ctx.store.roots(day, None, 0)
            for root in list(units):
                units += await ctx.store.subtree(root.unit_id, day)
        units.sort(key=lambda u: u.unit_id)
        if q.after:
            units = [u for u in units if u.unit_id > q.after]
    elif parent_id is None:
        units = await ctx.store.roots(day, q.after, q.limit + 1)
    else:
        units = await ctx.store.children([parent_id], day, q.after, q.limit + 1 if not q.kinds else 0)
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
    what = f"festival {q.festival_id}"
    if festival is None:
        require_read(ctx.actor, [], what)
        raise NotFound(f"festival {q.festival_id} does not exist", [{"field": "festival_id", "value": q.festival_id}])
    await _unit(ctx, festival.unit_id, festival.date, what)
    return festival.model_dump(mode="json")


async def q_calendar(q: c.FestivalsQuery, ctx: QCtx) -> dict[str, Any]:
    """The festivals of the scope's subtree (on the range's first and last days, so a reform inside the
    range loses none) in the date range, sorted by date; each with its unit's name on its date."""
    scope = q.scope_unit_id or (None if is_platform_admin(ctx.actor) else ctx.actor.unit)
    units: dict[str, d.Unit] = {}
    if scope is not None:
        days = sorted({day for day in (q.from_date, q.to_date) if day} or {ctx.today})
        units[scope] = await _unit(ctx, scope, days[-1], f"the festivals of {scope}", "scope_unit_id", related=False)
        for day in days:
            units.update({u.unit_id: u for u in await ctx.store.subtree(scope, day)})
    found = []
    for f in await ctx.store.calendar(q.from_date, q.to_date, q.year):
        # a unit under the scope on neither end of the range (merged in between) counts by its own date
        if scope is None or f.unit_id in units or scope in await ctx.store.ancestry(f.unit_id, f.date):
            found.append(f)
    if q.after is not None:
        last = next((i for i, f in enumerate(found) if f.festival_id == q.after), None)
        if last is None:
            raise NotFound(
                f"the cursor {q.after} is not an item of this list",
                [{"field": "after", "value": q.after, "rule": "cursor"}],
            )
        found = found[last + 1 :]
    page = found[: q.limit]
    items = []
    for f in page:
        unit = units.get(f.unit_id) or await ctx.store.unit(f.unit_id)
        items.append({**f.model_dump(mode="json"), "unit_name": unit.shown(f.date).name if unit else f.unit_id})
    return {"festivals": items, "next": page[-1].festival_id if len(found) > q.limit else None}


async def q_festivals(q: c.FestivalsQuery, ctx: QCtx) -> dict[str, Any]:
    if q.calendar:
        return await q_calendar(q, ctx)
    unit_id = q.unit_id if q.unit_id or is_platform_admin(ctx.actor) else ctx.actor.unit
    if unit_id is not None:
        await _unit(ctx, unit_id, ctx.today, f"the festivals of {unit_id}")
    found = await ctx.store.festivals(unit_id, q.year, q.after, q.limit + 1)
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
        require_read(ctx.actor, [], "the campaign")
        raise NotFound("no such campaign", [{"field": "campaign_id" if q.campaign_id else "scope_unit_id"}])
    await _unit(ctx, campaign.scope_unit_id, campaign.window_start, f"campaign {campaign.campaign_id}")
    return campaign.model_dump(mode="json")


async def q_model(q: c.ModelQuery, ctx: QCtx) -> dict[str, Any]:
    model = await ctx.store.model(q.model_id)
    if model is None:
        require_read(ctx.actor, [], f"model {q.model_id}")
        raise NotFound(f"model {q.model_id} does not exist", [{"field": "model_id", "value": q.model_id}])
    await _unit(ctx, model.unit_id, model.launched_on, f"model {q.model_id}")
    page = await ctx.store.replications(model.model_id, q.after, q.limit + 1)
    more = len(page) > q.limit
    page = page[: q.limit]
    return {
        **model.model_dump(mode="json"),
        "replicated_at": [r.model_dump(mode="json", exclude={"model_id"}) for r in page],
        "next": page[-1].unit_id if more and page else None,
    }


def model_on(m: d.MovementModel, day: dt.date, state: str, replications: int, unit: d.Unit | None) -> dict[str, Any]:
    """A model as it stood on `day`: what came later (its recognition, its retirement, later replications)
    is not shown."""
    out = {**m.model_dump(mode="json"), "state": state, "replications": replications}
    if m.recognised_on is None or m.recognised_on > day:
        out.update(recognised_on=None, level=None, decision_no=None, recognised_by=None)
    if m.retired_on is None or m.retired_on > day:
        out.update(retired_on=None, retire_reason=None)
    out["unit_name"] = unit.shown(day).name if unit else m.unit_id
    return out


async def q_models(q: c.ModelsQuery, ctx: QCtx) -> dict[str, Any]:
    """The models of the scope's subtree on the day, each with its state that day; counts by state."""
    day = q.date or (min(dt.date(q.year, 12, 31), ctx.today) if q.year else ctx.today)
    scope = q.scope_unit_id or (None if is_platform_admin(ctx.actor) else ctx.actor.unit)
    ids: list[str] | None = None
    if scope is not None:
        await _unit(ctx, scope, day, f"the models of {scope}", "scope_unit_id", related=False)
        ids = [scope, *(u.unit_id for u in await ctx.store.subtree(scope, day))]
    rows = []
    found = await ctx.store.models_of(ids)
    replications = await ctx.store.replication_counts([m.model_id for m in found], day)
    for m in found:
        state = m.state_on(day)
        retired_before = q.year is not None and m.retired_on is not None and m.retired_on.year < q.year
        if state is None or retired_before:
            continue  # not launched yet that day, or retired before the year began
        if q.state is None or state == q.state:
            rows.append(model_on(m, day, state, replications.get(m.model_id, 0), await ctx.store.unit(m.unit_id)))
    counts = {s: sum(r["state"] == s for r in rows) for s in ("proposed", "recognised", "retired")}
    if q.after is not None:
        if not any(r["model_id"] == q.after for r in rows):
            raise NotFound(
                f"the cursor {q.after} is not an item of this list",
                [{"field": "after", "value": q.after, "rule": "cursor"}],
            )
        rows = [r for r in rows if r["model_id"] > q.after]
    page = rows[: q.limit]
    return {
        "as_of": day.isoformat(),
        "scope_unit_id": scope,
        "counts": counts,
        "models": page,
        "next": page[-1]["model_id"] if len(rows) > q.limit else None,
    }
