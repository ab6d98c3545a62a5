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


def figures(units: Iterable[str], summaries: Mapping[str, Mapping[str, Any]]) -> c.Figures:
    total = planned = held = on_time = reported = both = participants = cost = 0
    for unit_id in units:
        s = summaries.get(unit_id, EMPTY)
        total += 1
        planned += bool(s.get("planned"))
        if s.get("held"):
            held += 1
            on_time += bool(s.get("held_on_time"))
            reported += bool(s.get("reported_on_time"))
            both += bool(s.get("both_parts"))
            participants += int(s.get("participants") or 0)
            cost += int(s.get("cost_vnd") or 0)
    return c.Figures(
        units_total=total,
        units_planned=planned,
        units_held=held,
        units_held_on_time=on_time,
        units_reported_on_time=reported,
        coverage=round(held / total, 4) if total else 0.0,
        ceremony_compliance=round(both / held, 4) if held else 0.0,
        participants=participants,
        cost_vnd=cost,
    )


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
