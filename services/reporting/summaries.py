"""What reporting's summaries count, pure: nominations and awards by form and status, the awards
standing split as the season report counts them, and the gifts counted once (the ledger, plus the
festival reports' totals it does not detail)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.reporting.projection import gifts_counted
from services.reporting.store import text_of


class AwardsFold:
    """Nominations and awards by form and status, the amount standing, the split and the gifts' ledger,
    summed one unit's document at a time: a province's documents are folded as they are read, never
    held together."""

    def __init__(self) -> None:
        self.nominations: dict[str, dict[str, int]] = {}
        self.awards: dict[str, dict[str, int]] = {}
        self.ledger: dict[str, Any] = {"entries": 0, "recipients": 0, "value_vnd": 0, "festivals": set()}
        self.by_funding: dict[str, int] = {}
        self.by_kind: dict[str, dict[str, int]] = {}
        self.amount = 0
        self.split: dict[str, Any] = {}

    def add(self, d: Mapping[str, Any]) -> None:
        for target, source in ((self.nominations, d.get("nominations", {})), (self.awards, d.get("awards", {}))):
            for form, statuses in source.items():
                for status, n in statuses.items():
                    if n:
                        target.setdefault(form, {}).setdefault(status, 0)
                        target[form][status] += n
        self.amount += int(d.get("amount_vnd", 0))
        g = d.get("gifts", {})
        for k in ("entries", "recipients", "value_vnd"):
            self.ledger[k] += int(g.get(k, 0))
        self.ledger["festivals"] |= set(g.get("festivals") or ())
        for src, v in g.get("by_funding", {}).items():
            self.by_funding[text_of(src)] = self.by_funding.get(text_of(src), 0) + int(v)
        for kind, v in g.get("by_kind", {}).items():
            slot = self.by_kind.setdefault(kind, {"entries": 0, "recipients": 0, "value_vnd": 0})
            for k in slot:
                slot[k] += int(v.get(k, 0))
        _add(self.split, d.get("split") or {})

    def view(self, reports: Iterable[tuple[str, Mapping[str, int]]] = ()) -> dict[str, Any]:
        """The sums, with the gifts counted once (`projection.gifts_counted`: the ledger, plus festival
        reports' totals it does not detail)."""
        gifts = gifts_counted({**self.ledger, "by_funding": self.by_funding, "by_kind": self.by_kind}, reports)
        return {
            "nominations": self.nominations,
            "awards": self.awards,
            "awards_amount_vnd": self.amount,
            "standing": {
                "by_nominee_kind": self.split.get("kind", {}),
                "by_granting_level": self.split.get("level", {}),
                "by_form": self.split.get("form", {}),
            },
            "gifts": {
                **{k: gifts[k] for k in ("entries", "recipients", "value_vnd")},
                "by_funding_source": gifts["by_funding"],
                "by_beneficiary_kind": gifts["by_kind"],
            },
        }


def _add(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    """Sum nested counts into `into` (entries that sum to nothing are left out)."""
    for k, v in more.items():
        if isinstance(v, Mapping):
            _add(into.setdefault(k, {}), v)
            if not into[k]:
                del into[k]
        elif int(v):
            into[k] = into.get(k, 0) + int(v)
            if not into[k]:
                del into[k]


def reports_of(summaries: Mapping[str, Mapping[str, Any]], unit_ids: Iterable[str]) -> list[tuple[str, Any]]:
    """The gifts the festival reports of these units total, per festival."""
    return [(f, g) for u in unit_ids for f, g in (summaries.get(u, {}).get("report_gifts") or {}).items()]
