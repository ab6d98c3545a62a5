"""What each registry command asks the domain, once everything it needs is read: the actor (whose role
and scope are checked in one step, DESIGN §2), the command and the stored facts → new state and its
events, or a refusal, in the order a sender should hear them: who may act, what exists, what the
rules say.

Pure: the handler reads first, then calls one of these, then saves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from services.registry.domain.campaigns import Campaign, close_campaign, nearest, open_campaign
from services.registry.domain.festivals import (
    Festival,
    cancel_festival,
    check_models_launched,
    designation,
    plan_festival,
    report_festival,
    reschedule_festival,
    review_report,
)
from services.registry.domain.movement_models import MovementModel
from services.registry.domain.units import (
    Unit,
    close_unit,
    merge_units,
    move_unit,
    new_unit,
    register_unit,
    split_unit,
    update_unit,
)
from shared.authz import Permission, require_platform_admin, require_scope
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation
from shared.contract.events import DomainEvent


@dataclass(frozen=True)
class Target:
    """A unit a command names, as read: the unit (None: no such unit) and its ancestry on the day."""

    unit_id: str
    unit: Unit | None
    ancestry: list[str]


def authorized(
    actor: Actor,
    permission: Permission,
    target: Target,
    what: str,
    field: str = "unit_id",
    changes_unit: bool = False,
) -> Unit:
    """The actor's role and scope over the target, in one step. A unit that does not exist is refused the
    same way as one out of the actor's subtree; only a platform admin, who may act on any unit, learns
    that it does not exist."""
    require_scope(actor, target.ancestry if target.unit else [], permission, what, changes_unit=changes_unit)
    if target.unit is None:
        raise NotFound(f"unit {target.unit_id} does not exist", [{"field": field, "value": target.unit_id}])
    return target.unit


def unknown(actor: Actor, permission: Permission, what_kind: str, key: str, what: str, field: str) -> NotFound:
    """An id that names nothing: refused as out of scope, except to a platform admin (not_found)."""
    require_scope(actor, [], permission, what)
    return NotFound(f"{what_kind} {key} does not exist", [{"field": field, "value": key}])


def free(taken: bool, what_kind: str, key: str, field: str) -> None:
    if taken:
        raise Conflict(f"{what_kind} {key} already exists", [{"field": field, "value": key}])


# ------------------------------------------------------------------------------------ units


def registration(
    cmd: c.RegisterUnit, unit_id: str, taken: bool, parent: Target | None, actor: Actor, permission: Permission
) -> tuple[Unit, list[DomainEvent]]:
    if parent is None:
        require_platform_admin(actor, "register a province")
        up = None
    else:
        up = authorized(actor, permission, parent, f"register a unit under {parent.unit_id}", "parent_id")
    free(taken, "unit", unit_id, "unit_id")
    return register_unit(cmd, unit_id, up)


def update(cmd: c.UpdateUnit, target: Target, actor: Actor, permission: Permission) -> tuple[Unit, list[DomainEvent]]:
    # a commune becoming a ward is a structural change: the actor needs the wider permission
    needed: Permission = "restructure" if cmd.kind is not None else permission
    unit = authorized(actor, needed, target, f"update unit {cmd.unit_id}", changes_unit=True)
    return update_unit(unit, cmd)


def move(
    cmd: c.MoveUnit, target: Target, parent: Target, actor: Actor, permission: Permission
) -> tuple[Unit, DomainEvent]:
    unit = authorized(actor, permission, target, f"move unit {cmd.unit_id}")
    new_parent = authorized(actor, permission, parent, f"move a unit under {cmd.new_parent_id}", "new_parent_id")
    return move_unit(unit, new_parent, cmd.effective_date, parent.ancestry)


def orphans(closing: Sequence[str], day: dt.date, children_from: dict[str, list[str]], moving: set[str]) -> None:
    """Units that close must not keep children (active or future-dated) that do not move with them."""
    for uid in closing:
        left = [ch for ch in children_from.get(uid, []) if ch not in moving]
        if left:
            raise RuleViolation(
                f"unit {uid} closes on {day} but keeps children that do not move: {', '.join(left[:20])}; "
                "move or close them first",
                [{"rule": "no_orphans", "unit_id": uid, "unit_ids": left[:20]}],
            )


@dataclass(frozen=True)
class NewUnitRead:
    """A unit a merge or a split forms, as read: its id, whether that id is taken, and its parent."""

    unit_id: str
    taken: bool
    parent: Target | None


def merge(
    cmd: c.MergeUnits,
    sources: list[Target],
    into: Target | None,
    formed: NewUnitRead | None,
    children: list[Unit],
    children_from: dict[str, list[str]],
    actor: Actor,
    permission: Permission,
) -> tuple[list[Unit], list[DomainEvent]]:
    day = cmd.effective_date
    units = [authorized(actor, permission, s, f"merge unit {s.unit_id}", "source_unit_ids") for s in sources]
    if into is not None:
        target = authorized(actor, permission, into, f"merge into unit {into.unit_id}", "target_unit_id")
    else:
        assert cmd.new_unit is not None and formed is not None
        spec = cmd.new_unit
        if spec.parent_id in cmd.source_unit_ids:
            raise RuleViolation(
                f"the new unit cannot hang under {spec.parent_id}, which closes in this merge",
                [{"rule": "parent_outlives_child", "parent_id": spec.parent_id}],
            )
        if formed.parent is None:
            require_platform_admin(actor, "create a province")
            parent = None
        else:
            what = f"create a unit under {formed.parent.unit_id}"
            parent = authorized(actor, permission, formed.parent, what, "new_unit.parent_id")
        free(formed.taken, "unit", formed.unit_id, "unit_id")
        target = new_unit(spec, formed.unit_id, day, parent, [u.unit_id for u in units])
    orphans([u.unit_id for u in units], day, children_from, {ch.unit_id for ch in children})
    return merge_units(units, target, into is None, children, day)


def split(
    cmd: c.SplitUnit,
    source: Target,
    parts: list[NewUnitRead],
    children: list[Unit],
    children_from: dict[str, list[str]],
    actor: Actor,
    permission: Permission,
) -> tuple[list[Unit], list[DomainEvent]]:
    day = cmd.effective_date
    unit = authorized(actor, permission, source, f"split unit {cmd.unit_id}")
    default_parent = unit.require_active(day).parent_id
    made: list[Unit] = []
    assignment: dict[str, str] = {}
    for i, (spec, read) in enumerate(zip(cmd.parts, parts, strict=True)):
        parent_id = spec.parent_id or default_parent
        if cmd.close_source and parent_id == unit.unit_id:
            raise RuleViolation(
                f"part {i} cannot hang under {unit.unit_id}, which closes in this split",
                [{"rule": "parent_outlives_child", "field": f"parts.{i}.parent_id"}],
            )
        parent = None
        if read.parent is not None:  # creating a unit under a parent needs authority over that parent
            what = f"create a unit under {read.parent.unit_id}"
            parent = authorized(actor, permission, read.parent, what, f"parts.{i}.parent_id")
        free(read.taken, "unit", read.unit_id, "unit_id")
        if read.unit_id in {p.unit_id for p in made}:
            raise Conflict(f"part unit_id {read.unit_id} repeats", [{"field": f"parts.{i}.unit_id"}])
        made.append(new_unit(spec.model_copy(update={"parent_id": parent_id}), read.unit_id, day, parent, []))
        for child in spec.children:
            if child in assignment:
                raise Conflict(f"child {child} is assigned to two parts", [{"field": f"parts.{i}.children"}])
            assignment[child] = read.unit_id
    if cmd.close_source:
        orphans([unit.unit_id], day, children_from, set(assignment))
    return split_unit(unit, made, assignment, children, day, cmd.close_source)


def closing(
    cmd: c.CloseUnit, target: Target, open_children: list[str], actor: Actor, permission: Permission
) -> tuple[Unit, DomainEvent]:
    unit = authorized(actor, permission, target, f"close unit {cmd.unit_id}")
    return close_unit(unit, cmd, open_children)


# ------------------------------------------------------------------------------------ campaigns


def opening(
    cmd: c.OpenCampaign,
    campaign_id: str,
    taken: bool,
    scope: Target,
    year_campaigns: list[Campaign],
    below: list[Campaign],
    actor: Actor,
    permission: Permission,
) -> tuple[Campaign, DomainEvent]:
    """`below`: the year's campaigns of scopes under this one (on the window's first day)."""
    unit = authorized(actor, permission, scope, f"open a campaign for {cmd.scope_unit_id}", "scope_unit_id")
    existing = next((cp for cp in year_campaigns if cp.scope_unit_id == unit.unit_id), None)
    if existing is not None:
        raise Conflict(
            f"unit {unit.unit_id} already has campaign {existing.campaign_id} for {cmd.year}",
            [{"rule": "one_campaign_per_scope", "campaign_id": existing.campaign_id}],
        )
    if taken:
        raise Conflict(f"campaign {campaign_id} already exists", [{"field": "campaign_id", "value": campaign_id}])
    upper = nearest(year_campaigns, scope.ancestry[1:], cmd.year)
    return open_campaign(cmd, campaign_id, unit, upper, below)


def closing_campaign(
    cmd: c.CloseCampaign,
    campaign: Campaign | None,
    scope: Target | None,
    actor: Actor,
    permission: Permission,
    today: dt.date,
) -> tuple[Campaign, DomainEvent]:
    what = f"close campaign {cmd.campaign_id}"
    if campaign is None or scope is None:
        raise unknown(actor, permission, "campaign", cmd.campaign_id, what, "campaign_id")
    authorized(actor, permission, scope, what)
    return close_campaign(campaign, cmd, today)


# ------------------------------------------------------------------------------------ festivals


def planning(
    cmd: c.PlanFestival,
    festival_id: str,
    taken: bool,
    target: Target,
    actor_unit: Unit | None,
    campaigns: list[Campaign],
    active: list[str],
    actor: Actor,
    permission: Permission,
) -> tuple[Festival, DomainEvent]:
    """`campaigns`: the year's campaigns of the unit and its ancestors; `active`: its festivals that year."""
    unit = authorized(actor, permission, target, f"plan a festival for {cmd.unit_id}")
    level = cmd.point_level
    designated_by = designation(level, actor, actor_unit, target.ancestry, cmd.date) if level else None
    free(taken, "festival", festival_id, "festival_id")
    upper = nearest(campaigns, target.ancestry, cmd.year)
    return plan_festival(cmd, festival_id, unit, upper, active, designated_by)


def festival_unit(
    festival: Festival | None, festival_id: str, target: Target | None, actor: Actor, permission: Permission, what: str
) -> tuple[Festival, Unit]:
    """A festival an officer of its unit (or above) acts on, with its unit."""
    what = f"{what} festival {festival_id}"
    if festival is None or target is None:
        raise unknown(actor, permission, "festival", festival_id, what, "festival_id")
    return festival, authorized(actor, permission, target, what)


def rescheduling(
    cmd: c.RescheduleFestival, festival: Festival | None, target: Target | None, campaign: Campaign | None,
    actor: Actor, permission: Permission,
) -> tuple[Festival, DomainEvent]:  # fmt: skip
    f, unit = festival_unit(festival, cmd.festival_id, target, actor, permission, "reschedule")
    return reschedule_festival(f, cmd, unit, covering(campaign, f))


def covering(campaign: Campaign | None, f: Festival) -> Campaign:
    if campaign is None:  # cannot happen unless data was edited by hand
        raise NotFound(f"campaign {f.campaign_id} does not exist")
    return campaign


def reporting(
    cmd: c.ReportFestival,
    festival: Festival | None,
    target: Target | None,
    actor_unit: Unit | None,
    models: dict[str, tuple[MovementModel | None, list[str]]],
    campaign: Campaign | None,
    actor: Actor,
    permission: Permission,
    today: dt.date,
) -> tuple[Festival, list[DomainEvent]]:
    """`models`: each model launched, with its unit's ancestry on the day held."""
    f, unit = festival_unit(festival, cmd.festival_id, target, actor, permission, "report")
    assert target is not None
    designated_by = None
    if cmd.point_level and cmd.point_level != f.point_level:
        designated_by = designation(cmd.point_level, actor, actor_unit, target.ancestry, cmd.held_on)
    check_models_launched(f.unit_id, cmd.held_on, models)
    return report_festival(f, cmd, unit, covering(campaign, f), today, designated_by)


def reviewing(
    festival: Festival | None, festival_id: str, target: Target | None, verdict: Literal["accepted", "returned"],
    text: str | None, reviewer: str | None, actor: Actor, permission: Permission, today: dt.date,
) -> tuple[Festival, DomainEvent]:  # fmt: skip
    """An officer of an ancestor of the festival's unit (not of the unit itself: a report is reviewed
    by the level above) accepts or returns its report."""
    what = f"{'accept' if verdict == 'accepted' else 'return'} the report of festival {festival_id}"
    if festival is None or target is None or target.unit is None:
        raise unknown(actor, permission, "festival", festival_id, what, "festival_id")
    if actor.unit is not None and actor.unit == festival.unit_id:
        raise Forbidden(
            f"actor {actor.id} of unit {actor.unit} may not {what}: rule: a festival's report is reviewed by the "
            "level above (an officer of an ancestor of its unit), not by the unit itself",
            [{"rule": "level_above"}],
        )
    require_scope(actor, target.ancestry[1:], permission, what)
    return review_report(festival, verdict, text, reviewer, today)


def cancelling(
    cmd: c.CancelFestival, festival: Festival | None, target: Target | None, actor: Actor, permission: Permission
) -> tuple[Festival, DomainEvent]:
    f, _ = festival_unit(festival, cmd.festival_id, target, actor, permission, "cancel")
    return cancel_festival(f, cmd)
