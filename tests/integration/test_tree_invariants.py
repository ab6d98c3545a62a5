"""Random sequences of tree operations over the bus, then the invariants of the effective-dated
tree checked on every date that matters: whatever was accepted or refused, no active unit hangs
under a unit that does not exist that day, every history is contiguous, and no official code is
held by two units at once."""

from __future__ import annotations

import itertools

import pytest

from tests.integration.tree_ops import DATES, random_operations


async def _all_units(admin, root: str) -> list[dict]:
    found = [(await admin.query("registry", "unit", {"unit_id": root})).result]
    frontier = [root]
    while frontier:  # every unit that ever hung anywhere below the root, whatever the date
        nxt = []
        for parent in frontier:
            for day in DATES:
                r = await admin.query(
                    "registry", "units", {"parent_id": parent, "date": day.isoformat(), "limit": 10000}
                )
                for u in r.result["units"]:
                    if u["unit_id"] not in {f["unit_id"] for f in found}:
                        found.append((await admin.query("registry", "unit", {"unit_id": u["unit_id"]})).result)
                        nxt.append(u["unit_id"])
        frontier = nxt
    return found


def _version_at(unit: dict, day: str) -> dict | None:
    for v in unit["history"]:
        if v["valid_from"] <= day < (v["valid_to"] or "9999-12-31"):
            return v
    return None


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_random_operations_keep_the_tree_consistent(admin, seed):
    root, _created, accepted = await random_operations(admin, seed)
    assert accepted >= 5  # the sequence did exercise the tree

    units = {u["unit_id"]: u for u in await _all_units(admin, root)}
    for u in units.values():
        history = u["history"]
        for a, b in itertools.pairwise(history):
            assert a["valid_to"] == b["valid_from"], u
        assert all(v["valid_from"] < (v["valid_to"] or "9999-12-31") for v in history), u
    for day in (d.isoformat() for d in DATES):
        held: dict[str, str] = {}
        for u in units.values():
            v = _version_at(u, day)
            if v is None:
                continue
            if v["parent_id"] is not None:
                assert _version_at(units[v["parent_id"]], day) is not None, (day, u["unit_id"], v["parent_id"])
            if v["code"]:
                assert held.setdefault(v["code"], u["unit_id"]) == u["unit_id"], (day, v["code"])
