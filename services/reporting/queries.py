"""Reporting's queries, answered from the projections (the tree and a year's summaries are held in
memory between changes): coverage, one unit's status, the units missing, the per-unit season
report, and summaries of awards and gifts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.reporting.cache import TreeCache, project
from services.reporting.deps import Reporting
from services.reporting.paging import children_page, ids_page
from services.reporting.projection import MISSING_REASONS, coverage_of, missing_reason, season_tree_date
from services.reporting.store import ReportingStore
from services.reporting.summaries import AwardsFold, reports_of
from shared.authz import require_read
from shared.contract import reporting as c
from shared.contract.errors import NotFound, RuleViolation
from shared.replicas.campaigns import expected_kinds
from shared.replicas.units import UnitsView, carriers
from shared.replicas.walk import run
from shared.runtime.queries import QueryContext, QuerySpec

QCtx = QueryContext[ReportingStore, Reporting]


async def scope_of(
    store: ReportingStore, cache: TreeCache, today: dt.date, year: int, scope: str, tree_date: dt.date | None
) -> tuple[UnitsView, dt.date, frozenset[str]]:
    view = await cache.tree(store)
    if view.unit(scope) is None:
        raise NotFound(
            f"unit {scope} is not known to reporting (yet)",
            [{"rule": "not_known_yet", "field": "scope_unit_id", "value": scope}],
        )
    campaigns = await store.campaigns(year)
    day = tree_date or season_tree_date(year, today, campaigns, lambda d: view.ancestry(scope, d))
    if not view.ancestry(scope, day):
        raise RuleViolation(
            f"unit {scope} does not exist on {day.isoformat()} (the tree date): ask for a date it exists on",
            [{"field": "tree_date", "value": day.isoformat(), "rule": "unit_active"}],
        )
    kinds = expected_kinds(campaigns, view.ancestry(scope, day))
    return view, day, kinds


async def season_day(store: ReportingStore, cache: TreeCache, today: dt.date, year: int, unit_id: str) -> dt.date:
    """The tree `unit_id`'s season is read on by default (`projection.season_tree_date`)."""
    view = await cache.tree(store)
    return season_tree_date(year, today, await store.campaigns(year), lambda d: view.ancestry(unit_id, d))


async def figures_of(
    store: ReportingStore,
    cache: TreeCache,
    today: dt.date,
    year: int,
    scope: str,
    tree_date: dt.date | None,
    level: Sequence[str] | None = None,
    breakdown: bool = True,
    year_on_year: bool = False,
    page: tuple[int | None, str | None] = (None, None),
) -> dict[str, Any]:
    """The figures of a scope; with `breakdown`, a row per child, paged when `page` (limit, after) has a
    limit (`breakdown_next`)."""
    view, day, kinds = await scope_of(store, cache, today, year, scope, tree_date)
    if level:
        kinds = frozenset(level)
    index = await cache.day(store, day)
    summaries, packed = await cache.packed_on(store, year, day)
    total, rows = coverage_of(index, scope, kinds, summaries, packed)
    record = view.unit(scope)
    period = record.at(day) if record else None
    out: dict[str, Any] = {
        "year": year,
        "scope_unit_id": scope,
        "scope_name": period.name if period else scope,
        "tree_date": day.isoformat(),
        "expected_kinds": sorted(kinds),
        **total.model_dump(),
    }
    limit, after = page
    if breakdown:
        rows, out["breakdown_next"] = children_page(rows, limit, after)
        out["breakdown"] = [r.model_dump() for r in rows]
    if year_on_year:  # the year before on this year's tree, through the lineage: the same units compared
        earlier, earlier_packed = await cache.packed_on(store, year - 1, day)
        before, before_rows = coverage_of(index, scope, kinds, earlier, earlier_packed)
        before_rows = children_page(before_rows, limit, after)[0] if breakdown else []
        out["previous_year"] = {
            "year": year - 1,
            **before.model_dump(),
            **({"breakdown": [r.model_dump() for r in before_rows]} if breakdown else {}),
        }
    return out


async def snapshot_figures(
    store: ReportingStore, cache: TreeCache, year: int, scope: str, day: dt.date
) -> dict[str, Any] | None:
    """The figures with their breakdown, read through `store` (its session: inside a consumer's
    transaction, what the transaction wrote counts); None when the scope is unknown on that day."""
    view = await cache.tree(store)
    if view.unit(scope) is None or not view.ancestry(scope, day):
        return None
    kinds = expected_kinds(await store.campaigns(year), view.ancestry(scope, day))
    index = await cache.day(store, day)
    total, rows = coverage_of(index, scope, kinds, project(view, index, await store.summaries(year)))
    return {"tree_date": day.isoformat(), "figures": total.model_dump(), "breakdown": [r.model_dump() for r in rows]}


async def q_coverage(q: c.CoverageQuery, ctx: QCtx) -> dict[str, Any]:
    cache = ctx.deps.trees(ctx.store.db)
    out = await figures_of(
        ctx.store, cache, ctx.today, q.year, q.scope_unit_id, q.tree_date, q.level, year_on_year=q.year_on_year,
        page=(q.breakdown_limit, q.breakdown_after),
    )  # fmt: skip
    view, day = await cache.tree(ctx.store), dt.date.fromisoformat(out["tree_date"])
    # the way up, root first (a board's breadcrumbs; a client's "up one level")
    out["ancestry"] = [
        {"unit_id": u, "name": _name(view, u, day)} for u in reversed(view.ancestry(q.scope_unit_id, day)[1:])
    ]
    return out


async def readable(ctx: QCtx, unit_id: str, day: dt.date, what: str) -> None:
    """Unit-level listings (a unit's status, the units missing, the per-unit report) are read by an actor
    of the unit or of an ancestor on the tree date; the aggregate figures (coverage, summaries) by any
    actor, for any scope: they name no person, and a commune compares itself with the province."""
    view = await ctx.deps.trees(ctx.store.db).tree(ctx.store)
    require_read(ctx.actor, view.ancestry(unit_id, day), what)


async def q_unit_status(q: c.UnitStatusQuery, ctx: QCtx) -> dict[str, Any]:
    cache = ctx.deps.trees(ctx.store.db)
    day = await season_day(ctx.store, cache, ctx.today, q.year, q.unit_id)
    await readable(ctx, q.unit_id, day, f"the status of unit {q.unit_id}")
    if await ctx.store.units.get(q.unit_id) is None:
        raise NotFound(
            f"unit {q.unit_id} is not known to reporting (yet)",
            [{"rule": "not_known_yet", "field": "unit_id", "value": q.unit_id}],
        )
    year_doc = await ctx.store.unit_year(q.year, q.unit_id) or {}
    awards = await _folded(ctx, q.year, [q.unit_id])
    reports = reports_of({q.unit_id: year_doc.get("festival") or {}}, [q.unit_id])
    festivals = [
        {k: v for k, v in f.items() if k != "_id"} | {"festival_id": f["_id"]}
        for f in await ctx.store.festivals(q.year, q.unit_id)
    ]
    return {
        "year": q.year,
        "unit_id": q.unit_id,
        "festival": year_doc.get("festival") or {"planned": False, "held": False},
        "festivals": festivals,
        "models_launched": year_doc.get("models_launched", 0),
        "models_replicated": year_doc.get("models_replicated", 0),
        **awards.view(reports),
    }


def _name(view: UnitsView, unit_id: str, day: dt.date) -> str:
    record = view.unit(unit_id)
    period = record.at(day) if record else None
    return period.name if period else unit_id


def _shown_name(view: UnitsView, unit_id: str, day: dt.date) -> str:
    """The unit's name on `day`, else as it was last (a closed unit as it was)."""
    record = view.unit(unit_id)
    return record.shown(day).name if record else unit_id


def _row(view: UnitsView, unit_id: str, day: dt.date, summary: Mapping[str, Any]) -> dict[str, Any]:
    record = view.unit(unit_id)
    period = record.at(day) if record else None
    return {
        "unit_id": unit_id,
        "code": period.code if period else None,
        "name": period.name if period else unit_id,
        "flags": list(period.flags) if period else [],
        "kind": record.kind_at(day) if record else None,
        "parent_id": period.parent_id if period else None,
        "parent_name": _name(view, period.parent_id, day) if period and period.parent_id else None,
        "depth": len(view.ancestry(unit_id, day)),
        "planned": bool(summary.get("planned")),
        "held": bool(summary.get("held")),
        "held_on_time": bool(summary.get("held_on_time")),
        "reported_on_time": bool(summary.get("reported_on_time")),
        "both_parts": bool(summary.get("both_parts")),
        "accepted": bool(summary.get("accepted")),
        "returned": bool(summary.get("returned")),
        "participants": int(summary.get("participants") or 0),
        "cost_vnd": int(summary.get("cost_vnd") or 0),
        "funding": list(summary.get("funding") or []),
        "carried": list(summary.get("carried") or []),
        "held_on": summary.get("held_on"),
        "planned_date": summary.get("planned_date"),
    }


async def _expected(
    ctx: QCtx, year: int, scope: str, tree_date: dt.date | None
) -> tuple[dt.date, list[str], Callable[[str], dict[str, Any]], Callable[[str], Mapping[str, Any]]]:
    """The scope's expected units on the tree date, by id, and how to make the row of one (and read its
    summary). A page builds the rows of its own units only: a province's 100 000 rows were built for
    each page of 5 000 (its season report took 304 s of queries)."""
    cache = ctx.deps.trees(ctx.store.db)
    day = tree_date or await season_day(ctx.store, cache, ctx.today, year, scope)
    await readable(ctx, scope, day, f"the units of {scope}")
    view, day, kinds = await scope_of(ctx.store, cache, ctx.today, year, scope, tree_date)
    summaries = await cache.summaries_on(ctx.store, year, day)
    ids = sorted((await cache.day(ctx.store, day)).expected(scope, kinds))

    def summary(unit_id: str) -> Mapping[str, Any]:
        return summaries.get(unit_id) or {}

    return day, ids, lambda unit_id: _row(view, unit_id, day, summary(unit_id)), summary


async def q_units_missing(q: c.UnitsMissingQuery, ctx: QCtx) -> dict[str, Any]:
    day, ids, row, summary = await _expected(ctx, q.year, q.scope_unit_id, q.tree_date)
    # the reasons come from the summaries' flags (every unit: the totals), the rows for the page only
    reasons = {u: why for u in ids if (why := missing_reason(summary(u))) is not None}
    page, after = ids_page(list(reasons), q.limit, q.after)
    return {
        "year": q.year,
        "scope_unit_id": q.scope_unit_id,
        "tree_date": day.isoformat(),
        "missing_total": len(reasons),
        "by_reason": {why: sum(r == why for r in reasons.values()) for why in MISSING_REASONS},
        "units": [{**row(u), "reason": reasons[u]} for u in page],
        "next": after,
    }


async def q_units_report(q: c.UnitsReportQuery, ctx: QCtx) -> dict[str, Any]:
    day, ids, row, _ = await _expected(ctx, q.year, q.scope_unit_id, q.tree_date)
    page, after = ids_page(ids, q.limit, q.after)
    return {
        "year": q.year,
        "scope_unit_id": q.scope_unit_id,
        "tree_date": day.isoformat(),
        "units_total": len(ids),
        "units": [row(u) for u in page],
        "next": after,
    }


async def _subtree(ctx: QCtx, q: c.SummaryQuery) -> tuple[dt.date, list[str]]:
    """The scope's subtree on the tree date, and the units closed by then that it carries through the
    lineage (a commune merged on 1 Jul 2025: its awards and gifts count under its successor)."""
    cache = ctx.deps.trees(ctx.store.db)
    view, day, _ = await scope_of(ctx.store, cache, ctx.today, q.year, q.scope_unit_id, q.tree_date)
    ids = [q.scope_unit_id, *(u.unit_id for u in view.subtree(q.scope_unit_id, day))]
    inside = set(ids)
    for record in view.records.values():
        if record.valid_to <= day and record.unit_id not in inside:
            carrying = run(carriers(record.unit_id, day), view.unit)
            if carrying and carrying[0] in inside:
                ids.append(record.unit_id)
    return day, ids


async def _folded(ctx: QCtx, year: int, unit_ids: list[str]) -> AwardsFold:
    fold = AwardsFold()
    async for doc in ctx.store.unit_awards(year, unit_ids):
        fold.add(doc)
    return fold


async def q_awards_summary(q: c.SummaryQuery, ctx: QCtx) -> dict[str, Any]:
    day, ids = await _subtree(ctx, q)
    view = (await _folded(ctx, q.year, ids)).view()
    return {
        "year": q.year,
        "scope_unit_id": q.scope_unit_id,
        "tree_date": day.isoformat(),
        "nominations": view["nominations"],
        "awards": view["awards"],
        "awards_amount_vnd": view["awards_amount_vnd"],
        "standing": view["standing"],
    }


async def q_gifts_summary(q: c.SummaryQuery, ctx: QCtx) -> dict[str, Any]:
    day, ids = await _subtree(ctx, q)
    summaries = await ctx.deps.trees(ctx.store.db).summaries(ctx.store, q.year)
    view = (await _folded(ctx, q.year, ids)).view(reports_of(summaries, ids))
    return {"year": q.year, "scope_unit_id": q.scope_unit_id, "tree_date": day.isoformat(), **view["gifts"]}


POINT_LEVELS = ("ministry", "province", "district", "commune")


async def q_point_festivals(q: c.PointFestivalsQuery, ctx: QCtx) -> dict[str, Any]:
    """Aggregate figures, read by any actor (as coverage): a point festival is a public event."""
    cache = ctx.deps.trees(ctx.store.db)
    view, day, _ = await scope_of(ctx.store, cache, ctx.today, q.year, q.scope_unit_id, q.tree_date)
    index = await cache.day(ctx.store, day)
    inside = set(index.subtree(q.scope_unit_id))
    levels: dict[str, dict[str, Any]] = {
        level: {"festivals": 0, "held": 0, "delegates": 0, "items": []} for level in POINT_LEVELS
    }
    for f in await ctx.store.point_festivals(q.year):
        unit_id = f["unit_id"]
        counted = unit_id if unit_id in index.kind else next(iter(run(carriers(unit_id, day), view.unit)), None)
        if counted not in inside:
            continue
        slot = levels[f["point_level"]]
        held = f.get("status") == "held"
        slot["festivals"] += 1
        slot["held"] += held
        slot["delegates"] += len(f.get("delegates") or [])
        slot["items"].append(
            {
                "festival_id": f["_id"],
                "unit_id": unit_id,
                "unit_name": _shown_name(view, unit_id, day),
                "counted_under": counted,
                "designated_by": f.get("designated_by"),
                "status": f.get("status"),
                "date": f.get("held_on") or f.get("date"),
                "participants": int(f.get("participants") or 0) if held else 0,
                "delegates": list(f.get("delegates") or []),
            }
        )
    return {
        "year": q.year,
        "scope_unit_id": q.scope_unit_id,
        "tree_date": day.isoformat(),
        "festivals": sum(v["festivals"] for v in levels.values()),
        "delegates": sum(v["delegates"] for v in levels.values()),
        "by_level": levels,
    }


async def q_seasons(q: c.SeasonsQuery, ctx: QCtx) -> dict[str, Any]:
    """Read by any actor: a campaign is announced to the whole province (as the aggregate figures); with
    the tree's top-level units today, where a board without a season starts."""
    view = await ctx.deps.trees(ctx.store.db).tree(ctx.store)
    seasons = []
    for doc in sorted(await ctx.store.campaigns(q.year), key=lambda d: (d["window_start"], d["_id"])):
        day = dt.date.fromisoformat(doc["window_start"])
        seasons.append(
            {
                "campaign_id": doc["_id"],
                "scope_unit_id": doc["scope_unit_id"],
                "scope_name": _shown_name(view, doc["scope_unit_id"], day),
                "name": doc.get("name"),
                "window_start": doc["window_start"],
                "window_end": doc["window_end"],
                "report_deadline": doc["report_deadline"],
                "closed_on": doc.get("closed_on"),
                "upper_campaign_id": doc.get("upper_campaign_id"),
            }
        )
    roots = [
        {"unit_id": r.unit_id, "name": r.shown(ctx.today).name, "kind": r.kind_at(ctx.today)}
        for r in view.children(None, ctx.today)
    ]
    return {"year": q.year, "seasons": seasons, "roots": roots}


QUERIES: list[QuerySpec] = [
    QuerySpec("seasons", c.SeasonsQuery, q_seasons, "The year's campaigns: scope, window, deadline, closed or not."),
    QuerySpec(
        "coverage", c.CoverageQuery, q_coverage, "Coverage of a scope on a tree date, with a breakdown per child."
    ),
    QuerySpec("unit-status", c.UnitStatusQuery, q_unit_status, "One unit's festival, awards and gifts for a year."),
    QuerySpec(
        "units-missing",
        c.UnitsMissingQuery,
        q_units_missing,
        "Expected units with nothing planned, or only one part held.",
    ),
    QuerySpec(
        "units-report", c.UnitsReportQuery, q_units_report, "Every expected unit with its figures (season report)."
    ),
    QuerySpec("awards-summary", c.SummaryQuery, q_awards_summary, "Nominations and awards by form and status."),
    QuerySpec("gifts-summary", c.SummaryQuery, q_gifts_summary, "Gifts by funding source and beneficiary kind."),
    QuerySpec(
        "point-festivals", c.PointFestivalsQuery, q_point_festivals, "Point festivals by level, with their delegates."
    ),
]
