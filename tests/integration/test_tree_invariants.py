"""Random sequences of tree operations over the bus, then the invariants of the effective-dated
tree checked on every date that matters: whatever was accepted or refused, no active unit hangs
under a unit that does not exist that day, every history is contiguous, and no official code is
held by two units at once."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from shared.contract import registry as c
from tests.integration.conftest import uid

DATES = [dt.date(2025, 1, 1) + dt.timedelta(days=30 * i) for i in range(12)]


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
    rng = random.Random(seed)
    root = uid("prov")
    assert (await admin.send(c.RegisterUnit(unit_id=root, name="Tỉnh", kind="province", valid_from="2025-01-01"))).ok
    communes: list[str] = []
    hamlets: list[str] = []
    codes = [f"{seed}{i:03d}-{root[-4:]}" for i in range(6)]
    accepted = 0
    for _step in range(60):
        day = rng.choice(DATES[1:]).isoformat()
        op = rng.choice(["commune", "commune", "hamlet", "hamlet", "move", "merge", "split", "close", "rename"])
        if op == "commune" or not communes:
            cmd = c.RegisterUnit(
                unit_id=uid("x"),
                name="Xã",
                kind="commune",
                parent_id=root,
                valid_from=day,
                code=rng.choice([None, *codes]),
            )
            r = await admin.send(cmd)
            if r.ok:
                communes.append(cmd.unit_id)
        elif op == "hamlet":
            cmd = c.RegisterUnit(
                unit_id=uid("t"), name="Thôn", kind="hamlet", parent_id=rng.choice(communes), valid_from=day
            )
            r = await admin.send(cmd)
            if r.ok:
                hamlets.append(cmd.unit_id)
        elif op == "move" and hamlets:
            r = await admin.send(
                c.MoveUnit(unit_id=rng.choice(hamlets), new_parent_id=rng.choice(communes), effective_date=day)
            )
        elif op == "merge" and len(communes) >= 2:
            sources = rng.sample(communes, 2)
            target = uid("x")
            r = await admin.send(
                c.MergeUnits(
                    source_unit_ids=sources,
                    effective_date=day,
                    new_unit=c.NewUnit(
                        unit_id=target, name="Xã Mới", kind="commune", parent_id=root, code=rng.choice([None, *codes])
                    ),
                    move_children=rng.random() < 0.8,
                )
            )
            if r.ok:
                communes.append(target)
        elif op == "split":
            part = uid("x")
            r = await admin.send(
                c.SplitUnit(
                    unit_id=rng.choice(communes),
                    effective_date=day,
                    close_source=rng.random() < 0.5,
                    parts=[c.SplitPart(unit_id=part, name="Xã Tách", kind="commune")],
                )
            )
            if r.ok:
                communes.append(part)
        elif op == "close":
            r = await admin.send(c.CloseUnit(unit_id=rng.choice(communes + hamlets), effective_date=day, reason="t"))
        else:
            r = await admin.send(
                c.UpdateUnit(
                    unit_id=rng.choice(communes), effective_date=day, name="Xã Đổi Tên", code=rng.choice([None, *codes])
                )
            )
        assert r.ok or r.error["code"] in ("rule_violation", "conflict", "validation_failed"), r.error
        accepted += r.ok
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
