"""Registry rules: the effective-dated unit tree, campaigns, festivals and movement models.

Pure and deterministic: no I/O; the clock (`today`) and new ids are passed in."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.contract import registry as c
from shared.envelope import Actor
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from shared.events import DomainEvent

END = dt.date(9999, 12, 31)  # open-ended validity; stored instead of null so ranges compare simply
COMMUNE_LEVEL = ("commune", "ward", "special_zone")
TERRITORIAL = ("province", "district", *COMMUNE_LEVEL)

# Which kinds a unit of each kind may hang under. Agencies, enterprises and schools attach to a
# territorial unit at any level; hamlets (thôn, tổ dân phố) only under a commune-level unit.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "province": (),
    "district": ("province",),
    "commune": ("province", "district"),
    "ward": ("province", "district"),
    "special_zone": ("province", "district"),
    "hamlet": COMMUNE_LEVEL,
    "residential_group": COMMUNE_LEVEL,
    "agency": TERRITORIAL,
    "enterprise": TERRITORIAL,
    "school": TERRITORIAL,
}


class State(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _event(aggregate: str, name: str, subject: str, data: BaseModel, version: int) -> DomainEvent:
    return DomainEvent(aggregate=aggregate, name=name, subject=subject, data=data, aggregate_version=version)


# ------------------------------------------------------------------------------------ authorisation


def authorize(actor: Actor, ancestry: list[str], what: str) -> None:
    """A unit's data may be changed by an actor of that unit or of an ancestor (DESIGN §2).

    `ancestry` is the unit followed by its ancestors at the relevant date."""
    if actor.role == "admin" and not actor.unit:
        return
    if actor.unit in ancestry:
        return
    raise Forbidden(
        f"actor {actor.id} of unit {actor.unit} may not {what}: "
        f"it is neither unit {ancestry[0] if ancestry else '?'} nor one of its ancestors"
    )


# ------------------------------------------------------------------------------------ units


class UnitVersion(State):
    valid_from: dt.date
    valid_to: dt.date = END
    parent_id: str | None
    name: str
    code: str | None = None
    flags: list[str] = []


class LineageLink(State):
    unit_id: str
    relation: Literal["merged", "split"]
    date: dt.date


class Unit(State):
    """Đơn vị: a node of the effective-dated tree. Periods are half-open [valid_from, valid_to)."""

    unit_id: str
    kind: c.UnitKind
    versions: list[UnitVersion]
    predecessors: list[LineageLink] = []
    successors: list[LineageLink] = []
    closed_reason: str | None = None
    version: int = 0

    @property
    def valid_from(self) -> dt.date:
        return self.versions[0].valid_from

    @property
    def valid_to(self) -> dt.date:
        return self.versions[-1].valid_to

    @property
    def current(self) -> UnitVersion:
        return self.versions[-1]

    def at(self, day: dt.date) -> UnitVersion | None:
        for v in self.versions:
            if v.valid_from <= day < v.valid_to:
                return v
        return None

    def require_active(self, day: dt.date) -> UnitVersion:
        v = self.at(day)
        if v is None:
            raise RuleViolation(
                f"unit {self.unit_id} does not exist on {day} (valid {self.valid_from} to {_show(self.valid_to)})"
            )
        return v

    def changed_from(self, day: dt.date, **changes: Any) -> Unit:
        """A copy with a new version from `day`; history before `day` is untouched."""
        last = self.current
        if day < last.valid_from:
            raise RuleViolation(
                f"unit {self.unit_id} already has a change effective {last.valid_from}; "
                f"a change must be effective on or after it"
            )
        if day >= last.valid_to:
            raise RuleViolation(f"unit {self.unit_id} is closed from {last.valid_to}")
        new = last.model_copy(update={**changes, "valid_from": day, "valid_to": last.valid_to})
        head = self.versions[:-1]
        if day > last.valid_from:
            head = [*head, last.model_copy(update={"valid_to": day})]
        return self.model_copy(update={"versions": [*head, new], "version": self.version + 1})

    def closed_on(self, day: dt.date, reason: str, successors: list[LineageLink] | None = None) -> Unit:
        last = self.require_active(day)
        if last is not self.current:
            raise RuleViolation(f"unit {self.unit_id} has a change effective {self.current.valid_from}")
        if day <= last.valid_from:  # closing would erase a period that facts were published about
            what = "begins" if len(self.versions) == 1 else "has a change effective"
            raise RuleViolation(f"unit {self.unit_id} {what} on {last.valid_from}; it can close only after that")
        versions = [*self.versions[:-1], last.model_copy(update={"valid_to": day})]
        return self.model_copy(
            update={
                "versions": versions,
                "closed_reason": reason,
                "successors": [*self.successors, *(successors or [])],
                "version": self.version + 1,
            }
        )


def _show(day: dt.date) -> str:
    return "open" if day == END else day.isoformat()


def check_parent(kind: str, parent: Unit | None, day: dt.date, until: dt.date = END) -> None:
    """The parent must accept the kind and exist for the child's whole period [day, until)."""
    allowed = ALLOWED_PARENTS[kind]
    if parent is None:
        if allowed:
            raise ValidationFailed(f"a unit of kind {kind} needs a parent_id", [{"field": "parent_id"}])
        return
    if not allowed:
        raise ValidationFailed(f"a unit of kind {kind} has no parent", [{"field": "parent_id"}])
    parent.require_active(day)
    if parent.valid_to < until:
        raise RuleViolation(
            f"parent {parent.unit_id} closes on {parent.valid_to}; a unit cannot hang under it from {day} "
            f"until {_show(until)}"
        )
    if parent.kind not in allowed:
        raise RuleViolation(
            f"a unit of kind {kind} cannot be placed under a {parent.kind} (allowed parents: {', '.join(allowed)})"
        )


def new_unit(spec: c.NewUnit, unit_id: str, day: dt.date, parent: Unit | None, predecessors: list[str]) -> Unit:
    check_parent(spec.kind, parent, day)
    return Unit(
        unit_id=unit_id,
        kind=spec.kind,
        versions=[
            UnitVersion(
                valid_from=day,
                parent_id=spec.parent_id,
                name=spec.name,
                code=spec.code,
                flags=sorted(set(spec.flags)),
            )
        ],
        predecessors=[LineageLink(unit_id=p, relation="merged", date=day) for p in predecessors],
        version=1,
    )


def registered(unit: Unit) -> DomainEvent:
    v = unit.versions[0]
    return _event(
        "unit",
        "registered",
        unit.unit_id,
        c.UnitRegistered(
            unit_id=unit.unit_id,
            code=v.code,
            name=v.name,
            kind=unit.kind,
            parent_id=v.parent_id,
            valid_from=v.valid_from,
            flags=v.flags,
            predecessor_ids=[p.unit_id for p in unit.predecessors],
        ),
        unit.version,
    )


def register_unit(cmd: c.RegisterUnit, unit_id: str, parent: Unit | None) -> tuple[Unit, list[DomainEvent]]:
    unit = new_unit(cmd, unit_id, cmd.valid_from, parent, [])
    return unit, [registered(unit)]


def update_unit(unit: Unit, cmd: c.UpdateUnit) -> tuple[Unit, list[DomainEvent]]:
    changes: dict[str, Any] = {}
    if cmd.name is not None:
        changes["name"] = cmd.name
    if cmd.code is not None:
        changes["code"] = cmd.code
    if cmd.flags is not None:
        changes["flags"] = sorted(set(cmd.flags))
    new = unit.changed_from(cmd.effective_date, **changes)
    v = new.current
    return new, [
        _event(
            "unit",
            "updated",
            unit.unit_id,
            c.UnitUpdated(
                unit_id=unit.unit_id,
                effective_date=cmd.effective_date,
                name=v.name,
                code=v.code,
                flags=v.flags,
            ),
            new.version,
        )
    ]


def move_unit(unit: Unit, new_parent: Unit, day: dt.date, new_parent_ancestry: list[str]) -> tuple[Unit, DomainEvent]:
    old = unit.require_active(day)
    if unit.unit_id in new_parent_ancestry:
        raise RuleViolation(f"moving {unit.unit_id} under {new_parent.unit_id} would make a cycle")
    if old.parent_id == new_parent.unit_id:
        raise RuleViolation(f"unit {unit.unit_id} is already under {new_parent.unit_id} on {day}")
    check_parent(unit.kind, new_parent, day, unit.valid_to)
    moved = unit.changed_from(day, parent_id=new_parent.unit_id)
    return moved, _event(
        "unit",
        "moved",
        unit.unit_id,
        c.UnitMoved(
            unit_id=unit.unit_id,
            from_parent_id=old.parent_id,
            to_parent_id=new_parent.unit_id,
            effective_date=day,
        ),
        moved.version,
    )


def merge_units(
    sources: list[Unit],
    target: Unit,
    target_created: bool,
    children: list[Unit],
    day: dt.date,
) -> tuple[list[Unit], list[DomainEvent]]:
    """Sáp nhập: sources close on `day`, `target` succeeds them, their children move to it."""
    source_ids = {s.unit_id for s in sources}
    if target.unit_id in source_ids:
        raise RuleViolation("the target of a merge cannot be one of its sources")
    nested = sorted(ch.unit_id for ch in children if ch.unit_id in source_ids)
    if nested:
        raise RuleViolation(f"sources are nested (a source is the child of another): {', '.join(nested)}")
    target.require_active(day)
    events: list[DomainEvent] = []
    changed: list[Unit] = []
    moved_ids: list[str] = []
    for child in children:
        moved, ev = move_unit(child, target, day, [target.unit_id])
        changed.append(moved)
        events.append(ev)
        moved_ids.append(child.unit_id)
    link = [LineageLink(unit_id=target.unit_id, relation="merged", date=day)]
    closed = [s.closed_on(day, f"merged into {target.unit_id}", link) for s in sources]
    if target_created:  # its predecessors were set when it was formed
        events.insert(0, registered(target))
    back = [] if target_created else [LineageLink(unit_id=s.unit_id, relation="merged", date=day) for s in sources]
    # one version per event, so consumers that skip stale versions keep every fact
    target = target.model_copy(update={"predecessors": [*target.predecessors, *back], "version": target.version + 1})
    events.append(
        _event(
            "unit",
            "merged",
            target.unit_id,
            c.UnitsMerged(
                target_unit_id=target.unit_id,
                source_unit_ids=[s.unit_id for s in sources],
                effective_date=day,
                target_created=target_created,
                children_moved=moved_ids,
            ),
            target.version,
        )
    )
    for s in closed:
        events.append(
            _event(
                "unit",
                "closed",
                s.unit_id,
                c.UnitClosed(
                    unit_id=s.unit_id,
                    effective_date=day,
                    reason=s.closed_reason or "merged",
                    successor_ids=[target.unit_id],
                ),
                s.version,
            )
        )
    return [target, *closed, *changed], events


def split_unit(
    source: Unit,
    parts: list[Unit],
    assignment: dict[str, str],
    children: list[Unit],
    day: dt.date,
    close_source: bool,
) -> tuple[list[Unit], list[DomainEvent]]:
    """Chia tách: new parts are formed from `source`; listed children move to their part."""
    source.require_active(day)
    by_id = {p.unit_id: p for p in parts}
    active_children = {ch.unit_id: ch for ch in children}
    unknown = sorted(set(assignment) - set(active_children))
    if unknown:
        raise RuleViolation(f"not active children of {source.unit_id} on {day}: {', '.join(unknown)}")
    if close_source:
        missing = sorted(set(active_children) - set(assignment))
        if missing:
            raise RuleViolation(
                f"the source closes, so every active child must go to a part; unassigned: {', '.join(missing)}"
            )
    events: list[DomainEvent] = []
    changed: list[Unit] = []
    for child_id, part_id in assignment.items():
        moved, ev = move_unit(active_children[child_id], by_id[part_id], day, [part_id])
        changed.append(moved)
        events.append(ev)
    parts = [
        p.model_copy(update={"predecessors": [LineageLink(unit_id=source.unit_id, relation="split", date=day)]})
        for p in parts
    ]
    links = [LineageLink(unit_id=p.unit_id, relation="split", date=day) for p in parts]
    if close_source:  # two events (split, closed): two versions
        new_source = source.closed_on(day, "split", links)
        new_source = new_source.model_copy(update={"version": new_source.version + 1})
    else:
        new_source = source.model_copy(
            update={"successors": [*source.successors, *links], "version": source.version + 1}
        )
    split_version = source.version + 1
    head = [registered(p) for p in parts]
    head.append(
        _event(
            "unit",
            "split",
            source.unit_id,
            c.UnitSplit(
                source_unit_id=source.unit_id,
                part_unit_ids=[p.unit_id for p in parts],
                effective_date=day,
                source_closed=close_source,
            ),
            split_version,
        )
    )
    if close_source:
        head.append(
            _event(
                "unit",
                "closed",
                source.unit_id,
                c.UnitClosed(
                    unit_id=source.unit_id,
                    effective_date=day,
                    reason="split",
                    successor_ids=[p.unit_id for p in parts],
                ),
                new_source.version,
            )
        )
    return [new_source, *parts, *changed], head + events


def close_unit(unit: Unit, cmd: c.CloseUnit, open_children: list[str]) -> tuple[Unit, DomainEvent]:
    if open_children:
        raise RuleViolation(
            f"unit {unit.unit_id} still has children on or after {cmd.effective_date}: "
            f"{', '.join(open_children[:20])}; move, merge or close them first"
        )
    closed = unit.closed_on(cmd.effective_date, cmd.reason)
    return closed, _event(
        "unit",
        "closed",
        unit.unit_id,
        c.UnitClosed(
            unit_id=unit.unit_id,
            effective_date=cmd.effective_date,
            reason=cmd.reason,
        ),
        closed.version,
    )


def check_codes(changed: list[Unit], holders: dict[str, list[tuple[str, dt.date, dt.date]]]) -> None:
    """An official code is held by at most one unit at any date (codes are reused by successors).

    `holders` maps a code to (unit_id, from, to) periods of units *not* in `changed`."""
    periods: dict[str, list[tuple[str, dt.date, dt.date]]] = {k: list(v) for k, v in holders.items()}
    for u in changed:
        for v in u.versions:
            if v.code:
                periods.setdefault(v.code, []).append((u.unit_id, v.valid_from, v.valid_to))
    for code, spans in periods.items():
        spans.sort(key=lambda s: s[1])
        for (a_id, _a_from, a_to), (b_id, b_from, _b_to) in itertools.pairwise(spans):
            if a_id != b_id and b_from < a_to:
                raise Conflict(
                    f"official code {code} is held by unit {a_id} until {_show(a_to)}; "
                    f"unit {b_id} cannot take it from {b_from}"
                )


# ------------------------------------------------------------------------------------ campaigns


class Campaign(State):
    """The yearly campaign (đợt) of a scope: its window and report deadline."""

    campaign_id: str
    year: int
    scope_unit_id: str
    window_start: dt.date
    window_end: dt.date
    report_deadline: dt.date
    exceptions: list[c.WindowException] = []
    name: str | None = None
    version: int = 1

    def window_for(self, kind: str) -> tuple[dt.date, dt.date]:
        for e in self.exceptions:
            if e.kind == kind:
                return e.window_start, e.window_end
        return self.window_start, self.window_end

    def check_date(self, kind: str, day: dt.date, what: str) -> None:
        start, end = self.window_for(kind)
        if not start <= day <= end:
            special = " (the window for this unit kind)" if (start, end) != (self.window_start, self.window_end) else ""
            raise RuleViolation(
                f"{what} {day} is outside the campaign window {start} – {end}{special} of campaign {self.campaign_id}",
                [{"field": "date", "window_start": start.isoformat(), "window_end": end.isoformat()}],
            )


def open_campaign(cmd: c.OpenCampaign, campaign_id: str, scope: Unit) -> tuple[Campaign, DomainEvent]:
    y = cmd.year
    start = cmd.window_start or dt.date(y, 7, 1)
    end = cmd.window_end or dt.date(y, 8, 19)
    deadline = cmd.report_deadline or end
    problems = []
    if start > end:
        problems.append({"field": "window_end", "message": "must not be before window_start"})
    for name, d in (("window_start", start), ("window_end", end)):
        if d.year != y:
            problems.append({"field": name, "message": f"must be in {y}"})
    if deadline < start:
        problems.append({"field": "report_deadline", "message": "must not be before window_start"})
    for i, e in enumerate(cmd.exceptions):
        if e.window_start > e.window_end or e.window_start.year != y or e.window_end.year != y:
            problems.append({"field": f"exceptions.{i}", "message": f"window must be ordered and in {y}"})
    if len({e.kind for e in cmd.exceptions}) != len(cmd.exceptions):
        problems.append({"field": "exceptions", "message": "one exception per unit kind"})
    if problems:
        raise ValidationFailed("the campaign window is not valid", problems)
    scope.require_active(start)
    campaign = Campaign(
        campaign_id=campaign_id,
        year=y,
        scope_unit_id=scope.unit_id,
        window_start=start,
        window_end=end,
        report_deadline=deadline,
        exceptions=list(cmd.exceptions),
        name=cmd.name,
    )
    return campaign, _event(
        "campaign",
        "opened",
        campaign_id,
        c.CampaignOpened(
            campaign_id=campaign_id,
            year=y,
            scope_unit_id=scope.unit_id,
            window_start=start,
            window_end=end,
            report_deadline=deadline,
            exceptions=[e.model_dump(mode="json") for e in cmd.exceptions],
            name=cmd.name,
        ),
        1,
    )


def campaign_for(campaigns: list[Campaign], ancestry: list[str], year: int, unit_id: str) -> Campaign:
    """The campaign of the nearest scope among the unit and its ancestors."""
    by_scope = {cp.scope_unit_id: cp for cp in campaigns if cp.year == year}
    for uid in ancestry:
        if uid in by_scope:
            return by_scope[uid]
    raise NotFound(f"no campaign for {year} covers unit {unit_id}; open one for the unit or an ancestor first")


# ------------------------------------------------------------------------------------ festivals


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
    return f, _event(
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
    return new, _event(
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
    f: Festival, cmd: c.ReportFestival, campaign: Campaign, today: dt.date
) -> tuple[Festival, DomainEvent]:
    _require_planned(f, "report it held")
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
    return new, _event(
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
    return new, _event(
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


# ------------------------------------------------------------------------------------ movement models


class Replication(State):
    unit_id: str
    replicated_on: dt.date
    festival_id: str | None = None


class MovementModel(State):
    """Mô hình: a movement model launched by a unit and replicated (nhân rộng) to others."""

    model_id: str
    unit_id: str
    name: str
    category: str | None = None
    description: str | None = None
    launched_on: dt.date
    festival_id: str | None = None
    replications: list[Replication] = []
    version: int = 1


def register_model(cmd: c.RegisterModel, model_id: str, unit: Unit) -> tuple[MovementModel, DomainEvent]:
    unit.require_active(cmd.launched_on)
    m = MovementModel(
        model_id=model_id,
        unit_id=unit.unit_id,
        name=cmd.name,
        category=cmd.category,
        description=cmd.description,
        launched_on=cmd.launched_on,
        festival_id=cmd.festival_id,
    )
    return m, _event(
        "model",
        "registered",
        model_id,
        c.ModelRegistered(
            model_id=model_id,
            unit_id=unit.unit_id,
            name=cmd.name,
            category=cmd.category,
            launched_on=cmd.launched_on,
            festival_id=cmd.festival_id,
        ),
        1,
    )


def replicate_model(m: MovementModel, cmd: c.ReplicateModel, unit: Unit) -> tuple[MovementModel, DomainEvent]:
    unit.require_active(cmd.replicated_on)
    if cmd.unit_id == m.unit_id:
        raise RuleViolation(f"model {m.model_id} was launched by unit {m.unit_id}; it cannot be replicated there")
    if any(r.unit_id == cmd.unit_id for r in m.replications):
        raise Conflict(f"model {m.model_id} is already replicated at unit {cmd.unit_id}")
    if cmd.replicated_on < m.launched_on:
        raise RuleViolation(f"replicated_on {cmd.replicated_on} is before the model's launch {m.launched_on}")
    rep = Replication(unit_id=cmd.unit_id, replicated_on=cmd.replicated_on, festival_id=cmd.festival_id)
    new = m.model_copy(update={"replications": [*m.replications, rep], "version": m.version + 1})
    return new, _event(
        "model",
        "replicated",
        m.model_id,
        c.ModelReplicated(
            model_id=m.model_id,
            unit_id=cmd.unit_id,
            origin_unit_id=m.unit_id,
            replicated_on=cmd.replicated_on,
            festival_id=cmd.festival_id,
        ),
        new.version,
    )
