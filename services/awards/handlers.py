"""Awards' command handlers, each in three steps: read (awards' own replicas and aggregates), decide
(`domain.decisions`, which checks the actor's role and scope in one step with the rest), save
(+ events). The table at the end is the one place the commands are registered."""

from __future__ import annotations

import datetime as dt

from services.awards import domain as d
from services.awards.domain import attachments, decisions, dossier
from services.awards.reading import (
    Context,
    decided,
    form_of,
    held_through_lineage,
    past_authority,
    police,
    prior_awards,
    release_keys,
    take_keys,
)
from shared.contract import awards as c
from shared.contract.errors import DomainError
from shared.contract.ids import stable_id
from shared.runtime.pipeline import CommandSpec, Handled

# ------------------------------------------------------------------------------------ nominations


async def submit_nomination(cmd: c.SubmitNomination, ctx: Context) -> Handled:
    # the command against the catalogue first (in memory): the form says on which day the tree is read
    form, day = d.check_form(ctx.deps.catalogue, cmd.award_form, cmd.nominee.kind, cmd.year, ctx.today)
    chain = await ctx.store.chain(cmd.nominee.unit_id, day)
    existed = chain is None or await ctx.store.existed_in(cmd.nominee.unit_id, cmd.year)
    carried_by: list[str] = []
    if chain == [] and existed:  # a dossier entered late, of a unit closed since: read through the lineage
        chain, carried_by = await ctx.store.lineage_chain(cmd.nominee.unit_id, day)
    agency = await police(ctx, form, chain, day)
    festival = await ctx.store.festival(cmd.festival_id) if cmd.festival_id else None
    nomination_id = cmd.nomination_id or ctx.new_id()
    taken = cmd.nomination_id is not None and await ctx.store.nomination(nomination_id) is not None
    person_id = cmd.nominee.person.person_id if cmd.nominee.person else None
    nominee = d.nominee_key(cmd.nominee.kind, cmd.nominee.unit_id, person_id)
    achievement = d.achievement_key(cmd.achievement)
    holders = await held_through_lineage(ctx, nominee, cmd.nominee.unit_id, cmd.year, achievement, form, person_id)
    prior = await prior_awards(ctx, cmd.eligibility)
    n, event = decisions.submission(
        cmd, nomination_id, form, day, chain, agency, festival, taken, holders, ctx.actor, ctx.permission,
        ctx.today, ctx.now, existed, carried_by, prior, ctx.deps.catalogue.due_on(form, ctx.today),
    )  # fmt: skip
    await take_keys(ctx, n, form)
    await ctx.store.save_nomination(n, None)
    return Handled(
        {"nomination_id": nomination_id, "grantor": n.grantor.model_dump(), "forwarded": n.forwarded}, [event]
    )


async def return_nomination(cmd: c.ReturnNomination, ctx: Context) -> Handled:
    n = await ctx.store.nomination(cmd.nomination_id)
    await decided(ctx, n, cmd.nomination_id, ctx.today, f"return nomination {cmd.nomination_id}")
    assert n is not None  # `decided` refuses a missing one
    new, event = d.return_(n, cmd, ctx.actor, ctx.today)
    await ctx.store.save_nomination(new, n.version)
    return Handled({"nomination_id": n.nomination_id}, [event])


async def resubmit_nomination(cmd: c.ResubmitNomination, ctx: Context) -> Handled:
    n = await ctx.store.nomination(cmd.nomination_id)
    form = ctx.deps.catalogue.form(n.award_form) if n is not None else None
    chain, _ = await ctx.store.lineage_chain(n.nominee.unit_id, ctx.today) if n is not None else (None, [])
    festival = await ctx.store.festival(cmd.festival_id) if cmd.festival_id else None
    holders: list[tuple[d.Nomination | None, bool]] = []
    if n is not None and form is not None and cmd.achievement is not None:  # a corrected achievement: still new?
        person_id = n.nominee.person.person_id if n.nominee.person else None
        achievement = d.achievement_key(cmd.achievement)
        keys = d.keys_for(n.nominee_key, n.year, achievement, n.award_form, person_id, form.once_only)
        if keys != d.keys(n, form.once_only):
            holders = await held_through_lineage(
                ctx, n.nominee_key, n.nominee.unit_id, n.year, achievement, form, person_id, n.nomination_id
            )
    prior = await prior_awards(ctx, cmd.eligibility)
    due = ctx.deps.catalogue.due_on(form, ctx.today) if form is not None else None
    new, event = decisions.resubmission(
        n, cmd, form, chain, festival, holders, ctx.actor, ctx.permission, ctx.today, prior, due
    )
    assert n is not None and form is not None  # `resubmission` refuses a missing one
    if holders:
        await release_keys(ctx, n, form)
        await take_keys(ctx, new, form)
    await ctx.store.save_nomination(new, n.version)
    return Handled({"nomination_id": n.nomination_id}, [event])


async def approval(ctx: Context, cmd: c.ApproveNomination) -> tuple[dossier.Approved, list[str]]:
    """A nomination approved as its decision says (read, then `decisions.approval`), not yet saved; also
    the successors of a nominee's unit closed before the decision date."""
    n = await ctx.store.nomination(cmd.nomination_id)
    what = f"approve nomination {cmd.nomination_id}"
    authority, successors = await decided(ctx, n, cmd.nomination_id, cmd.decision_date, what)
    assert n is not None
    award_id = cmd.award_id or ctx.new_id()
    taken = cmd.award_id is not None and await ctx.store.award(award_id) is not None
    earned_by = await ctx.store.name_of(n.nominee.unit_id, dt.date(n.year, 12, 31))
    approved = decisions.approval(
        n, cmd, award_id, taken, form_of(ctx, n.award_form), ctx.deps.catalogue, authority, ctx.actor, ctx.today,
        ctx.now, successors, earned_by,
    )  # fmt: skip
    return approved, successors


async def approve_nomination(cmd: c.ApproveNomination, ctx: Context) -> Handled:
    (new, award, event), successors = await approval(ctx, cmd)
    number = d.decision_id(award.decided_by, cmd.decision_no, cmd.decision_date)
    if dossier.check_number(await ctx.store.decision_number(number), cmd.decision_no, cmd.decision_date, "single"):
        await ctx.store.take_decision_number(number, cmd.decision_date, "single")
    await ctx.store.save_nomination(new, new.version - 1)
    await ctx.store.save_award(award, None)
    return Handled(
        {
            "nomination_id": new.nomination_id,
            "award_id": award.award_id,
            "amount_vnd": award.amount_vnd,
            "amount_unconfirmed": award.amount_unconfirmed,
            "amount_at_most": award.amount_at_most,
            "decided_by": award.decided_by.model_dump(),
            "successor_unit_ids": successors,
        },
        [event],
    )


async def record_decision(cmd: c.RecordDecision, ctx: Context) -> Handled:
    """Each nomination as approve-nomination would approve it, under one number, date and signer; any
    refused refuses the decision whole (the pipeline's transaction writes nothing), naming why for each."""
    approved: list[dossier.Approved] = []
    refused: list[dict[str, object]] = []
    for item in cmd.nominations:
        one = c.ApproveNomination(
            nomination_id=item.nomination_id,
            decision_no=cmd.decision_no,
            decision_date=cmd.decision_date,
            award_id=item.award_id,
        )
        try:
            approved.append((await approval(ctx, one))[0])
        except DomainError as e:
            refused.append(dossier.refused_item(item.nomination_id, e))
    first = approved[0][1].decided_by if approved else None
    number = d.decision_id(first, cmd.decision_no, cmd.decision_date) if first is not None else None
    recorded = await ctx.store.decision(number) if number is not None else None
    decision, out, event = dossier.decision(cmd, approved, refused, recorded, ctx.actor, ctx.now)
    dossier.check_number(await ctx.store.decision_number(decision.decision_id), cmd.decision_no, cmd.decision_date,
                         "decision")  # fmt: skip
    await ctx.store.take_decision_number(decision.decision_id, cmd.decision_date, "decision")
    for new, award, _ in out:
        await ctx.store.save_nomination(new, new.version - 1)
        await ctx.store.save_award(award, None)
    await ctx.store.add_decision(decision)
    return Handled(
        {
            "decision_id": decision.decision_id,
            "decided_by": decision.decided_by.model_dump(),
            "awards": [
                {"nomination_id": a.nomination_id, "award_id": a.award_id, "amount_vnd": a.amount_vnd}
                for _, a, _ in out
            ],
        },
        [*(e for _, _, e in out), event],
    )


async def attach_file(cmd: c.AttachFile, ctx: Context) -> Handled:
    """The dossier's rules first (who, which status, type and size limits), then the upload itself is
    checked and copied in (`files`), then the dossier names it."""
    n = await ctx.store.nomination(cmd.nomination_id)
    chain, _ = await ctx.store.lineage_chain(n.nominee.unit_id, ctx.today) if n is not None else (None, [])
    attachment_id = cmd.attachment_id or ctx.new_id()
    new, event = attachments.attachment(
        n, cmd, attachment_id, chain, ctx.deps.limits, ctx.actor, ctx.permission, ctx.today
    )
    assert n is not None
    await ctx.deps.files.keep(cmd)
    await ctx.store.save_nomination(new, n.version)
    return Handled({"nomination_id": n.nomination_id, "attachment_id": attachment_id, "size": cmd.size}, [event])


async def record_council_review(cmd: c.RecordCouncilReview, ctx: Context) -> Handled:
    n = await ctx.store.nomination(cmd.nomination_id)
    what = f"record the council's review of nomination {cmd.nomination_id}"
    await decided(ctx, n, cmd.nomination_id, ctx.today, what)  # the granting authority's approver
    assert n is not None
    new, event = dossier.council_review(n, cmd, form_of(ctx, n.award_form), ctx.actor, ctx.today)
    await ctx.store.save_nomination(new, n.version)
    return Handled({"nomination_id": n.nomination_id, "recommended": cmd.recommended}, [event])


async def import_award(cmd: c.ImportAward, ctx: Context) -> Handled:
    """A past award: its keys taken like an approved nomination's, so later nominations meet it."""
    form = ctx.deps.catalogue.form(cmd.award_form)
    person_id = cmd.nominee.person.person_id if cmd.nominee.person else None
    nominee = d.nominee_key(cmd.nominee.kind, cmd.nominee.unit_id, person_id)
    award_id = cmd.award_id or stable_id("award-import", cmd.award_form, nominee, str(cmd.year), cmd.decision_no)
    if await ctx.store.units.get(cmd.nominee.unit_id) is None:
        decisions.known_chain(None, cmd.nominee.unit_id, ctx.today)  # not known (yet): said as such
    readers = await ctx.store.readers(cmd.nominee.unit_id, ctx.today)
    existing = await ctx.store.award(award_id)
    holders: list[tuple[d.Nomination | None, bool]] = [(None, False)]
    if form is not None and existing is None:
        achievement = d.achievement_key(cmd.achievement)
        holders = await held_through_lineage(ctx, nominee, cmd.nominee.unit_id, cmd.year, achievement, form, person_id)
    authority, earned_by = await past_authority(ctx, cmd, form) if form is not None else (None, None)
    done = dossier.imported(
        cmd, award_id, existing, form, readers, holders, ctx.actor, ctx.permission, ctx.today, ctx.now,
        authority, earned_by,
    )  # fmt: skip
    if done is None:
        return Handled({"award_id": award_id, "unchanged": True}, [])
    n, award, event = done
    assert form is not None
    await take_keys(ctx, n, form)
    await ctx.store.save_nomination(n, None)
    await ctx.store.save_award(award, None)
    return Handled({"award_id": award_id, "nomination_id": n.nomination_id, "unchanged": False}, [event])


async def reject_nomination(cmd: c.RejectNomination, ctx: Context) -> Handled:
    n = await ctx.store.nomination(cmd.nomination_id)
    await decided(ctx, n, cmd.nomination_id, cmd.decision_date or ctx.today, f"reject nomination {cmd.nomination_id}")
    assert n is not None
    new, event = d.reject(n, cmd, ctx.actor, ctx.today)
    await release_keys(ctx, n, form_of(ctx, n.award_form))  # a rejected nomination no longer holds its achievement
    await ctx.store.save_nomination(new, n.version)
    return Handled({"nomination_id": n.nomination_id}, [event])


# ------------------------------------------------------------------------------------ awards


async def confer_award(cmd: c.ConferAward, ctx: Context) -> Handled:
    a = await ctx.store.award(cmd.award_id)
    chain, _ = await ctx.store.lineage_chain(a.unit_id, cmd.conferred_on) if a is not None else (None, [])
    festival = await ctx.store.festival(cmd.festival_id) if cmd.festival_id else None
    form = ctx.deps.catalogue.form(a.award_form) if a is not None else None
    new, event = decisions.conferral(a, cmd, chain, festival, form, ctx.actor, ctx.permission, ctx.today)
    await ctx.store.save_award(new, new.version - 1)
    return Handled({"award_id": new.award_id, "presented_by": new.presented_by}, [event])


async def revoke_award(cmd: c.RevokeAward, ctx: Context) -> Handled:
    a = await ctx.store.award(cmd.award_id)
    chain = await ctx.store.chain(a.unit_id, a.decision_date) if a is not None else None
    n = await ctx.store.nomination(a.nomination_id) if a is not None else None
    new, event = decisions.revocation(a, cmd, chain, ctx.actor, ctx.today)
    if n is not None:  # a revoked award no longer stands: its achievement (and a once-only form) is free again
        await release_keys(ctx, n, form_of(ctx, n.award_form))
    await ctx.store.save_award(new, new.version - 1)
    return Handled({"award_id": new.award_id}, [event])


# ------------------------------------------------------------------------------------ gifts


async def record_gift(cmd: c.RecordGift, ctx: Context) -> Handled:
    festival = await ctx.store.festival(cmd.festival_id) if cmd.festival_id else None
    chain = await ctx.store.chain(cmd.unit_id, decisions.gift_day(cmd, festival, ctx.today))
    carrying = await ctx.store.readers(cmd.unit_id, ctx.today)  # a unit closed since: the units carrying it
    gift_id = cmd.gift_id or ctx.new_id()
    taken = cmd.gift_id is not None and await ctx.store.gift(gift_id) is not None
    gift, event = decisions.gift(
        cmd, gift_id, taken, chain, festival, ctx.actor, ctx.permission, ctx.today, ctx.now, carrying
    )
    await ctx.store.add_gift(gift)
    return Handled({"gift_id": gift_id, "given_on": gift.given_on.isoformat()}, [event])


COMMANDS: list[CommandSpec] = [
    CommandSpec("submit-nomination", c.SubmitNomination, submit_nomination, "Nominate a collective or an individual."),
    CommandSpec(
        "return-nomination", c.ReturnNomination, return_nomination, "Return a nomination with a reason.", "decide"
    ),
    CommandSpec("resubmit-nomination", c.ResubmitNomination, resubmit_nomination, "Resubmit a returned nomination."),
    CommandSpec(
        "approve-nomination", c.ApproveNomination, approve_nomination, "Approve: decision number and date.", "decide"
    ),
    CommandSpec(
        "record-decision", c.RecordDecision, record_decision, "One decision approving many nominations.", "decide"
    ),
    CommandSpec("reject-nomination", c.RejectNomination, reject_nomination, "Reject with a reason.", "decide"),
    CommandSpec("attach-file", c.AttachFile, attach_file, "Attach an uploaded file to a nomination's dossier."),
    CommandSpec(
        "record-council-review",
        c.RecordCouncilReview,
        record_council_review,
        "The emulation council's review, with its minutes.",
        "decide",
    ),
    CommandSpec("import-award", c.ImportAward, import_award, "Enter a past award from the office's records."),
    CommandSpec("confer-award", c.ConferAward, confer_award, "Confer an award, perhaps at a festival."),
    CommandSpec("revoke-award", c.RevokeAward, revoke_award, "Revoke an award (kept, marked revoked).", "decide"),
    CommandSpec("record-gift", c.RecordGift, record_gift, "Record a gift or visit in the ledger."),
]
