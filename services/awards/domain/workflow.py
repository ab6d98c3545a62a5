"""The nomination workflow (DESIGN §2): submitted → (returned → resubmitted)* → approved (an award)
or rejected; an award conferred (at a festival) and perhaps revoked, never deleted.

Pure: the handler passes what it read (the form, the nominee's ancestry, stored aggregates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from services.awards.domain.model import (
    Award,
    KnownFestival,
    Nomination,
    Revocation,
    Step,
    achievement_key,
    nominee_key,
    sort_key,
)
from services.awards.rules import Catalogue, Form
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, NotFound, RuleViolation
from shared.contract.events import DomainEvent

OPEN = ("submitted", "resubmitted")  # a decision may be taken


def _earlier(earlier: Nomination, visible: bool) -> str:
    if not visible:
        return "a nomination in records you may not see"
    state = earlier.status + (", imported from the office's records" if earlier.imported else "")
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
    unit or of one of its ancestors; a nomination's festival is of its year or the next (a decision may
    come after its year's festival; no source says how often that happens)."""
    if festival is None:
        raise NotFound(
            f"festival {festival_id} is not known to awards (yet): registry's events may still be on their way",
            [{"rule": "not_known_yet", "field": "festival_id", "value": festival_id}],
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
            [{"field": "festival_id", "value": festival_id, "rule": "festival_of_unit_or_ancestor"}],
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
    due: tuple[dt.date, bool] | None = None,
) -> tuple[Nomination, DomainEvent]:
    """`due`: by when the authority decides, and whether that processing time is unconfirmed."""
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
        due_on=due[0] if due else None,
        due_unconfirmed=due[1] if due else False,
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
        due_on=n.due_on,
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


def resubmit(
    n: Nomination, cmd: c.ResubmitNomination, actor: Actor, today: dt.date, due: tuple[dt.date, bool] | None = None
) -> tuple[Nomination, DomainEvent]:
    """The corrected dossier starts its processing time again (`due`) and needs the council again."""
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
        due_on=due[0] if due else n.due_on,
        due_unconfirmed=due[1] if due else n.due_unconfirmed,
        overdue_on=None,
        council=None,
    )
    data = c.NominationResubmitted(
        nomination_id=n.nomination_id,
        note=cmd.note,
        achievement=achievement,
        person=nominee.person,
        festival_id=new.festival_id,
        resubmitted_on=today,
        due_on=new.due_on,
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
    successors: list[str] | None = None,
    earned_by: str | None = None,
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
        unit_name=earned_by,
        successor_unit_ids=successors or [],
        year=n.year,
        achievement=n.achievement,
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
        decided_by=decided_by,
        recorded_by=actor.id,
        amount_vnd=amount.vnd if amount else None,
        amount_unconfirmed=amount.unconfirmed if amount else True,
        amount_at_most=amount.at_most if amount else False,
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
        amount_at_most=award.amount_at_most,
        nominee_unit_name=earned_by,
        successor_unit_ids=successors or [],
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
