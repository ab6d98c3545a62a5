"""Reporting's rules, pure: a unit's festival summary for a year (from its festivals), the expected
units of a scope on a tree date, and the coverage figures (DESIGN §3).

No I/O: the store loads festivals, campaigns, the tree (a `UnitsView`) and the summaries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, get_args

from shared.contract import reporting as c
from shared.contract.registry import UnitKind
from shared.replicas.units import UnitsView

ALL_KINDS: tuple[str, ...] = get_args(UnitKind)
DEFAULT_EXPECTED = frozenset(k for k in ALL_KINDS if k not in ("province", "district"))
EMPTY: dict[str, Any] = {}


def default_tree_date(year: int, today: dt.date) -> dt.date:
    """The tree a year is read on unless asked otherwise: its last day, or today while it runs."""
    return min(dt.date(year, 12, 31), today)


def unit_summary(festivals: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A unit's year from its festivals (usually one; more when explicitly allowed): planned if any is
    not cancelled, held if any was held; the other facts from the festivals held."""
    active = [f for f in festivals if f.get("status") != "cancelled"]
    held = [f for f in active if f.get("status") == "held"]
    return {
        "festivals": len(active),
        "planned": bool(active),
        "held": bool(held),
        "held_on_time": any(f.get("on_time") for f in held),
        "reported_on_time": any(f.get("reported_on_time") for f in held),
        "both_parts": any(f.get("ceremony_held") and f.get("festival_part_held") for f in held),
        "participants": sum(int(f.get("participants") or 0) for f in held),
        "cost_vnd": sum(int(f.get("cost_vnd") or 0) for f in held),
        "held_on": min((f["held_on"] for f in held if f.get("held_on")), default=None),
        "planned_date": min((f["date"] for f in active if f.get("date")), default=None),
    }


def expected_kinds(campaigns: Iterable[Mapping[str, Any]], ancestry: list[str]) -> frozenset[str]:
    """The `expected_kinds` of the nearest campaign of the year at or above the scope (its ancestry
    nearest first); every kind below district when none says otherwise."""
    by_scope = {cmp["scope_unit_id"]: cmp for cmp in campaigns}
    for unit_id in ancestry:
        campaign = by_scope.get(unit_id)
        if campaign is not None:
            kinds = campaign.get("expected_kinds")
            return frozenset(kinds) if kinds else DEFAULT_EXPECTED
    return DEFAULT_EXPECTED


def expected_units(view: UnitsView, scope: str, day: dt.date, kinds: frozenset[str]) -> list[str]:
    """The scope's subtree on `day`, the scope included, active that day, of an expected kind."""
    root = view.unit(scope)
    units = ([root] if root is not None and root.at(day) is not None else []) + view.subtree(scope, day)
    return [u.unit_id for u in units if (u.kind_at(day) or u.kind) in kinds]


TALLY = (
    "units_total",
    "units_planned",
    "units_held",
    "units_held_on_time",
    "units_reported_on_time",
    "both_parts",
    "participants",
    "cost_vnd",
)


def tally(units: Iterable[str], summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The counts behind the figures (both parts included, which the figures give only as a ratio).
    Written for speed: a province-wide question runs this over every unit."""
    total = planned = held = on_time = reported = both = participants = cost = 0
    get = summaries.get
    for unit_id in units:
        total += 1
        s = get(unit_id)
        if not s:
            continue
        if s.get("planned"):
            planned += 1
        if s.get("held"):
            held += 1
            on_time += bool(s.get("held_on_time"))
            reported += bool(s.get("reported_on_time"))
            both += bool(s.get("both_parts"))
            participants += int(s.get("participants") or 0)
            cost += int(s.get("cost_vnd") or 0)
    return {
        "units_total": total,
        "units_planned": planned,
        "units_held": held,
        "units_held_on_time": on_time,
        "units_reported_on_time": reported,
        "both_parts": both,
        "participants": participants,
        "cost_vnd": cost,
    }


def from_tally(t: Mapping[str, int]) -> c.Figures:
    total, held = t["units_total"], t["units_held"]
    return c.Figures(
        **{k: t[k] for k in TALLY if k != "both_parts"},
        coverage=round(held / total, 4) if total else 0.0,
        ceremony_compliance=round(t["both_parts"] / held, 4) if held else 0.0,
    )


def figures(units: Iterable[str], summaries: Mapping[str, Mapping[str, Any]]) -> c.Figures:
    return from_tally(tally(units, summaries))


def coverage(
    view: UnitsView,
    scope: str,
    day: dt.date,
    kinds: frozenset[str],
    summaries: Mapping[str, Mapping[str, Any]],
) -> tuple[c.Figures, list[c.Breakdown]]:
    """The scope's figures and one row per child of the scope on `day`."""
    total = figures(expected_units(view, scope, day, kinds), summaries)
    rows = []
    for child in view.children(scope, day):
        f = figures(expected_units(view, child.unit_id, day, kinds), summaries)
        period = child.at(day)
        rows.append(
            c.Breakdown(
                **f.model_dump(),
                unit_id=child.unit_id,
                name=period.name if period else child.current.name,
                kind=child.kind_at(day) or child.kind,
            )
        )
    return total, rows


class DayIndex:
    """The tree on one day, flattened for answering many coverage questions: each unit's children,
    kind and name that day, and each scope's subtree, computed once and kept (a province of 100 000
    units is then a sum over a list, not a walk through dated records)."""

    def __init__(self, view: UnitsView, day: dt.date) -> None:
        self.day = day
        self.children: dict[str, list[str]] = {}
        self.kind: dict[str, str] = {}
        self.name: dict[str, str] = {}
        for record in view.records.values():
            period = record.at(day)
            if period is None:
                continue
            self.kind[record.unit_id] = period.kind or record.kind
            self.name[record.unit_id] = period.name
            if period.parent_id is not None:
                self.children.setdefault(period.parent_id, []).append(record.unit_id)
        for ids in self.children.values():
            ids.sort()
        self._subtrees: dict[str, list[str]] = {}
        self._expected: dict[tuple[str, frozenset[str]], list[str]] = {}

    def subtree(self, scope: str) -> list[str]:
        """The scope (if it exists that day) and every unit below it."""
        if scope not in self._subtrees:
            out = [scope] if scope in self.kind else []
            frontier = [scope]
            for _ in range(16):  # deeper than any tree: a cycle in bad data cannot loop forever
                frontier = [c for parent in frontier for c in self.children.get(parent, ())]
                if not frontier:
                    break
                out += frontier
            self._subtrees[scope] = out
        return self._subtrees[scope]

    def expected(self, scope: str, kinds: frozenset[str]) -> list[str]:
        memo = (scope, kinds)
        if memo not in self._expected:
            self._expected[memo] = [u for u in self.subtree(scope) if self.kind.get(u) in kinds]
        return self._expected[memo]


def coverage_of(
    index: DayIndex, scope: str, kinds: frozenset[str], summaries: Mapping[str, Mapping[str, Any]]
) -> tuple[c.Figures, list[c.Breakdown]]:
    """`coverage`, on a day's index: the same figures, for many questions on one tree. The scope's
    totals are its own count plus its children's (each unit is read once)."""
    rows = []
    whole = tally([scope] if index.kind.get(scope) in kinds else [], summaries)
    for child in index.children.get(scope, []):
        t = tally(index.expected(child, kinds), summaries)
        for k in TALLY:
            whole[k] += t[k]
        rows.append(
            c.Breakdown(**from_tally(t).model_dump(), unit_id=child, name=index.name[child], kind=index.kind[child])
        )
    return from_tally(whole), rows
