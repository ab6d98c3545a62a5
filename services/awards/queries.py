"""Awards' queries: the rules in force on a date; nominations, awards and gifts (by unit subtree on
a tree date, by festival; newest first, paged by the last id); a nominee's history."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from services.awards import certificates
from services.awards.deps import Awards
from services.awards.domain import Award, nominee_key
from services.awards.domain.model import decision_key
from services.awards.store import AwardsStore
from shared.authz import is_platform_admin, require_read
from shared.contract import awards as c
from shared.contract.errors import NotFound, RuleViolation, ValidationFailed
from shared.contract.text import fold
from shared.runtime.mongo import IN_CHUNK
from shared.runtime.queries import QueryContext, QuerySpec

QCtx = QueryContext[AwardsStore, Awards]
HIDDEN = ("sort_key", "achievement_key", "name_tokens")


async def q_rules(q: c.RulesQuery, ctx: QCtx) -> dict[str, Any]:
    day = q.date or ctx.today
    catalogue = ctx.deps.catalogue
    return {
        "date": day.isoformat(),
        "rules_version": catalogue.version,
        "forms": [f.view(day, catalogue.base_salary, catalogue.rounding) for f in catalogue.in_force(day)],
    }


async def _readable(ctx: QCtx, unit_id: str, day: dt.date, what: str, field: str = "unit_id") -> None:
    """Nominees' data (names, years of birth, positions), awards and gifts are read by an actor of the
    unit or of an ancestor, on the tree of `day`; a unit awards has not seen is refused like one out of
    scope, except to a platform admin, who is told it is not known yet."""
    require_read(ctx.actor, await ctx.store.readers(unit_id, day), what)  # a closed unit: its successors
    if await ctx.store.units.get(unit_id) is None:
        raise NotFound(
            f"unit {unit_id} is not known to awards (yet)",
            [{"rule": "not_known_yet", "field": field, "value": unit_id}],
        )


async def q_nomination(q: c.NominationQuery, ctx: QCtx) -> dict[str, Any]:
    n = await ctx.store.nomination(q.nomination_id)
    what = f"nomination {q.nomination_id}"
    if n is None:
        require_read(ctx.actor, [], what)
        raise NotFound(f"{what} does not exist", [{"field": "nomination_id", "value": q.nomination_id}])
    await _readable(ctx, n.nominee.unit_id, ctx.today, what)
    return n.model_dump(mode="json", exclude=set(HIDDEN))


async def _award(ctx: QCtx, award_id: str) -> Award:
    """An award, for an actor who may read it (a missing one is refused like one out of scope)."""
    a = await ctx.store.award(award_id)
    what = f"award {award_id}"
    if a is None:
        require_read(ctx.actor, [], what)
        raise NotFound(f"{what} does not exist", [{"field": "award_id", "value": award_id}])
    await _readable(ctx, a.unit_id, ctx.today, what)
    return a


async def q_award(q: c.AwardQuery, ctx: QCtx) -> dict[str, Any]:
    return (await _award(ctx, q.award_id)).model_dump(mode="json", exclude=set(HIDDEN))


async def q_attachment(q: c.AttachmentQuery, ctx: QCtx) -> dict[str, Any]:
    """A part of a dossier's file, for an actor who may read the nomination (its nominee's unit or above)."""
    n = await ctx.store.nomination(q.nomination_id)
    what = f"the files of nomination {q.nomination_id}"
    if n is None:
        require_read(ctx.actor, [], what)
        raise NotFound(f"nomination {q.nomination_id} does not exist", [{"field": "nomination_id"}])
    await _readable(ctx, n.nominee.unit_id, ctx.today, what)
    found = next((a for a in n.attachments if a.attachment_id == q.attachment_id), None)
    if found is None:
        raise NotFound(
            f"nomination {q.nomination_id} has no attachment {q.attachment_id}",
            [{"field": "attachment_id", "value": q.attachment_id}],
        )
    data = await ctx.deps.files.read(found.sha256, q.offset, q.length) if q.offset < found.size else b""
    end = q.offset + len(data)
    return {
        **found.model_dump(mode="json"),
        "offset": q.offset,
        "data": base64.b64encode(data).decode(),
        "next": end if end < found.size else None,
    }


async def q_certificate(q: c.CertificateQuery, ctx: QCtx) -> dict[str, Any]:
    """A standing award's certificate, read by an actor who may read the award."""
    a = await _award(ctx, q.award_id)
    what = f"award {q.award_id}"
    if a.status == "revoked":
        raise RuleViolation(
            f"{what} was revoked ({a.revocation.decision_no if a.revocation else ''}): it has no certificate",
            [{"field": "award_id", "rule": "award_standing"}],
        )
    form = ctx.deps.catalogue.form(a.award_form)
    if form is None or form.certificate is None:
        raise RuleViolation(f"award form {a.award_form} has no certificate template", [{"rule": "certificate"}])
    grantor_unit = await ctx.store.name_of(a.decided_by.unit_id, a.decision_date) if a.decided_by.unit_id else None
    chain = await ctx.store.chain(a.unit_id, a.decision_date) or []
    province = next((u.name for u in chain if u.kind == "province"), None)
    return {
        "award_id": a.award_id,
        "award_form": a.award_form,
        "form_name": form.name,
        "status": a.status,
        "imported": a.imported,
        "lines": certificates.render(a, form, grantor_unit, province),
    }


async def q_nominees(q: c.NomineesQuery, ctx: QCtx) -> dict[str, Any]:
    """People nominated in the subtree whose name has every word of `text` (folded: no diacritics, any
    case); each once, as last nominated, with how many nominations and awards (imported ones too) they
    have there. Their history is the `history` query with their person_id."""
    words = fold(q.text).split()
    if not words:
        raise ValidationFailed("text has no word to look for", [{"field": "text"}])
    people: dict[str, dict[str, Any]] = {}
    for chunk in await _unit_filters(ctx, "nominee.unit_id", _scope(ctx, q.unit_id), None):
        flt = {**chunk, "name_tokens": {"$all": words}}
        fields = {"nominee": 1, "award_id": 1, "imported": 1, "sort_key": 1}
        for doc in await ctx.store.db.nominations.find(flt, fields).sort("sort_key", -1).to_list():
            person = doc["nominee"]["person"]
            entry = people.setdefault(
                person["person_id"],
                {"person_id": person["person_id"], "name": person["name"], "position": person.get("position"),
                 "unit_id": doc["nominee"]["unit_id"], "nominations": 0, "awards": 0, "imported_awards": 0},
            )  # fmt: skip
            entry["nominations"] += 1
            entry["awards"] += 1 if doc.get("award_id") else 0
            entry["imported_awards"] += 1 if doc.get("imported") else 0
    items = sorted(people.values(), key=lambda p: (fold(p["name"]), p["person_id"]))
    return {"items": items[: q.limit], "more": len(items) > q.limit}


async def q_decision(q: c.DecisionQuery, ctx: QCtx) -> dict[str, Any]:
    """A decision and its awards as they stand now (conferred, revoked), in the decision's order: read
    by an actor who may read every nominee's unit (the annex names people)."""
    decision_id = q.decision_id or decision_key(q.unit_id, "", q.year or 0, q.decision_no or "")
    d = await ctx.store.decision(decision_id)
    what = f"decision {decision_id}"
    if d is None:
        require_read(ctx.actor, [], what)
        raise NotFound(f"{what} is not recorded", [{"field": "decision_id", "value": decision_id}])
    for unit_id in sorted({item.nominee.unit_id for item in d.nominations}):
        require_read(ctx.actor, await ctx.store.readers(unit_id, ctx.today), what)
    awards = {
        doc["award_id"]: {k: v for k, v in doc.items() if k not in HIDDEN}
        for doc in await ctx.store.db.awards.find({"decision_id": decision_id}).to_list()
    }
    out = d.model_dump(mode="json", exclude={"sort_key"})
    out["awards"] = [awards.get(item.award_id) for item in d.nominations]
    return out


async def _festival_filter(ctx: QCtx, festival_id: str) -> dict[str, Any]:
    """What a festival's lists are read by: an actor of its unit or above, on its day."""
    festival = await ctx.store.festival(festival_id)
    what = f"the records of festival {festival_id}"
    if festival is None:
        require_read(ctx.actor, [], what)
        raise NotFound(
            f"festival {festival_id} is not known to awards (yet)",
            [{"rule": "not_known_yet", "field": "festival_id", "value": festival_id}],
        )
    await _readable(ctx, festival.unit_id, festival.date, what)
    return {"festival_id": festival_id}


def _scope(ctx: QCtx, unit_id: str | None, festival_id: str | None = None) -> str | None:
    """The unit whose subtree a list covers: the one asked; with neither a unit nor a festival, the
    actor's own (a list without a unit lists only the actor's subtree; a platform operator's, all)."""
    if unit_id is not None or festival_id is not None or is_platform_admin(ctx.actor):
        return unit_id
    return ctx.actor.unit


async def _unit_filters(ctx: QCtx, field: str, unit_id: str | None, tree_date: dt.date | None) -> list[dict[str, Any]]:
    """One filter per chunk of the subtree's unit ids (on the tree date), or one empty filter."""
    if unit_id is None:
        return [{}]
    day = tree_date or ctx.today
    await _readable(ctx, unit_id, day, f"the records of unit {unit_id}")
    ids = await ctx.store.subtree_ids(unit_id, day)
    return [
        {field: ids[i]} if len(ids) - i == 1 else {field: {"$in": ids[i : i + IN_CHUNK]}}
        for i in range(0, len(ids), IN_CHUNK)
    ]


async def _in_subtree(ctx: QCtx, unit_ids: set[str]) -> set[str]:
    """Those of `unit_ids` in the actor's subtree today."""
    return {u for u in unit_ids if ctx.actor.unit in await ctx.store.units.ancestry(u, ctx.today)}


def _page(found: list[dict[str, Any]], limit: int, key: str) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first across chunks; `next` is the last item's id when more remain."""
    found.sort(key=lambda d: d["sort_key"], reverse=True)
    more = len(found) > limit
    items = [{k: v for k, v in d.items() if k not in HIDDEN} for d in found[:limit]]
    return items, (items[-1][key] if more and items else None)


async def _list(
    ctx: QCtx, coll: str, base: dict[str, Any], chunks: list[dict[str, Any]], limit: int, after: str | None
) -> list[dict[str, Any]]:
    filters = [{**base, **chunk} for chunk in chunks]
    after_key = await ctx.store.cursor_key(coll, after, filters) if after is not None else None
    found: list[dict[str, Any]] = []
    for flt in filters:
        found += await ctx.store.find(coll, flt, limit + 1, after_key)
    return found


def _filters(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


async def q_nominations(q: c.NominationsQuery, ctx: QCtx) -> dict[str, Any]:
    chunks = await _unit_filters(ctx, "nominee.unit_id", _scope(ctx, q.unit_id), q.tree_date)
    base = _filters(year=q.year, status=q.status, award_form=q.award_form)
    if q.overdue is not None:  # open dossiers past (or not past) their due date, today
        today = ctx.today.isoformat()
        late = {"status": {"$in": ["submitted", "resubmitted"]}, "due_on": {"$lt": today}}
        base = {**base, **late} if q.overdue else {**base, "$nor": [late]}
    items, nxt = _page(await _list(ctx, "nominations", base, chunks, q.limit, q.after), q.limit, "nomination_id")
    return {"items": items, "next": nxt}


async def q_awards(q: c.AwardsQuery, ctx: QCtx) -> dict[str, Any]:
    by_festival = await _festival_filter(ctx, q.festival_id) if q.festival_id is not None else {}
    chunks = await _unit_filters(ctx, "unit_id", _scope(ctx, q.unit_id, q.festival_id), q.tree_date)
    base = {**by_festival, **_filters(year=q.year, status=q.status)}
    items, nxt = _page(await _list(ctx, "awards", base, chunks, q.limit, q.after), q.limit, "award_id")
    return {"items": items, "next": nxt}


async def q_history(q: c.HistoryQuery, ctx: QCtx) -> dict[str, Any]:
    """A collective's history, to an actor of its unit or above; a person's, the records of units in the
    actor's subtree (a person with none there reads as one who does not exist)."""
    person_id = q.nominee.person.person_id if q.nominee.person else None
    what = "the history of this nominee"
    key = nominee_key(q.nominee.kind, q.nominee.unit_id, person_id)
    by_n: dict[str, Any] = {"nominee_key": key}
    by_a: dict[str, Any] = {"nominee_key": key}
    if q.nominee.kind == "collective" and q.nominee.unit_id is not None:
        await _readable(ctx, q.nominee.unit_id, ctx.today, what, "nominee.unit_id")
        # a collective's history includes the units it was formed from or absorbed (marked as such)
        earlier = [f"unit:{u}" for u in await ctx.store.predecessors(q.nominee.unit_id)]
        if earlier:
            by_n = by_a = {"nominee_key": {"$in": [key, *earlier]}}
    elif not is_platform_admin(ctx.actor):  # only the records of units in the actor's subtree, whatever the page
        units = set(await ctx.store.db.nominations.distinct("nominee.unit_id", by_n)) | set(
            await ctx.store.db.awards.distinct("unit_id", by_a)
        )
        mine = sorted(await _in_subtree(ctx, units))
        if not mine:
            require_read(ctx.actor, [], what)
        by_n["nominee.unit_id"] = {"$in": mine}
        by_a["unit_id"] = {"$in": mine}
    found_n = await _list(ctx, "nominations", by_n, [{}], q.limit, q.nominations_after)
    found_a = await _list(ctx, "awards", by_a, [{}], q.limit, q.awards_after)
    nominations, n_next = _page(found_n, q.limit, "nomination_id")
    awards, a_next = _page(found_a, q.limit, "award_id")
    for item in (*nominations, *awards):
        item["predecessor"] = item["nominee_key"] != key  # earned by a unit this one was formed from
    return {
        "nominee_key": key,
        "nominations": nominations,
        "nominations_next": n_next,
        "awards": awards,
        "awards_next": a_next,
    }


async def q_gifts(q: c.GiftsQuery, ctx: QCtx) -> dict[str, Any]:
    by_festival = await _festival_filter(ctx, q.festival_id) if q.festival_id is not None else {}
    chunks = await _unit_filters(ctx, "unit_id", _scope(ctx, q.unit_id, q.festival_id), q.tree_date)
    base = {**by_festival, **_filters(year=q.year, beneficiary_kind=q.beneficiary_kind)}
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
    QuerySpec("attachment", c.AttachmentQuery, q_attachment, "A part of a dossier's file (base64), in scope."),
    QuerySpec("certificate", c.CertificateQuery, q_certificate, "An award's certificate, from its form's template."),
    QuerySpec("nominees", c.NomineesQuery, q_nominees, "People nominated, found by name without diacritics."),
    QuerySpec("decision", c.DecisionQuery, q_decision, "A decision (record-decision) with its awards: the annex."),
    QuerySpec("awards", c.AwardsQuery, q_awards, "Awards of a festival or of a unit's subtree, newest first, paged."),
    QuerySpec("history", c.HistoryQuery, q_history, "A nominee's nominations and awards, newest first, paged."),
    QuerySpec("gifts", c.GiftsQuery, q_gifts, "Gifts of a unit's subtree or a festival, newest first, with totals."),
]
