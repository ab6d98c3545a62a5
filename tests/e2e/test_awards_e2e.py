"""Awards end to end: registry and awards as their own processes, driven by plain nats-py through
the bus only. Then registry goes down and awards keeps working on what it knows."""

from __future__ import annotations

from collections.abc import Iterator

import nats
import pytest

from tests.e2e.awards_flow import Outside, check_stream, code, ok, run_flow
from tests.e2e.conftest import ServiceProcess, service_process


@pytest.fixture(scope="module")
def awards_process(servers, tmp_path_factory, registry_process) -> Iterator[ServiceProcess]:
    svc = service_process(servers, "awards", tmp_path_factory.mktemp("e2e-awards"))
    svc.start()
    svc.wait_ready()
    yield svc
    svc.stop()


async def test_the_awards_flow_through_the_bus_then_without_registry(servers, registry_process, awards_process):
    flow = await run_flow(servers.nats_url)
    await check_stream(servers.nats_url, flow)

    registry_process.stop()  # registry down: awards answers from its own replicas
    nc = await nats.connect(servers.nats_url)
    c = Outside(nc)
    try:
        gift = await c.send(
            "awards",
            "record-gift",
            {
                "unit_id": flow.group,
                "beneficiary_kind": "poor_household",
                "recipients": 2,
                "value_vnd": 1_000_000,
                "funding_source": "Mặt trận phường",
            },
            flow.ward,
            "officer",
        )
        assert code(gift) == "ok", gift
        nominated = await c.send(
            "awards",
            "submit-nomination",
            {
                "nominee": {"kind": "collective", "unit_id": flow.group},
                "award_form": "bang_khen_chu_tich_ubnd_tinh",
                "year": 2026,
                "achievement": "Tổ dân phố tiêu biểu",
            },
            flow.ward,
            "officer",
        )
        assert ok(nominated)["grantor"]["unit_id"] == flow.province
        gifts = ok(await c.query("awards", "gifts", {"unit_id": flow.ward}))
        assert gifts["totals"]["entries"] == 2
        unknown = await c.send(
            "awards",
            "submit-nomination",
            {
                "nominee": {"kind": "collective", "unit_id": "registered-while-registry-was-down"},
                "award_form": "bang_khen_chu_tich_ubnd_tinh",
                "year": 2026,
                "achievement": "x",
            },
            "",
            "admin",
        )
        assert code(unknown) == "not_found" and "not known to awards (yet)" in unknown["error"]["message"]
    finally:
        await nc.close()
    assert awards_process.status("/readyz") == 200
