"""The figures a planned season must produce, from the plan alone and the rules DESIGN §3 states
(expected kinds, held, on time, both parts, accepted; the units missing and their reasons; a closed
unit's year under its successor). Nothing here reads a service's answer: that is what makes the
comparison a check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from shared.client.simulate.scenario import EXPECTED_KINDS, Season, Tree


@dataclass
class UnitFacts:
    planned: bool = False
    held: bool = False
    on_time: bool = False
    reported_on_time: bool = False
    both_parts: bool = False
    accepted: bool = False
    returned: bool = False
    participants: int = 0
    cost_vnd: int = 0


def facts(season: Season, today: dt.date) -> dict[str, UnitFacts]:
    """Each unit's year, by the rules DESIGN §3 states: planned if its festival was not cancelled; held
    if reported held; on time if held inside the window; reported on time if reported by the deadline
    (the simulator reports on `today`)."""
    start, end = season.window
    out: dict[str, UnitFacts] = {}
    for unit_id, f in season.festivals.items():
        x = UnitFacts(planned=f.fate != "cancelled")
        if f.held_on is not None:
            x.held = True
            x.on_time = start <= f.held_on <= end
            x.reported_on_time = today <= season.report_deadline
            x.both_parts = f.fate != "one_part"
            x.accepted = f.review == "accepted"
            x.returned = f.review == "returned"
            x.participants, x.cost_vnd = f.participants, f.cost_vnd
        out[unit_id] = x
    for source, successor in season.merged().items():  # a closed unit's year counts under its successor
        if source in out:
            out[successor] = fold(out.get(successor), out.pop(source))
    return out


def fold(a: UnitFacts | None, b: UnitFacts) -> UnitFacts:
    """Two units' years as one (DESIGN §3: a festival of a closed unit counts under its successor)."""
    if a is None:
        return b
    flags = ("planned", "held", "on_time", "reported_on_time", "both_parts", "accepted", "returned")
    merged = UnitFacts(**{k: getattr(a, k) or getattr(b, k) for k in flags})
    merged.participants, merged.cost_vnd = a.participants + b.participants, a.cost_vnd + b.cost_vnd
    return merged


def missing_reason(x: UnitFacts | None) -> str | None:
    if x is None or (not x.planned and not x.held):
        return "nothing_planned"
    if x.held and not x.both_parts:
        return "one_part_only"
    if x.held and x.returned:
        return "report_returned"
    return None


def figures(tree: Tree, season: Season, today: dt.date, scope: str) -> dict[str, int]:
    """What `coverage` must answer for `scope` (its counts; the ratios follow from them)."""
    unit_facts = facts(season, today)
    inside = tree.subtree(scope)
    expected = [u for u in inside if tree.units[u].kind in EXPECTED_KINDS]
    held = [unit_facts[u] for u in expected if u in unit_facts and unit_facts[u].held]
    mine = set(inside)
    return {
        "units_total": len(expected),
        "units_planned": sum(1 for u in expected if u in unit_facts and unit_facts[u].planned),
        "units_held": len(held),
        "units_held_on_time": sum(x.on_time for x in held),
        "units_reported_on_time": sum(x.reported_on_time for x in held),
        "units_held_both_parts": sum(x.both_parts for x in held),
        "units_accepted": sum(x.accepted for x in held),
        "participants": sum(x.participants for x in held),
        "cost_vnd": sum(x.cost_vnd for x in held),
        "models_registered": sum(1 for m in season.models if m.unit_id in mine),
        "models_recognised": sum(1 for m in season.models if m.unit_id in mine and m.recognised_on is not None),
        "models_replicated": sum(1 for m in season.models for r in m.replicated_at if r in mine),
    }


def missing(tree: Tree, season: Season, today: dt.date, scope: str) -> dict[str, str]:
    """What `units-missing` must list for `scope`: unit → reason."""
    unit_facts = facts(season, today)
    out = {}
    for u in tree.subtree(scope):
        if tree.units[u].kind in EXPECTED_KINDS and (why := missing_reason(unit_facts.get(u))) is not None:
            out[u] = why
    return out


def awards(season: Season, scope_units: Iterable[str]) -> dict[str, dict[str, int]]:
    """`awards-summary`'s counts for the scope: nominations by status (submitted, returned, approved,
    rejected: a conferral leaves its nomination approved) and awards by status (approved, conferred,
    revoked), all of one form."""
    mine = set(scope_units)
    carried = season.merged()
    nominations: dict[str, int] = {}
    granted: dict[str, int] = {}
    for n in season.nominations:
        if carried.get(n.unit_id, n.unit_id) not in mine:  # a merged hamlet's dossier counts under its successor
            continue
        status = {"returned_then_approved": "approved"}.get(n.path, n.path)  # a conferral leaves it approved
        nominations[status] = nominations.get(status, 0) + 1
        if n.award_id is not None:
            award = "revoked" if n.revoked else ("conferred" if n.conferred_at else "approved")
            granted[award] = granted.get(award, 0) + 1
    return {"nominations": nominations, "awards": granted}


def gifts(season: Season, scope_units: Iterable[str]) -> dict[str, int]:
    mine = set(scope_units)
    chosen = [g for g in season.gifts if g.unit_id in mine]
    return {
        "entries": len(chosen),
        "recipients": sum(g.recipients for g in chosen),
        "value_vnd": sum(g.value_vnd for g in chosen),
    }
