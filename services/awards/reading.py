"""What awards' command handlers read before they decide: the forms, the province's police agency, the
nominations holding a nominee's keys (through the lineage), the awards an eligibility names, who decides
a nomination on a date, who granted a past award; and the keys a nomination takes and releases."""

from __future__ import annotations

import datetime as dt

from services.awards import domain as d
from services.awards.deps import Awards
from services.awards.domain import decisions
from services.awards.rules import Form
from services.awards.store import AwardsStore
from shared.authz import is_platform_admin
from shared.contract import awards as c
from shared.contract.errors import DomainError, RuleViolation
from shared.runtime.pipeline import Context as BaseContext

Context = BaseContext[AwardsStore, Awards]


def form_of(ctx: Context, code: str) -> Form:
    form = ctx.deps.catalogue.form(code)
    if form is None:  # the data file lost a form that stored nominations use: an operator's error
        raise RuleViolation(f"award form {code} is no longer in the rules file")
    return form


async def police(ctx: Context, form: Form, chain: decisions.Chain, day: dt.date) -> d.Ancestor | None:
    """The province's police agency, read only for the forms it grants."""
    province = d.province_of(chain or [])
    if form.grantor.level != "provincial_police" or province is None:
        return None
    return d.police_of(await ctx.store.units_under(province, day))


async def held(ctx: Context, keys: list[str], mine: str | None = None) -> list[tuple[d.Nomination | None, bool]]:
    """The nomination holding each key (other than `mine`), and whether the actor may see it (is of its
    nominee's unit or above, today)."""
    out: list[tuple[d.Nomination | None, bool]] = []
    for key in keys:
        n = await ctx.store.holder(key)
        if n is None or n.nomination_id == mine:
            out.append((None, False))
            continue
        readers = await ctx.store.readers(n.nominee.unit_id, ctx.today)
        out.append((n, is_platform_admin(ctx.actor) or ctx.actor.unit in readers))
    return out


async def held_through_lineage(
    ctx: Context,
    nominee: str,
    unit_id: str,
    year: int,
    achievement: str,
    form: Form,
    person_id: str | None,
    mine: str | None = None,
) -> list[tuple[d.Nomination | None, bool]]:
    """The holders of a nominee's keys; for a collective, a key its predecessors hold counts too (one
    achievement, one award, and once-only forms, follow the lineage: a successor is not commended again
    for what a unit it absorbed was)."""
    keys = d.keys_for(nominee, year, achievement, form.code, person_id, form.once_only)
    holders = await held(ctx, keys, mine)
    if nominee.startswith("unit:"):
        for earlier in await ctx.store.predecessors(unit_id):
            theirs = d.keys_for(f"unit:{earlier}", year, achievement, form.code, None, form.once_only)
            found = await held(ctx, theirs, mine)
            holders = [h if h[0] is not None else f for h, f in zip(holders, found, strict=True)]
    return holders


async def prior_awards(ctx: Context, facts: c.Eligibility | None) -> dict[str, d.Award | None]:
    """The awards an eligibility's prior commendations name by id, as stored (None: none such, or none the
    actor may read: naming another unit's award tells nothing of it)."""
    ids = [p.award_id for p in (facts.prior_commendations if facts else []) if p.award_id is not None]
    out: dict[str, d.Award | None] = {}
    for award_id in dict.fromkeys(ids):
        award = await ctx.store.award(award_id)
        visible = award is not None and (
            is_platform_admin(ctx.actor) or ctx.actor.unit in await ctx.store.readers(award.unit_id, ctx.today)
        )
        out[award_id] = award if visible else None  # one the actor may not read reads as one that is not here
    return out


async def take_keys(ctx: Context, n: d.Nomination, form: Form) -> None:
    for key in d.keys(n, form.once_only):
        await ctx.store.take_key(key, n.nomination_id)


async def release_keys(ctx: Context, n: d.Nomination, form: Form) -> None:
    for key in d.keys(n, form.once_only):
        await ctx.store.release_key(key, n.nomination_id)


async def decided(
    ctx: Context, n: d.Nomination | None, nomination_id: str, day: dt.date, what: str
) -> tuple[c.Authority, list[str]]:
    """Read the nominee's tree on the decision `day` (it may have changed since the submission: a unit
    closed by a merger is read through the lineage, on its successor's tree), then decide who decides:
    the actor must be that authority (DESIGN §2). Also returns the successors read."""
    form = ctx.deps.catalogue.form(n.award_form) if n is not None else None
    chain, successors = await ctx.store.lineage_chain(n.nominee.unit_id, day) if n is not None else (None, [])
    agency = await police(ctx, form, chain, day) if form is not None else None
    return decisions.decider(ctx.actor, n, form, chain, agency, nomination_id, day, what), successors


async def past_authority(ctx: Context, cmd: c.ImportAward, form: Form) -> tuple[c.Authority | None, str | None]:
    """Who granted a past award, read on the tree of its decision date as for one decided here (None
    where that tree does not reach so far back), and the nominee's unit's name then."""
    unit_id, day = cmd.nominee.unit_id, cmd.decision_date
    chain, _ = await ctx.store.lineage_chain(unit_id, day)
    earned_by = await ctx.store.name_of(unit_id, day) or await ctx.store.name_of(unit_id, ctx.today)
    if not chain:
        return None, earned_by
    try:
        return d.grantor_of(form, chain, await police(ctx, form, chain, day)), earned_by
    except DomainError:
        return None, earned_by
