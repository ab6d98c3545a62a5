"""The dossier beyond one nomination's workflow: files joined to it; one decision approving many
nominations at once (each approved as `decisions.approval` approves it, all under one authority, or
none); past awards imported from the office's records.

Pure: no I/O; the handler reads first (and checks the upload itself), then calls one of these, then saves."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from services.awards.domain.decisions import Held, refuse_held
from services.awards.domain.model import (
    Award,
    CouncilReview,
    Decision,
    Nomination,
    Step,
    achievement_key,
    nominee_key,
    sort_key,
)
from services.awards.domain.model import decision_id as make_decision_id
from services.awards.domain.workflow import check_decision_date
from services.awards.rules import Form
from shared.authz import Permission, require_scope
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, DomainError, Forbidden, RuleViolation
from shared.contract.events import DomainEvent

Approved = tuple[Nomination, Award, DomainEvent]


def check_number(used: Mapping[str, Any] | None, decision_no: str, day: dt.date, via: str) -> bool:
    """One number of an authority in a year is one decision, of one date. `via`: "decision" (record-decision:
    the number must be new) or "single" (approve-nomination: a decision's nominations may be entered one
    at a time, under its number and date, unless record-decision recorded it whole). Returns whether the
    number is new (to be taken)."""
    if used is None:
        return True
    details = [{"field": "decision_no", "value": decision_no, "rule": "decision_number"}]
    if used["via"] == "decision":
        raise Conflict(
            f"decision {decision_no} was recorded whole with record-decision ({used['date']}): its list is closed",
            details,
        )
    if via == "decision":
        raise Conflict(
            f"decision {decision_no} was already used by approve-nomination ({used['date']}): record-decision records "
            "a decision once, with all its nominations",
            details,
        )
    if used["date"] != day.isoformat():
        raise Conflict(f"decision {decision_no} is dated {used['date']}, not {day.isoformat()}", details)
    return False


def refused_item(nomination_id: str, error: DomainError) -> dict[str, Any]:
    """One nomination a decision cannot approve, and why (what approve-nomination would answer)."""
    rule = next((d["rule"] for d in error.details if isinstance(d, dict) and "rule" in d), None)
    return {"nomination_id": nomination_id, "code": error.code, "rule": rule, "message": error.message}


def decision(
    cmd: c.RecordDecision,
    approved: Sequence[Approved],
    refused: Sequence[dict[str, Any]],
    recorded: Decision | None,
    actor: Actor,
    now: dt.datetime,
) -> tuple[Decision, list[Approved], DomainEvent]:
    """One decision over many nominations, each approved as `approval` would (`approved`) or refused
    (`refused`: the reason for each): all of them, under one granting authority, or none. `recorded`:
    a decision already stored under the same id (the same authority and number)."""
    refused = list(refused)
    authority = approved[0][1].decided_by if approved else None
    for n, award, _ in approved:
        if award.decided_by != authority:
            assert authority is not None
            refused.append(
                {
                    "nomination_id": n.nomination_id,
                    "code": "rule_violation",
                    "rule": "one_authority",
                    "message": f"nomination {n.nomination_id} is decided by {award.decided_by.name} "
                    f"({award.decided_by.unit_id or 'outside the province'}), not by {authority.name} "
                    f"({authority.unit_id or 'outside the province'}), who decides the first one listed",
                }
            )
    if refused:
        order = {i.nomination_id: k for k, i in enumerate(cmd.nominations)}
        refused.sort(key=lambda r: order.get(r["nomination_id"], 0))
        message = (
            f"decision {cmd.decision_no} was not recorded: {len(refused)} of {len(cmd.nominations)} nominations "
            "cannot be approved under it (the reason for each is in details); nothing was approved"
        )
        if all(r["code"] == "forbidden" for r in refused):
            raise Forbidden(message, refused)
        raise RuleViolation(message, refused)
    assert authority is not None
    decision_id = make_decision_id(authority, cmd.decision_no, cmd.decision_date)
    if recorded is not None:
        on = recorded.decision_date.isoformat()
        raise Conflict(
            f"decision {cmd.decision_no} of {authority.name} is already recorded ({on}, "
            f"{len(recorded.nominations)} nominations): a decision is recorded once",
            [{"field": "decision_no", "value": cmd.decision_no, "rule": "decision_recorded_once", "id": decision_id}],
        )
    out: list[Approved] = []
    listed: list[c.DecidedNomination] = []
    for n, award, event in approved:
        award = award.model_copy(update={"signer": cmd.signer, "decision_id": decision_id})
        data = event.data.model_copy(update={"signer": cmd.signer, "decision_id": decision_id})
        out.append((n, award, dataclasses.replace(event, data=data)))
        listed.append(
            c.DecidedNomination(
                nomination_id=n.nomination_id,
                award_id=award.award_id,
                award_form=award.award_form,
                nominee=award.nominee,
                nominee_unit_name=award.unit_name,
                achievement=award.achievement,
                amount_vnd=award.amount_vnd,
            )
        )
    d = Decision(
        decision_id=decision_id,
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date,
        signer=cmd.signer,
        title=cmd.title,
        decided_by=authority,
        recorded_by=actor.id,
        nominations=listed,
        created_at=now,
        sort_key=sort_key(cmd.decision_date, now, decision_id),
    )
    data = c.DecisionRecorded(**d.model_dump(exclude={"created_at", "sort_key"}))
    return d, out, DomainEvent("decision", "recorded", decision_id, data, 1)


def imported(
    cmd: c.ImportAward,
    award_id: str,
    existing: Award | None,
    form: Form | None,
    readers: Sequence[str],
    held: Held,
    actor: Actor,
    permission: Permission,
    today: dt.date,
    now: dt.datetime,
    authority: c.Authority | None = None,
    earned_by: str | None = None,
) -> tuple[Nomination, Award, DomainEvent] | None:
    """A past award from the office's records: an officer of the nominee's unit or above (today) enters
    it; the form must be one of the catalogue and for the nominee's kind, and not have ended before the
    decision (a date before the data's first is history, accepted); a standing award or nomination of the
    same achievement, or of a once-only form for the person, refuses it. `authority`: who granted it,
    read on the tree of its decision date (None: beyond the tree's reach, then the form's grantor by
    name); `earned_by`: the nominee's unit's name then. None: the same award was imported already."""
    what = f"import an award for unit {cmd.nominee.unit_id}"
    require_scope(actor, list(readers), permission, what)
    if form is None:
        raise RuleViolation(
            f"award form {cmd.award_form} does not exist",
            [{"field": "award_form", "value": cmd.award_form, "rule": "form_exists"}],
        )
    if cmd.nominee.kind not in form.for_:
        raise RuleViolation(
            f"award form {form.code} is for {' and '.join(form.for_)} nominees, not {cmd.nominee.kind}",
            [{"field": "nominee.kind", "value": cmd.nominee.kind, "rule": "form_for"}],
        )
    check_decision_date(cmd.decision_date, today)
    if form.in_force.to is not None and cmd.decision_date > form.in_force.to:  # before the data's dates: history
        raise RuleViolation(
            f"award form {form.code} ended on {form.in_force.to.isoformat()}: it was not granted on "
            f"{cmd.decision_date.isoformat()}",
            [{"field": "decision_date", "rule": "form_in_force"}],
        )
    if cmd.year > cmd.decision_date.year:
        raise RuleViolation(
            f"the achievement's year {cmd.year} is after its decision ({cmd.decision_date.isoformat()})",
            [{"field": "year", "value": cmd.year, "rule": "decision_in_or_after_year"}],
        )
    if existing is not None:
        key = nominee_key(cmd.nominee.kind, cmd.nominee.unit_id, _person(cmd))
        same = (existing.award_form, existing.nominee_key, existing.decision_no, existing.year) == (
            form.code, key, cmd.decision_no, cmd.year,
        )  # fmt: skip
        if same and existing.imported and (existing.decision_date, existing.achievement) == (
            cmd.decision_date, cmd.achievement,
        ):  # fmt: skip
            return None
        if same and existing.imported:
            raise Conflict(
                f"award {award_id} was imported already with other details (decision of "
                f"{existing.decision_date.isoformat()}, achievement {existing.achievement!r}): the first is kept",
                [{"field": "award_id", "value": award_id, "rule": "imported_once"}],
            )
        raise Conflict(f"award {award_id} already exists", [{"field": "award_id", "value": award_id}])
    refuse_held(form, _person(cmd), held)
    nominee = c.NomineeFact.model_validate(cmd.nominee.model_dump())
    decided_by = authority or c.Authority(kind="outside", level="outside", name=form.grantor.name)
    if cmd.decided_by:
        decided_by = decided_by.model_copy(update={"name": cmd.decided_by})
    nomination_id = f"{award_id}-n"
    key = nominee_key(nominee.kind, nominee.unit_id, _person(cmd))
    n = Nomination(
        nomination_id=nomination_id, nominee=nominee, nominee_key=key, award_form=form.code, year=cmd.year,
        achievement=cmd.achievement, achievement_key=achievement_key(cmd.achievement), grantor=decided_by,
        forwarded=form.grantor.outside, status="approved", submitted_on=cmd.decision_date, submitted_by=actor.id,
        steps=[Step(event="imported", on=today, actor_id=actor.id, note=cmd.register_no)], imported=True,
        decision_no=cmd.decision_no, decision_date=cmd.decision_date, award_id=award_id, created_at=now,
        sort_key=sort_key(cmd.decision_date, now, nomination_id),
    )  # fmt: skip
    award = Award(
        award_id=award_id, nomination_id=nomination_id, award_form=form.code, nominee=nominee, nominee_key=key,
        unit_id=nominee.unit_id, unit_name=earned_by, year=cmd.year, achievement=cmd.achievement,
        decision_no=cmd.decision_no,
        decision_date=cmd.decision_date, decided_by=decided_by, recorded_by=actor.id, amount_vnd=None,
        amount_unconfirmed=True, status="conferred", imported=True, register_no=cmd.register_no, created_at=now,
        sort_key=sort_key(cmd.decision_date, now, award_id), version=1,
    )  # fmt: skip
    data = c.AwardImported(
        award_id=award_id, nomination_id=nomination_id, award_form=form.code, nominee=nominee, year=cmd.year,
        achievement=cmd.achievement, decision_no=cmd.decision_no, decision_date=cmd.decision_date,
        decided_by=decided_by.name, register_no=cmd.register_no,
    )  # fmt: skip
    return n, award, DomainEvent("award", "imported", award_id, data, 1)


def _person(cmd: c.ImportAward) -> str | None:
    return cmd.nominee.person.person_id if cmd.nominee.person else None


def council_review(
    n: Nomination, cmd: c.RecordCouncilReview, form: Form, actor: Actor, today: dt.date
) -> tuple[Nomination, DomainEvent]:
    """The council's review of an open dossier (the granting authority's approver records it, checked by
    the handler), with its minutes already attached to the dossier."""
    if n.status not in ("submitted", "resubmitted"):
        raise Conflict(
            f"nomination {n.nomination_id} is {n.status}: the council reviews a dossier awaiting its decision",
            [{"field": "status", "value": n.status, "rule": "dossier_open"}],
        )
    if not form.council:
        raise RuleViolation(
            f"{form.name} is decided without the emulation council's review",
            [{"field": "nomination_id", "rule": "council_not_required"}],
        )
    if n.council is not None:
        outcome = "recommended it" if n.council.recommended else "did not recommend it"
        raise Conflict(
            f"the council reviewed nomination {n.nomination_id} on {n.council.meeting_date.isoformat()} and {outcome}: "
            "a dossier is reviewed again after it is returned and resubmitted",
            [{"field": "nomination_id", "rule": "council_reviewed_once"}],
        )
    check_decision_date(cmd.meeting_date, today, "meeting_date")
    if cmd.meeting_date.year < n.year:  # like a decision, often entered after the fact, but not before its year
        raise RuleViolation(
            f"meeting_date {cmd.meeting_date.isoformat()} is before the nomination's year {n.year}",
            [{"field": "meeting_date", "rule": "meeting_in_or_after_year"}],
        )
    minutes = next((a for a in n.attachments if a.attachment_id == cmd.minutes_attachment_id), None)
    if minutes is None or minutes.kind != "bien_ban_hoi_dong":
        found = "is not among the dossier's files" if minutes is None else f"is a {minutes.kind}, not the minutes"
        raise RuleViolation(
            f"attachment {cmd.minutes_attachment_id} {found}: attach the council's minutes (kind bien_ban_hoi_dong) "
            "first",
            [{"field": "minutes_attachment_id", "value": cmd.minutes_attachment_id, "rule": "council_minutes"}],
        )
    review = CouncilReview(
        meeting_date=cmd.meeting_date,
        recommended=cmd.recommended,
        minutes_attachment_id=cmd.minutes_attachment_id,
        note=cmd.note,
        recorded_by=actor.id,
    )
    said = ("recommended" if cmd.recommended else "not recommended") + f" ({cmd.meeting_date.isoformat()})"
    step = Step(event="council_reviewed", on=today, actor_id=actor.id, note=f"{said}: {cmd.note}" if cmd.note else said)
    new = n.model_copy(update={"council": review, "steps": [*n.steps, step], "version": n.version + 1})
    data = c.NominationReviewed(
        nomination_id=n.nomination_id,
        meeting_date=cmd.meeting_date,
        recommended=cmd.recommended,
        minutes_attachment_id=cmd.minutes_attachment_id,
        note=cmd.note,
    )
    return new, DomainEvent("nomination", "reviewed", n.nomination_id, data, new.version)


def overdue(n: Nomination, today: dt.date) -> tuple[Nomination, DomainEvent] | None:
    """An open dossier past its due date, announced once per due date (None: not due, or said already)."""
    if n.status not in ("submitted", "resubmitted") or n.due_on is None or n.due_on >= today or n.overdue_on:
        return None
    step = Step(event="overdue", on=today, actor_id="system:awards", note=n.due_on.isoformat())
    new = n.model_copy(update={"overdue_on": today, "steps": [*n.steps, step], "version": n.version + 1})
    data = c.NominationOverdue(
        nomination_id=n.nomination_id,
        nominee=n.nominee,
        award_form=n.award_form,
        approver_unit_id=n.grantor.unit_id,
        approver=n.grantor.name,
        submitted_on=n.submitted_on,
        due_on=n.due_on,
    )
    return new, DomainEvent("nomination", "overdue", n.nomination_id, data, new.version)
