"""Awards' rules, pure: who grants a form for a nominee, the nomination workflow, one achievement
one award, once-only forms, awards conferred and revoked, gifts.

Every function takes what it needs (the catalogue's form, the nominee's ancestry as records, the
stored aggregates) and returns new state plus the events to publish; nothing here does I/O."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.awards.rules import Catalogue, Form
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation
from shared.contract.events import DomainEvent
from shared.contract.text import nfc
from shared.replicas.authz import is_platform_admin, require_role

COMMUNE_LEVEL = frozenset({"commune", "ward", "special_zone", "township"})
POLICE_FLAG = "provincial_police"
OPEN = ("submitted", "resubmitted")  # a decision may be taken


# ------------------------------------------------------------------------------------ keys


def achievement_key(text: str) -> str:
    """The achievement as compared for "one achievement, one award": compatibility-normalised (NFKC:
    fullwidth letters, ligatures), invisible format characters dropped (zero-width spaces, joiners,
    BOM), case-folded, runs of any space made one."""
    folded = unicodedata.normalize("NFKC", nfc(text)).casefold()
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", visible).strip())


def nominee_key(kind: str, unit_id: str | None, person_id: str | None) -> str:
    """Collectives are their unit; individuals their person_id (the unit's stable id for them)."""
    return f"person:{person_id}" if kind == "individual" else f"unit:{unit_id}"


# ------------------------------------------------------------------------------------ aggregates


def sort_key(day: dt.date, now: dt.datetime, key: str) -> str:
    """Orders a list newest first by its date, then by arrival, then by id (ids a client chose are
    not time-ordered)."""
    return f"{day.isoformat()}|{now.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%S.%f')}|{key}"


class Step(BaseModel):
    """One step of a nomination's history."""

    event: str
    on: dt.date
    actor_id: str
    reason: str | None = None
    note: str | None = None


class Nomination(BaseModel):
    nomination_id: str
    nominee: c.NomineeFact
    nominee_key: str
    award_form: str
    year: int
    achievement: str
    achievement_key: str
    festival_id: str | None = None
    grantor: c.Authority
    forwarded: bool
    status: c.NominationStatus = "submitted"
    submitted_on: dt.date
    submitted_by: str
    steps: list[Step] = []
    decision_no: str | None = None
    decision_date: dt.date | None = None
    award_id: str | None = None
    created_at: dt.datetime
    sort_key: str = Field(description="Newest first: submitted_on, then arrival, then id.")
    version: int = 1


class Revocation(BaseModel):
    reason: str
    decision_no: str
    decision_date: dt.date
    actor_id: str


class Award(BaseModel):
    award_id: str
    nomination_id: str
    award_form: str
    nominee: c.NomineeFact
    nominee_key: str
    unit_id: str
    year: int
    achievement: str
    decision_no: str
    decision_date: dt.date
    decided_by: c.Authority
    recorded_by: str
    amount_vnd: int | None
    amount_unconfirmed: bool
    status: c.AwardStatus = "approved"
    conferred_on: dt.date | None = None
    festival_id: str | None = None
    presented_by: str | None = None
    revocation: Revocation | None = None
    created_at: dt.datetime
    sort_key: str = Field(description="Newest first: decision_date, then arrival, then id.")
    version: int = 0  # the award aggregate's events: conferred, revoked


class Gift(BaseModel):
    gift_id: str
    unit_id: str
    beneficiary_kind: c.BeneficiaryKind
    recipients: int
    value_vnd: int
    funding_source: str
    festival_id: str | None = None
    given_on: dt.date
    year: int
    note: str | None = None
    recorded_by: str
    created_at: dt.datetime
    sort_key: str = Field(description="Newest first: given_on, then arrival, then id.")


@dataclass(frozen=True)
class Link:
    """One unit of a nominee's ancestry on a date, nearest first."""

    unit_id: str
    kind: str
    name: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownFestival:
    festival_id: str
    unit_id: str
    date: dt.date  # held_on when held, else the planned date
    status: Literal["planned", "held", "cancelled"]
    year: int


# ------------------------------------------------------------------------------------ authority


def grantor_of(form: Form, chain: Sequence[Link], police: Link | None) -> c.Authority:
    """Who grants `form` to a nominee whose ancestry (nominee's unit first) is `chain`.

    commune: the commune-level unit containing the nominee; district: the district; province: the
    province; provincial_agency: the agency directly under the province that contains the nominee;
    provincial_police: the province's police agency; outside: the authority named by the data."""
    g = form.grantor
    if g.outside:
        return c.Authority(kind="outside", name=g.name)
    found: Link | None = None
    if g.level == "commune":
        found = next((u for u in chain if u.kind in COMMUNE_LEVEL), None)
    elif g.level in ("district", "province"):
        found = next((u for u in chain if u.kind == g.level), None)
    elif g.level == "provincial_agency":
        found = next(
            (
                u
                for i, u in enumerate(chain[:-1])
                if u.kind == "agency" and chain[i + 1].kind == "province" and POLICE_FLAG not in u.flags
            ),
            None,
        )
    elif g.level == "provincial_police":
        found = police
    if found is None:
        where = chain[0].unit_id if chain else "?"
        raise RuleViolation(
            f"{form.code} is granted by {g.name}, and unit {where} has no such authority above it on that date",
            [{"rule": "grantor", "award_form": form.code, "level": g.level}],
        )
    return c.Authority(kind="unit", unit_id=found.unit_id, name=f"{g.name} ({found.name})")


def require_decider(actor: Actor, grantor: c.Authority, province_id: str | None, what: str) -> None:
    """Decisions (approve, reject, return, revoke) are the granting authority's: an approver or admin
    of that unit; for a form granted outside the province, of the province, which records the outside
    decision. A platform admin may do everything (DESIGN §2)."""
    require_role(actor, "decide", what)
    if is_platform_admin(actor):
        return
    authority = grantor.unit_id if grantor.kind == "unit" else province_id
    if authority is None or actor.unit != authority:
        raise Forbidden(
            f"actor {actor.id} of unit {actor.unit} may not {what}: rule: only an approver or admin of the "
            "granting authority decides (for a form granted outside the province: of the province)",
            [{"rule": "granting_authority"}],
        )


# ------------------------------------------------------------------------------------ workflow


def check_form(catalogue: Catalogue, code: str, kind: str, year: int, today: dt.date) -> tuple[Form, dt.date]:
    """The form a nomination names, and the day its authority and scope are read on: today when the
    form is in force today; for a form no longer (or not yet) in force, the last day of the
    nomination's year on which it was, so a 2025 record of a form that ended on 30 Jun 2025 can still
    be entered (and decided with a decision date when it was in force)."""
    form = catalogue.form(code)
    if form is None:
        known = ", ".join(f.code for f in catalogue.forms)
        raise RuleViolation(
            f"award form {code} does not exist; the forms are: {known}",
            [{"field": "award_form", "value": code, "rule": "form_exists"}],
        )
    if year > today.year:
        raise RuleViolation(
            f"year {year} is in the future: an achievement is nominated once it is made (today is {today.isoformat()})",
            [{"field": "year", "value": year, "rule": "year_not_in_future"}],
        )
    day = today
    if not form.in_force_on(today):
        last = min(dt.date(year, 12, 31), form.in_force.to or dt.date.max)
        day = last
        if last < max(dt.date(year, 1, 1), form.in_force.from_) or not form.in_force_on(last):
            to = form.in_force.to.isoformat() if form.in_force.to else "—"
            raise RuleViolation(
                f"award form {code} is not in force today nor in {year} (in force {form.in_force.from_.isoformat()} "
                f"to {to})",
                [{"field": "award_form", "value": code, "rule": "form_in_force"}],
            )
    if kind not in form.for_:
        raise RuleViolation(
            f"award form {code} is for {' and '.join(form.for_)} nominees, not {kind}",
            [{"field": "nominee.kind", "value": kind, "rule": "form_for"}],
        )
    return form, day


def _earlier(earlier: Nomination, visible: bool) -> str:
    if not visible:
        return "a nomination in records you may not see"
    state = earlier.status
    return f"nomination {earlier.nomination_id} ({earlier.award_form}, {state})"


def refuse_duplicate(earlier: Nomination | None, visible: bool = True) -> None:
    """`visible`: whether the actor may see the earlier nomination (else it is not named)."""
    if earlier is not None:
        details: dict[str, Any] = {"rule": "one_achievement_one_award"}
        if visible:
            details["nomination_id"] = earlier.nomination_id
        raise RuleViolation(
            f"one achievement earns one award: {_earlier(earlier, visible)} is for the same nominee, year and "
            "achievement",
            [details],
        )


def refuse_once_only(form: Form, person_id: str | None, earlier: Nomination | None, visible: bool = True) -> None:
    if form.once_only and earlier is not None:
        details: dict[str, Any] = {"rule": "once_only", "award_form": form.code}
        if visible:
            details["nomination_id"] = earlier.nomination_id
        raise RuleViolation(
            f"{form.code} is given once per person: person {person_id} has {_earlier(earlier, visible)}",
            [details],
        )


def check_festival(
    festival: KnownFestival | None, festival_id: str, nominee_chain: Sequence[str], year: int | None = None
) -> KnownFestival:
    """A festival named by a nomination, an award or a gift: known to awards, not cancelled, and of the
    unit or of one of its ancestors; a nomination's festival is of its year or the next (commendations
    are often presented at the next year's festival)."""
    if festival is None:
        raise NotFound(
            f"festival {festival_id} is not known to awards (yet): registry's events may still be on their way",
            [{"field": "festival_id", "value": festival_id}],
        )
    if festival.status == "cancelled":
        raise RuleViolation(f"festival {festival_id} was cancelled", [{"field": "festival_id", "rule": "cancelled"}])
    if year is not None and festival.year not in (year, year + 1):
        raise RuleViolation(
            f"festival {festival_id} is of {festival.year}; a nomination for {year} names a festival of {year} or "
            f"{year + 1}",
            [{"field": "festival_id", "rule": "festival_year"}],
        )
    if festival.unit_id not in nominee_chain:
        raise RuleViolation(
            f"festival {festival_id} is of unit {festival.unit_id}, which is neither the unit nor one of its ancestors",
            [{"field": "festival_id", "rule": "festival_of_unit_or_ancestor"}],
        )
    return festival


def submit(
    cmd: c.SubmitNomination,
    nomination_id: str,
    form: Form,
    grantor: c.Authority,
    actor: Actor,
    today: dt.date,
    now: dt.datetime,
) -> tuple[Nomination, DomainEvent]:
    nominee = c.NomineeFact.model_validate(cmd.nominee.model_dump())
    n = Nomination(
        nomination_id=nomination_id,
        nominee=nominee,
        nominee_key=nominee_key(nominee.kind, nominee.unit_id, nominee.person.person_id if nominee.person else None),
        award_form=form.code,
        year=cmd.year,
        achievement=cmd.achievement,
        achievement_key=achievement_key(cmd.achievement),
        festival_id=cmd.festival_id,
        grantor=grantor,
        forwarded=form.grantor.outside,
        submitted_on=today,
        submitted_by=actor.id,
        steps=[Step(event="submitted", on=today, actor_id=actor.id)],
        created_at=now,
        sort_key=sort_key(today, now, nomination_id),
    )
    data = c.NominationSubmitted(
        nomination_id=nomination_id,
        nominee=nominee,
        award_form=form.code,
        year=cmd.year,
        achievement=cmd.achievement,
        festival_id=cmd.festival_id,
        grantor=grantor,
        forwarded=n.forwarded,
        submitted_on=today,
    )
    return n, DomainEvent("nomination", "submitted", nomination_id, data, 1)


def _require_status(n: Nomination, allowed: Sequence[str], what: str) -> None:
    if n.status not in allowed:
        raise Conflict(
            f"nomination {n.nomination_id} is {n.status}; only a nomination that is {' or '.join(allowed)} "
            f"can be {what}",
            [{"field": "status", "value": n.status}],
        )


def _next(n: Nomination, **changes: Any) -> Nomination:
    return n.model_copy(update={**changes, "version": n.version + 1})


def return_(n: Nomination, cmd: c.ReturnNomination, actor: Actor, today: dt.date) -> tuple[Nomination, DomainEvent]:
    _require_status(n, OPEN, "returned")
    new = _next(
        n, status="returned", steps=[*n.steps, Step(event="returned", on=today, actor_id=actor.id, reason=cmd.reason)]
    )
    data = c.NominationReturned(nomination_id=n.nomination_id, reason=cmd.reason, returned_on=today)
    return new, DomainEvent("nomination", "returned", n.nomination_id, data, new.version)


def resubmit(n: Nomination, cmd: c.ResubmitNomination, actor: Actor, today: dt.date) -> tuple[Nomination, DomainEvent]:
    _require_status(n, ("returned",), "resubmitted")
    nominee = n.nominee
    if cmd.person is not None:
        if nominee.person is None:
            raise RuleViolation(
                "a collective nominee has no person: a resubmission cannot add one",
                [{"field": "person", "rule": "same_nominee"}],
            )
        if cmd.person.person_id != nominee.person.person_id:
            raise RuleViolation(
                "a resubmission corrects the person's details; the person_id (who is nominated) cannot change",
                [{"field": "person.person_id", "rule": "same_nominee"}],
            )
        nominee = nominee.model_copy(update={"person": c.PersonFact.model_validate(cmd.person.model_dump())})
    achievement = cmd.achievement or n.achievement
    new = _next(
        n,
        status="resubmitted",
        nominee=nominee,
        achievement=achievement,
        achievement_key=achievement_key(achievement),
        festival_id=cmd.festival_id or n.festival_id,
        steps=[*n.steps, Step(event="resubmitted", on=today, actor_id=actor.id, note=cmd.note)],
    )
    data = c.NominationResubmitted(
        nomination_id=n.nomination_id,
        note=cmd.note,
        achievement=achievement,
        person=nominee.person,
        festival_id=new.festival_id,
        resubmitted_on=today,
    )
    return new, DomainEvent("nomination", "resubmitted", n.nomination_id, data, new.version)


def check_decision_date(day: dt.date, today: dt.date, field: str = "decision_date") -> None:
    if day > today:
        raise RuleViolation(
            f"{field} {day.isoformat()} is in the future (today is {today.isoformat()})",
            [{"field": field, "rule": "not_in_future"}],
        )


def approve(
    n: Nomination,
    cmd: c.ApproveNomination,
    award_id: str,
    form: Form,
    catalogue: Catalogue,
    decided_by: c.Authority,
    actor: Actor,
    today: dt.date,
    now: dt.datetime,
) -> tuple[Nomination, Award, DomainEvent]:
    _require_status(n, OPEN, "approved")
    check_decision_date(cmd.decision_date, today)  # may precede submission: decisions are often entered later
    if cmd.decision_date.year < n.year:
        raise RuleViolation(
            f"decision_date {cmd.decision_date.isoformat()} is before the nomination's year {n.year}",
            [{"field": "decision_date", "rule": "decision_in_or_after_year"}],
        )
    if not form.in_force_on(cmd.decision_date):
        to = form.in_force.to.isoformat() if form.in_force.to else "—"
        raise RuleViolation(
            f"award form {form.code} is not in force on the decision date {cmd.decision_date.isoformat()} "
            f"(in force {form.in_force.from_.isoformat()} to {to})",
            [{"field": "decision_date", "rule": "form_in_force"}],
        )
    amount = catalogue.amount(form, n.nominee.kind, cmd.decision_date)
    new = _next(
        n,
        status="approved",
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
        award_id=award_id,
        grantor=decided_by,  # the authority of the decision date (the tree may have changed since submission)
        steps=[*n.steps, Step(event="approved", on=today, actor_id=actor.id, note=cmd.decision_no)],
    )
    award = Award(
        award_id=award_id,
        nomination_id=n.nomination_id,
        award_form=form.code,
        nominee=n.nominee,
        nominee_key=n.nominee_key,
        unit_id=n.nominee.unit_id,
        year=n.year,
        achievement=n.achievement,
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
        decided_by=decided_by,
        recorded_by=actor.id,
        amount_vnd=amount.vnd if amount else None,
        amount_unconfirmed=amount.unconfirmed if amount else True,
        created_at=now,
        sort_key=sort_key(cmd.decision_date, now, award_id),
    )
    data = c.NominationApproved(
        nomination_id=n.nomination_id,
        award_id=award_id,
        award_form=form.code,
        nominee=n.nominee,
        year=n.year,
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
        decided_by=decided_by,
        recorded_by=actor.id,
        amount_vnd=award.amount_vnd,
        amount_unconfirmed=award.amount_unconfirmed,
    )
    return new, award, DomainEvent("nomination", "approved", n.nomination_id, data, new.version)


def reject(n: Nomination, cmd: c.RejectNomination, actor: Actor, today: dt.date) -> tuple[Nomination, DomainEvent]:
    _require_status(n, OPEN, "rejected")
    if cmd.decision_date is not None:
        check_decision_date(cmd.decision_date, today)
    new = _next(
        n,
        status="rejected",
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
        steps=[*n.steps, Step(event="rejected", on=today, actor_id=actor.id, reason=cmd.reason)],
    )
    data = c.NominationRejected(
        nomination_id=n.nomination_id, reason=cmd.reason, decision_no=cmd.decision_no, decision_date=cmd.decision_date
    )
    return new, DomainEvent("nomination", "rejected", n.nomination_id, data, new.version)


def confer(
    award: Award, cmd: c.ConferAward, festival: KnownFestival | None, presented_by: str | None, today: dt.date
) -> tuple[Award, DomainEvent]:
    if award.status != "approved":
        raise Conflict(
            f"award {award.award_id} is {award.status}; only an approved award can be conferred (once)",
            [{"field": "status", "value": award.status}],
        )
    if cmd.conferred_on > today:
        raise RuleViolation(
            f"conferred_on {cmd.conferred_on.isoformat()} is in the future: an award is recorded conferred once "
            f"it is (today is {today.isoformat()})",
            [{"field": "conferred_on", "rule": "not_in_future"}],
        )
    if cmd.conferred_on < award.decision_date:
        raise RuleViolation(
            f"conferred_on {cmd.conferred_on.isoformat()} is before the decision ({award.decision_date.isoformat()})",
            [{"field": "conferred_on", "rule": "after_decision"}],
        )
    if festival is not None and cmd.conferred_on != festival.date:
        raise RuleViolation(
            f"an award conferred at festival {festival.festival_id} is conferred on its date "
            f"{festival.date.isoformat()}, not {cmd.conferred_on.isoformat()}",
            [{"field": "conferred_on", "rule": "festival_date"}],
        )
    new = award.model_copy(
        update={
            "status": "conferred",
            "conferred_on": cmd.conferred_on,
            "festival_id": cmd.festival_id,
            "presented_by": presented_by,
            "version": award.version + 1,
        }
    )
    data = c.AwardConferred(
        award_id=award.award_id,
        nomination_id=award.nomination_id,
        award_form=award.award_form,
        nominee=award.nominee,
        conferred_on=cmd.conferred_on,
        festival_id=cmd.festival_id,
        presented_by=presented_by,
    )
    return new, DomainEvent("award", "conferred", award.award_id, data, new.version)


def revoke(award: Award, cmd: c.RevokeAward, actor: Actor, today: dt.date) -> tuple[Award, DomainEvent]:
    if award.status == "revoked":
        raise Conflict(f"award {award.award_id} is already revoked", [{"field": "status", "value": award.status}])
    check_decision_date(cmd.decision_date, today)
    if cmd.decision_date < award.decision_date:
        raise RuleViolation(
            f"the revocation's decision_date {cmd.decision_date.isoformat()} is before the award's decision "
            f"({award.decision_date.isoformat()})",
            [{"field": "decision_date", "rule": "after_decision"}],
        )
    rev = Revocation(reason=cmd.reason, decision_no=cmd.decision_no, decision_date=cmd.decision_date, actor_id=actor.id)
    new = award.model_copy(update={"status": "revoked", "revocation": rev, "version": award.version + 1})
    data = c.AwardRevoked(
        award_id=award.award_id,
        nomination_id=award.nomination_id,
        reason=cmd.reason,
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
    )
    return new, DomainEvent("award", "revoked", award.award_id, data, new.version)


def record_gift(
    cmd: c.RecordGift, gift_id: str, festival: KnownFestival | None, actor: Actor, today: dt.date, now: dt.datetime
) -> tuple[Gift, DomainEvent]:
    given_on = cmd.given_on or (festival.date if festival else today)
    if given_on > today:
        raise RuleViolation(
            f"given_on {given_on.isoformat()} is in the future: a gift is recorded once given",
            [{"field": "given_on", "rule": "not_in_future"}],
        )
    gift = Gift(
        gift_id=gift_id,
        unit_id=cmd.unit_id,
        beneficiary_kind=cmd.beneficiary_kind,
        recipients=cmd.recipients,
        value_vnd=cmd.value_vnd,
        funding_source=cmd.funding_source,
        festival_id=cmd.festival_id,
        given_on=given_on,
        year=given_on.year,
        note=cmd.note,
        recorded_by=actor.id,
        created_at=now,
        sort_key=sort_key(given_on, now, gift_id),
    )
    data = c.GiftRecorded(**gift.model_dump(exclude={"recorded_by", "created_at", "sort_key"}))
    return gift, DomainEvent("gift", "recorded", gift_id, data, 1)
