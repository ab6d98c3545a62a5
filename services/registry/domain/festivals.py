"""Festivals (Ngày hội): planned → held | cancelled, inside the campaign window.

Pure: the clock (`today`) is passed in."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from services.registry.domain.campaigns import Campaign
from services.registry.domain.common import State, fact
from services.registry.domain.units import Unit
from shared.contract import registry as c
from shared.contract.errors import Conflict, RuleViolation, ValidationFailed
from shared.contract.events import DomainEvent


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
    additional: bool = False
    status: Literal["planned", "held", "cancelled"] = "planned"
    reschedules: list[dict[str, Any]] = []
    result: dict[str, Any] | None = None
    on_time: bool | None = None
    cancel_reason: str | None = None
    version: int = 1


def plan_festival(
    cmd: c.PlanFestival, festival_id: str, unit: Unit, campaign: Campaign, active_festivals: list[str]
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
    campaign.check_date(unit.kind, cmd.date, "festival date")
    if active_festivals and not cmd.allow_additional:
        raise Conflict(
            f"unit {unit.unit_id} already has festival {active_festivals[0]} in {cmd.year}; "
            "set allow_additional to plan another",
            [{"festival_id": f} for f in active_festivals],
        )
    f = Festival(
        festival_id=festival_id,
        campaign_id=campaign.campaign_id,
        unit_id=unit.unit_id,
        unit_kind=unit.kind,
        year=cmd.year,
        date=cmd.date,
        venue=cmd.venue,
        title=cmd.title,
        ceremony=cmd.ceremony,
        festival_part=cmd.festival_part,
        point_level=cmd.point_level,
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
        ),
        1,
    )


def _require_planned(f: Festival, action: str) -> None:
    if f.status != "planned":
        raise Conflict(f"festival {f.festival_id} is {f.status}; cannot {action}")


def reschedule_festival(
    f: Festival, cmd: c.RescheduleFestival, unit: Unit, campaign: Campaign
) -> tuple[Festival, DomainEvent]:
    _require_planned(f, "reschedule it")
    if cmd.date.year != f.year:
        raise ValidationFailed(f"date {cmd.date} is not in {f.year}", [{"field": "date"}])
    unit.require_active(cmd.date)
    campaign.check_date(f.unit_kind, cmd.date, "new festival date")
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


def report_festival(
    f: Festival, cmd: c.ReportFestival, unit: Unit, campaign: Campaign, today: dt.date
) -> tuple[Festival, DomainEvent]:
    _require_planned(f, "report it held")
    unit.require_active(cmd.held_on)  # it rolls up under the tree of that day
    if cmd.held_on > today:
        raise RuleViolation(f"held_on {cmd.held_on} is in the future (today is {today})", [{"field": "held_on"}])
    campaign.check_date(f.unit_kind, cmd.held_on, "held_on")
    on_time = cmd.held_on <= campaign.report_deadline
    result = cmd.model_dump(mode="json", exclude={"festival_id"})
    new = f.model_copy(
        update={
            "status": "held",
            "result": result,
            "on_time": on_time,
            "version": f.version + 1,
            "point_level": cmd.point_level or f.point_level,
        }
    )
    return new, fact(
        "festival",
        "held",
        f.festival_id,
        c.FestivalHeld(
            festival_id=f.festival_id,
            campaign_id=f.campaign_id,
            unit_id=f.unit_id,
            year=f.year,
            held_on=cmd.held_on,
            on_time=on_time,
            participants=cmd.participants,
            ceremony_held=cmd.ceremony_held,
            festival_part_held=cmd.festival_part_held,
            cost_vnd=cmd.cost_vnd,
            funding_source=cmd.funding_source,
            activities=cmd.activities,
            models_launched=cmd.models_launched,
            gifts=cmd.gifts.model_dump() if cmd.gifts else None,
            point_level=new.point_level,
            delegates=cmd.delegates,
        ),
        new.version,
    )


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
