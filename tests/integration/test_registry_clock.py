"""'Today' is the province's calendar day by default (ANTQ_TIMEZONE unset): at 18:00 UTC on 2 August
it is 01:00 on 3 August in Huế, so a festival held on 3 August may be reported, and it is reported
on 3 August."""

from __future__ import annotations

import datetime as dt
import json

from services.registry.app import RegistrySettings, create
from shared.client import command_envelope
from shared.contract import registry as c
from shared.contract.envelope import Actor
from tests.integration.conftest import uid

ADMIN = Actor(id="clock", unit=None, role="admin")


async def test_the_default_time_zone_is_the_provinces(servers):
    settings = RegistrySettings(
        nats_url=servers.nats_url, mongodb_url=servers.mongodb_url, mongodb_db=f"antq_clock_{uid('')[-8:]}"
    )
    assert settings.timezone == "Asia/Ho_Chi_Minh"  # nothing set: the default is what is exercised
    host = create(settings, clock=lambda: dt.datetime(2025, 8, 2, 18, 0, tzinfo=dt.UTC))
    host.build()

    async def send(action: str, data: c.Model) -> dict:
        return await host.pipeline.handle(action, command_envelope("registry", action, data, ADMIN, "tests"))

    try:
        p, w = uid("p"), uid("w")
        for cmd in (
            c.RegisterUnit(unit_id=p, name="Tỉnh", kind="province", valid_from="2025-01-01"),
            c.RegisterUnit(unit_id=w, name="Phường", kind="ward", parent_id=p, valid_from="2025-01-01"),
        ):
            assert (await send("register-unit", cmd))["ok"]
        assert (await send("open-campaign", c.OpenCampaign(year=2025, scope_unit_id=p)))["ok"]
        planned = await send(
            "plan-festival",
            c.PlanFestival(
                unit_id=w, year=2025, date="2025-08-03", venue="Sân", ceremony=c.PartPlan(), festival_part=c.PartPlan()
            ),
        )
        report = c.ReportFestival(
            festival_id=planned["result"]["festival_id"],
            held_on="2025-08-03",
            participants=5,
            ceremony_held=True,
            festival_part_held=True,
        )
        r = await send("report-festival", report)
        assert r["ok"], json.dumps(r)  # in UTC it would still be 2 August: "in the future"
        assert r["result"]["reported_on"] == "2025-08-03"
    finally:
        await host.mongo.close()
