"""Reading registry's campaigns as replicated: the campaign that governs a unit (the nearest at or above
it in the year, DESIGN §2) and the unit kinds it expects to hold a festival."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from shared.contract.registry import DEFAULT_EXPECTED_KINDS

T = TypeVar("T")


def nearest(by_scope: Mapping[str, T], ancestry: Sequence[str]) -> T | None:
    """The entry of the nearest scope among `ancestry` (the unit first), if any."""
    for unit_id in ancestry:
        if unit_id in by_scope:
            return by_scope[unit_id]
    return None


def expected_kinds(campaigns: Iterable[Mapping[str, Any]], ancestry: Sequence[str]) -> frozenset[str]:
    """The `expected_kinds` of the campaign that governs the scope whose ancestry (nearest first) is
    given, among the year's `campaigns`; every kind below district when it names none."""
    governing = nearest({c["scope_unit_id"]: c for c in campaigns}, ancestry)
    kinds = governing.get("expected_kinds") if governing is not None else None
    return frozenset(kinds) if kinds else DEFAULT_EXPECTED_KINDS
