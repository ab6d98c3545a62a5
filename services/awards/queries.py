"""Awards' queries: the rules in force on a date; nominations, awards and gifts (by unit subtree on
a tree date, by festival; newest first, paged by the last id); a nominee's history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.awards.deps import Awards
from services.awards.domain import nominee_key
from services.awards.store import AwardsStore
from shared.contract import awards as c
from shared.contract.errors import NotFound
from shared.runtime.mongo import IN_CHUNK
from shared.runtime.queries import QueryContext, QuerySpec

QCtx = QueryContext[AwardsStore, Awards]
HIDDEN = ("sort_key", "achievement_key")


async def q_rules(q: c.RulesQuery, ctx: QCtx) -> dict[str, Any]:
    day = q.date or ctx.today
    catalogue = ctx.deps.catalogue
    return {
        "date": day.isoformat(),
        "rules_version": catalogue.version,
        "forms": [f.view(day, catalogue.base_salary) for f in catalogue.in_force(day)],
    }


async def q_nomination(q: c.NominationQuery, ctx: QCtx) -> dict[str, Any]:
    n = await ctx.store.nomination(q.nomination_id)
    if n is None:
        raise NotFound(f"nomination {q.nomination_id} does not exist", [{"field": "nomination_id"}])
    return n.model_dump(mode="json", exclude=set(HIDDEN))


async def q_award(q: c.AwardQuery, ctx: QCtx) -> dict[str, Any]:
    a = await ctx.store.award(q.award_id)
    if a is None:
        raise NotFound(f"award {q.award_id} does not exist", [{"field": "award_id"}])
    return a.model_dump(mode="json", exclude=set(HIDDEN))


async def _known_unit(ctx: QCtx, unit_id: str, field: str = "unit_id") -> None:
    if await ctx.store.units.get(unit_id) is None:
        raise NotFound(
            f"unit {unit_id} is not known to awards (yet)",
            [{"rule": "not_known_yet", "field": field, "value": unit_id}],
        )


async def _known_festival(ctx: QCtx, festival_id: str) -> None:
    if await ctx.store.festival(festival_id) is None:
        raise NotFound(
            f"festival {festival_id} is not known to awards (yet)",
            [{"rule": "not_known_yet", "field": "festival_id", "value": festival_id}],
        )


async def _unit_filters(ctx: QCtx, field: str, unit_id: str | None, tree_date: dt.date | None) -> list[dict[str, Any]]:
    """One filter per chunk of the subtree's unit ids (on the tree date), or one empty filter."""
    if unit_id is None:
        return [{}]
    await _known_unit(ctx, unit_id)
    ids = await ctx.store.subtree_ids(unit_id, tree_date or ctx.today)
    return [
        {field: ids[i]} if len(ids) - i == 1 else {field: {"$in": ids[i : i + IN_CHUNK]}}
        for i in range(0, len(ids), IN_CHUNK)
    ]


def _page(found: list[dict[str, Any]], limit: int, key: str) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first across chunks; `next` is the last item's id when more remain."""
    found.sort(key=lambda d: d["sort_key"], reverse=True)
    more = len(found) > limit
    items = [{k: v for k, v in d.items() if k not in HIDDEN} for d in found[:limit]]
    return items, (items[-1][key] if more and items else None)


async def _list(
    ctx: QCtx, coll: str, base: dict[str, Any], chunks: list[dict[str, Any]], limit: int, after: str | None
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in chunks:
        found += await ctx.store.find(coll, {**base, **chunk}, limit + 1, after)
    return found


def _filters(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


async def q_nominations(q: c.NominationsQuery, ctx: QCtx) -> dict[str, Any]:
    chunks = await _unit_filters(ctx, "nominee.unit_id", q.unit_id, q.tree_date)
    base = _filters(year=q.year, status=q.status, award_form=q.award_form)
    items, nxt = _page(await _list(ctx, "nominations", base, chunks, q.limit, q.after), q.limit, "nomination_id")
    return {"items": items, "next": nxt}


async def q_awards(q: c.AwardsQuery, ctx: QCtx) -> dict[str, Any]:
    if q.festival_id is not None:
        await _known_festival(ctx, q.festival_id)
    chunks = await _unit_filters(ctx, "unit_id", q.unit_id, q.tree_date)
    base = _filters(festival_id=q.festival_id, year=q.year, status=q.status)
    items, nxt = _page(await _list(ctx, "awards", base, chunks, q.limit, q.after), q.limit, "award_id")
    return {"items": items, "next": nxt}


async def q_history(q: c.HistoryQuery, ctx: QCtx) -> dict[str, Any]:
    person_id = q.nominee.person.person_id if q.nominee.person else None
    if q.nominee.kind == "collective" and q.nominee.unit_id is not None:
        await _known_unit(ctx, q.nominee.unit_id, "nominee.unit_id")
    key = nominee_key(q.nominee.kind, q.nominee.unit_id, person_id)
    nominations, n_next = _page(
        await ctx.store.find("nominations", {"nominee_key": key}, q.limit + 1, q.nominations_after),
        q.limit,
        "nomination_id",
    )
    awards, a_next = _page(
        await ctx.store.find("awards", {"nominee_key": key}, q.limit + 1, q.awards_after), q.limit, "award_id"
    )
    return {
        "nominee_key": key,
        "nominations": nominations,
        "nominations_next": n_next,
        "awards": awards,
        "awards_next": a_next,
    }


async def q_gifts(q: c.GiftsQuery, ctx: QCtx) -> dict[str, Any]:
    if q.festival_id is not None:
        await _known_festival(ctx, q.festival_id)
    chunks = await _unit_filters(ctx, "unit_id", q.unit_id, q.tree_date)
    base = _filters(festival_id=q.festival_id, year=q.year, beneficiary_kind=q.beneficiary_kind)
    totals = {"entries": 0, "recipients": 0, "value_vnd": 0}
    for chunk in chunks:
        for k, v in (await ctx.store.totals("gifts", {**base, **chunk})).items():
            totals[k] += v
    items, nxt = _page(await _list(ctx, "gifts", base, chunks, q.limit, q.after), q.limit, "gift_id")
    return {"items": items, "next": nxt, "totals": totals}


QUERIES: list[QuerySpec] = [
    QuerySpec("rules", c.RulesQuery, q_rules, "Award forms in force on a date, with amounts and flags."),
    QuerySpec("nomination", c.NominationQuery, q_nomination, "One nomination with its steps."),
    QuerySpec(
        "nominations", c.NominationsQuery, q_nominations, "Nominations of a unit's subtree, newest first, paged."
    ),
    QuerySpec("award", c.AwardQuery, q_award, "One award."),
    QuerySpec("awards", c.AwardsQuery, q_awards, "Awards of a festival or of a unit's subtree, newest first, paged."),
    QuerySpec("history", c.HistoryQuery, q_history, "A nominee's nominations and awards, newest first, paged."),
    QuerySpec("gifts", c.GiftsQuery, q_gifts, "Gifts of a unit's subtree or a festival, newest first, with totals."),
]
