"""What a unit record answers about its dates (`Dated`, written once), the lineage link, and the
compact record a reader keeps in memory (`SlimRecord`): the parts of the units replica that do not
fold events (shared.replicas.units does)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

END = dt.date(9999, 12, 31)  # open-ended validity; stored instead of null so ranges compare simply
Status = Literal["active", "not_yet_valid", "closed"]


class LineageLink(BaseModel):
    """A lineage link: the unit it points to, how, and from when."""

    model_config = ConfigDict(extra="ignore")
    unit_id: str
    relation: Literal["merged", "split"]
    date: dt.date


P = TypeVar("P", bound="PeriodLike")


class PeriodLike(Protocol):
    @property
    def valid_from(self) -> dt.date: ...
    @property
    def valid_to(self) -> dt.date: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str | None: ...


class Dated(Generic[P]):
    """What a record answers about its dates, written once for the stored record (`UnitRecord`, a
    pydantic model) and the compact one reporting keeps in memory (`SlimRecord`)."""

    __slots__ = ()
    if TYPE_CHECKING:
        kind: str

        @property
        def versions(self) -> Sequence[P]: ...

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
    def current(self) -> P:
        return self.versions[-1]

    def at(self, day: dt.date) -> P | None:
        for v in self.versions:
            if v.valid_from <= day < v.valid_to:
                return v
        return None

    def status(self, day: dt.date) -> Status:
        if self.at(day) is not None:
            return "active"
        return "not_yet_valid" if day < self.valid_from else "closed"

    def shown(self, day: dt.date) -> P:
        """The period in force on `day`, else the nearest one (the first before, the last after)."""
        return self.at(day) or (self.versions[0] if day < self.valid_from else self.current)


@dataclass(frozen=True, slots=True)
class SlimPeriod:
    valid_from: dt.date
    valid_to: dt.date
    parent_id: str | None
    name: str
    code: str | None
    flags: tuple[str, ...]
    kind: str


@dataclass(slots=True)
class SlimRecord(Dated[SlimPeriod]):
    """A unit as a reader keeps it in memory: the same answers as `UnitRecord` (the `Dated` methods,
    the lineage) in about a sixth of the memory (slots, tuples, shared strings and dates). Reporting
    holds a province of 100 000 of them. Not the last event that changed it (`UnitRecord.last_event`):
    the few that a change needs are read (`ReportingStore.causes`), where every unit's took 7 MB."""

    unit_id: str
    kind: str
    periods: SlimPeriod | tuple[SlimPeriod, ...]  # one as itself: a tuple of one took 48 bytes a unit
    predecessors: tuple[LineageLink, ...] = ()
    successors: tuple[LineageLink, ...] = ()
    version: int = 0

    @property
    def versions(self) -> tuple[SlimPeriod, ...]:
        p = self.periods
        return p if isinstance(p, tuple) else (p,)

    def at(self, day: dt.date) -> SlimPeriod | None:
        p = self.periods
        if isinstance(p, tuple):
            return Dated.at(self, day)
        return p if p.valid_from <= day < p.valid_to else None


class Interner:
    """Shares equal strings and dates between records (a parent id, a kind, 1 Jul 2025 are each held once)."""

    def __init__(self) -> None:
        self.seen: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        return self.seen.setdefault(value, value)


def slim(doc: Mapping[str, Any], share: Interner) -> SlimRecord:
    """A stored unit document as a `SlimRecord` (a period without a kind takes the unit's, as in
    `UnitRecord`), read without pydantic: loading a province is a loop, not 100 000 validations."""
    kind = share(doc["kind"])
    versions = tuple(
        SlimPeriod(
            share(_day(v["valid_from"])),
            share(_day(v.get("valid_to") or END)),
            share(v.get("parent_id")),
            v["name"],
            v.get("code"),
            tuple(share(f) for f in v.get("flags") or ()),
            share(v.get("kind") or kind),
        )
        for v in doc["versions"]
    )
    links = {k: tuple(LineageLink.model_validate(x) for x in doc.get(k) or ()) for k in ("predecessors", "successors")}
    return SlimRecord(
        share(doc["unit_id"]), versions[-1].kind if versions else kind,
        versions[0] if len(versions) == 1 else versions, links["predecessors"],
        links["successors"], int(doc.get("version") or 0),
    )  # fmt: skip


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
