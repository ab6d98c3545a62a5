"""Awards' queries: the rules in force on a date; nominations, awards and gifts (by unit subtree on
a tree date, by festival; newest first, paged by the last id); a nominee's history."""

from __future__ import annotations

from typing import Any

from services.awards.domain import nominee_key
from services.awards.rules import load
from services.awards.store import AwardsStore
from shared.contract import awards as c
from shared.contract.errors import NotFound
from shared.runtime.queries import QueryContext, QuerySpec

QCtx = QueryContext[AwardsStore]
IN_CHUNK = 5000  # unit ids per $in


async def q_rules(q: c.RulesQuery, ctx: QCtx) -> dict[str, Any]:
    day = q.date or ctx.today
    catalogue = load()
    return {
        "date": day.isoformat(),
        "rules_version": catalogue.version,
        "forms": [f.view(day, catalogue.base_salary) for f in catalogue.in_force(day)],
    }


async def q_nomination(q: c.NominationQuery, ctx: QCtx) -> dict[str, Any]:
    n = await ctx.store.nomination(q.nomination_id)
    if n is None:
        raise NotFound(f"nomination {q.nomination_id} does not exist", [{"field": "nomination_id"}])
    return n.model_dump(mode="json", exclude={"achievement_key"})


async def q_award(q: c.AwardQuery, ctx: QCtx) -> dict[str, Any]:
    a = await ctx.store.award(q.award_id)
    if a is None:
        raise NotFound(f"award {q.award_id} does not exist", [{"field": "award_id"}])
    return a.model_dump(mode="json")


async def _units(ctx: QCtx, unit_id: str, tree_date: Any) -> list[str]:
    day = tree_date or ctx.today
    if await ctx.store.units.get(unit_id) is None:
        raise NotFound(f"unit {unit_id} is not known to awards (yet)", [{"field": "unit_id", "value": unit_id}])
    return await ctx.store.subtree_ids(unit_id, day)


def _page(items: list[dict[str, Any]], limit: int, key: str) -> dict[str, Any]:
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next": items[-1][key] if more and items else None}


def _in(field: str, ids: list[str]) -> dict[str, Any]:
    return {field: ids[0]} if len(ids) == 1 else {field: {"$in": ids}}


async def q_nominations(q: c.NominationsQuery, ctx: QCtx) -> dict[str, Any]:
    ids = await _units(ctx, q.unit_id, q.tree_date)
    flt: dict[str, Any] = {}
    if q.year is not None:
        flt["year"] = q.year
    if q.status is not None:
        flt["status"] = q.status
    if q.award_form is not None:
        flt["award_form"] = q.award_form
    if q.after is not None:
        flt["_id"] = {"$lt": q.after}
    found: list[dict[str, Any]] = []
    for i in range(0, len(ids), IN_CHUNK):
        found += await ctx.store.find(
            "nominations", {**flt, **_in("nominee.unit_id", ids[i : i + IN_CHUNK])}, q.limit + 1
        )
    found.sort(key=lambda n: n["nomination_id"], reverse=True)
    for n in found:
        n.pop("achievement_key", None)
    return _page(found, q.limit, "nomination_id")


async def q_awards(q: c.AwardsQuery, ctx: QCtx) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if q.festival_id is not None:
        flt["festival_id"] = q.festival_id
    if q.year is not None:
        flt["year"] = q.year
    if q.status is not None:
        flt["status"] = q.status
    if q.after is not None:
        flt["_id"] = {"$lt": q.after}
    found: list[dict[str, Any]] = []
    if q.unit_id is None:
        found = await ctx.store.find("awards", flt, q.limit + 1)
    else:
        ids = await _units(ctx, q.unit_id, q.tree_date)
        for i in range(0, len(ids), IN_CHUNK):
            found += await ctx.store.find("awards", {**flt, **_in("unit_id", ids[i : i + IN_CHUNK])}, q.limit + 1)
        found.sort(key=lambda a: a["award_id"], reverse=True)
    return _page(found, q.limit, "award_id")


async def q_history(q: c.HistoryQuery, ctx: QCtx) -> dict[str, Any]:
    person_id = q.nominee.person.get("person_id") if q.nominee.person else None
    key = nominee_key(q.nominee.kind, q.nominee.unit_id, person_id)
    nominations = await ctx.store.find("nominations", {"nominee_key": key}, q.limit)
    awards = await ctx.store.find("awards", {"nominee_key": key}, q.limit)
    for n in nominations:
        n.pop("achievement_key", None)
    nominations.sort(key=lambda n: (n["submitted_on"], n["nomination_id"]), reverse=True)
    awards.sort(key=lambda a: (a["decision_date"], a["award_id"]), reverse=True)
    return {"nominee_key": key, "nominations": nominations, "awards": awards}


async def q_gifts(q: c.GiftsQuery, ctx: QCtx) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if q.festival_id is not None:
        flt["festival_id"] = q.festival_id
    if q.year is not None:
        flt["year"] = q.year
    if q.beneficiary_kind is not None:
        flt["beneficiary_kind"] = q.beneficiary_kind
    chunks: list[dict[str, Any]] = [{}]
    if q.unit_id is not None:
        ids = await _units(ctx, q.unit_id, q.tree_date)
        chunks = [_in("unit_id", ids[i : i + IN_CHUNK]) for i in range(0, len(ids), IN_CHUNK)]
    found: list[dict[str, Any]] = []
    totals = {"entries": 0, "recipients": 0, "value_vnd": 0}
    for chunk in chunks:
        for k, v in (await ctx.store.totals("gifts", {**flt, **chunk})).items():
            totals[k] += v
        page_flt = {**flt, **chunk, **({"_id": {"$lt": q.after}} if q.after else {})}
        found += await ctx.store.find("gifts", page_flt, q.limit + 1)
    found.sort(key=lambda g: g["gift_id"], reverse=True)
    return {**_page(found, q.limit, "gift_id"), "totals": totals}


QUERIES: list[QuerySpec] = [
    QuerySpec("rules", c.RulesQuery, q_rules, "Award forms in force on a date, with amounts and flags."),
    QuerySpec("nomination", c.NominationQuery, q_nomination, "One nomination with its steps."),
    QuerySpec("nominations", c.NominationsQuery, q_nominations, "Nominations of a unit's subtree, paged."),
    QuerySpec("award", c.AwardQuery, q_award, "One award."),
    QuerySpec("awards", c.AwardsQuery, q_awards, "Awards of a festival or of a unit's subtree, paged."),
    QuerySpec("history", c.HistoryQuery, q_history, "A nominee's nominations and awards, newest first."),
    QuerySpec("gifts", c.GiftsQuery, q_gifts, "Gifts of a unit's subtree or a festival, paged, with totals."),
]
