"""Reporting's rules, pure: a unit's festival summary for a year (from its festivals), the tree date a
year is read on, and the coverage figures of a scope over the tree of a day (DESIGN §3).

No I/O: the store loads festivals, campaigns, the tree (a `DayIndex`) and the summaries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from shared.contract import reporting as c
from shared.replicas.day_index import DayIndex


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
        "funding": funding_by_source(held),
        "held_on": min((f["held_on"] for f in held if f.get("held_on")), default=None),
        "planned_date": min((f["date"] for f in active if f.get("date")), default=None),
    }


def funding_by_source(held: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The cost of the festivals held, by funding source, in the sources' order (festival.held v2's
    lines; a line without an amount counts 0). A list, not a mapping: a source is free text."""
    out: dict[str, int] = {}
    for f in held:
        for line in f.get("funding") or []:
            out[line["source"]] = out.get(line["source"], 0) + int(line.get("amount_vnd") or 0)
    return [{"source": source, "amount_vnd": amount} for source, amount in sorted(out.items())]


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


def coverage_of(
    index: DayIndex, scope: str, kinds: frozenset[str], summaries: Mapping[str, Mapping[str, Any]]
) -> tuple[c.Figures, list[c.Breakdown]]:
    """The scope's figures on the index's day, and one row per child of the scope. The scope's totals
    are its own count plus its children's (each unit is read once)."""
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
