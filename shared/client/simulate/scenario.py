"""A season's scenario, decided from a seed before anything is sent, and the figures it must produce.

Pure: no bus, no clock. `plan` decides each unit's fate (a festival held on time with both parts, one
part only, late, cancelled, never reported, nothing at all; its report accepted or returned), the
nominations and their paths, awards conferred and revoked, gifts, models and their replications.
`expected` computes, from that plan alone and the rules DESIGN §3 states (expected kinds, held, on
time, both parts, accepted; the units missing and their reasons), what reporting must answer for every
scope of the tree. Nothing here reads a service's answer: that is what makes the comparison a check."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

# the kinds a campaign expects by default (DESIGN §3): every kind below district level
EXPECTED_KINDS = frozenset(
    {"commune", "ward", "special_zone", "township", "hamlet", "residential_group", "agency", "enterprise", "school"}
)
COMMUNE_LEVEL = ("commune", "ward", "special_zone", "township")
Fate = Literal["both_parts", "one_part", "late", "cancelled", "unreported", "nothing"]
Path = Literal["approved", "returned_then_approved", "rejected", "returned"]
FIGURES = (
    "units_total",
    "units_planned",
    "units_held",
    "units_held_on_time",
    "units_reported_on_time",
    "units_held_both_parts",
    "units_accepted",
    "participants",
    "cost_vnd",
    "models_registered",
    "models_recognised",
    "models_replicated",
)


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    kind: str
    parent_id: str | None


@dataclass
class Tree:
    units: dict[str, Unit]
    root: str
    children: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for u in self.units.values():
            if u.parent_id is not None:
                self.children.setdefault(u.parent_id, []).append(u.unit_id)
        for kids in self.children.values():
            kids.sort()

    def subtree(self, unit_id: str) -> list[str]:
        out, stack = [], [unit_id]
        while stack:
            u = stack.pop()
            out.append(u)
            stack.extend(self.children.get(u, []))
        return out

    def scopes(self) -> list[str]:
        """Every unit with units below it: the scopes whose figures are checked (leaves too, by their parent's row)."""
        return [u for u in self.subtree(self.root) if self.children.get(u)]


def generated(units: int, seed: int, prefix: str) -> Tree:
    """A province of about `units` units: communes and wards, each with its hamlets or residential
    groups (about 20), a school, and an agency or an enterprise every other commune (the proportions of
    the Huế sample)."""
    rng = random.Random(seed)
    root = f"{prefix}"
    tree = {root: Unit(root, f"Tỉnh mô phỏng {prefix}", "province", None)}
    per_commune = 24
    communes = max(1, round((units - 1) / per_commune))
    for c in range(1, communes + 1):
        kind = "ward" if rng.random() < 0.4 else "commune"
        cid = f"{prefix}-c{c:04d}"
        word = "Phường" if kind == "ward" else "Xã"
        tree[cid] = Unit(cid, f"{word} {c}", kind, root)
        below = "residential_group" if kind == "ward" else "hamlet"
        label = "Tổ dân phố" if kind == "ward" else "Thôn"
        for h in range(1, per_commune - 3 + 1):
            hid = f"{cid}-h{h:02d}"
            tree[hid] = Unit(hid, f"{label} {h}, {word} {c}", below, cid)
        tree[f"{cid}-s1"] = Unit(f"{cid}-s1", f"Trường Tiểu học {word} {c}", "school", cid)
        extra = "agency" if c % 2 else "enterprise"
        tree[f"{cid}-x1"] = Unit(f"{cid}-x1", f"{'Cơ quan' if extra == 'agency' else 'Doanh nghiệp'} {c}", extra, cid)
    return Tree(tree, root)


@dataclass
class Festival:
    festival_id: str
    unit_id: str
    fate: Fate
    date: dt.date
    held_on: dt.date | None = None
    participants: int = 0
    cost_vnd: int = 0
    review: Literal["accepted", "returned"] | None = None


@dataclass
class Nomination:
    nomination_id: str
    unit_id: str
    path: Path
    award_id: str | None = None
    conferred_at: str | None = None  # the festival at whose ceremony it is conferred
    conferred_on: dt.date | None = None
    revoked: bool = False


@dataclass
class Gift:
    gift_id: str
    unit_id: str
    recipients: int
    value_vnd: int
    beneficiary_kind: str
    funding_source: str
    given_on: dt.date


@dataclass
class MovementModel:
    model_id: str
    unit_id: str
    launched_on: dt.date
    recognised_on: dt.date | None
    replicated_at: list[str]


@dataclass
class Season:
    year: int
    window: tuple[dt.date, dt.date]
    report_deadline: dt.date
    festivals: dict[str, Festival]  # by unit
    nominations: list[Nomination]
    gifts: list[Gift]
    models: list[MovementModel]

    def counts(self) -> dict[str, int]:
        fates: dict[str, int] = {}
        for f in self.festivals.values():
            fates[f.fate] = fates.get(f.fate, 0) + 1
        return fates


T = TypeVar("T")


def pick(rng: random.Random, weighted: list[tuple[T, float]]) -> T:
    """One of the choices, in the proportions given (they sum to 1)."""
    roll = rng.random()
    for choice, p in weighted:
        if roll < p:
            return choice
        roll -= p
    return weighted[-1][0]


FORM = "giay_khen_chu_tich_ubnd_xa"  # a commune chairman's certificate of merit, for a hamlet's collective
BENEFICIARIES = ("policy_family", "martyr_family", "poor_household", "force_member_family_in_hardship")
FUNDING = ("Ngân sách xã", "Xã hội hóa", "Quỹ Vì người nghèo")


def plan(tree: Tree, year: int, seed: int, run: str) -> Season:
    """Each expected unit's fate in proportions a season shows (most hold both parts on time; some one
    part only, late, cancelled, never reported, or nothing at all), and the rest of the season around
    it. `run` makes every id of this run unique (a rerun is a new season's worth of facts)."""
    rng = random.Random(seed)
    start, end = dt.date(year, 7, 1), dt.date(year, 8, 19)
    fates: list[tuple[Fate, float]] = [
        ("both_parts", 0.68),
        ("one_part", 0.07),
        ("late", 0.05),
        ("cancelled", 0.03),
        ("unreported", 0.07),
        ("nothing", 0.10),
    ]
    festivals: dict[str, Festival] = {}
    for n, unit_id in enumerate(sorted(u for u in tree.subtree(tree.root) if tree.units[u].kind in EXPECTED_KINDS)):
        fate = pick(rng, fates)
        if fate == "nothing":
            continue
        day = start + dt.timedelta(days=rng.randrange(9, 45))  # 10 Jul – 14 Aug
        f = Festival(f"fe-{run}-{n:06d}", unit_id, fate, day)
        if fate in ("both_parts", "one_part", "late"):
            f.held_on = dt.date(year, 8, 25) if fate == "late" else day
            f.participants = rng.randrange(40, 400)
            f.cost_vnd = rng.randrange(0, 30) * 500_000
            f.review = "returned" if rng.random() < 0.08 else ("accepted" if rng.random() < 0.8 else None)
        festivals[unit_id] = f
    held = [f for f in festivals.values() if f.held_on is not None and f.held_on <= end]
    hamlets = sorted(f.unit_id for f in held if tree.units[f.unit_id].kind in ("hamlet", "residential_group"))
    nominations = []
    paths: list[tuple[Path, float]] = [
        ("approved", 0.6),
        ("returned_then_approved", 0.2),
        ("rejected", 0.1),
        ("returned", 0.1),
    ]
    for n, unit_id in enumerate(rng.sample(hamlets, k=min(len(hamlets), max(1, len(hamlets) // 12)))):
        path = pick(rng, paths)
        nom = Nomination(f"no-{run}-{n:05d}", unit_id, path)
        if path in ("approved", "returned_then_approved"):
            nom.award_id = f"aw-{run}-{n:05d}"
            if rng.random() < 0.85:
                nom.conferred_at = festivals[unit_id].festival_id
                nom.conferred_on = festivals[unit_id].held_on
                nom.revoked = rng.random() < 0.1
        nominations.append(nom)
    gifts = [
        Gift(
            f"gi-{run}-{n:05d}",
            unit_id,
            rng.randrange(1, 12),
            rng.randrange(1, 20) * 250_000,
            rng.choice(BENEFICIARIES),
            rng.choice(FUNDING),
            start + dt.timedelta(days=rng.randrange(9, 45)),
        )
        for n, unit_id in enumerate(rng.sample(sorted(festivals), k=max(1, len(festivals) // 10)))
    ]
    models = []
    communes = sorted(u for u in tree.subtree(tree.root) if tree.units[u].kind in COMMUNE_LEVEL)
    for n, unit_id in enumerate(rng.sample(communes, k=max(1, len(communes) // 4))):
        below = tree.children.get(unit_id, [])
        replicas = rng.sample(below, k=min(len(below), rng.randrange(0, 4)))
        recognised = dt.date(year, 9, 10) if rng.random() < 0.5 else None
        models.append(MovementModel(f"mo-{run}-{n:04d}", unit_id, dt.date(year, 7, 5), recognised, sorted(replicas)))
    return Season(year, (start, end), dt.date(year, 12, 31), festivals, nominations, gifts, models)


# ---------------------------------------------------------------------------------- expected figures


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
    return out


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
    nominations: dict[str, int] = {}
    granted: dict[str, int] = {}
    for n in season.nominations:
        if n.unit_id not in mine:
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
