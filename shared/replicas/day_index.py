"""The tree on one day, flattened for answering many questions about it: each unit's children, kind
and name that day, each scope's subtree computed once and kept, and the units a scope expects to
hold a festival (a province of 100 000 units is then a sum over a list, not a walk through dated
records). Reporting's coverage and notifications' reminders both count through it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shared.replicas.units import Record
from shared.replicas.walk import down, run


class DayIndex:
    def __init__(self, records: Iterable[Record], day: dt.date) -> None:
        self.day = day
        self.children: dict[str, list[str]] = {}
        self.kind: dict[str, str] = {}
        self.name: dict[str, str] = {}
        self.parent: dict[str, str] = {}
        for record in records:
            period = record.at(day)
            if period is None:
                continue
            self.kind[record.unit_id] = period.kind or record.kind
            self.name[record.unit_id] = period.name
            if period.parent_id is not None:
                self.children.setdefault(period.parent_id, []).append(record.unit_id)
                self.parent[record.unit_id] = period.parent_id
        for ids in self.children.values():
            ids.sort()
        self._subtrees: dict[str, list[str]] = {}
        self._expected: dict[tuple[str, frozenset[str]], list[str]] = {}

    def subtree(self, scope: str) -> list[str]:
        """The scope (if it exists that day) and every unit below it."""
        if scope not in self._subtrees:
            below = run(down(scope, _same), lambda parents: [c for p in parents for c in self.children.get(p, ())])
            self._subtrees[scope] = ([scope] if scope in self.kind else []) + below
        return self._subtrees[scope]

    def expected(self, scope: str, kinds: frozenset[str]) -> list[str]:
        """The units of the scope's subtree (the scope included) active that day whose kind is expected
        to hold a festival (DESIGN §3: the expected units of a coverage)."""
        memo = (scope, kinds)
        if memo not in self._expected:
            self._expected[memo] = [u for u in self.subtree(scope) if self.kind.get(u) in kinds]
        return self._expected[memo]


def _same(unit_id: str) -> str:
    return unit_id
