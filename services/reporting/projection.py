"""Reporting's rules, pure: a unit's festival summary for a year (from its festivals), the tree date a
year is read on, and the coverage figures of a scope over the tree of a day (DESIGN §3).

No I/O: the store loads festivals, campaigns, the tree (a `DayIndex`) and the summaries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any

from shared.contract import reporting as c
from shared.replicas.day_index import DayIndex


def default_tree_date(year: int, today: dt.date) -> dt.date:
    """A year's tree without a campaign: its last day, or today while it runs."""
    return min(dt.date(year, 12, 31), today)


def season_tree_date(
    year: int, today: dt.date, campaigns: Iterable[Mapping[str, Any]], ancestry_on: Callable[[dt.date], list[str]]
) -> dt.date:
    """The tree a season is reported on unless asked otherwise (DESIGN §3): the day its campaign closed,
    else the campaign's report deadline: the campaign that governs the scope (the nearest at or above
    it on that day). Without a campaign, the year's last day. Never after today (while a season runs,
    today's tree). So a hamlet that held its festival in July and merged in October counts in its own
    season; asked on a later tree, its festival counts under its successor (`onto`)."""
    best: tuple[int, dt.date] | None = None
    for campaign in campaigns:
        day = dt.date.fromisoformat(str(campaign.get("closed_on") or campaign["report_deadline"]))
        chain = ancestry_on(day)
        if campaign["scope_unit_id"] in chain:
            rank = chain.index(campaign["scope_unit_id"])
            if best is None or rank < best[0]:
                best = (rank, day)
    return min(best[1] if best else dt.date(year, 12, 31), today)


def merged_summary(a: Mapping[str, Any] | None, b: Mapping[str, Any]) -> dict[str, Any]:
    """Two units' summaries of a year as one (a festival of a closed unit counted under its successor)."""
    if not a:
        alone = {k: v for k, v in b.items() if k != "carried_self"}
        alone["carried"] = sorted({*(b.get("carried") or []), *(b.get("carried_self") or [])})
        return alone
    flags = ("planned", "held", "held_on_time", "reported_on_time", "both_parts", "accepted", "returned")
    sums = ("festivals", "participants", "cost_vnd")
    out: dict[str, Any] = {**a, **{k: bool(a.get(k)) or bool(b.get(k)) for k in flags}}
    out.update({k: int(a.get(k) or 0) + int(b.get(k) or 0) for k in sums})
    lines = [*(a.get("funding") or []), *(b.get("funding") or [])]
    out["funding"] = funding_by_source([{"funding": lines}])
    for k in ("held_on", "planned_date"):
        out[k] = min((d for d in (a.get(k), b.get(k)) if d), default=None)
    models = dict(a.get("models") or {})
    for k, v in (b.get("models") or {}).items():
        models[k] = models.get(k, 0) + int(v)
    if models:
        out["models"] = models
    out["carried"] = sorted({*(a.get("carried") or []), *(b.get("carried") or []), *(b.get("carried_self") or [])})
    return out


def onto(
    summaries: Mapping[str, Mapping[str, Any]], exists: Container[str], carriers_of: Callable[[str], list[str]]
) -> Mapping[str, Mapping[str, Any]]:
    """A year's summaries projected onto the tree of a day through the lineage (DESIGN §3): a unit that
    does not exist that day counts under the first of the units carrying it (its successor); one that
    nothing carries (not yet valid, or closed without a successor) counts nowhere, as before. Units
    that exist keep their own. `carried` lists the units folded into a summary."""
    moved = [u for u in summaries if u not in exists]
    if not moved:
        return summaries
    out: dict[str, Mapping[str, Any]] = dict(summaries)
    for unit_id in moved:
        summary = out.pop(unit_id)
        to = carriers_of(unit_id)
        if to:
            out[to[0]] = merged_summary(out.get(to[0]), {**summary, "carried_self": [unit_id]})
    return YearSummaries.of(out)


class YearSummaries(dict[str, Mapping[str, Any]]):
    """A year's summaries with the units that have models listed beside them (`models`): a scope's
    roll-up walks up from those few, instead of asking each of 100 000 summaries for its models once
    per scope (500 scopes a publisher round)."""

    def __init__(self, summaries: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        super().__init__(summaries or {})
        self.models: dict[str, Mapping[str, Any]] = {}

    @classmethod
    def of(
        cls, summaries: Mapping[str, Mapping[str, Any]], models: Mapping[str, Mapping[str, Any]] | None = None
    ) -> YearSummaries:
        """`models`: the units' models when the caller has them already (else found by a scan)."""
        out = cls(summaries)
        if models is None:
            models = {u: m for u, s in summaries.items() if (m := s.get("models"))}
        out.models = {u: m for u, m in models.items() if m}
        return out


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
        "accepted": any(f.get("review") == "accepted" for f in held),
        "returned": any(f.get("review") == "returned" for f in held),
        "participants": sum(int(f.get("participants") or 0) for f in held),
        "cost_vnd": sum(int(f.get("cost_vnd") or 0) for f in held),
        "funding": funding_by_source(held),
        "report_gifts": {
            f["_id"]: {"recipients": int(g.get("recipients") or 0), "value_vnd": int(g.get("value_vnd") or 0)}
            for f in held
            if (g := f.get("gifts")) and "_id" in f
        },
        "held_on": min((f["held_on"] for f in held if f.get("held_on")), default=None),
        "planned_date": min((f["date"] for f in active if f.get("date")), default=None),
    }


def gifts_counted(ledger: Mapping[str, Any], reports: Iterable[tuple[str, Mapping[str, int]]]) -> dict[str, Any]:
    """Gifts counted once (README: one gift, two entry points): the ledger's entries (awards'
    `record-gift`), plus the gifts a festival report totals, for each festival the ledger has no entry
    for. A ledger entry naming a festival details that festival's gifts, so its report's total is the
    same gifts and does not count again. Report totals count as one entry each, of beneficiary kind
    and funding source `unspecified` (a festival report names neither)."""
    detailed = set(ledger.get("festivals") or ())
    out = {k: int(ledger.get(k) or 0) for k in ("entries", "recipients", "value_vnd")}
    by_funding = dict(ledger.get("by_funding") or {})
    by_kind = {k: dict(v) for k, v in (ledger.get("by_kind") or {}).items()}
    for festival_id, g in reports:
        if festival_id in detailed or not (g.get("recipients") or g.get("value_vnd")):
            continue
        out["entries"] += 1
        out["recipients"] += int(g.get("recipients") or 0)
        out["value_vnd"] += int(g.get("value_vnd") or 0)
        by_funding["unspecified"] = by_funding.get("unspecified", 0) + int(g.get("value_vnd") or 0)
        slot = by_kind.setdefault("unspecified", {"entries": 0, "recipients": 0, "value_vnd": 0})
        slot["entries"] += 1
        slot["recipients"] += int(g.get("recipients") or 0)
        slot["value_vnd"] += int(g.get("value_vnd") or 0)
    return {**out, "by_funding": by_funding, "by_kind": by_kind}


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
    "units_accepted",
    "participants",
    "cost_vnd",
)


# A packed row is one int: each count in a field of its own wide enough for the sum of a province's
# rows (a unit's flags 24 bits: 16 million units; participants 72, cost 80: a unit's year within the
# contract's limits, summed over 16 million), so a tally is one sum of ints, decoded once: a quarter of
# the time of summing eight columns of tuples (21 ms against 80 for 100 000 units), and 64 bytes a row
# where a tuple of eight took 104 (plus its ints above 256).
WIDTHS = (24, 24, 24, 24, 24, 24, 72, 80)
SHIFTS = tuple(sum(WIDTHS[:i]) for i in range(len(WIDTHS)))
ROW_LIMITS = (1 << 1, 1 << 1, 1 << 1, 1 << 1, 1 << 1, 1 << 1, 1 << 47, 1 << 55)  # one row's values
SUMMED = 1 << WIDTHS[0]  # rows summed as ints at most (beyond, each is decoded)


class Packed(dict[str, Any]):
    """Each unit's row (`pack`): an int when every row is within ROW_LIMITS, else (data beyond any
    contract's limits) the counts as a tuple, summed column by column."""

    ints = True


def pack(summaries: Mapping[str, Mapping[str, Any]]) -> Packed:
    """Each unit's summary as the row of counts it adds to a tally (TALLY's order after units_total):
    computed once per (year, tree), so a province-wide question sums rows instead of reading dicts.
    Each row is packed as it is read (not all rows as tuples first: a province's took 17 MB at once)."""
    out = Packed()
    for unit_id, s in summaries.items():
        row = _row(s)
        if row is None:
            continue
        if out.ints and all(0 <= v < limit for v, limit in zip(row, ROW_LIMITS, strict=True)):
            out[unit_id] = sum(v << shift for v, shift in zip(row, SHIFTS, strict=True))
            continue
        if out.ints:  # a row beyond the limits: every row as a tuple
            out.update((u, tuple(unpack(packed))) for u, packed in out.items())
            out.ints = False
        out[unit_id] = row
    return out


def _row(s: Mapping[str, Any]) -> tuple[int, ...] | None:
    if not s:
        return None
    if s.get("held"):
        return (
            1 if s.get("planned") else 0,
            1,
            1 if s.get("held_on_time") else 0,
            1 if s.get("reported_on_time") else 0,
            1 if s.get("both_parts") else 0,
            1 if s.get("accepted") else 0,
            int(s.get("participants") or 0),
            int(s.get("cost_vnd") or 0),
        )
    return (1, 0, 0, 0, 0, 0, 0, 0) if s.get("planned") else None


def tally(
    units: Sequence[str], summaries: Mapping[str, Mapping[str, Any]], packed: Packed | None = None
) -> dict[str, int]:
    """The counts behind the figures (both parts included, which the figures give only as a ratio).
    Written for speed: a province-wide question runs this over every unit, summing the packed rows
    (`pack`, which the caller may keep between questions)."""
    rows = packed if packed is not None else pack(summaries)
    get = rows.get
    if not rows.ints:
        found = [row for u in units if (row := get(u)) is not None]
    elif len(units) < SUMMED:
        return {"units_total": len(units), **dict(zip(TALLY[1:], unpack(sum(get(u, 0) for u in units)), strict=True))}
    else:  # more rows than a field's sum holds: each row decoded
        found = [unpack(row) for u in units if (row := get(u)) is not None]
    sums = [sum(column) for column in zip(*found, strict=True)] if found else [0] * (len(TALLY) - 1)
    return {"units_total": len(units), **dict(zip(TALLY[1:], sums, strict=True))}


def unpack(row: int) -> list[int]:
    """A packed row's counts (or a sum of rows', each field's sum within its width)."""
    return [(row >> shift) & ((1 << width) - 1) for shift, width in zip(SHIFTS, WIDTHS, strict=True)]


def from_tally(t: Mapping[str, int]) -> c.Figures:
    total, held = t["units_total"], t["units_held"]
    return c.Figures(
        **{k: t[k] for k in TALLY if k != "both_parts"},
        units_held_both_parts=t["both_parts"],
        coverage=round(held / total, 4) if total else 0.0,
        ceremony_compliance=round(t["both_parts"] / held, 4) if held else 0.0,
    )


MODELS = ("registered", "recognised", "replicated", "at_festival")


def models_of(
    index: DayIndex, scope: str, summaries: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The models roll-up (DESIGN: mô hình, điển hình tiên tiến): each count of the year for the scope's
    whole subtree (every kind, not only the expected ones), and per child of the scope. Walks up from
    the few units that have models, not down the tree."""
    whole = dict.fromkeys(MODELS, 0)
    per_child: dict[str, dict[str, int]] = {}
    with_models = (
        summaries.models.items()
        if isinstance(summaries, YearSummaries)
        else ((u, s.get("models")) for u, s in summaries.items())
    )
    for unit_id, counts in with_models:
        if not counts or unit_id not in index.kind:
            continue
        path = [unit_id]
        while path[-1] != scope and path[-1] in index.parent and len(path) < 16:
            path.append(index.parent[path[-1]])
        if path[-1] != scope:
            continue  # not in the scope's subtree that day
        child = path[-2] if len(path) > 1 else None
        for k in MODELS:
            whole[k] += int(counts.get(k) or 0)
            if child is not None:
                slot = per_child.setdefault(child, dict.fromkeys(MODELS, 0))
                slot[k] += int(counts.get(k) or 0)
    return whole, per_child


def with_models(figures: c.Figures, counts: Mapping[str, int]) -> dict[str, Any]:
    return {**figures.model_dump(), **{f"models_{k}": int(counts.get(k) or 0) for k in MODELS}}


def coverage_of(
    index: DayIndex,
    scope: str,
    kinds: frozenset[str],
    summaries: Mapping[str, Mapping[str, Any]],
    packed: Packed | None = None,
) -> tuple[c.Figures, list[c.Breakdown]]:
    """The scope's figures on the index's day, and one row per child of the scope. The scope's totals
    are its own count plus its children's (each unit is read once); the models roll up over every
    unit of the subtree."""
    rows = []
    packed = packed if packed is not None else pack(summaries)
    whole = tally([scope] if index.kind.get(scope) in kinds else [], summaries, packed)
    models, per_child = models_of(index, scope, summaries)
    empty = dict.fromkeys(MODELS, 0)
    for child in index.children.get(scope, []):
        t = tally(index.expected(child, kinds), summaries, packed)
        for k in TALLY:
            whole[k] += t[k]
        figures = with_models(from_tally(t), per_child.get(child, empty))
        rows.append(c.Breakdown(**figures, unit_id=child, name=index.name[child], kind=index.kind[child]))
    return c.Figures(**with_models(from_tally(whole), models)), rows


MISSING_REASONS = ("nothing_planned", "one_part_only", "report_returned")


def missing_reason(summary: Mapping[str, Any]) -> str | None:
    """Why an expected unit is on the list a commune officer chases, from its summary of the year (empty
    when it has none): nothing planned or held; held with only one of its two parts (the seed plan:
    "phải đảm bảo phần lễ và phần hội"); or its report was returned by the level above and not
    reported again."""
    planned, held = bool(summary.get("planned")), bool(summary.get("held"))
    if not planned and not held:
        return "nothing_planned"
    if held and not summary.get("both_parts"):
        return "one_part_only"
    if held and summary.get("returned"):
        return "report_returned"
    return None
