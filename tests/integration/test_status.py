"""`antq status` against the four services: green while they run, red (exit 5) when notifications
stops while events wait for its consumers, green again when it is back. The CLI runs as its own
process, over the bus only."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.notifications.app import NotificationsSettings
from services.notifications.app import create as create_notifications
from shared.contract import registry as r
from shared.runtime.host import ServiceHost
from tests.integration.conftest import in_process, quiet, settle, uid


async def antq_status(nats_url: str, cwd: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "antq"),
        "--nats-url",
        nats_url,
        "status",
        *args,
        cwd=cwd,  # no development issuer here: the CLI sends unsigned, as the test services accept
        env={**os.environ, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, errors = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + errors.decode()


@pytest.fixture(scope="module")
async def notifications(servers, registry) -> AsyncIterator[ServiceHost]:
    host = create_notifications(in_process(NotificationsSettings, servers, "notifications"))
    await host.start()
    await settle(registry, host, timeout=60)
    yield host
    if not host.stopping.is_set():
        await host.stop()


async def test_status_is_red_while_a_consumer_is_stopped_and_green_when_it_is_back(
    servers, registry, awards, reporting, notifications, admin, tmp_path
):
    await quiet(registry, awards, reporting, notifications)
    code, out = await antq_status(servers.nats_url, tmp_path, "--json")
    assert code == 0, out
    status = json.loads(out)
    services = {s["service"]: s for s in status["services"]}
    assert set(services) == {"registry", "awards", "notifications", "reporting"}
    assert all(s["answered"] and s["ready"] and s["version"] for s in services.values()), services
    assert all(s["outbox_pending"] is not None for s in services.values())
    consumers = {f"{c['service']}/{c['consumer']}": c for c in status["consumers"]}
    assert {"notifications/units", "notifications/registry", "reporting/registry", "awards/intake"} <= set(consumers)
    assert consumers["notifications/units"]["running"] and consumers["notifications/units"]["level"] != "red"
    assert {s["stream"] for s in status["streams"]} >= {"ANTQ_REGISTRY", "ANTQ_AWARDS", "ANTQ_DLQ"}

    # notifications stops; registry's events keep coming and wait for its consumers
    await notifications.stop()
    for _ in range(3):
        assert (
            await admin.send(r.RegisterUnit(unit_id=uid("st"), name="Tỉnh", kind="province", valid_from="2025-07-01"))
        ).ok
    await quiet(registry)  # all three published (a fixed wait once saw two under CI's load)
    code, out = await antq_status(servers.nats_url, tmp_path, "--json", "--wait", "1")
    assert code == 5, out
    status = json.loads(out)
    assert status["level"] == "red"
    down = next(s for s in status["services"] if s["service"] == "notifications")
    assert down["level"] == "red" and not down["answered"] and "no answer" in down["why"]
    waiting = {c["consumer"]: c for c in status["consumers"] if c["service"] == "notifications"}
    assert waiting["units"]["pending"] >= 3 and not waiting["units"]["running"]
    assert waiting["units"]["level"] == "red" and waiting["units"]["why"] == "its service does not answer"
    # the table says the same, in colour
    code, table = await antq_status(servers.nats_url, tmp_path, "--wait", "1")
    assert code == 5 and "no answer" in table and "ĐỎ: cần người xử lý ngay" in table

    # back: it catches up and everything is green again
    back = create_notifications(notifications.settings)
    await back.start()
    try:
        await settle(registry, back, timeout=60)
        code, out = await antq_status(servers.nats_url, tmp_path, "--json")
        assert code == 0, out
        status = json.loads(out)
        again = {c["consumer"]: c for c in status["consumers"] if c["service"] == "notifications"}
        assert again["units"]["running"] and again["units"]["pending"] == 0
        assert all(s["answered"] and s["ready"] for s in status["services"])
    finally:
        await back.stop()
