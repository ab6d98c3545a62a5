"""Database round trips per command: every registry and awards command once (in a small season, as the
actors who send them), counted by the services' own PyMongo command monitoring.

`python -m bench.round_trips` starts its own servers; `make bench` calls `measure` on its own."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from typing import Any

from shared.client import Client
from shared.contract.envelope import Actor

# the season's calendar: the tree of 2025, a festival in the window, decisions after it
NOW = dt.datetime(2025, 8, 25, 3, 0, tzinfo=dt.UTC)
TARGETS = {"register-unit": 5, "plan-festival": 8}  # DESIGN §8: ≤ 5 with nothing beyond aggregate and parent


def clock() -> dt.datetime:
    return NOW


def trips(host: Any) -> dict[str, float]:
    """Mean round trips per command, from the host's `antq_command_db_round_trips` histogram."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in host.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "antq_command_db_round_trips_sum":
                sums[sample.labels["command"]] = sample.value
            elif sample.name == "antq_command_db_round_trips_count":
                counts[sample.labels["command"]] = sample.value
    return {k: sums[k] / counts[k] for k in sums if counts.get(k)}


async def until(fn: Any, what: str, timeout: float = 30.0) -> Any:
    """Send until the answer is not `not_found` (awards learns units and festivals from events)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = await fn()
        if reply.ok or reply.error.get("code") != "not_found" or time.monotonic() > deadline:
            if not reply.ok:
                raise RuntimeError(f"{what}: {reply.error}")
            return reply.result
        await asyncio.sleep(0.1)


async def settled(producer: Any, consumer: Any, timeout: float = 60.0) -> None:
    """Until the consumer has applied all the producer published (its replicas are up to date), so that
    no command is counted twice for a replica that had not caught up yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await producer.outbox.pending() == 0:
            busy = 0
            for runner in consumer.runners.values():
                info = await runner.js.consumer_info(runner.spec.stream, runner.durable)
                busy += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if busy == 0:
                return
        await asyncio.sleep(0.05)


async def season(nats_url: str, tag: str, settle: Any = None) -> None:
    """Every registry and awards command at least once."""
    p, c1, c2, h1, h2, h3 = (f"{tag}-{x}" for x in ("p", "c1", "c2", "h1", "h2", "h3"))
    admin = await Client.connect(nats_url, Actor(id="rt-admin", unit=None, role="admin"), source="bench")
    officer = Client(admin.nc, Actor(id="rt-officer", unit=c1, role="officer"), source="bench")
    approver = Client(admin.nc, Actor(id="rt-approver", unit=c1, role="approver"), source="bench")
    try:

        async def ok(client: Client, service: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
            return await until(lambda: client.command(service, action, data), f"{service} {action}")

        day = "2025-01-01"
        await ok(
            admin, "registry", "register-unit", {"unit_id": p, "name": "Tỉnh", "kind": "province", "valid_from": day}
        )
        for unit in (c1, c2):
            unit_data = {"unit_id": unit, "name": f"Xã {unit}", "kind": "commune", "parent_id": p, "valid_from": day}
            await ok(admin, "registry", "register-unit", unit_data)
        for unit in (h1, h2, h3):
            unit_data = {"unit_id": unit, "name": f"Thôn {unit}", "kind": "hamlet", "parent_id": c1, "valid_from": day}
            await ok(officer, "registry", "register-unit", unit_data)
        await ok(
            officer, "registry", "update-unit", {"unit_id": h1, "name": "Thôn Một", "effective_date": "2025-02-01"}
        )
        await ok(admin, "registry", "move-unit", {"unit_id": h3, "new_parent_id": c2, "effective_date": "2025-03-01"})
        await ok(
            admin,
            "registry",
            "split-unit",
            {
                "unit_id": h2,
                "effective_date": "2025-04-01",
                "parts": [{"unit_id": f"{h2}a", "name": "Thôn 2A", "kind": "hamlet"}],
                "close_source": False,
            },
        )
        await ok(
            admin,
            "registry",
            "merge-units",
            {"source_unit_ids": [f"{h2}a"], "target_unit_id": h2, "effective_date": "2025-05-01"},
        )
        await ok(admin, "registry", "close-unit", {"unit_id": h3, "effective_date": "2025-06-01", "reason": "giải thể"})
        campaign = await ok(admin, "registry", "open-campaign", {"year": 2025, "scope_unit_id": p})
        plans = []
        for unit in (c1, h1, h2):
            plan = {
                "unit_id": unit,
                "year": 2025,
                "date": "2025-07-20",
                "venue": "Nhà văn hóa",
                "ceremony": {"planned": True},
                "festival_part": {"planned": True},
            }
            plans.append((await ok(officer, "registry", "plan-festival", plan))["festival_id"])
        await ok(
            officer, "registry", "reschedule-festival", {"festival_id": plans[1], "date": "2025-07-25", "reason": "mưa"}
        )
        await ok(officer, "registry", "cancel-festival", {"festival_id": plans[2], "reason": "trùng lịch"})
        model = await ok(
            officer,
            "registry",
            "register-model",
            {"unit_id": h1, "name": "Camera an ninh", "launched_on": "2025-03-01"},
        )
        await ok(
            officer,
            "registry",
            "replicate-model",
            {"model_id": model["model_id"], "unit_id": h2, "replicated_on": "2025-04-15"},
        )
        report = {
            "festival_id": plans[0],
            "held_on": "2025-07-20",
            "participants": 300,
            "ceremony_held": True,
            "festival_part_held": True,
            "models_launched": [model["model_id"]],
        }
        await ok(officer, "registry", "report-festival", report)
        await ok(
            admin, "registry", "close-campaign", {"campaign_id": campaign["campaign_id"], "closed_on": "2025-08-24"}
        )

        def nominee(unit: str, person: str | None = None) -> dict[str, Any]:
            if person is None:
                return {"kind": "collective", "unit_id": unit}
            return {
                "kind": "individual",
                "unit_id": unit,
                "person": {"person_id": person, "name": f"Nguyễn Văn {person}"},
            }

        form = "giay_khen_chu_tich_ubnd_xa"
        nominations = []
        for i, who in enumerate([nominee(h1), nominee(h1, f"{tag}-a"), nominee(c1, f"{tag}-b")]):
            data = {
                "nominee": who,
                "award_form": form,
                "year": 2025,
                "achievement": f"Thành tích {i}",
                "festival_id": plans[0],
            }
            nominations.append((await ok(officer, "awards", "submit-nomination", data))["nomination_id"])
        await ok(approver, "awards", "return-nomination", {"nomination_id": nominations[0], "reason": "bổ sung"})
        await ok(officer, "awards", "resubmit-nomination", {"nomination_id": nominations[0], "note": "đã bổ sung"})
        decision = {"decision_no": "12/QĐ-UBND", "decision_date": "2025-07-15"}
        awards = [
            (await ok(approver, "awards", "approve-nomination", {"nomination_id": n, **decision}))["award_id"]
            for n in nominations[:2]
        ]
        await ok(approver, "awards", "reject-nomination", {"nomination_id": nominations[2], "reason": "chưa đủ"})
        await ok(
            officer,
            "awards",
            "confer-award",
            {"award_id": awards[0], "conferred_on": "2025-07-20", "festival_id": plans[0]},
        )
        revoke = {
            "award_id": awards[1],
            "reason": "sai sót",
            "decision_no": "13/QĐ-UBND",
            "decision_date": "2025-08-01",
        }
        await ok(approver, "awards", "revoke-award", revoke)
        gift = {
            "unit_id": h1,
            "beneficiary_kind": "policy_family",
            "recipients": 5,
            "value_vnd": 2_500_000,
            "funding_source": "xã hội hóa",
            "festival_id": plans[0],
        }
        await ok(officer, "awards", "record-gift", gift)
    finally:
        await admin.close()


async def measure(nats_url: str, mongodb_url: str) -> dict[str, dict[str, float]]:
    """Registry and awards in this process on their own databases; returns service → command → trips."""
    from services.awards.app import AwardsSettings
    from services.awards.app import create as awards
    from services.registry.app import RegistrySettings
    from services.registry.app import create as registry

    tag = f"rt{uuid.uuid4().hex[:6]}"
    common: dict[str, Any] = {"nats_url": nats_url, "mongodb_url": mongodb_url, "http_port": 0, "log_level": "WARNING"}
    hosts = [
        registry(RegistrySettings(mongodb_db=f"antq_registry_{tag}", **common), clock),
        awards(AwardsSettings(mongodb_db=f"antq_awards_{tag}", **common), clock),
    ]
    for host in hosts:
        await host.start()
    try:
        await season(nats_url, tag, lambda: settled(hosts[0], hosts[1]))
        return {host.name: trips(host) for host in hosts}
    finally:
        for host in hosts:
            await host.stop()


def table(found: dict[str, dict[str, float]]) -> list[str]:
    lines = []
    for service, per in found.items():
        for command, n in sorted(per.items()):
            lines.append(f"{service:<9} {command:<22} {n:5.1f}")
    return lines


async def main() -> None:
    from bench import servers
    from shared.runtime import logs

    logs.configure("bench", "WARNING")
    with servers("antq-trips-") as (nats_url, mongodb_url):
        found = await measure(nats_url, mongodb_url)
    print("database round trips per command (mean over the run):")
    for line in table(found):
        print("  " + line)


if __name__ == "__main__":
    asyncio.run(main())
