"""Festivals (Ngày hội): planned → held | cancelled, inside the campaign window; point festivals
(điểm) designated by an actor of their level; timeliness as two facts.

Pure: the clock (`today`) and what the handler read are passed in."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from services.registry.domain.campaigns import Campaign, covered
from services.registry.domain.common import State, fact
from services.registry.domain.movement_models import MovementModel
from services.registry.domain.units import Unit
from shared.authz import is_platform_admin
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from shared.contract.events import DomainEvent
from shared.contract.registry import COMMUNE_LEVEL


class Festival(State):
    """Ngày hội: one planned festival of a unit in a campaign; planned → held | cancelled."""

    festival_id: str
    campaign_id: str
    unit_id: str
    unit_kind: str
    year: int
    date: dt.date
    venue: str
    title: str | None = None
    ceremony: c.PartPlan
    festival_part: c.PartPlan
    point_level: c.PointLevel | None = None
    designated_by: str | None = None
    additional: bool = False
    status: Literal["planned", "held", "cancelled"] = "planned"
    review: Literal["pending", "accepted", "returned"] | None = None  # of the report, by an ancestor's officer
    review_reason: str | None = None
    reviewed_on: dt.date | None = None
    reviewed_by: str | None = None
    reschedules: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    on_time: bool | None = None  # held inside the window
    reported_on: dt.date | None = None  # the province's date the report reached the platform
    reported_on_time: bool | None = None  # reported_on ≤ report deadline, the campaign still open
    cancel_reason: str | None = None
    version: int = 1


def designation(
    level: c.PointLevel, actor: Actor, actor_unit: Unit | None, host_ancestry: list[str], day: dt.date
) -> str | None:
    """Who designates a point (điểm) festival of `level`: an actor of that level above the host (or
    the host itself, for a commune-level host). The ministry is outside the province's tree: only a
    platform admin records its designation. Returns the designating unit (None for the ministry)."""
    if is_platform_admin(actor):
        return None  # a platform operator records it (for the ministry, or on a level's behalf)
    kind = actor_unit.kind_at(day) if actor_unit is not None else None
    wanted = {"province": ("province",), "district": ("district",), "commune": COMMUNE_LEVEL, "ministry": ()}[level]
    if actor_unit is None or kind not in wanted or actor_unit.unit_id not in host_ancestry:
        raise Forbidden(
            f"actor {actor.id} of unit {actor.unit} may not designate a {level}-level point festival: rule: a point "
            f"festival is designated by an actor of its level ({level}) above the host unit",
            [{"rule": "point_level", "point_level": level}],
        )
    return actor_unit.unit_id


def plan_festival(
    cmd: c.PlanFestival,
    festival_id: str,
    unit: Unit,
    campaign: Campaign | None,
    active_festivals: list[str],
    designated_by: str | None = None,
) -> tuple[Festival, DomainEvent]:
    if not (cmd.ceremony.planned and cmd.festival_part.planned):
        raise ValidationFailed(
            "a festival must plan both the ceremony (phần lễ) and the festival part (phần hội)",
            [
                {
                    "field": "ceremony" if not cmd.ceremony.planned else "festival_part",
                    "message": "must be planned",
                }
            ],
        )
    if cmd.date.year != cmd.year:
        raise ValidationFailed(f"date {cmd.date} is not in {cmd.year}", [{"field": "date"}])
    unit.require_active(cmd.date)
    campaign = covered(campaign, cmd.year, unit.unit_id)
    campaign.require_open("planning a festival")
    kind = unit.kind_at(cmd.date)
    campaign.check_date(kind, cmd.date, "festival date")
    # one festival per unit and year; a point festival is that festival too, not an extra one
    if active_festivals and not cmd.allow_additional:
        raise Conflict(
            f"unit {unit.unit_id} already has festival {active_festivals[0]} in {cmd.year}; "
            "set allow_additional to plan another",
            [{"rule": "one_festival_per_year", "festival_id": f} for f in active_festivals],
        )
    f = Festival(
        festival_id=festival_id,
        campaign_id=campaign.campaign_id,
        unit_id=unit.unit_id,
        unit_kind=kind,
        year=cmd.year,
        date=cmd.date,
        venue=cmd.venue,
        title=cmd.title,
        ceremony=cmd.ceremony,
        festival_part=cmd.festival_part,
        point_level=cmd.point_level,
        designated_by=designated_by if cmd.point_level else None,
        additional=bool(active_festivals),
    )
    return f, fact(
        "festival",
        "planned",
        festival_id,
        c.FestivalPlanned(
            festival_id=festival_id,
            campaign_id=campaign.campaign_id,
            unit_id=unit.unit_id,
            year=cmd.year,
            date=cmd.date,
            venue=cmd.venue,
            ceremony=cmd.ceremony.model_dump(),
            festival_part=cmd.festival_part.model_dump(),
            point_level=cmd.point_level,
            designated_by=f.designated_by,
        ),
        1,
    )


def _require_planned(f: Festival, action: str) -> None:
    if f.status != "planned":
        raise Conflict(
            f"festival {f.festival_id} is {f.status}; cannot {action}",
            [{"rule": "festival_planned", "status": f.status}],
        )


def reschedule_festival(
    f: Festival, cmd: c.RescheduleFestival, unit: Unit, campaign: Campaign
) -> tuple[Festival, DomainEvent]:
    _require_planned(f, "reschedule it")
    campaign.require_open("rescheduling a festival")
    if cmd.date.year != f.year:
        raise ValidationFailed(f"date {cmd.date} is not in {f.year}", [{"field": "date"}])
    unit.require_active(cmd.date)
    campaign.check_date(unit.kind_at(cmd.date), cmd.date, "new festival date")
    venue = cmd.venue or f.venue
    new = f.model_copy(
        update={
            "date": cmd.date,
            "venue": venue,
            "version": f.version + 1,
            "reschedules": [
                *f.reschedules,
                {"from": f.date.isoformat(), "to": cmd.date.isoformat(), "reason": cmd.reason},
            ],
        }
    )
    return new, fact(
        "festival",
        "rescheduled",
        f.festival_id,
        c.FestivalRescheduled(
            festival_id=f.festival_id,
            unit_id=f.unit_id,
            year=f.year,
            from_date=f.date,
            date=cmd.date,
            venue=venue,
            reason=cmd.reason,
        ),
        new.version,
    )


def check_models_launched(
    festival_unit: str, held_on: dt.date, models: dict[str, tuple[MovementModel | None, list[str]]]
) -> None:
    """Models launched at a festival exist, belong to the festival's unit or its subtree (the model's
    unit has the festival's unit among its ancestors on the day) and were launched by that day.
    `models` maps each id to the model (None if unknown) and its unit's ancestry on `held_on`."""
    for model_id, (model, ancestry) in models.items():
        if model is None:
            raise NotFound(f"model {model_id} does not exist", [{"field": "models_launched", "value": model_id}])
        if festival_unit not in ancestry:
            raise RuleViolation(
                f"model {model_id} belongs to unit {model.unit_id}, which is not unit {festival_unit} or below it "
                f"on {held_on}",
                [{"field": "models_launched", "value": model_id, "rule": "model_of_unit"}],
            )
        if model.launched_on > held_on:
            raise RuleViolation(
                f"model {model_id} is launched on {model.launched_on}, after the festival ({held_on})",
                [{"field": "models_launched", "value": model_id, "rule": "model_launched_before"}],
            )


def funding_of(cmd: c.ReportFestival) -> tuple[int | None, list[dict[str, Any]], str | None]:
    """The cost, its lines by funding source (v2) and the sources named in one string (v1): from
    `funding` (whose amounts must add up to the cost, which defaults to their sum), or from the one
    `funding_source` (one line carrying the whole cost)."""
    if cmd.funding is None:
        lines = [{"source": cmd.funding_source, "amount_vnd": cmd.cost_vnd}] if cmd.funding_source else []
        return cmd.cost_vnd, lines, cmd.funding_source
    if cmd.funding_source is not None:
        raise RuleViolation(
            "give the funding either as one funding_source or as funding lines, not both",
            [{"field": "funding_source", "rule": "one_way_of_funding"}],
        )
    total = sum(part.amount_vnd for part in cmd.funding)
    if cmd.cost_vnd is not None and total != cmd.cost_vnd:
        raise RuleViolation(
            f"the funding lines add up to {total:,} đồng, not the cost of {cmd.cost_vnd:,} đồng",
            [{"field": "funding", "rule": "funding_adds_up", "value": total}],
        )
    lines = [{"source": part.source, "amount_vnd": part.amount_vnd} for part in cmd.funding]
    sources = "; ".join(dict.fromkeys(part.source for part in cmd.funding)) or None
    return (cmd.cost_vnd if cmd.cost_vnd is not None else total), lines, sources


def report_festival(
    f: Festival,
    cmd: c.ReportFestival,
    unit: Unit,
    campaign: Campaign,
    today: dt.date,
    designated_by: str | None = None,
) -> tuple[Festival, list[DomainEvent]]:
    """Held, with results. Reality is recordable: a festival held outside the window is reported
    with `on_time` false; a report after the deadline, or once the campaign is closed, with
    `reported_on_time` false. Published as festival.held v2 and, while consumers move, v1 (its twin,
    marked superseded by v2)."""
    if not (f.status == "held" and f.review == "returned"):  # a returned report is reported again
        _require_planned(f, "report it held")
    if cmd.held_on.year != f.year:
        raise ValidationFailed(f"held_on {cmd.held_on} is not in {f.year}", [{"field": "held_on"}])
    if not cmd.ceremony_held and not cmd.festival_part_held:
        raise RuleViolation(
            "a festival held holds at least one of its two parts (the ceremony or the festival part); one that "
            "held neither was not held: cancel it instead",
            [{"field": "ceremony_held", "rule": "a_part_held"}],
        )
    unit.require_active(cmd.held_on)  # it rolls up under the tree of that day
    if cmd.held_on > today:
        raise RuleViolation(
            f"held_on {cmd.held_on} is in the future (today is {today})",
            [{"field": "held_on", "rule": "not_in_future"}],
        )
    cost, funding, sources = funding_of(cmd)
    on_time = campaign.inside(unit.kind_at(cmd.held_on), cmd.held_on)
    reported_on_time = campaign.closed_on is None and today <= campaign.report_deadline
    result = {**cmd.model_dump(mode="json", exclude={"festival_id"}), "cost_vnd": cost}
    point_level = cmd.point_level or f.point_level
    designator = designated_by if cmd.point_level else f.designated_by
    new = f.model_copy(
        update={
            "status": "held",
            "result": result,
            "on_time": on_time,
            "reported_on": today,
            "reported_on_time": reported_on_time,
            "version": f.version + 1,
            "point_level": point_level,
            "designated_by": designator,
            "review": "pending",
            "review_reason": None,
        }
    )
    facts: dict[str, Any] = {
        "festival_id": f.festival_id,
        "campaign_id": f.campaign_id,
        "unit_id": f.unit_id,
        "year": f.year,
        "held_on": cmd.held_on,
        "on_time": on_time,
        "reported_on": today,
        "reported_on_time": reported_on_time,
        "participants": cmd.participants,
        "ceremony_held": cmd.ceremony_held,
        "festival_part_held": cmd.festival_part_held,
        "cost_vnd": cost,
        "activities": cmd.activities,
        "models_launched": cmd.models_launched,
        "gifts": cmd.gifts.model_dump() if cmd.gifts else None,
        "point_level": point_level,
        "delegates": cmd.delegates,
        "designated_by": designator,
    }
    v1 = c.FestivalHeld(**facts, funding_source=sources)
    v2 = c.FestivalHeldV2(**facts, funding=funding)
    return new, [
        DomainEvent("festival", "held", f.festival_id, v1, new.version, superseded_by=2),
        DomainEvent("festival", "held", f.festival_id, v2, new.version, version=2),
    ]


def review_report(
    f: Festival, verdict: Literal["accepted", "returned"], text: str | None, reviewer: str | None, today: dt.date
) -> tuple[Festival, DomainEvent]:
    """The upper level's review of a held festival's report (domain facts §3.2): accepted, or returned
    with a reason, after which the unit reports again. An accepted report is final; a returned one is
    not accepted until it is reported again."""
    if f.status != "held":
        raise Conflict(
            f"festival {f.festival_id} is {f.status}; only a held festival's report is reviewed",
            [{"rule": "festival_held", "status": f.status}],
        )
    if f.review in ("accepted", "returned"):
        raise Conflict(
            f"the report of festival {f.festival_id} is already {f.review}"
            + ("; the unit reports it again first" if f.review == "returned" else ""),
            [{"rule": "report_pending", "review": f.review}],
        )
    new = f.model_copy(
        update={
            "review": verdict,
            "review_reason": text if verdict == "returned" else None,
            "reviewed_on": today,
            "reviewed_by": reviewer,
            "version": f.version + 1,
        }
    )
    common = {"festival_id": f.festival_id, "unit_id": f.unit_id, "year": f.year}
    data: c.FestivalReportAccepted | c.FestivalReportReturned = (
        c.FestivalReportAccepted(**common, accepted_on=today, accepted_by=reviewer, note=text)
        if verdict == "accepted"
        else c.FestivalReportReturned(**common, returned_on=today, returned_by=reviewer, reason=text or "")
    )
    return new, fact("festival", f"report-{verdict}", f.festival_id, data, new.version)


def cancel_festival(f: Festival, cmd: c.CancelFestival) -> tuple[Festival, DomainEvent]:
    _require_planned(f, "cancel it")
    new = f.model_copy(update={"status": "cancelled", "cancel_reason": cmd.reason, "version": f.version + 1})
    return new, fact(
        "festival",
        "cancelled",
        f.festival_id,
        c.FestivalCancelled(
            festival_id=f.festival_id,
            unit_id=f.unit_id,
            year=f.year,
            reason=cmd.reason,
        ),
        new.version,
    )
