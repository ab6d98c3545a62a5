"""From report to topic: the time from a `report-festival` command to the first `coverage.updated` of
the province that counts it, with registry and reporting in this process on their own databases.

Two loads, both open loop: reports paced at `RATE`/s (the figures keep moving: updates are gathered
once per coalescing interval), and reports one interval and a half apart (each change arrives after a
quiet interval). `python -m bench.topic` starts its own servers; `make bench` calls `measure`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from typing import Any

from bench.round_trips import until
from shared.client import Client
from shared.contract.envelope import Actor
from shared.runtime.kit import running_from

NOW = dt.datetime(2025, 8, 25, 3, 0, tzinfo=dt.UTC)  # after the festivals, inside the 2025 campaign
HAMLETS = 60
PACED = 40  # reports at RATE per second
RATE = 2.0
QUIET = 4  # reports one interval and a half apart


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def measure(nats_url: str, mongodb_url: str, interval: float = 5.0) -> dict[str, Any]:
    from services.registry.app import RegistrySettings
    from services.registry.app import create as registry
    from services.reporting.app import create as reporting
    from services.reporting.deps import ReportingSettings

    tag = f"tp{uuid.uuid4().hex[:6]}"
    common: dict[str, Any] = {"nats_url": nats_url, "mongodb_url": mongodb_url, "http_port": 0, "log_level": "WARNING"}
    clock = running_from(NOW)
    hosts = [
        registry(RegistrySettings(mongodb_db=f"antq_registry_{tag}", **common), clock),
        reporting(
            ReportingSettings(mongodb_db=f"antq_reporting_{tag}", coverage_interval_seconds=interval, **common), clock
        ),
    ]
    for host in hosts:
        await host.start()
    admin = await Client.connect(nats_url, Actor(id="tp-admin", unit=None, role="admin"), source="bench")
    updates: list[tuple[float, int]] = []  # (arrival, units held in the province)
    province = f"{tag}-p"

    async def on_update(msg: Any) -> None:
        data = json.loads(msg.data).get("data") or {}
        if data.get("scope_unit_id") == province:
            updates.append((time.perf_counter(), int(data["figures"]["units_held"])))

    sub = await admin.nc.subscribe("antq.reporting.coverage.updated.v1", cb=on_update)
    try:

        async def ok(action: str, data: dict[str, Any]) -> dict[str, Any]:
            return await until(lambda: admin.command("registry", action, data), action)  # type: ignore[no-any-return]

        day = "2025-01-01"
        await ok("register-unit", {"unit_id": province, "name": "Tỉnh", "kind": "province", "valid_from": day})
        await ok(
            "register-unit",
            {"unit_id": f"{tag}-c", "name": "Xã", "kind": "commune", "parent_id": province, "valid_from": day},
        )
        for i in range(HAMLETS):
            unit = {"unit_id": f"{tag}-h{i}", "name": f"Thôn {i}", "kind": "hamlet", "parent_id": f"{tag}-c"}
            await ok("register-unit", {**unit, "valid_from": day})
        await ok("open-campaign", {"year": 2025, "scope_unit_id": province})
        festivals = []
        for i in range(HAMLETS):
            plan = {"unit_id": f"{tag}-h{i}", "year": 2025, "date": "2025-07-20", "venue": "Nhà văn hóa"}
            plan |= {"ceremony": {"planned": True}, "festival_part": {"planned": True}}
            festivals.append((await ok("plan-festival", plan))["festival_id"])
        deadline = time.monotonic() + 120
        while not any(held == 0 for _, held in updates) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # reporting has the tree and the plans
        await asyncio.sleep(interval * 1.5)  # a quiet interval before the first report

        async def report(festival_id: str) -> None:
            data = {"festival_id": festival_id, "held_on": "2025-07-20", "participants": 100}
            await ok("report-festival", {**data, "ceremony_held": True, "festival_part_held": True})

        async def run(ids: list[str], gap: float) -> list[float]:
            """Send the reports `gap` s apart (open loop); each one's latency to the first update counting it."""
            base = max((held for _, held in updates), default=0)
            sent: list[float] = []
            tasks = []
            start = time.perf_counter()
            for k, festival_id in enumerate(ids):
                delay = start + k * gap - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent.append(time.perf_counter())
                tasks.append(asyncio.create_task(report(festival_id)))
            await asyncio.gather(*tasks)
            want = base + len(ids)
            deadline = time.monotonic() + interval * 4 + 60
            while max((held for _, held in updates), default=0) < want and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            out = []
            for k, t in enumerate(sorted(sent)):  # the k-th report sent is counted once k+1 are held
                first = next((at for at, held in updates if held >= base + k + 1 and at >= t), None)
                if first is not None:
                    out.append(first - t)
            return out

        paced = await run(festivals[:PACED], 1 / RATE)
        await asyncio.sleep(interval * 1.5)
        quiet = await run(festivals[PACED : PACED + QUIET], interval * 1.5)
        return {
            "interval": interval,
            "paced": paced,
            "quiet": quiet,
            "paced_p50": pct(paced, 0.5),
            "paced_p99": pct(paced, 0.99),
            "quiet_p50": pct(quiet, 0.5),
            "quiet_max": pct(quiet, 1.0),
            "missing": PACED + QUIET - len(paced) - len(quiet),
        }
    finally:
        await sub.unsubscribe()
        await admin.close()
        for host in reversed(hosts):
            await host.stop()


def lines(found: dict[str, Any]) -> list[str]:
    return [
        f"report-festival → coverage.updated of the province, coalescing interval {found['interval']:g} s:",
        f"  {PACED} reports at {RATE:g}/s: p50 {found['paced_p50']:.0f} ms, p99 {found['paced_p99']:.0f} ms",
        f"  {QUIET} reports {found['interval'] * 1.5:g} s apart (after a quiet interval): "
        f"p50 {found['quiet_p50']:.0f} ms, max {found['quiet_max']:.0f} ms",
        *([f"  {found['missing']} reports never seen in an update"] if found["missing"] else []),
    ]


async def main() -> None:
    from bench import servers
    from shared.runtime import logs

    logs.configure("bench", "WARNING")
    with servers("antq-topic-") as (nats_url, mongodb_url):
        found = await measure(nats_url, mongodb_url)
    for line in lines(found):
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
