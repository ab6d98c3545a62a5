"""Random sequences of tree operations sent to registry over the bus (shared by the tree-invariant
test and the units-replica contract test)."""

from __future__ import annotations

import datetime as dt
import random

from shared.contract import registry as c
from tests.integration.conftest import uid

DATES = [dt.date(2025, 1, 1) + dt.timedelta(days=30 * i) for i in range(12)]
# What each operation may be refused with, and nothing else: a refusal of any other kind is a bug.
REFUSALS = {
    "commune": {"conflict"},  # an official code held by another unit that day
    "hamlet": {"rule_violation"},  # a parent that does not exist for the hamlet's whole period
    "move": {"rule_violation"},  # a parent gone that day, already there, a later change
    "merge": {"rule_violation", "conflict"},  # children left behind, a unit gone; a code held
    "split": {"rule_violation"},  # a source gone, children left unassigned
    "close": {"rule_violation"},  # children left, a later change, gone already
    "rename": {"rule_violation", "conflict"},  # a later change, gone; a code held
}


async def random_operations(admin, seed: int, steps: int = 60) -> tuple[str, set[str], int]:
    """Register a province, then `steps` random operations under it. Returns the root, every unit id
    a command named, and how many commands were accepted."""
    rng = random.Random(seed)
    root = uid("prov")
    assert (await admin.send(c.RegisterUnit(unit_id=root, name="Tỉnh", kind="province", valid_from="2025-01-01"))).ok
    communes: list[str] = []
    hamlets: list[str] = []
    codes = [f"{seed}{i:03d}-{root[-4:]}" for i in range(6)]
    accepted = 0
    for _step in range(steps):
        day = rng.choice(DATES[1:]).isoformat()
        op = rng.choice(["commune", "commune", "hamlet", "hamlet", "move", "merge", "split", "close", "rename"])
        if op == "commune" or not communes:
            branch = "commune"
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
            branch = "hamlet"
            cmd = c.RegisterUnit(
                unit_id=uid("t"), name="Thôn", kind="hamlet", parent_id=rng.choice(communes), valid_from=day
            )
            r = await admin.send(cmd)
            if r.ok:
                hamlets.append(cmd.unit_id)
        elif op == "move" and hamlets:
            branch = "move"
            r = await admin.send(
                c.MoveUnit(unit_id=rng.choice(hamlets), new_parent_id=rng.choice(communes), effective_date=day)
            )
        elif op == "merge" and len(communes) >= 2:
            branch = "merge"
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
            branch = "split"
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
            branch = "close"
            r = await admin.send(c.CloseUnit(unit_id=rng.choice(communes + hamlets), effective_date=day, reason="t"))
        else:
            branch = "rename"
            r = await admin.send(
                c.UpdateUnit(
                    unit_id=rng.choice(communes), effective_date=day, name="Xã Đổi Tên", code=rng.choice([None, *codes])
                )
            )
        assert r.ok or r.error["code"] in REFUSALS[branch], (branch, r.error)
        accepted += r.ok
    return root, {root, *communes, *hamlets}, accepted
