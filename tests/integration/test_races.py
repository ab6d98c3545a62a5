"""Two commands racing on the same part of the tree: whichever wins, the other sees its effect
(the unit's lock document makes the two transactions conflict; the loser is retried).

The overlap is made certain, not hoped for: both transactions read the tree, then wait for each
other at a rendezvous, and only then write."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from services.registry.app import create
from services.registry.store import RegistryStore
from shared.client import command_envelope
from shared.contract import registry as c
from shared.contract.envelope import Actor
from tests.integration.conftest import registry_settings, uid


class Rendezvous:
    """The first two arrivals wait for each other (a deadline keeps a lone one from hanging)."""

    def __init__(self) -> None:
        self.arrived = 0
        self.both = asyncio.Event()

    async def meet(self) -> None:
        self.arrived += 1
        if self.arrived > 2:
            return  # a retry, after the conflict
        if self.arrived == 2:
            self.both.set()
        await asyncio.wait_for(self.both.wait(), 10)


def envelope(action: str, data: c.Model) -> bytes:
    return command_envelope("registry", action, data, Actor(id="race", unit=None, role="admin"), "tests")


async def test_closing_a_unit_and_hanging_a_child_under_it_never_both_succeed(servers):
    gate: dict[str, Rendezvous | None] = {"now": None}

    class Racing(RegistryStore):
        async def ancestry(self, unit_id: str, day: dt.date) -> list[str]:
            chain = await super().ancestry(unit_id, day)
            if gate["now"] is not None:
                await gate["now"].meet()  # both commands have read the tree: now both write
            return chain

    # two replicas' transactions: in one process, commands arriving together would go in one
    # transaction (group commit), so grouping is off here and the two transactions overlap
    host = create(registry_settings(servers, command_group_limit=1))
    host.definition = dataclasses.replace(host.definition, store_factory=lambda db, session: Racing(db, session))
    host.build()
    try:
        for _ in range(5):
            prov, district, child = uid("prov"), uid("district"), uid("commune")
            for cmd in (
                c.RegisterUnit(unit_id=prov, name="T", kind="province", valid_from="2025-01-01"),
                c.RegisterUnit(unit_id=district, name="H", kind="district", parent_id=prov, valid_from="2025-01-01"),
            ):
                assert (await host.pipeline.handle("register-unit", envelope("register-unit", cmd)))["ok"]
            gate["now"] = rendezvous = Rendezvous()
            close = c.CloseUnit(unit_id=district, effective_date="2025-07-01", reason="giải thể")
            attach = c.RegisterUnit(
                unit_id=child, name="X", kind="commune", parent_id=district, valid_from="2025-01-01"
            )
            closed, registered = await asyncio.gather(
                host.pipeline.handle("close-unit", envelope("close-unit", close)),
                host.pipeline.handle("register-unit", envelope("register-unit", attach)),
            )
            gate["now"] = None
            assert rendezvous.both.is_set()  # they did overlap
            assert closed["ok"] != registered["ok"], (closed, registered)
            loser = registered if closed["ok"] else closed
            assert loser["error"]["code"] == "rule_violation"  # refused on the winner's result
    finally:
        await host.mongo.close()
