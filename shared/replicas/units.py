"""The units replica: registry's effective-dated tree, rebuilt from its `unit.*` events, and the
period rules registry's own domain uses. Pure: no I/O; every service that needs the tree (awards,
notifications, reporting) applies events with `apply` and asks `UnitsView` for a date.

Periods are half-open [valid_from, valid_to); nothing is deleted; each event changes only its
subject unit, so applying each unit's events in version order gives registry's state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from shared.contract import registry as c
from shared.contract.errors import RuleViolation

END = dt.date(9999, 12, 31)  # open-ended validity; stored instead of null so ranges compare simply
MAX_DEPTH = 8  # province → district → commune → hamlet, with room for agencies and old trees
Status = Literal["active", "not_yet_valid", "closed"]


COMMUNE_LEVEL = ("commune", "ward", "special_zone", "township")  # thị trấn (township): trees before 1 Jul 2025


class Period(BaseModel):
    """One version of a unit, in force over [valid_from, valid_to)."""

    model_config = ConfigDict(extra="ignore")
    valid_from: dt.date
    valid_to: dt.date = END
    parent_id: str | None
    name: str
    code: str | None = None
    flags: list[str] = []
    kind: c.UnitKind | None = None  # filled from the unit when absent (records written before kinds changed)


class Link(BaseModel):
    """A lineage link: the unit it points to, how, and from when."""

    model_config = ConfigDict(extra="ignore")
    unit_id: str
    relation: Literal["merged", "split"]
    date: dt.date


class UnitRecord(BaseModel):
    """Đơn vị: a node of the effective-dated tree with its periods and lineage both ways."""

    model_config = ConfigDict(extra="ignore")
    unit_id: str
    kind: c.UnitKind
    versions: list[Period]
    predecessors: list[Link] = []
    successors: list[Link] = []
    closed_reason: str | None = None
    version: int = 0  # the aggregate version: registry's `aggregateversion` of the last event applied

    @model_validator(mode="after")
    def _kinds(self) -> Self:
        """Every period knows its kind; the unit's `kind` is the kind of its latest period."""
        if any(v.kind is None for v in self.versions):
            self.versions = [v if v.kind else v.model_copy(update={"kind": self.kind}) for v in self.versions]
        if self.versions and self.versions[-1].kind != self.kind:
            self.kind = self.versions[-1].kind  # type: ignore[assignment]
        return self

    def kind_at(self, day: dt.date) -> str:
        """The kind in force on `day` (the nearest period's when the unit does not exist that day)."""
        return self.shown(day).kind or self.kind

    @property
    def valid_from(self) -> dt.date:
        return self.versions[0].valid_from

    @property
    def valid_to(self) -> dt.date:
        return self.versions[-1].valid_to

    @property
    def current(self) -> Period:
        return self.versions[-1]

    def at(self, day: dt.date) -> Period | None:
        for v in self.versions:
            if v.valid_from <= day < v.valid_to:
                return v
        return None

    def status(self, day: dt.date) -> Status:
        if self.at(day) is not None:
            return "active"
        return "not_yet_valid" if day < self.valid_from else "closed"

    def shown(self, day: dt.date) -> Period:
        """The period in force on `day`, else the nearest one (the first before, the last after)."""
        return self.at(day) or (self.versions[0] if day < self.valid_from else self.current)

    def changed_from(self, day: dt.date, **changes: Any) -> Self:
        """A copy with a new period from `day`; history before `day` is untouched (a change on the
        first day of the current period replaces it)."""
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
        return self.model_copy(update={"versions": [*head, new], "version": self.version + 1, "kind": new.kind})

    def closed_on(self, day: dt.date, reason: str, successors: list[Link] | None = None) -> Self:
        last = self.at(day)
        if last is None:
            raise RuleViolation(f"unit {self.unit_id} does not exist on {day}")
        if last is not self.current:
            raise RuleViolation(f"unit {self.unit_id} has a change effective {self.current.valid_from}")
        if day <= last.valid_from:  # closing would erase a period that facts were published about
            what = "begins" if len(self.versions) == 1 else "has a change effective"
            raise RuleViolation(f"unit {self.unit_id} {what} on {last.valid_from}; it can close only after that")
        known = {(s.unit_id, s.relation) for s in self.successors}
        added = [s for s in successors or [] if (s.unit_id, s.relation) not in known]
        return self.model_copy(
            update={
                "versions": [*self.versions[:-1], last.model_copy(update={"valid_to": day})],
                "closed_reason": reason,
                "successors": [*self.successors, *added],
                "version": self.version + 1,
            }
        )


# ------------------------------------------------------------------------------------ events


def apply(record: UnitRecord | None, name: str, data: BaseModel, version: int | None = None) -> UnitRecord:
    """Registry's `unit.<name>` event applied to its subject unit (None before `registered`).

    `version` is the event's aggregate version; the record then carries it."""
    new = _apply(record, name, data)
    return new.model_copy(update={"version": version}) if version is not None else new


def _apply(record: UnitRecord | None, name: str, data: BaseModel) -> UnitRecord:
    if isinstance(data, c.UnitRegistered):
        relation = data.predecessor_relation or "merged"
        return UnitRecord(
            unit_id=data.unit_id,
            kind=data.kind,
            versions=[
                Period(
                    valid_from=data.valid_from,
                    parent_id=data.parent_id,
                    name=data.name,
                    code=data.code,
                    flags=data.flags,
                    kind=data.kind,
                )
            ],
            predecessors=[Link(unit_id=p, relation=relation, date=data.valid_from) for p in data.predecessor_ids],
            version=1,
        )
    if record is None:
        raise RuleViolation(f"unit.{name} for a unit the replica has not seen registered")
    if isinstance(data, c.UnitUpdated):
        kind = data.kind or record.current.kind
        return record.changed_from(data.effective_date, name=data.name, code=data.code, flags=data.flags, kind=kind)
    if isinstance(data, c.UnitMoved):
        return record.changed_from(data.effective_date, parent_id=data.to_parent_id)
    if isinstance(data, c.UnitsMerged):
        if data.target_created:  # its predecessors came with its registration
            return record.model_copy(update={"version": record.version + 1})
        links = [Link(unit_id=s, relation="merged", date=data.effective_date) for s in data.source_unit_ids]
        return record.model_copy(update={"predecessors": [*record.predecessors, *links], "version": record.version + 1})
    if isinstance(data, c.UnitSplit):
        links = [Link(unit_id=p, relation="split", date=data.effective_date) for p in data.part_unit_ids]
        return record.model_copy(update={"successors": [*record.successors, *links], "version": record.version + 1})
    if isinstance(data, c.UnitClosed):
        links = [Link(unit_id=s, relation="merged", date=data.effective_date) for s in data.successor_ids]
        # a split source already lists its parts (relation "split"): the closing adds only new ones
        links = [lk for lk in links if lk.unit_id not in {s.unit_id for s in record.successors}]
        return record.closed_on(data.effective_date, data.reason, links)
    raise RuleViolation(f"unit.{name} is not an event of the units replica")


# ------------------------------------------------------------------------------------ reading


class UnitsView:
    """Answers about the tree at a date, over any set of records (in memory or loaded by a store)."""

    def __init__(self, records: Iterable[UnitRecord]) -> None:
        self.records: dict[str, UnitRecord] = {r.unit_id: r for r in records}
        self._children: dict[str | None, set[str]] | None = None

    def put(self, record: UnitRecord) -> None:
        self.records[record.unit_id] = record
        self._children = None

    def unit(self, unit_id: str) -> UnitRecord | None:
        return self.records.get(unit_id)

    def ancestry(self, unit_id: str, day: dt.date) -> list[str]:
        """The unit and its ancestors on `day`, nearest first (empty if the unit is unknown)."""
        return ancestry(self.unit, unit_id, day)

    def kind_at(self, unit_id: str, day: dt.date) -> str | None:
        record = self.unit(unit_id)
        period = record.at(day) if record is not None else None
        return period.kind if period is not None else None

    def code_at(self, unit_id: str, day: dt.date) -> str | None:
        record = self.unit(unit_id)
        period = record.at(day) if record is not None else None
        return period.code if period is not None else None

    def status_at(self, unit_id: str, day: dt.date) -> Status | None:
        record = self.unit(unit_id)
        return record.status(day) if record is not None else None

    def children(self, parent_id: str | None, day: dt.date) -> list[UnitRecord]:
        """Units whose period on `day` hangs under `parent_id` (None: the roots), by id."""
        if self._children is None:
            index: dict[str | None, set[str]] = {}
            for r in self.records.values():
                for v in r.versions:
                    index.setdefault(v.parent_id, set()).add(r.unit_id)
            self._children = index
        found = []
        for uid in sorted(self._children.get(parent_id, ())):
            period = self.records[uid].at(day)
            if period is not None and period.parent_id == parent_id:
                found.append(self.records[uid])
        return found

    def subtree(self, root_id: str, day: dt.date) -> list[UnitRecord]:
        """Every unit below `root_id` on `day` (the root excluded), level by level."""
        return list(walk_down(lambda parent: self.children(parent, day), root_id))


def ancestry(
    get: Callable[[str], UnitRecord | None], unit_id: str, day: dt.date, max_depth: int = MAX_DEPTH
) -> list[str]:
    """The unit and its ancestors on `day`, nearest first; empty when the unit is unknown or does not
    exist that day. An ancestor the caller does not know ends the chain (its id is kept)."""
    record = get(unit_id)
    if record is None or record.at(day) is None:
        return []
    chain = [unit_id]
    while record is not None and len(chain) <= max_depth:
        period = record.at(day)
        if period is None or period.parent_id is None:
            break
        chain.append(period.parent_id)
        record = get(period.parent_id)
    return chain


def walk_down(
    children: Callable[[str], list[UnitRecord]], root_id: str, max_depth: int = MAX_DEPTH
) -> Iterator[UnitRecord]:
    frontier = [root_id]
    for _ in range(max_depth):
        level = [child for parent in frontier for child in children(parent)]
        yield from level
        frontier = [u.unit_id for u in level]
        if not frontier:
            return
