"""A season's scenario, decided from a seed before anything is sent (`expected` gives the figures it
must produce).

Pure: no bus, no clock. `plan` decides each unit's fate (a festival held on time with both parts, one
part only, late, cancelled, never reported, nothing at all; its report accepted or returned), the
nominations and their paths, awards conferred and revoked, gifts, models and their replications.
`expected` computes, from that plan alone and the rules DESIGN §3 states (expected kinds, held, on
time, both parts, accepted; the units missing and their reasons), what reporting must answer for every
scope of the tree. Nothing here reads a service's answer: that is what makes the comparison a check."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from shared.contract.registry.kinds import COMMUNE_LEVEL, DEFAULT_EXPECTED_KINDS

# the kinds a campaign expects by default (DESIGN §3): every kind below district level
EXPECTED_KINDS = DEFAULT_EXPECTED_KINDS
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
    communes = max(1, round(units / 24))
    hamlets = max(1, round((units - 1) / communes) - 3)  # + the commune, a school, an agency or enterprise
    for c in range(1, communes + 1):
        kind = "ward" if rng.random() < 0.4 else "commune"
        cid = f"{prefix}-c{c:04d}"
        word = "Phường" if kind == "ward" else "Xã"
        tree[cid] = Unit(cid, f"{word} {c}", kind, root)
        below = "residential_group" if kind == "ward" else "hamlet"
        label = "Tổ dân phố" if kind == "ward" else "Thôn"
        for h in range(1, hamlets + 1):
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


@dataclass(frozen=True)
class Merger:
    """Two hamlets of a commune merged into a new one in the middle of the season (their festivals and
    a dossier were entered before it: the dossier is decided after it)."""

    sources: tuple[str, str]
    into: Unit
    effective: dt.date


@dataclass
class Season:
    year: int
    window: tuple[dt.date, dt.date]
    report_deadline: dt.date
    festivals: dict[str, Festival]  # by unit
    nominations: list[Nomination]
    gifts: list[Gift]
    models: list[MovementModel]
    mergers: list[Merger] = field(default_factory=list)

    def merged(self) -> dict[str, str]:
        """Each merged source → the unit carrying it."""
        return {src: m.into.unit_id for m in self.mergers for src in m.sources}

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


def plan(tree: Tree, year: int, seed: int, run: str, mergers: bool = False) -> Season:
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
    communes = sorted(u for u in tree.subtree(tree.root) if tree.units[u].kind in COMMUNE_LEVEL)
    merges: list[Merger] = []
    if mergers:  # one commune in five merges two of its hamlets on 1 Aug
        for c in communes[::5]:
            leaves = [u for u in tree.children.get(c, []) if tree.units[u].kind in ("hamlet", "residential_group")]
            if len(leaves) >= 2:
                a, b = leaves[0], leaves[1]
                into = Unit(f"{c}-m{run}", f"{tree.units[a].name} (sáp nhập)", tree.units[a].kind, c)
                merges.append(Merger((a, b), into, dt.date(year, 8, 1)))
    closing = {src for m in merges for src in m.sources}
    festivals: dict[str, Festival] = {}
    for n, unit_id in enumerate(sorted(u for u in tree.subtree(tree.root) if tree.units[u].kind in EXPECTED_KINDS)):
        fate = pick(rng, fates)
        if fate == "nothing":
            continue
        day = start + dt.timedelta(days=rng.randrange(9, 45))  # 10 Jul – 14 Aug
        if unit_id in closing:  # held before the merger, never late (a closed unit reports nothing after it)
            fate = "both_parts" if fate == "late" else fate
            day = start + dt.timedelta(days=rng.randrange(9, 30))
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
                nom.revoked = rng.random() < 0.1 and unit_id not in closing
        nominations.append(nom)
    nominated = {n.unit_id for n in nominations}
    for k, m in enumerate(merges):  # a dossier in flight across each merger: submitted before, decided after
        source = m.sources[0]
        if source in nominated:
            continue
        nom = Nomination(f"no-{run}-m{k:03d}", source, "approved", award_id=f"aw-{run}-m{k:03d}")
        own = festivals.get(source)
        if own is not None and own.held_on is not None:
            nom.conferred_at, nom.conferred_on = own.festival_id, own.held_on
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
        for n, unit_id in enumerate(rng.sample(sorted(set(festivals) - closing), k=max(1, len(festivals) // 10)))
    ]
    models = []
    for n, unit_id in enumerate(rng.sample(communes, k=max(1, len(communes) // 4))):
        below = [u for u in tree.children.get(unit_id, []) if u not in closing]
        replicas = rng.sample(below, k=min(len(below), rng.randrange(0, 4)))
        recognised = dt.date(year, 9, 10) if rng.random() < 0.5 else None
        models.append(MovementModel(f"mo-{run}-{n:04d}", unit_id, dt.date(year, 7, 5), recognised, sorted(replicas)))
    return Season(year, (start, end), dt.date(year, 12, 31), festivals, nominations, gifts, models, merges)


def after(tree: Tree, season: Season) -> Tree:
    """The tree the season is reported on (today's): merged sources gone, their successors in."""
    merged = season.merged()
    units = {u: x for u, x in tree.units.items() if u not in merged}
    for m in season.mergers:
        units[m.into.unit_id] = m.into
    return Tree(units, tree.root)
