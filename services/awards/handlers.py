"""Awards' command handlers: load (with the actor's authority, from awards' own replicas) → call the
domain → save (+ events). The table at the end is the one place the commands are registered."""

from __future__ import annotations

import datetime as dt

from services.awards import domain as d
from services.awards.rules import Catalogue, Form, load
from services.awards.store import AwardsStore
from shared.contract import awards as c
from shared.contract.errors import Conflict, NotFound, RuleViolation
from shared.replicas.authz import Permission, is_platform_admin, require_scope
from shared.runtime.pipeline import CommandSpec, Outcome
from shared.runtime.pipeline import Context as BaseContext

Context = BaseContext[AwardsStore]


def catalogue() -> Catalogue:
    return load()


# ------------------------------------------------------------------------------------ loading


async def nominee_chain(ctx: Context, unit_id: str, day: dt.date, field: str = "nominee.unit_id") -> list[d.Link]:
    """The unit's ancestry on `day`. A unit awards has not seen is `not_found` (never accepted blindly)."""
    chain = await ctx.store.chain(unit_id, day)
    if chain is None:
        raise NotFound(
            f"unit {unit_id} is not known to awards (yet): awards learns units from registry's events",
            [{"field": field, "value": unit_id}],
        )
    if not chain:
        raise RuleViolation(
            f"unit {unit_id} does not exist on {day.isoformat()} (closed, or not yet valid)",
            [{"field": field, "value": unit_id, "rule": "unit_active"}],
        )
    return chain


def in_scope(ctx: Context, chain: list[d.Link], permission: Permission, what: str) -> None:
    require_scope(ctx.actor, [u.unit_id for u in chain], permission, what)


async def grantor(ctx: Context, form: Form, chain: list[d.Link], day: dt.date) -> c.Authority:
    police = None
    if form.grantor.level == "provincial_police" and chain[-1].kind == "province":
        police = await ctx.store.police(chain[-1].unit_id, day)
    return d.grantor_of(form, chain, police)


def province_of(chain: list[d.Link]) -> str | None:
    return chain[-1].unit_id if chain and chain[-1].kind == "province" else None


def refuse_unknown(ctx: Context, permission: Permission, what: str) -> None:
    """An id that names nothing is refused as one the actor has no authority over (the same message),
    except to a platform admin, who is told it does not exist."""
    if permission == "decide":
        d.require_decider(ctx.actor, c.Authority(kind="unit", unit_id=None, name="?"), None, what)
    else:
        require_scope(ctx.actor, [], permission, what)


async def nomination(ctx: Context, nomination_id: str, permission: Permission, what: str) -> d.Nomination:
    n = await ctx.store.nomination(nomination_id)
    if n is None:
        refuse_unknown(ctx, permission, what)
        raise NotFound(
            f"nomination {nomination_id} does not exist", [{"field": "nomination_id", "value": nomination_id}]
        )
    return n


async def award(ctx: Context, award_id: str, permission: Permission, what: str) -> d.Award:
    a = await ctx.store.award(award_id)
    if a is None:
        refuse_unknown(ctx, permission, what)
        raise NotFound(f"award {award_id} does not exist", [{"field": "award_id", "value": award_id}])
    return a


async def festival(
    ctx: Context, festival_id: str | None, chain: list[d.Link], year: int | None = None
) -> d.KnownFestival | None:
    if festival_id is None:
        return None
    found = await ctx.store.festival(festival_id)
    return d.check_festival(found, festival_id, [u.unit_id for u in chain], year)


async def sees(ctx: Context, unit_id: str) -> bool:
    """Whether the actor has authority over `unit_id` today (to be told about its records)."""
    if is_platform_admin(ctx.actor):
        return True
    chain = await ctx.store.chain(unit_id, ctx.today) or []
    return ctx.actor.unit in [u.unit_id for u in chain]


def form_of(code: str) -> Form:
    form = catalogue().form(code)
    if form is None:  # the data file lost a form that stored nominations use: an operator's error
        raise RuleViolation(f"award form {code} is no longer in the rules file")
    return form


def keys(n: d.Nomination, form: Form) -> list[str]:
    out = [f"achievement:{n.nominee_key}|{n.year}|{n.achievement_key}"]
    if form.once_only and n.nominee.person is not None:
        out.append(f"once:{form.code}|{n.nominee.person.person_id}")
    return out


async def take_keys(ctx: Context, n: d.Nomination, form: Form) -> None:
    """Hold the nomination's achievement (and, for a once-only form, the person's form); a refusal names
    the earlier nomination only to an actor who may see it."""
    achievement, *once = keys(n, form)
    if (earlier := await ctx.store.holder(achievement)) is not None:
        d.refuse_duplicate(earlier, await sees(ctx, earlier.nominee.unit_id))
    for key in once:
        if (earlier := await ctx.store.holder(key)) is not None:
            person_id = n.nominee.person.person_id if n.nominee.person else None
            d.refuse_once_only(form, person_id, earlier, await sees(ctx, earlier.nominee.unit_id))
    for key in (achievement, *once):
        await ctx.store.take_key(key, n.nomination_id)


# ------------------------------------------------------------------------------------ nominations


async def submit_nomination(cmd: c.SubmitNomination, ctx: Context) -> Outcome:
    what = f"nominate for unit {cmd.nominee.unit_id}"
    form, day = d.check_form(catalogue(), cmd.award_form, cmd.nominee.kind, cmd.year, ctx.today)
    chain = await nominee_chain(ctx, cmd.nominee.unit_id, day)  # today, or the form's last day in force
    in_scope(ctx, chain, "operate", what)
    authority = await grantor(ctx, form, chain, day)
    await festival(ctx, cmd.festival_id, chain, cmd.year)
    nomination_id = cmd.nomination_id or ctx.new_id()
    if cmd.nomination_id is not None and await ctx.store.nomination(nomination_id) is not None:
        raise Conflict(f"nomination {nomination_id} already exists", [{"field": "nomination_id"}])
    n, event = d.submit(cmd, nomination_id, form, authority, ctx.actor, ctx.today, ctx.now)
    await take_keys(ctx, n, form)
    await ctx.store.save_nomination(n, None)
    return Outcome(
        {"nomination_id": nomination_id, "grantor": authority.model_dump(), "forwarded": n.forwarded}, [event]
    )


async def decider(ctx: Context, n: d.Nomination, day: dt.date, what: str) -> c.Authority:
    """The granting authority of `n` on `day` (the tree may have changed since it was submitted),
    once the actor is checked to be it."""
    chain = await nominee_chain(ctx, n.nominee.unit_id, day)
    authority = await grantor(ctx, form_of(n.award_form), chain, day)
    d.require_decider(ctx.actor, authority, province_of(chain), what)
    return authority


async def return_nomination(cmd: c.ReturnNomination, ctx: Context) -> Outcome:
    what = f"return nomination {cmd.nomination_id}"
    n = await nomination(ctx, cmd.nomination_id, "decide", what)
    await decider(ctx, n, ctx.today, what)
    new, event = d.return_(n, cmd, ctx.actor, ctx.today)
    await ctx.store.save_nomination(new, n.version)
    return Outcome({"nomination_id": n.nomination_id}, [event])


async def resubmit_nomination(cmd: c.ResubmitNomination, ctx: Context) -> Outcome:
    what = f"resubmit nomination {cmd.nomination_id}"
    n = await nomination(ctx, cmd.nomination_id, "operate", what)
    chain = await nominee_chain(ctx, n.nominee.unit_id, ctx.today)
    in_scope(ctx, chain, "operate", what)
    await festival(ctx, cmd.festival_id, chain, n.year)
    new, event = d.resubmit(n, cmd, ctx.actor, ctx.today)
    form = form_of(n.award_form)
    if keys(new, form) != keys(n, form):  # the achievement was corrected: it must still be a new one
        for key in keys(n, form):
            await ctx.store.release_key(key, n.nomination_id)
        await take_keys(ctx, new, form)
    await ctx.store.save_nomination(new, n.version)
    return Outcome({"nomination_id": n.nomination_id}, [event])


async def approve_nomination(cmd: c.ApproveNomination, ctx: Context) -> Outcome:
    what = f"approve nomination {cmd.nomination_id}"
    n = await nomination(ctx, cmd.nomination_id, "decide", what)
    authority = await decider(ctx, n, cmd.decision_date, what)
    award_id = cmd.award_id or ctx.new_id()
    if cmd.award_id is not None and await ctx.store.award(award_id) is not None:
        raise Conflict(f"award {award_id} already exists", [{"field": "award_id"}])
    new, award_, event = d.approve(
        n, cmd, award_id, form_of(n.award_form), catalogue(), authority, ctx.actor, ctx.today, ctx.now
    )
    await ctx.store.save_nomination(new, n.version)
    await ctx.store.save_award(award_, None)
    return Outcome(
        {
            "nomination_id": n.nomination_id,
            "award_id": award_id,
            "amount_vnd": award_.amount_vnd,
            "amount_unconfirmed": award_.amount_unconfirmed,
            "decided_by": authority.model_dump(),
        },
        [event],
    )


async def reject_nomination(cmd: c.RejectNomination, ctx: Context) -> Outcome:
    what = f"reject nomination {cmd.nomination_id}"
    n = await nomination(ctx, cmd.nomination_id, "decide", what)
    await decider(ctx, n, cmd.decision_date or ctx.today, what)
    new, event = d.reject(n, cmd, ctx.actor, ctx.today)
    for key in keys(n, form_of(n.award_form)):  # a rejected nomination no longer holds its achievement
        await ctx.store.release_key(key, n.nomination_id)
    await ctx.store.save_nomination(new, n.version)
    return Outcome({"nomination_id": n.nomination_id}, [event])


# ------------------------------------------------------------------------------------ awards


async def confer_award(cmd: c.ConferAward, ctx: Context) -> Outcome:
    what = f"confer award {cmd.award_id}"
    a = await award(ctx, cmd.award_id, "operate", what)
    chain = await nominee_chain(ctx, a.unit_id, cmd.conferred_on)
    presenters = [u.unit_id for u in chain] + ([a.decided_by.unit_id] if a.decided_by.unit_id else [])
    require_scope(ctx.actor, presenters, "operate", what)
    found = await festival(ctx, cmd.festival_id, chain)
    form = form_of(a.award_form)
    presented_by = cmd.presented_by or form.grantor.presented_by or a.decided_by.name
    new, event = d.confer(a, cmd, found, presented_by, ctx.today)
    await ctx.store.save_award(new, a.version)
    return Outcome({"award_id": a.award_id, "presented_by": presented_by}, [event])


async def revoke_award(cmd: c.RevokeAward, ctx: Context) -> Outcome:
    what = f"revoke award {cmd.award_id}"
    a = await award(ctx, cmd.award_id, "decide", what)
    chain = await ctx.store.chain(a.unit_id, a.decision_date) or []
    d.require_decider(ctx.actor, a.decided_by, province_of(chain), what)
    new, event = d.revoke(a, cmd, ctx.actor, ctx.today)
    n = await ctx.store.nomination(a.nomination_id)
    if n is not None:  # a revoked award no longer stands: its achievement (and a once-only form) is free again
        for key in keys(n, form_of(n.award_form)):
            await ctx.store.release_key(key, n.nomination_id)
    await ctx.store.save_award(new, a.version)
    return Outcome({"award_id": a.award_id}, [event])


# ------------------------------------------------------------------------------------ gifts


async def record_gift(cmd: c.RecordGift, ctx: Context) -> Outcome:
    what = f"record a gift for unit {cmd.unit_id}"
    known = await ctx.store.festival(cmd.festival_id) if cmd.festival_id else None
    day = cmd.given_on or (known.date if known else ctx.today)
    chain = await nominee_chain(ctx, cmd.unit_id, day, "unit_id")
    in_scope(ctx, chain, "operate", what)
    found = await festival(ctx, cmd.festival_id, chain)
    gift_id = cmd.gift_id or ctx.new_id()
    if cmd.gift_id is not None and await ctx.store.gift(gift_id) is not None:
        raise Conflict(f"gift {gift_id} already exists", [{"field": "gift_id"}])
    gift, event = d.record_gift(cmd, gift_id, found, ctx.actor, ctx.today, ctx.now)
    await ctx.store.add_gift(gift)
    return Outcome({"gift_id": gift_id, "given_on": gift.given_on.isoformat()}, [event])


COMMANDS: list[CommandSpec] = [
    CommandSpec("submit-nomination", c.SubmitNomination, submit_nomination, "Nominate a collective or an individual."),
    CommandSpec(
        "return-nomination", c.ReturnNomination, return_nomination, "Return a nomination with a reason.", "decide"
    ),
    CommandSpec("resubmit-nomination", c.ResubmitNomination, resubmit_nomination, "Resubmit a returned nomination."),
    CommandSpec(
        "approve-nomination", c.ApproveNomination, approve_nomination, "Approve: decision number and date.", "decide"
    ),
    CommandSpec("reject-nomination", c.RejectNomination, reject_nomination, "Reject with a reason.", "decide"),
    CommandSpec("confer-award", c.ConferAward, confer_award, "Confer an award, perhaps at a festival."),
    CommandSpec("revoke-award", c.RevokeAward, revoke_award, "Revoke an award (kept, marked revoked).", "decide"),
    CommandSpec("record-gift", c.RecordGift, record_gift, "Record a gift or visit in the ledger."),
]
