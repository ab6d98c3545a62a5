"""What reporting's summaries count, pure: nominations and awards by form and status, the awards
standing split as the season report counts them, and the gifts counted once (the ledger, plus the
festival reports' totals it does not detail)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.reporting.projection import gifts_counted
from services.reporting.store import text_of


def awards_view(docs: list[dict[str, Any]], reports: Iterable[tuple[str, Mapping[str, int]]] = ()) -> dict[str, Any]:
    """Nominations and awards by form and status, the amount standing, and the gifts counted once
    (`projection.gifts_counted`: the ledger, plus festival reports' totals it does not detail)."""
    nominations: dict[str, dict[str, int]] = {}
    awards: dict[str, dict[str, int]] = {}
    ledger: dict[str, Any] = {"entries": 0, "recipients": 0, "value_vnd": 0, "festivals": set()}
    by_funding: dict[str, int] = {}
    by_kind: dict[str, dict[str, int]] = {}
    amount = 0
    for d in docs:
        for target, source in ((nominations, d.get("nominations", {})), (awards, d.get("awards", {}))):
            for form, statuses in source.items():
                for status, n in statuses.items():
                    if n:
                        target.setdefault(form, {}).setdefault(status, 0)
                        target[form][status] += n
        amount += int(d.get("amount_vnd", 0))
        g = d.get("gifts", {})
        for k in ("entries", "recipients", "value_vnd"):
            ledger[k] += int(g.get(k, 0))
        ledger["festivals"] |= set(g.get("festivals") or ())
        for src, v in g.get("by_funding", {}).items():
            by_funding[text_of(src)] = by_funding.get(text_of(src), 0) + int(v)
        for kind, v in g.get("by_kind", {}).items():
            slot = by_kind.setdefault(kind, {"entries": 0, "recipients": 0, "value_vnd": 0})
            for k in slot:
                slot[k] += int(v.get(k, 0))
    gifts = gifts_counted({**ledger, "by_funding": by_funding, "by_kind": by_kind}, reports)
    split: dict[str, Any] = {}
    for d in docs:
        _add(split, d.get("split") or {})
    return {
        "nominations": nominations,
        "awards": awards,
        "awards_amount_vnd": amount,
        "standing": {
            "by_nominee_kind": split.get("kind", {}),
            "by_granting_level": split.get("level", {}),
            "by_form": split.get("form", {}),
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
