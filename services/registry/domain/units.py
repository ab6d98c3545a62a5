"""Units (đơn vị): the effective-dated tree with lineage through moves, mergers and splits.

Pure: periods are half-open [valid_from, valid_to); nothing is deleted."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from services.registry.domain.common import ALLOWED_PARENTS, fact
from shared.contract import registry as c
from shared.contract.errors import Conflict, RuleViolation, ValidationFailed
from shared.contract.events import DomainEvent
from shared.contract.registry import COMMUNE_LEVEL
from shared.replicas.units import END, LineageLink, Period, UnitRecord

# A unit's data is the shape registry publishes (the replicas fold the same facts into the same
# records); the rules on what may change, and when, are registry's alone and live here.
UnitVersion = Period


class Unit(UnitRecord):
    """Đơn vị: a node of the effective-dated tree. Periods are half-open [valid_from, valid_to)."""

    def require_active(self, day: dt.date) -> UnitVersion:
        v = self.at(day)
        if v is None:
            raise RuleViolation(
                f"unit {self.unit_id} does not exist on {day} (valid {self.valid_from} to {show_date(self.valid_to)})",
                [{"rule": "unit_active", "unit_id": self.unit_id}],
            )
        return v

    def changed_from(self, day: dt.date, **changes: Any) -> Unit:
        """A new period from `day`: a change is effective on or after the last one, while the unit exists
        (a change on the first day of the current period replaces it)."""
        last = self.current
        if day < last.valid_from:
            raise RuleViolation(
                f"unit {self.unit_id} already has a change effective {last.valid_from}; "
                f"a change must be effective on or after it",
                [{"rule": "change_after_last", "unit_id": self.unit_id}],
            )
        if day >= last.valid_to:
            raise RuleViolation(
                f"unit {self.unit_id} is closed from {last.valid_to}",
                [{"rule": "unit_active", "unit_id": self.unit_id}],
            )
        return self.with_change(day, **changes)

    def closed_on(self, day: dt.date, reason: str, successors: list[LineageLink] | None = None) -> Unit:
        """Closed from `day`: only in its current period, and after that period began (closing on its
        first day would erase a period that facts were published about)."""
        last = self.require_active(day)
        if last is not self.current:
            raise RuleViolation(
                f"unit {self.unit_id} has a change effective {self.current.valid_from}",
                [{"rule": "close_current", "unit_id": self.unit_id}],
            )
        if day <= last.valid_from:
            what = "begins" if len(self.versions) == 1 else "has a change effective"
            raise RuleViolation(
                f"unit {self.unit_id} {what} on {last.valid_from}; it can close only after that",
                [{"rule": "close_after_start", "unit_id": self.unit_id}],
            )
        return self.closed_from(day, reason, successors or [])


def show_date(day: dt.date) -> str:
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
            f"until {show_date(until)}",
            [{"rule": "parent_outlives_child", "parent_id": parent.unit_id, "valid_to": parent.valid_to.isoformat()}],
        )
    parent_kind = parent.kind_at(day)
    if parent_kind not in allowed:
        raise RuleViolation(
            f"a unit of kind {kind} cannot be placed under a {parent_kind} (allowed parents: {', '.join(allowed)})",
            [{"rule": "allowed_parent", "kind": kind, "parent_kind": parent_kind}],
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
                kind=spec.kind,
            )
        ],
        predecessors=[LineageLink(unit_id=p, relation="merged", date=day) for p in predecessors],
        version=1,
    )


def registered(unit: Unit) -> DomainEvent:
    v = unit.versions[0]
    return fact(
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
            predecessor_relation=unit.predecessors[0].relation if unit.predecessors else None,
        ),
        unit.version,
    )


def register_unit(cmd: c.RegisterUnit, unit_id: str, parent: Unit | None) -> tuple[Unit, list[DomainEvent]]:
    unit = new_unit(cmd, unit_id, cmd.valid_from, parent, [])
    return unit, [registered(unit)]


def update_unit(unit: Unit, cmd: c.UpdateUnit) -> tuple[Unit, list[DomainEvent]]:
    changes: dict[str, Any] = {}
    if cmd.kind is not None:
        was = unit.require_active(cmd.effective_date).kind or unit.kind
        if was not in COMMUNE_LEVEL or cmd.kind not in COMMUNE_LEVEL:
            raise RuleViolation(
                f"a kind changes only between commune-level kinds ({', '.join(COMMUNE_LEVEL)}); "
                f"unit {unit.unit_id} is a {was}, not a {cmd.kind}",
                [{"field": "kind", "rule": "commune_level_kind"}],
            )
        changes["kind"] = cmd.kind
    if cmd.name is not None:
        changes["name"] = cmd.name
    if cmd.code is not None:
        changes["code"] = cmd.code
    if cmd.flags is not None:
        changes["flags"] = sorted(set(cmd.flags))
    new = unit.changed_from(cmd.effective_date, **changes)
    v = new.current
    return new, [
        fact(
            "unit",
            "updated",
            unit.unit_id,
            c.UnitUpdated(
                unit_id=unit.unit_id,
                effective_date=cmd.effective_date,
                name=v.name,
                code=v.code,
                flags=v.flags,
                kind=v.kind,
            ),
            new.version,
        )
    ]


def move_unit(unit: Unit, new_parent: Unit, day: dt.date, new_parent_ancestry: list[str]) -> tuple[Unit, DomainEvent]:
    old = unit.require_active(day)
    if unit.unit_id in new_parent_ancestry:
        raise RuleViolation(
            f"moving {unit.unit_id} under {new_parent.unit_id} would make a cycle", [{"rule": "no_cycle"}]
        )
    if old.parent_id == new_parent.unit_id:
        raise RuleViolation(
            f"unit {unit.unit_id} is already under {new_parent.unit_id} on {day}", [{"rule": "a_move_moves"}]
        )
    check_parent(unit.kind_at(day), new_parent, day, unit.valid_to)
    moved = unit.changed_from(day, parent_id=new_parent.unit_id)
    return moved, fact(
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
        raise RuleViolation("the target of a merge cannot be one of its sources", [{"rule": "merge_target"}])
    nested = sorted(ch.unit_id for ch in children if ch.unit_id in source_ids)
    if nested:
        raise RuleViolation(
            f"sources are nested (a source is the child of another): {', '.join(nested)}",
            [{"rule": "sources_not_nested", "unit_ids": nested}],
        )
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
        fact(
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
            fact(
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
        raise RuleViolation(
            f"not active children of {source.unit_id} on {day}: {', '.join(unknown)}",
            [{"rule": "split_children", "unit_ids": unknown}],
        )
    if close_source:
        missing = sorted(set(active_children) - set(assignment))
        if missing:
            raise RuleViolation(
                f"the source closes, so every active child must go to a part; unassigned: {', '.join(missing)}",
                [{"rule": "no_orphans", "unit_ids": missing}],
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
        fact(
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
            fact(
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
            f"{', '.join(open_children[:20])}; move, merge or close them first",
            [{"rule": "no_orphans", "unit_ids": open_children[:20]}],
        )
    closed = unit.closed_on(cmd.effective_date, cmd.reason)
    return closed, fact(
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
                    f"official code {code} is held by unit {a_id} until {show_date(a_to)}; "
                    f"unit {b_id} cannot take it from {b_from}",
                    [{"rule": "code_held_once", "code": code, "holder": a_id}],
                )
