"""What each command asks the domain, once everything it needs is read: the actor (whose role and scope
are checked in one step), the command and the stored facts → the new state and its events, or a
refusal. The checks run in the order a sender should hear them: who may act, what exists, what the
rules say.

Pure: no I/O; the handler reads first, then calls one of these, then saves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from services.awards.domain import eligibility
from services.awards.domain.authority import grantor_of, province_of, require_decider
from services.awards.domain.gifts import record_gift
from services.awards.domain.model import (
    Ancestor,
    Award,
    Gift,
    KnownFestival,
    Nomination,
)
from services.awards.domain.workflow import (
    approve,
    check_festival,
    confer,
    refuse_duplicate,
    refuse_once_only,
    resubmit,
    revoke,
    submit,
)
from services.awards.rules import Catalogue, Form
from shared.authz import Permission, require_role, require_scope
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, NotFound, RuleViolation
from shared.contract.events import DomainEvent

Chain = Sequence[Ancestor] | None  # None: a unit awards has not seen (yet)
Held = Sequence[tuple[Nomination | None, bool]]  # per key: the nomination holding it, and whether the actor sees it


def known_chain(chain: Chain, unit_id: str, day: dt.date, field: str = "nominee.unit_id") -> list[Ancestor]:
    """A unit awards has not seen is `not_found` (never accepted blindly); one that does not exist on
    the day is a rule violation."""
    if chain is None:
        raise NotFound(
            f"unit {unit_id} is not known to awards (yet): awards learns units from registry's events",
            [{"rule": "not_known_yet", "field": field, "value": unit_id}],
        )
    if not chain:
        raise RuleViolation(
            f"unit {unit_id} does not exist on {day.isoformat()} (closed, or not yet valid)",
            [{"field": field, "value": unit_id, "rule": "unit_active"}],
        )
    return list(chain)


def ids(chain: Sequence[Ancestor]) -> list[str]:
    return [u.unit_id for u in chain]


def refuse_unknown(actor: Actor, permission: Permission, what: str, missing: NotFound) -> NotFound:
    """An id that names nothing is refused as one the actor has no authority over (the same message),
    except to a platform admin, who is told it does not exist."""
    if permission == "decide":
        require_decider(actor, c.Authority(kind="unit", unit_id=None, name="?"), None, what)
    else:
        require_scope(actor, [], permission, what)
    return missing


def refuse_held(form: Form, person_id: str | None, held: Held) -> None:
    """One achievement earns one award; a once-only form is given once per person (DESIGN §2)."""
    (earlier, seen), *once = held
    refuse_duplicate(earlier, seen)
    for holder, visible in once:
        refuse_once_only(form, person_id, holder, visible)


def festival_of(
    festival: KnownFestival | None, festival_id: str | None, chain: Sequence[Ancestor], year: int | None = None
) -> KnownFestival | None:
    return check_festival(festival, festival_id, ids(chain), year) if festival_id is not None else None


# ------------------------------------------------------------------------------------ nominations


def submission(
    cmd: c.SubmitNomination,
    nomination_id: str,
    form: Form,
    day: dt.date,
    chain: Chain,
    police: Ancestor | None,
    festival: KnownFestival | None,
    taken: bool,
    held: Held,
    actor: Actor,
    permission: Permission,
    today: dt.date,
    now: dt.datetime,
    existed: bool = True,
    carried_by: Sequence[str] = (),
    prior: Mapping[str, Award | None] | None = None,
    due: tuple[dt.date, bool] | None = None,
) -> tuple[Nomination, DomainEvent]:
    """`day`: the day the tree is read on (today, or the form's last day in force); `existed`: whether
    the nominee's unit existed in the nomination's year; `carried_by`: the units that carry it through
    the lineage when it has been closed since (the chain is then theirs); `prior`: the awards its
    eligibility facts name."""
    known = known_chain(chain, cmd.nominee.unit_id, day)
    closed = f" (closed: its dossiers are handled by {', '.join(carried_by)})" if carried_by else ""
    require_scope(actor, ids(known), permission, f"nominate for unit {cmd.nominee.unit_id}{closed}")
    if not existed:
        raise RuleViolation(
            f"unit {cmd.nominee.unit_id} did not exist in {cmd.year}: an achievement of {cmd.year} is a unit's of "
            "that year",
            [{"field": "year", "value": cmd.year, "rule": "unit_in_year"}],
        )
    authority = grantor_of(form, known, police)
    festival_of(festival, cmd.festival_id, known, cmd.year)
    if taken:
        raise Conflict(f"nomination {nomination_id} already exists", [{"field": "nomination_id"}])
    person_id = cmd.nominee.person.person_id if cmd.nominee.person else None
    refuse_held(form, person_id, held)
    unverified = eligibility.check(form, cmd.eligibility, day, person_id, prior or {})
    n, event = submit(cmd, nomination_id, form, authority, actor, today, now, due)
    return n.model_copy(update={"eligibility": cmd.eligibility, "eligibility_unverified": unverified}), event


def resubmission(
    n: Nomination | None,
    cmd: c.ResubmitNomination,
    form: Form | None,
    chain: Chain,
    festival: KnownFestival | None,
    held: Held,
    actor: Actor,
    permission: Permission,
    today: dt.date,
    prior: Mapping[str, Award | None] | None = None,
    due: tuple[dt.date, bool] | None = None,
) -> tuple[Nomination, DomainEvent]:
    """`held`: the holders of the corrected nomination's keys other than itself (empty: they did not change);
    `prior`: the awards corrected eligibility facts name (checked again, on today's rule)."""
    what = f"resubmit nomination {cmd.nomination_id}"
    if n is None:
        raise refuse_unknown(actor, permission, what, missing(cmd.nomination_id))
    known = known_chain(chain, n.nominee.unit_id, today)
    require_scope(actor, ids(known), permission, what)
    festival_of(festival, cmd.festival_id, known, n.year)
    new, event = resubmit(n, cmd, actor, today, due)
    person_id = new.nominee.person.person_id if new.nominee.person else None
    if held and form is not None:
        refuse_held(form, person_id, held)
    if cmd.eligibility is not None and form is not None:
        unverified = eligibility.check(form, cmd.eligibility, today, person_id, prior or {})
        new = new.model_copy(update={"eligibility": cmd.eligibility, "eligibility_unverified": unverified})
    return new, event


def missing(nomination_id: str) -> NotFound:
    return NotFound(f"nomination {nomination_id} does not exist", [{"field": "nomination_id", "value": nomination_id}])


def decider(
    actor: Actor,
    n: Nomination | None,
    form: Form | None,
    chain: Chain,
    police: Ancestor | None,
    nomination_id: str,
    day: dt.date,
    what: str,
) -> c.Authority:
    """The granting authority of `n` on the decision `day` (the tree may have changed since it was
    submitted), once the actor is checked to be it: an approver or admin of that unit (DESIGN §2)."""
    require_role(actor, "decide", what)
    if n is None:
        raise refuse_unknown(actor, "decide", what, missing(nomination_id))
    if form is None:  # the data file lost a form that stored nominations use: an operator's error
        raise RuleViolation(
            f"award form {n.award_form} is no longer in the rules file",
            [{"rule": "form_exists", "field": "award_form", "value": n.award_form}],
        )
    known = known_chain(chain, n.nominee.unit_id, day)
    authority = grantor_of(form, known, police)
    require_decider(actor, authority, province_of(known), what)
    return authority


def approval(
    n: Nomination,
    cmd: c.ApproveNomination,
    award_id: str,
    taken: bool,
    form: Form,
    catalogue: Catalogue,
    authority: c.Authority,
    actor: Actor,
    today: dt.date,
    now: dt.datetime,
    successors: Sequence[str] = (),
    earned_by: str | None = None,
) -> tuple[Nomination, Award, DomainEvent]:
    """`successors`: the units that carry a nominee's unit closed before the decision date (the award
    names them beside the nominee, who stays as it was); `earned_by`: the unit's name as it was."""
    if taken:
        raise Conflict(f"award {award_id} already exists", [{"field": "award_id"}])
    refuse_without_council(n, form, cmd.decision_date)
    return approve(n, cmd, award_id, form, catalogue, authority, actor, today, now, list(successors), earned_by)


def refuse_without_council(n: Nomination, form: Form, decision_date: dt.date | None = None) -> None:
    """A form the emulation council reviews is decided after a review that recommends it."""
    if not form.council:
        return
    if n.council is None:
        raise RuleViolation(
            f"{form.name}: the emulation council (Hội đồng Thi đua – Khen thưởng) reviews the dossier before the "
            "decision; record its review with its minutes first (record-council-review)",
            [{"rule": "council_review", "nomination_id": n.nomination_id}],
        )
    if decision_date is not None and decision_date < n.council.meeting_date:
        raise RuleViolation(
            f"{form.name}: the decision ({decision_date.isoformat()}) comes after the council's review "
            f"({n.council.meeting_date.isoformat()})",
            [{"field": "decision_date", "rule": "decision_after_council", "nomination_id": n.nomination_id}],
        )
    if not n.council.recommended:
        raise RuleViolation(
            f"{form.name}: the emulation council did not recommend it ({n.council.meeting_date.isoformat()}); it may "
            "be rejected, or returned and reviewed again",
            [{"rule": "council_review", "nomination_id": n.nomination_id}],
        )


# ------------------------------------------------------------------------------------ awards


def award_missing(award_id: str) -> NotFound:
    return NotFound(f"award {award_id} does not exist", [{"field": "award_id", "value": award_id}])


def conferral(
    a: Award | None,
    cmd: c.ConferAward,
    chain: Chain,
    festival: KnownFestival | None,
    form: Form | None,
    actor: Actor,
    permission: Permission,
    today: dt.date,
) -> tuple[Award, DomainEvent]:
    """An officer of the awardee's unit or above, or of the deciding unit, presents the award."""
    what = f"confer award {cmd.award_id}"
    if a is None:
        raise refuse_unknown(actor, permission, what, award_missing(cmd.award_id))
    known = known_chain(chain, a.unit_id, cmd.conferred_on)
    presenters = ids(known) + ([a.decided_by.unit_id] if a.decided_by.unit_id else [])
    require_scope(actor, presenters, permission, what)
    found = festival_of(festival, cmd.festival_id, known)
    presented_by = cmd.presented_by or (form.grantor.presented_by if form else None) or a.decided_by.name
    return confer(a, cmd, found, presented_by, today)


def revocation(
    a: Award | None, cmd: c.RevokeAward, chain: Chain, actor: Actor, today: dt.date
) -> tuple[Award, DomainEvent]:
    """The authority that decided an award revokes it."""
    what = f"revoke award {cmd.award_id}"
    require_role(actor, "decide", what)
    if a is None:
        raise refuse_unknown(actor, "decide", what, award_missing(cmd.award_id))
    require_decider(actor, a.decided_by, province_of(chain or []), what)
    return revoke(a, cmd, actor, today)


# ------------------------------------------------------------------------------------ gifts


def gift_day(cmd: c.RecordGift, festival: KnownFestival | None, today: dt.date) -> dt.date:
    """The day a gift counts on (and its unit is read on): given_on, else its festival's day, else today."""
    return cmd.given_on or (festival.date if festival else today)


def gift(
    cmd: c.RecordGift,
    gift_id: str,
    taken: bool,
    chain: Chain,
    festival: KnownFestival | None,
    actor: Actor,
    permission: Permission,
    today: dt.date,
    now: dt.datetime,
    carrying: Sequence[str] = (),
) -> tuple[Gift, DomainEvent]:
    """`carrying`: the readers of the unit today (its ancestry, or, once it is closed, the ancestries of
    the units carrying it through the lineage): their officers record a gift it gave before it closed."""
    known = known_chain(chain, cmd.unit_id, gift_day(cmd, festival, today), "unit_id")
    require_scope(actor, [*ids(known), *carrying], permission, f"record a gift for unit {cmd.unit_id}")
    found = festival_of(festival, cmd.festival_id, known)
    if taken:
        raise Conflict(f"gift {gift_id} already exists", [{"field": "gift_id"}])
    return record_gift(cmd, gift_id, found, actor, today, now)
