"""The units replica: registry's effective-dated tree as a pure fold of its `unit.*` events, and
answers about it on a date (`UnitsView`). No I/O, and no rule: the replica records what registry
published and never refuses a fact (registry's rules live in services/registry/domain/), so an
owner that relaxes a rule never breaks its readers.

Periods are half-open [valid_from, valid_to); nothing is deleted; each event changes only its
subject unit, so applying each unit's events in version order gives registry's state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterable
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, model_validator

from shared.contract import registry as c
from shared.replicas.records import END, Dated, LineageLink, SlimRecord, Status

__all__ = ["END", "LineageLink", "Record", "SlimRecord", "Status", "UnitRecord", "UnitsView"]
from shared.replicas.walk import MAX_DEPTH, down, run, up


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


class UnitRecord(BaseModel, Dated[Period]):
    """Đơn vị: a node of the effective-dated tree with its periods and lineage both ways."""

    model_config = ConfigDict(extra="ignore")
    unit_id: str
    kind: c.UnitKind
    versions: list[Period]
    predecessors: list[LineageLink] = []
    successors: list[LineageLink] = []
    closed_reason: str | None = None
    version: int = 0  # the aggregate version: registry's `aggregateversion` of the last event applied
    last_event: str | None = None  # that event's id, and its correlation: what a change of the tree traces to
    last_correlation: str | None = None

    @model_validator(mode="after")
    def _kinds(self) -> Self:
        """Every period knows its kind; the unit's `kind` is the kind of its latest period."""
        if any(v.kind is None for v in self.versions):
            self.versions = [v if v.kind else v.model_copy(update={"kind": self.kind}) for v in self.versions]
        if self.versions and self.versions[-1].kind != self.kind:
            self.kind = self.versions[-1].kind  # type: ignore[assignment]
        return self

    # ------------------------------------------------------------------------------- transitions

    def with_change(self, day: dt.date, **changes: Any) -> Self:
        """From `day` on, each changed field takes its new value until the next period that had
        changed it already; history before `day` is untouched. Never refuses (registry's domain
        decides what may change when)."""
        versions = list(self.versions)
        for i, v in enumerate(versions):  # the period that holds `day` is cut there
            if v.valid_from < day < v.valid_to:
                versions[i : i + 1] = [v.model_copy(update={"valid_to": day}), v.model_copy(update={"valid_from": day})]
                break
        later = [i for i, v in enumerate(versions) if v.valid_from >= day]
        for field, value in changes.items():
            first = getattr(versions[later[0]], field) if later else None
            for i in later:
                if getattr(versions[i], field) != first:
                    break  # a later change of this field stands
                versions[i] = versions[i].model_copy(update={field: value})
        return self.model_copy(update={"versions": versions, "version": self.version + 1, "kind": versions[-1].kind})

    def closed_from(self, day: dt.date, reason: str, successors: Iterable[LineageLink] = ()) -> Self:
        """The unit exists until `day` (periods from `day` on end there); successors are added once."""
        kept = [v.model_copy(update={"valid_to": min(v.valid_to, day)}) for v in self.versions if v.valid_from < day]
        if not kept:  # closed before it began: it never exists
            first = self.versions[0]
            kept = [first.model_copy(update={"valid_to": first.valid_from})]
        known = {(s.unit_id, s.relation) for s in self.successors}
        added = [s for s in successors if (s.unit_id, s.relation) not in known]
        return self.model_copy(
            update={
                "versions": kept,
                "closed_reason": reason,
                "successors": [*self.successors, *added],
                "version": self.version + 1,
                "kind": kept[-1].kind,
            }
        )


Record = UnitRecord | SlimRecord


# ------------------------------------------------------------------------------------ the fold


class NeverRegistered(Exception):
    """A unit event whose unit was never registered: not a fact registry publishes (its first event of a
    unit is always `registered`), so no retry makes sense of it."""


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
            predecessors=[
                LineageLink(unit_id=p, relation=relation, date=data.valid_from) for p in data.predecessor_ids
            ],
            version=1,
        )
    if record is None:
        raise NeverRegistered(f"unit.{name} for a unit that was never registered")
    if isinstance(data, c.UnitUpdated):
        changes = {"name": data.name, "code": data.code, "flags": data.flags}
        return record.with_change(data.effective_date, **changes, **({"kind": data.kind} if data.kind else {}))
    if isinstance(data, c.UnitMoved):
        return record.with_change(data.effective_date, parent_id=data.to_parent_id)
    if isinstance(data, c.UnitsMerged):
        if data.target_created:  # its predecessors came with its registration
            return record.model_copy(update={"version": record.version + 1})
        links = [LineageLink(unit_id=s, relation="merged", date=data.effective_date) for s in data.source_unit_ids]
        return record.model_copy(update={"predecessors": [*record.predecessors, *links], "version": record.version + 1})
    if isinstance(data, c.UnitSplit):
        links = [LineageLink(unit_id=p, relation="split", date=data.effective_date) for p in data.part_unit_ids]
        return record.model_copy(update={"successors": [*record.successors, *links], "version": record.version + 1})
    if isinstance(data, c.UnitClosed):
        # a split source already lists its parts (relation "split"): the closing adds only new ones
        listed = {s.unit_id for s in record.successors}
        links = [
            LineageLink(unit_id=s, relation="merged", date=data.effective_date)
            for s in data.successor_ids
            if s not in listed
        ]
        return record.closed_from(data.effective_date, data.reason, links)
    raise NeverRegistered(f"unit.{name} is not an event of the units replica")


# ------------------------------------------------------------------------------------ lineage


def carriers(unit_id: str, day: dt.date) -> Generator[str, Record | None, list[str]]:
    """The units that carry `unit_id` on `day` through the lineage (DESIGN §2): the unit itself while
    it exists; once it is closed, its successors (merged into, or the parts it was split into) that
    exist that day, followed as far as the lineage goes. Empty when the unit is unknown, not yet valid,
    or closed without a successor. A walk like `up`: yields ids, is sent their records."""
    out: list[str] = []
    seen: set[str] = set()
    frontier = [unit_id]
    for _ in range(MAX_DEPTH):
        following: list[str] = []
        for uid in frontier:
            if uid in seen:
                continue
            seen.add(uid)
            record = yield uid
            if record is None:
                continue
            if record.at(day) is not None:
                out.append(uid)
            elif day >= record.valid_to:
                following += [s.unit_id for s in record.successors if s.date <= day]
        if not following:
            break
        frontier = following
    return out


def predecessors(unit_id: str) -> Generator[str, Record | None, list[str]]:
    """Every unit the lineage says `unit_id` was formed from or absorbed, back as far as it goes,
    nearest first (the unit itself excluded)."""
    out: list[str] = []
    seen = {unit_id}
    frontier = [unit_id]
    for _ in range(MAX_DEPTH):
        earlier: list[str] = []
        for uid in frontier:
            record = yield uid
            for link in record.predecessors if record else []:
                if link.unit_id not in seen:
                    seen.add(link.unit_id)
                    earlier.append(link.unit_id)
        if not earlier:
            break
        out += earlier
        frontier = earlier
    return out


# ------------------------------------------------------------------------------------ reading


class UnitsView:
    """Answers about the tree at a date, over any set of records (in memory or loaded by a store)."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.records: dict[str, Record] = {r.unit_id: r for r in records}
        self._children: dict[str | None, tuple[str, ...]] | None = None  # parent → its children ever, by id

    def put(self, record: Record) -> None:
        self.records[record.unit_id] = record
        self._children = None

    def updated(self, records: Iterable[Record]) -> UnitsView:
        """A new view: these records over this one's (which is left as it was, for whoever holds it)."""
        out = UnitsView(())
        out.records = {**self.records, **{r.unit_id: r for r in records}}
        return out

    def unit(self, unit_id: str) -> Record | None:
        return self.records.get(unit_id)

    def ancestry(self, unit_id: str, day: dt.date) -> list[str]:
        """The unit and its ancestors on `day`, nearest first (empty if the unit is unknown)."""
        return run(up(unit_id, day), self.records.get)

    def children(self, parent_id: str | None, day: dt.date) -> list[Record]:
        """Units whose period on `day` hangs under `parent_id` (None: the roots), by id."""
        if self._children is None:
            # built in id order into lists, kept as tuples: a set per parent took 2 KB for a commune's
            # 24 hamlets (10 MB for a province, at once, each time a changed tree was first walked)
            index: dict[str | None, list[str]] = {}
            for uid in sorted(self.records):
                for v in self.records[uid].versions:
                    ids = index.setdefault(v.parent_id, [])
                    if not ids or ids[-1] != uid:  # a unit back under a parent it had before: once
                        ids.append(uid)
            self._children = {p: tuple(ids) for p, ids in index.items()}
            del index
        found = []
        for uid in self._children.get(parent_id, ()):
            period = self.records[uid].at(day)
            if period is not None and period.parent_id == parent_id:
                found.append(self.records[uid])
        return found

    def subtree(self, root_id: str, day: dt.date) -> list[Record]:
        """Every unit below `root_id` on `day` (the root excluded), level by level."""
        return run(down(root_id, unit_id_of), lambda parents: [ch for p in parents for ch in self.children(p, day)])


def unit_id_of(record: Record) -> str:
    return record.unit_id
