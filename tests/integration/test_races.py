"""Two commands racing on the same part of the tree: whichever wins, the other sees its effect
(the unit's lock document makes the two transactions conflict; the loser is retried)."""

from __future__ import annotations

import asyncio

from shared.contract import registry as c
from tests.integration.conftest import uid


async def test_closing_a_unit_and_hanging_a_child_under_it_never_both_succeed(admin):
    both = 0
    for _ in range(10):
        prov, district, child = uid("prov"), uid("district"), uid("commune")
        assert (await admin.send(c.RegisterUnit(unit_id=prov, name="T", kind="province", valid_from="2025-01-01"))).ok
        assert (
            await admin.send(
                c.RegisterUnit(unit_id=district, name="H", kind="district", parent_id=prov, valid_from="2025-01-01")
            )
        ).ok
        closed, registered = await asyncio.gather(
            admin.send(c.CloseUnit(unit_id=district, effective_date="2025-07-01", reason="giải thể")),
            admin.send(
                c.RegisterUnit(unit_id=child, name="X", kind="commune", parent_id=district, valid_from="2025-01-01")
            ),
        )
        both += closed.ok and registered.ok
        assert closed.ok or registered.ok
    assert both == 0
