"""Registry's command and query handlers: load → authorise → call the domain → save (+ events).

The handler tables at the bottom are the one place the service's messages are registered."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.registry import domain as d
from services.registry.store import RegistryStore, valid_to_out
from shared.contract import registry as c
from shared.contract.errors import Conflict, NotFound, RuleViolation
from shared.runtime.pipeline import CommandSpec, Outcome
from shared.runtime.pipeline import Context as BaseContext
from shared.runtime.queries import QueryContext, QuerySpec

Context = BaseContext[RegistryStore]
QCtx = QueryContext[RegistryStore]


async def _unit(store: RegistryStore, unit_id: str, field: str = "unit_id") -> d.Unit:
    unit = await store.unit(unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist", [{"field": field, "value": unit_id}])
    return unit


async def _authorize(ctx: Context, unit_id: str, day: dt.date, what: str) -> list[str]:
    ancestry = await ctx.store.ancestry(unit_id, day)
    d.authorize(ctx.actor, ancestry, what)
    return ancestry


async def _save_units(store: RegistryStore, units: list[d.Unit]) -> None:
    # a unit that closes is locked against new children; a unit hung under a parent locks that parent
    for u in units:
        if u.valid_to != d.END:
            await store.lock_unit(u.unit_id)
        for parent_id in sorted({v.parent_id for v in u.versions if v.parent_id}):
            await store.lock_children(parent_id)
    codes = sorted({v.code for u in units for v in u.versions if v.code})
    holders = await store.code_holders(codes, [u.unit_id for u in units])
    d.check_codes(units, holders)
    for u in units:
        await store.save_unit(u)


async def _new_unit_id(ctx: Context, requested: str | None) -> str:
    if requested is None:
        return ctx.store.new_unit_id(ctx.new_id())  # a new UUIDv7 is free by construction: no read
    if await ctx.store.unit(requested) is not None:
        raise Conflict(f"unit {requested} already exists", [{"field": "unit_id", "value": requested}])
    return requested


# ------------------------------------------------------------------------------------ units


async def register_unit(cmd: c.RegisterUnit, ctx: Context) -> Outcome:
    parent = await _unit(ctx.store, cmd.parent_id, "parent_id") if cmd.parent_id else None
    if parent is None:
        d.authorize(ctx.actor, [], "register a province")
    else:
        await _authorize(ctx, parent.unit_id, cmd.valid_from, f"register a unit under {parent.unit_id}")
    unit_id = await _new_unit_id(ctx, cmd.unit_id)
    unit, events = d.register_unit(cmd, unit_id, parent)
    await _save_units(ctx.store, [unit])
    return Outcome({"unit_id": unit_id}, events)


async def update_unit(cmd: c.UpdateUnit, ctx: Context) -> Outcome:
    unit = await _unit(ctx.store, cmd.unit_id)
    await _authorize(ctx, unit.unit_id, cmd.effective_date, f"update unit {unit.unit_id}")
    new, events = d.update_unit(unit, cmd)
    await _save_units(ctx.store, [new])
    return Outcome({"unit_id": unit.unit_id}, events)


async def move_unit(cmd: c.MoveUnit, ctx: Context) -> Outcome:
    unit = await _unit(ctx.store, cmd.unit_id)
    parent = await _unit(ctx.store, cmd.new_parent_id, "new_parent_id")
    await _authorize(ctx, unit.unit_id, cmd.effective_date, f"move unit {unit.unit_id}")
    ancestry = await _authorize(ctx, parent.unit_id, cmd.effective_date, f"move a unit under {parent.unit_id}")
    moved, event = d.move_unit(unit, parent, cmd.effective_date, ancestry)
    await _save_units(ctx.store, [moved])
    return Outcome({"unit_id": unit.unit_id}, [event])


async def merge_units(cmd: c.MergeUnits, ctx: Context) -> Outcome:
    day = cmd.effective_date
    sources = [await _unit(ctx.store, uid, "source_unit_ids") for uid in cmd.source_unit_ids]
    for s in sources:
        await _authorize(ctx, s.unit_id, day, f"merge unit {s.unit_id}")
    if cmd.target_unit_id is not None:
        target = await _unit(ctx.store, cmd.target_unit_id, "target_unit_id")
        await _authorize(ctx, target.unit_id, day, f"merge into unit {target.unit_id}")
        created = False
    else:
        assert cmd.new_unit is not None
        spec = cmd.new_unit
        if spec.parent_id in cmd.source_unit_ids:
            raise RuleViolation(f"the new unit cannot hang under {spec.parent_id}, which closes in this merge")
        parent = await _unit(ctx.store, spec.parent_id, "new_unit.parent_id") if spec.parent_id else None
        if parent is None:
            d.authorize(ctx.actor, [], "create a province")
        else:
            await _authorize(ctx, parent.unit_id, day, f"create a unit under {parent.unit_id}")
        target = d.new_unit(spec, await _new_unit_id(ctx, spec.unit_id), day, parent, [s.unit_id for s in sources])
        created = True
    children = await ctx.store.children([s.unit_id for s in sources], day) if cmd.move_children else []
    await _refuse_orphans(ctx, [s.unit_id for s in sources], day, {ch.unit_id for ch in children})
    changed, events = d.merge_units(sources, target, created, children, day)
    await _save_units(ctx.store, changed)
    return Outcome({"unit_id": target.unit_id, "children_moved": [ch.unit_id for ch in children]}, events)


async def split_unit(cmd: c.SplitUnit, ctx: Context) -> Outcome:
    day = cmd.effective_date
    source = await _unit(ctx.store, cmd.unit_id)
    await _authorize(ctx, source.unit_id, day, f"split unit {source.unit_id}")
    default_parent = source.require_active(day).parent_id
    parts: list[d.Unit] = []
    assignment: dict[str, str] = {}
    for i, spec in enumerate(cmd.parts):
        parent_id = spec.parent_id or default_parent
        if cmd.close_source and parent_id == source.unit_id:
            raise RuleViolation(f"part {i} cannot hang under {source.unit_id}, which closes in this split")
        parent = await _unit(ctx.store, parent_id, f"parts.{i}.parent_id") if parent_id else None
        if parent is not None:  # creating a unit under a parent needs authority over that parent
            await _authorize(ctx, parent.unit_id, day, f"create a unit under {parent.unit_id}")
        unit_id = await _new_unit_id(ctx, spec.unit_id)
        if unit_id in {p.unit_id for p in parts}:
            raise Conflict(f"part unit_id {unit_id} repeats")
        parts.append(d.new_unit(spec.model_copy(update={"parent_id": parent_id}), unit_id, day, parent, []))
        for child in spec.children:
            if child in assignment:
                raise Conflict(f"child {child} is assigned to two parts")
            assignment[child] = unit_id
    children = await ctx.store.children([source.unit_id], day)
    if cmd.close_source:
        await _refuse_orphans(ctx, [source.unit_id], day, set(assignment))
    changed, events = d.split_unit(source, parts, assignment, children, day, cmd.close_source)
    await _save_units(ctx.store, changed)
    return Outcome({"unit_id": source.unit_id, "part_unit_ids": [p.unit_id for p in parts]}, events)


async def _refuse_orphans(ctx: Context, closing: list[str], day: dt.date, moving: set[str]) -> None:
    """Units that close must not keep children (active or future-dated) that do not move with them."""
    for uid in closing:
        left = [ch for ch in await ctx.store.children_from(uid, day) if ch not in moving]
        if left:
            raise RuleViolation(
                f"unit {uid} closes on {day} but keeps children that do not move: {', '.join(left[:20])}; "
                "move or close them first"
            )


async def close_unit(cmd: c.CloseUnit, ctx: Context) -> Outcome:
    unit = await _unit(ctx.store, cmd.unit_id)
    await _authorize(ctx, unit.unit_id, cmd.effective_date, f"close unit {unit.unit_id}")
    open_children = await ctx.store.children_from(unit.unit_id, cmd.effective_date)
    closed, event = d.close_unit(unit, cmd, open_children)
    await ctx.store.lock_unit(unit.unit_id)
    await ctx.store.save_unit(closed)
    return Outcome({"unit_id": unit.unit_id}, [event])


# ------------------------------------------------------------------------------------ campaigns


async def open_campaign(cmd: c.OpenCampaign, ctx: Context) -> Outcome:
    scope = await _unit(ctx.store, cmd.scope_unit_id, "scope_unit_id")
    await _authorize(
        ctx,
        scope.unit_id,
        cmd.window_start or dt.date(cmd.year, 7, 1),
        f"open a campaign for {scope.unit_id}",
    )
    existing = await ctx.store.campaign_by_scope(cmd.year, scope.unit_id)
    if existing is not None:
        raise Conflict(
            f"unit {scope.unit_id} already has campaign {existing.campaign_id} for {cmd.year}",
            [{"campaign_id": existing.campaign_id}],
        )
    campaign_id = cmd.campaign_id or ctx.new_id()
    if cmd.campaign_id is not None and await ctx.store.campaign(campaign_id) is not None:
        raise Conflict(f"campaign {campaign_id} already exists")
    campaign, event = d.open_campaign(cmd, campaign_id, scope)
    await ctx.store.save_campaign(campaign)
    return Outcome({"campaign_id": campaign_id}, [event])


async def _campaign_of(ctx: Context, unit_id: str, year: int, day: dt.date) -> d.Campaign:
    ancestry = await ctx.store.ancestry(unit_id, day)
    return d.campaign_for(await ctx.store.campaigns_for(year, ancestry), ancestry, year, unit_id)


# ------------------------------------------------------------------------------------ festivals


async def plan_festival(cmd: c.PlanFestival, ctx: Context) -> Outcome:
    unit = await _unit(ctx.store, cmd.unit_id)
    unit.require_active(cmd.date)
    await _authorize(ctx, unit.unit_id, cmd.date, f"plan a festival for {unit.unit_id}")
    festival_id = cmd.festival_id or ctx.new_id()
    if cmd.festival_id is not None and await ctx.store.festival(festival_id) is not None:
        raise Conflict(f"festival {festival_id} already exists", [{"field": "festival_id"}])
    campaign = await _campaign_of(ctx, unit.unit_id, cmd.year, cmd.date)
    active = await ctx.store.active_festivals(cmd.year, unit.unit_id)
    festival, event = d.plan_festival(cmd, festival_id, unit, campaign, active)
    await ctx.store.save_festival(festival)
    return Outcome({"festival_id": festival_id, "campaign_id": campaign.campaign_id}, [event])


async def _festival(ctx: Context, festival_id: str, day: dt.date | None, what: str) -> d.Festival:
    festival = await ctx.store.festival(festival_id)
    if festival is None:
        raise NotFound(f"festival {festival_id} does not exist", [{"field": "festival_id", "value": festival_id}])
    await _authorize(ctx, festival.unit_id, day or festival.date, f"{what} festival {festival_id}")
    return festival


async def _campaign(ctx: Context, campaign_id: str) -> d.Campaign:
    campaign = await ctx.store.campaign(campaign_id)
    if campaign is None:  # cannot happen unless data was edited by hand
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign


async def reschedule_festival(cmd: c.RescheduleFestival, ctx: Context) -> Outcome:
    festival = await _festival(ctx, cmd.festival_id, None, "reschedule")
    unit = await _unit(ctx.store, festival.unit_id)
    new, event = d.reschedule_festival(festival, cmd, unit, await _campaign(ctx, festival.campaign_id))
    await ctx.store.save_festival(new)
    return Outcome({"festival_id": festival.festival_id}, [event])


async def report_festival(cmd: c.ReportFestival, ctx: Context) -> Outcome:
    festival = await _festival(ctx, cmd.festival_id, None, "report")
    unit = await _unit(ctx.store, festival.unit_id)
    new, event = d.report_festival(festival, cmd, unit, await _campaign(ctx, festival.campaign_id), ctx.today)
    await ctx.store.save_festival(new)
    return Outcome({"festival_id": festival.festival_id, "on_time": new.on_time}, [event])


async def cancel_festival(cmd: c.CancelFestival, ctx: Context) -> Outcome:
    festival = await _festival(ctx, cmd.festival_id, None, "cancel")
    new, event = d.cancel_festival(festival, cmd)
    await ctx.store.save_festival(new)
    return Outcome({"festival_id": festival.festival_id}, [event])


# ------------------------------------------------------------------------------------ models


async def register_model(cmd: c.RegisterModel, ctx: Context) -> Outcome:
    unit = await _unit(ctx.store, cmd.unit_id)
    await _authorize(ctx, unit.unit_id, cmd.launched_on, f"register a model for {unit.unit_id}")
    model_id = cmd.model_id or ctx.new_id()
    if cmd.model_id is not None and await ctx.store.model(model_id) is not None:
        raise Conflict(f"model {model_id} already exists", [{"field": "model_id"}])
    model, event = d.register_model(cmd, model_id, unit)
    await ctx.store.save_model(model)
    return Outcome({"model_id": model_id}, [event])


async def replicate_model(cmd: c.ReplicateModel, ctx: Context) -> Outcome:
    model = await ctx.store.model(cmd.model_id)
    if model is None:
        raise NotFound(f"model {cmd.model_id} does not exist", [{"field": "model_id"}])
    unit = await _unit(ctx.store, cmd.unit_id)
    await _authorize(ctx, unit.unit_id, cmd.replicated_on, f"replicate a model at {unit.unit_id}")
    existing = await ctx.store.replication(model.model_id, unit.unit_id)
    new, rep, event = d.replicate_model(model, cmd, unit, existing)
    await ctx.store.save_model(new)
    await ctx.store.add_replication(rep)
    return Outcome({"model_id": model.model_id, "unit_id": unit.unit_id}, [event])


# ------------------------------------------------------------------------------------ queries


def unit_view(u: d.Unit, day: dt.date) -> dict[str, Any]:
    v = u.at(day)
    shown = v or (u.versions[0] if day < u.valid_from else u.current)
    status = "active" if v else ("not_yet_valid" if day < u.valid_from else "closed")
    return {
        "unit_id": u.unit_id,
        "kind": u.kind,
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
    unit = await _unit(ctx.store, q.unit_id)
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
        await _unit(ctx.store, q.parent_id, "parent_id")
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
        units = [u for u in units if u.kind in q.kinds]
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


COMMANDS: list[CommandSpec] = [
    CommandSpec("register-unit", c.RegisterUnit, register_unit, "Register a unit in the tree from valid_from."),
    CommandSpec("update-unit", c.UpdateUnit, update_unit, "Rename, re-code or re-flag a unit from a date."),
    CommandSpec("move-unit", c.MoveUnit, move_unit, "Move a unit under another parent from a date."),
    CommandSpec("merge-units", c.MergeUnits, merge_units, "Merge units into an existing or a new unit."),
    CommandSpec("split-unit", c.SplitUnit, split_unit, "Split a unit into new parts."),
    CommandSpec("close-unit", c.CloseUnit, close_unit, "Close a unit (it is never deleted)."),
    CommandSpec("open-campaign", c.OpenCampaign, open_campaign, "Open the yearly campaign of a scope unit."),
    CommandSpec("plan-festival", c.PlanFestival, plan_festival, "Plan a unit's festival inside the window."),
    CommandSpec("reschedule-festival", c.RescheduleFestival, reschedule_festival, "Move a planned festival."),
    CommandSpec("report-festival", c.ReportFestival, report_festival, "Report a festival held, with results."),
    CommandSpec("cancel-festival", c.CancelFestival, cancel_festival, "Cancel a planned festival."),
    CommandSpec("register-model", c.RegisterModel, register_model, "Register a movement model."),
    CommandSpec("replicate-model", c.ReplicateModel, replicate_model, "Record a model replicated at a unit."),
]

QUERIES: list[QuerySpec] = [
    QuerySpec("unit", c.UnitQuery, q_unit, "A unit as of a date, with history, lineage and ancestors."),
    QuerySpec("units", c.UnitsQuery, q_units, "Children or subtree of a unit (or the roots) as of a date."),
    QuerySpec("festival", c.FestivalQuery, q_festival, "One festival."),
    QuerySpec("festivals", c.FestivalsQuery, q_festivals, "Festivals of a unit and/or year."),
    QuerySpec("campaign", c.CampaignQuery, q_campaign, "A campaign by id, or by year and scope unit."),
    QuerySpec("model", c.ModelQuery, q_model, "A movement model with its replications."),
]
