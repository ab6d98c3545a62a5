"""The tree on one day, flattened for answering many questions about it: each unit's children, kind
and name that day, each large scope's subtree computed once and kept, and the units a scope expects to
hold a festival (a province of 100 000 units is then a sum over a list, not a walk through dated
records). Reporting's coverage and notifications' reminders both count through it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from shared.replicas.units import Record
from shared.replicas.walk import down, run

# a scope's subtree and expected units are kept from this size: a smaller one (a hamlet, nearly every
# commune) is walked again when asked. The publisher asks for every scope above a change, so an index
# kept two lists and two memo entries for each unit: 2.9 MB for 10 000 units (issue 18)
KEPT_FROM = 64


class _Field(Mapping[str, Any]):
    """One field of each unit's period that day (`kind`, `name`, `parent`), read through the one dict of
    periods: three dicts of 100 000 units took 15 MB, this one 5 MB. A unit whose field is None (a root's
    parent) is not in the mapping."""

    __slots__ = ("_at", "_get")

    def __init__(self, at: dict[str, Any], get: Callable[[Any], Any]) -> None:
        self._at, self._get = at, get

    def __getitem__(self, unit_id: str) -> Any:
        value = self._get(self._at[unit_id])
        if value is None:
            raise KeyError(unit_id)
        return value

    def get(self, unit_id: str, default: Any = None) -> Any:
        period = self._at.get(unit_id)
        value = None if period is None else self._get(period)
        return default if value is None else value

    def __contains__(self, unit_id: object) -> bool:
        period = self._at.get(unit_id)  # type: ignore[call-overload]
        return period is not None and self._get(period) is not None

    def __iter__(self) -> Iterator[str]:
        return (u for u, p in self._at.items() if self._get(p) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class DayIndex:
    def __init__(self, records: Iterable[Record], day: dt.date) -> None:
        self.day = day
        self.children: dict[str, list[str]] = {}
        self.at: dict[str, Any] = {}  # each unit that exists that day → its period then
        for record in records:
            period = record.at(day)
            if period is None:
                continue
            self.at[record.unit_id] = period
            if period.parent_id is not None:
                self.children.setdefault(period.parent_id, []).append(record.unit_id)
        # a period knows its kind (both record types fill it from the unit's when absent)
        self.kind: Mapping[str, str] = _Field(self.at, _kind)
        self.name: Mapping[str, str] = _Field(self.at, _name)
        self.parent: Mapping[str, str] = _Field(self.at, _parent)
        for ids in self.children.values():
            ids.sort()
        self._subtrees: dict[str, list[str]] = {}
        self._expected: dict[tuple[str, frozenset[str]], list[str]] = {}

    def subtree(self, scope: str) -> list[str]:
        """The scope (if it exists that day) and every unit below it (a list kept: not to be changed)."""
        found = self._subtrees.get(scope)
        if found is None:
            below = run(down(scope, _same), lambda parents: [c for p in parents for c in self.children.get(p, ())])
            found = ([scope] if scope in self.kind else []) + below
            if len(found) >= KEPT_FROM:
                self._subtrees[scope] = found
        return found

    def expected(self, scope: str, kinds: frozenset[str]) -> list[str]:
        """The units of the scope's subtree (the scope included) active that day whose kind is expected
        to hold a festival (DESIGN §3: the expected units of a coverage)."""
        memo = (scope, kinds)
        found = self._expected.get(memo)
        if found is None:
            units = self.subtree(scope)
            found = [u for u in units if self.kind.get(u) in kinds]
            if len(units) >= KEPT_FROM:
                self._expected[memo] = found
        return found


def _same(unit_id: str) -> str:
    return unit_id


def _kind(period: Any) -> Any:
    return period.kind


def _name(period: Any) -> Any:
    return period.name


def _parent(period: Any) -> Any:
    return period.parent_id
