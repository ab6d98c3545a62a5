"""Scaling out: two instances of each consuming service (awards, reporting, notifications) against one
real nats-server and one database per service, sharing their durable pull consumers. The work is
shared (both instances of a consumer apply events) and nothing is applied twice: per consumer, the
events applied by the two together are exactly the events in the stream, the projections are exact,
every webhook is posted once, and each due reminder is sent once."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter

import pytest

from services.awards.app import AwardsSettings
from services.awards.app import create as create_awards
from services.notifications.app import NotificationsSettings
from services.notifications.app import create as create_notifications
from services.registry.app import RegistrySettings
from services.registry.app import create as create_registry
from services.reporting.app import ReportingSettings
from services.reporting.app import create as create_reporting
from shared.client import Client, read_stream
from shared.contract import awards as a
from shared.contract import registry as r
from shared.contract.envelope import Actor
from shared.runtime.host import ServiceHost
from tests import clock as tests_clock
from tests.integration.conftest import quiet, settle
from tests.webhook_receiver import Receiver

UNITS = 60  # residential groups: each plans and holds a festival
CLOCK: list[dt.datetime] = []


def clock() -> dt.datetime:
    return CLOCK[0] if CLOCK else tests_clock.now()


def ok(reply):
    assert reply.ok, reply.error
    return reply.result


def applied(host: ServiceHost, consumer: str) -> int:
    value = 0.0
    for outcome in ("processed", "ignored", "skipped_other_major"):  # the last: the other major of an event read
        sample = host.metrics.registry.get_sample_value(
            "antq_consumer_events_total", {"service": host.name, "consumer": consumer, "outcome": outcome}
        )
        value += sample or 0.0
    return int(value)


@pytest.fixture(scope="module")
async def cluster(private_nats, servers):
    common = {
        "nats_url": private_nats,
        "mongodb_url": servers.mongodb_url,
        "http_port": 0,
        "nack_delay_seconds": 0.2,
        "consumer_status_seconds": 0.3,
        **tests_clock.settings(),
    }
    tag = uuid.uuid4().hex[:6]
    registry = create_registry(RegistrySettings(**common, mongodb_db=f"antq_registry_scale_{tag}"))
    # the notifications instances' clock: now, until the test moves it to 17 Aug 2027, 09:00 in Huế,
    # when the 2027 campaign's reminders are due
    CLOCK.clear()
    hosts: dict[str, list[ServiceHost]] = {"awards": [], "reporting": [], "notifications": []}
    for _ in range(2):
        hosts["awards"].append(create_awards(AwardsSettings(**common, mongodb_db=f"antq_awards_scale_{tag}")))
        hosts["reporting"].append(
            create_reporting(
                ReportingSettings(**common, mongodb_db=f"antq_reporting_scale_{tag}", coverage_interval_seconds=0.3)
            )
        )
        notifications = NotificationsSettings(
            **common,
            mongodb_db=f"antq_notifications_scale_{tag}",
            send_poll_seconds=0.05,
            reminder_poll_seconds=0.1,
            retry_base_seconds=0.1,
        )
        hosts["notifications"].append(create_notifications(notifications, clock=clock))
    await registry.start()
    for group in hosts.values():
        for host in group:
            await host.start()
    yield registry, hosts
    for group in hosts.values():
        for host in group:
            await host.stop()
    await registry.stop()


async def test_two_instances_share_the_work_and_apply_each_event_once(cluster, private_nats):
    registry, hosts = cluster
    receiver = await Receiver().start()
    admin = await Client.connect(private_nats, Actor(id="admin", unit=None, role="admin"), source="tests/scale")
    try:
        t = uuid.uuid4().hex[:6]
        p, w = f"p-{t}", f"w-{t}"
        ok(await admin.send(r.RegisterUnit(unit_id=p, name="Tỉnh", kind="province", valid_from="2024-01-01")))
        ok(
            await admin.send(
                r.RegisterUnit(unit_id=w, name="Phường", kind="ward", parent_id=p, valid_from="2024-01-01")
            )
        )
        await settle(registry, hosts["notifications"][0])
        recipient = ok(
            await admin.command(
                "notifications",
                "add-recipient",
                {
                    "scope_unit_id": p,
                    "events": ["vn.antq.registry.festival.held.v1", "vn.antq.notifications.reminder.*"],
                    "channel": "webhook",
                    "address": receiver.url(f"/ok/{t}"),
                },
            )
        )
        ok(await admin.send(r.OpenCampaign(year=2026, scope_unit_id=p)))
        groups = [f"g{i}-{t}" for i in range(UNITS)]

        async def season(unit: str) -> None:
            ok(
                await admin.send(
                    r.RegisterUnit(
                        unit_id=unit, name=f"Tổ {unit}", kind="residential_group", parent_id=w, valid_from="2024-01-01"
                    )
                )
            )
            fid = ok(
                await admin.send(
                    r.PlanFestival(
                        unit_id=unit,
                        year=2026,
                        date="2026-08-10",
                        venue="Sân",
                        ceremony=r.PartPlan(),
                        festival_part=r.PartPlan(),
                    )
                )
            )["festival_id"]
            ok(
                await admin.send(
                    r.ReportFestival(
                        festival_id=fid,
                        held_on="2026-08-10",
                        participants=100,
                        ceremony_held=True,
                        festival_part_held=True,
                    )
                )
            )

        for i in range(0, UNITS, 6):  # a few at a time, so both instances fetch while events arrive
            await asyncio.gather(*(season(u) for u in groups[i : i + 6]))
            await asyncio.sleep(0.05)
        for i in range(0, 10):
            ok(
                await admin.send(
                    a.RecordGift(
                        unit_id=groups[i],
                        beneficiary_kind="poor_household",
                        recipients=2,
                        value_vnd=500_000,
                        funding_source="Ngân sách xã",
                    )
                )
            )
        ok(await admin.send(r.OpenCampaign(year=2027, scope_unit_id=p)))  # its reminders are due on the clock
        plan_2027 = r.PlanFestival(
            unit_id=groups[0],
            year=2027,
            date="2027-08-10",
            venue="Sân",
            ceremony=r.PartPlan(),
            festival_part=r.PartPlan(),
        )
        ok(await admin.send(plan_2027))  # planned, not reported: what report-due chases
        for group in hosts.values():
            for host in group:
                await settle(registry, host, timeout=60)

        js = admin.nc.jetstream()
        in_stream = {
            "ANTQ_REGISTRY": len(await read_stream(js, "ANTQ_REGISTRY", "antq.registry.>")),
            "ANTQ_AWARDS": len(await read_stream(js, "ANTQ_AWARDS", "antq.awards.>")),
        }
        shared = 0
        for service, group in hosts.items():
            for consumer, runner in group[0].runners.items():
                counts = [applied(h, consumer) for h in group]
                subjects = runner.spec.subjects
                expected = 0
                for subject in subjects:
                    stream = runner.spec.stream
                    expected += len(await read_stream(js, stream, subject))
                # every event of the consumer's subjects applied once, by one instance or the other
                assert sum(counts) == expected, (service, consumer, counts, expected)
                shared += all(c > 0 for c in counts)
        assert shared >= 3, "the instances did not share the work"
        assert in_stream["ANTQ_REGISTRY"] > 3 * UNITS

        # the projections are exact: nothing counted twice
        figures = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": p}))
        assert figures["units_total"] == UNITS + 1 and figures["units_held"] == UNITS
        assert figures["participants"] == 100 * UNITS
        gifts = ok(await admin.query("reporting", "gifts-summary", {"year": 2026, "scope_unit_id": p}))
        assert gifts["entries"] == 10 and gifts["value_vnd"] == 5_000_000

        # every festival.held posted once
        async def posted(n: int) -> list:
            deadline = asyncio.get_running_loop().time() + 30
            while len(receiver.at(f"/ok/{t}")) < n:
                assert asyncio.get_running_loop().time() < deadline, len(receiver.at(f"/ok/{t}"))
                await asyncio.sleep(0.1)
            await quiet(*(h for group in hosts.values() for h in group))  # nothing more can come
            return receiver.at(f"/ok/{t}")

        posts = await posted(UNITS)
        assert Counter(p.json["type"] for p in posts) == {"vn.antq.registry.festival.held.v1": UNITS}
        # the clock reaches 17 Aug 2027: each of the 2027 campaign's three reminders is sent once
        CLOCK.append(dt.datetime(2027, 8, 17, 2, 0, tzinfo=dt.UTC))
        posts = await posted(UNITS + 3)
        by_id = Counter(p.headers["webhook-id"] for p in posts)
        assert max(by_id.values()) == 1, "a notification was posted twice"
        reminders = Counter(p.json["type"] for p in posts if ".reminder." in p.json["type"])
        assert reminders == {
            "vn.antq.notifications.reminder.window-opened.v1": 1,
            "vn.antq.notifications.reminder.window-closing.v1": 1,
            "vn.antq.notifications.reminder.report-due.v1": 1,
        }
        assert all(p.verifies(recipient["secret"]) for p in posts)
    finally:
        await admin.close()
        await receiver.stop()
