"""The fault suite of DESIGN §7 for the three services that consume events (awards, notifications and
reporting), each as its own process on servers of this module's own. Registry's events are published
straight into its stream: a province, `N` hamlets and a festival planned in each.

Each fault strikes while the service is applying the festivals (`0 < applied < N` when it strikes,
or the test fails: a fault after the work proves nothing). Afterwards:
- every festival is applied (awards' and reporting's `festivals`; notifications' deliveries, one per
  festival, to the webhook recipient added first);
- the durables have nothing pending or unacknowledged, so nothing can still come back;
- nothing went to the dead letters (but the poison event, which did);
- notifications notified each festival once: one `webhook-id` per festival, and a post repeated
  (an attempt cut short by the fault) only ever under the same `webhook-id`.

A dead letter replayed (`antq dlq replay`, twice) after its cause is fixed is applied once.

The figures (applied, dead letters, posts, webhook ids) are printed per test with `pytest -s`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from pymongo import AsyncMongoClient

from deploy.embedded import free_port
from shared.client import Client, read_stream
from shared.contract import registry as r
from shared.contract.envelope import Actor, new_event
from tests import clock
from tests.conftest import SERVER_START, Servers, launch
from tests.e2e.conftest import ServiceProcess
from tests.faults.test_faults import metric, wait_status
from tests.webhook_receiver import Receiver

N = 240
SERVICES = ("awards", "notifications", "reporting")
CONSUMER = {"awards": "festivals", "notifications": "registry", "reporting": "registry"}  # of the festivals
FESTIVAL = "vn.antq.registry.festival.planned.v1"


@pytest.fixture(scope="module")
def own() -> Iterator[Servers]:
    s = launch(external=False)
    yield s
    s.stop()


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    rec = await Receiver().start()
    yield rec
    await rec.stop()


def event(aggregate: str, name: str, subject: str, data: Any, version: int = 1) -> tuple[str, bytes, str]:
    """A registry event (`version` of its aggregate), dated on the tests' clock when it is built."""
    e = new_event(
        source="antq/registry",
        type=f"vn.antq.registry.{aggregate}.{name}.v1",
        subject=subject,
        data=data.model_dump(mode="json"),
        aggregateversion=version,
        time=clock.now(),
    )
    return f"antq.registry.{aggregate}.{name}.v1", e.to_bytes(), e.id


class Season:
    """The events of one test: a province, N hamlets under it, a festival planned in each."""

    def __init__(self) -> None:
        self.tag = f"f{uuid.uuid4().hex[:8]}"
        self.province = f"{self.tag}-p"
        day = dt.date(2024, 1, 1)
        province = r.UnitRegistered(
            unit_id=self.province, code=None, name="Tỉnh", kind="province", parent_id=None, valid_from=day
        )
        self.units = [event("unit", "registered", self.province, province)]
        self.hamlets = [f"{self.tag}-h{i}" for i in range(N)]
        for h in self.hamlets:
            data = r.UnitRegistered(
                unit_id=h, code=None, name=h, kind="hamlet", parent_id=self.province, valid_from=day
            )
            self.units.append(event("unit", "registered", h, data))
        self.festivals: list[tuple[str, bytes, str]] = []

    def plan(self) -> None:
        """The festivals, dated now on the tests' clock: after the webhook recipient was added."""
        for h in self.hamlets:
            planned = r.FestivalPlanned(
                festival_id=f"{h}-f", campaign_id=f"{self.tag}-c", unit_id=h, year=2026, date=dt.date(2026, 8, 1),
                venue="Nhà văn hóa", ceremony={}, festival_part={},
            )  # fmt: skip
            self.festivals.append(event("festival", "planned", f"{h}-f", planned))


class Subject:
    """One service as a process, and what the test reads of it."""

    def __init__(self, service: str, own: Servers, log: Any, **more: str) -> None:
        self.service = service
        self.db_name = f"antq_{service}_{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        env = {
            "ANTQ_NATS_URL": own.nats_url,
            "ANTQ_MONGODB_URL": own.mongodb_url,
            "ANTQ_MONGODB_DB": self.db_name,
            "ANTQ_HTTP_PORT": str(self.port),
            "ANTQ_NACK_DELAY_SECONDS": "0.2",
            "ANTQ_CONSUMER_STATUS_SECONDS": "0.5",
            "ANTQ_CONSUMER_ACK_WAIT_SECONDS": "3",  # what a killed process held comes back after 3 s
            "ANTQ_SEND_POLL_SECONDS": "0.05",
            "ANTQ_RETRY_BASE_SECONDS": "0.2",
            "ANTQ_RETRY_MAX_SECONDS": "0.5",
            "ANTQ_LOG_LEVEL": "WARNING",
            **clock.env(),
            **more,
        }
        self.proc = ServiceProcess(service, [sys.executable, "-m", f"services.{service}"], self.port, env=env, log=log)
        self.client: AsyncMongoClient = AsyncMongoClient(own.mongodb_url, serverSelectionTimeoutMS=3000)
        self.db = self.client[self.db_name]

    def start(self) -> None:
        self.proc.start()
        self.proc.wait_ready(90)

    async def applied(self, season: Season) -> int:
        """Festivals applied so far (notifications: deliveries queued, one per festival)."""
        if self.service == "notifications":
            return await self.db.deliveries.count_documents({"event_type": FESTIVAL})
        return await self.db.festivals.count_documents({"_id": {"$regex": f"^{season.tag}-"}})

    async def units_known(self, season: Season) -> int:
        return await self.db.units.count_documents({"_id": {"$regex": f"^{season.tag}-"}})

    def durables(self) -> tuple[str, ...]:
        return (f"{self.service}-units", f"{self.service}-{CONSUMER[self.service]}")

    def counted(self, outcome: str) -> float:
        try:
            return metric(self.proc, "antq_consumer_events_total", consumer=CONSUMER[self.service], outcome=outcome)
        except OSError:
            return 0.0


async def prepared(
    service: str, own: Servers, receiver: Receiver, log: Path, events: list[str], **env: str
) -> tuple[Subject, Season]:
    """The service started and knowing the season's units; for notifications, a webhook recipient of
    `events` on the province."""
    s = Subject(service, own, log, **env)
    s.start()
    season = Season()
    nc = await nats.connect(own.nats_url)
    await publish(nc.jetstream(), season.units)
    await nc.close()
    deadline = time.monotonic() + 90
    while await s.units_known(season) < N + 1:
        assert time.monotonic() < deadline, "the units never arrived"
        await asyncio.sleep(0.2)
    if s.service == "notifications":
        admin = await Client.connect(own.nats_url, Actor(id="faults", unit=None, role="admin"), source="tests")
        fields = {"scope_unit_id": season.province, "events": events, "channel": "webhook"}
        reply = await admin.command(
            "notifications", "add-recipient", {**fields, "address": receiver.url(f"/{season.tag}")}
        )
        await admin.close()
        assert reply.ok, reply.error
    return s, season


@pytest.fixture(params=SERVICES)
async def subject(request, own, receiver, tmp_path) -> AsyncIterator[tuple[Subject, Season]]:
    """The service, prepared with a recipient of the planned festivals; the festivals are the test's
    to publish."""
    s, season = await prepared(request.param, own, receiver, tmp_path / f"{request.param}.log", [FESTIVAL])
    season.plan()
    yield s, season
    s.proc.stop(signal.SIGKILL)
    await s.client.close()


async def publish(js: Any, events: list[tuple[str, bytes, str]], msg_ids: bool = True) -> None:
    for subject, body, eid in events:
        await js.publish(subject, body, headers={"Nats-Msg-Id": eid} if msg_ids else None)


class Publishing:
    """The festivals published in the background, paced, while the test strikes."""

    def __init__(self, own: Servers, season: Season) -> None:
        self.own, self.season = own, season
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.nc = await nats.connect(self.own.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.3)
        self.task = asyncio.create_task(paced(self.nc.jetstream(), self.season.festivals, per_second=120))

    async def finish(self) -> None:
        assert self.task is not None
        await self.task
        await self.nc.close()


async def mid_way(own: Servers, s: Subject, season: Season) -> tuple[int, Publishing]:
    """Publish the festivals and return once some, not all, are applied."""
    publishing = Publishing(own, season)
    await publishing.start()
    deadline = time.monotonic() + 60
    while (n := await s.applied(season)) < 5:
        assert time.monotonic() < deadline, "nothing applied"
        await asyncio.sleep(0.02)
    assert n < N, "every festival was applied before the fault: it would prove nothing"
    return n, publishing


async def paced(js: Any, events: list[tuple[str, bytes, str]], per_second: float) -> None:
    start = time.perf_counter()
    for i, (subject, body, eid) in enumerate(events):
        delay = start + i / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(100):  # the broker may be the fault: publish until it takes the event
            try:
                await js.publish(subject, body, headers={"Nats-Msg-Id": eid})
                break
            except Exception:
                await asyncio.sleep(0.2)


async def settled(own: Servers, s: Subject, season: Season, receiver: Receiver, poison: int = 0) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while await s.applied(season) < N:
        assert time.monotonic() < deadline, f"{await s.applied(season)} of {N} festivals applied"
        await asyncio.sleep(0.2)
    nc = await nats.connect(own.nats_url)
    js = nc.jetstream()
    while True:  # nothing pending, nothing unacknowledged: nothing can come back
        infos = [await js.consumer_info("ANTQ_REGISTRY", d) for d in s.durables()]
        if all(not i.num_pending and not i.num_ack_pending for i in infos):
            break
        assert time.monotonic() < deadline, [(i.name, i.num_pending, i.num_ack_pending) for i in infos]
        await asyncio.sleep(0.2)
    assert await s.applied(season) == N
    dead = [m for m in await read_stream(js, "ANTQ_DLQ", f"antq.dlq.{s.service}.>") if season.tag.encode() in m.data]
    await nc.close()
    assert len(dead) == poison, [json.loads(m.data)["reason"] for m in dead]
    figures: dict[str, Any] = {"applied": N, "dead_letters": len(dead)}
    if s.service == "notifications":
        path = f"/{season.tag}"
        while len({p.headers["webhook-id"] for p in receiver.at(path)}) < N:
            assert time.monotonic() < deadline, f"{len(receiver.at(path))} posts"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a duplicate would come now, not later: the retry delay is 0.2–0.5 s
        posts = receiver.at(path)
        festival_of: dict[str, set[str]] = {}
        for p in posts:
            festival_of.setdefault(p.headers["webhook-id"], set()).add(p.json["data"]["festival_id"])
        assert len(festival_of) == N  # one notification per festival …
        assert all(len(f) == 1 for f in festival_of.values())  # … each under its own webhook-id
        assert {f for fs in festival_of.values() for f in fs} == {f"{h}-f" for h in season.hamlets}
        figures.update(posts=len(posts), webhook_ids=len(festival_of), repeated=len(posts) - len(festival_of))
    return figures


def report(s: Subject, fault: str, figures: dict[str, Any]) -> None:
    print(f"\n{s.service}: {fault}: {figures}")


async def test_kill_9_mid_batch(own, subject, receiver):
    s, season = subject
    at, publishing = await mid_way(own, s, season)
    s.proc.stop(signal.SIGKILL)
    s.start()
    await publishing.finish()
    report(s, f"kill -9 after {at} applied", await settled(own, s, season, receiver))


async def test_sigterm_mid_batch_drains_within_the_grace_period(own, subject, receiver):
    s, season = subject
    at, publishing = await mid_way(own, s, season)
    assert s.proc.proc is not None
    started = time.monotonic()
    s.proc.proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(s.proc.proc.wait, 30)
    took = time.monotonic() - started
    assert code == 0 and took < 10 + 2, (code, took)  # ANTQ_SHUTDOWN_GRACE_SECONDS is 10
    s.start()
    await publishing.finish()
    report(s, f"SIGTERM after {at} applied, exited in {took:.1f} s", await settled(own, s, season, receiver))


async def test_a_database_outage_is_waited_out(own, subject, receiver):
    s, season = subject
    at, publishing = await mid_way(own, s, season)
    assert own.mongodb is not None
    own.mongodb.stop(signal.SIGKILL)
    down = time.monotonic()
    try:  # the service meets the outage: retries, readiness red (its ping times out after 2.5 s)
        assert await wait_status(s.proc, 503) == 503
    finally:
        own.mongodb.start(wait=SERVER_START)
    away = time.monotonic() - down
    await publishing.finish()
    report(s, f"database killed after {at} applied, {away:.1f} s down", await settled(own, s, season, receiver))


async def test_the_broker_restarted_while_busy(own, subject, receiver):
    s, season = subject
    at, publishing = await mid_way(own, s, season)
    assert own.nats is not None
    own.nats.stop(signal.SIGKILL)
    own.nats.start(wait=SERVER_START)
    await publishing.finish()
    report(s, f"broker killed and restarted after {at} applied", await settled(own, s, season, receiver))


async def test_a_poison_event_is_dead_lettered_while_the_consumer_moves_on(own, subject, receiver):
    s, season = subject
    nc = await nats.connect(own.nats_url)
    js = nc.jetstream()
    half = N // 2
    await publish(js, season.festivals[:half])
    # unreadable as a CloudEvent, on the festivals' subject, between valid events
    await js.publish("antq.registry.festival.planned.v1", f"{season.tag} not json".encode())
    await publish(js, season.festivals[half:])
    await nc.close()
    figures = await settled(own, s, season, receiver, poison=1)
    nc = await nats.connect(own.nats_url)
    [letter] = [
        json.loads(m.data)
        for m in await read_stream(nc.jetstream(), "ANTQ_DLQ", f"antq.dlq.{s.service}.>")
        if season.tag.encode() in m.data
    ]
    await nc.close()
    assert letter["reason"] == "poison" and letter["consumer"] == CONSUMER[s.service]
    report(s, "a poison event among valid ones", figures)


async def test_the_same_events_republished_past_the_duplicate_window_are_applied_and_notified_once(
    own, subject, receiver
):
    """JetStream drops a copy with the same Nats-Msg-Id only within its window: published again without
    one (as after the window), the copies reach the consumer, which skips them by their event ids."""
    s, season = subject
    nc = await nats.connect(own.nats_url)
    js = nc.jetstream()
    await publish(js, season.festivals)
    first = await settled(own, s, season, receiver)
    skipped = s.counted("skipped_duplicate")
    await publish(js, season.festivals, msg_ids=False)  # the same events, past the window
    await nc.close()
    deadline = time.monotonic() + 60
    while s.counted("skipped_duplicate") < skipped + N:
        assert time.monotonic() < deadline, (s.counted("skipped_duplicate"), skipped)
        await asyncio.sleep(0.2)
    again = await settled(own, s, season, receiver)
    if s.service == "notifications":
        assert again["posts"] == first["posts"]  # nothing more was sent
    report(s, f"{N} events republished: {s.counted('skipped_duplicate') - skipped:.0f} skipped", again)


@pytest.fixture(params=SERVICES)
async def gapped(request, own, receiver, tmp_path) -> AsyncIterator[tuple[Subject, Season]]:
    """The service with a short gap rule (2 deliveries), knowing the season's units; notifications
    with a recipient of every festival event of the province."""
    s, season = await prepared(
        request.param,
        own,
        receiver,
        tmp_path / f"{request.param}.log",
        ["vn.antq.registry.festival.*"],
        ANTQ_CONSUMER_GAP_DELIVERIES="2",
    )
    yield s, season
    s.proc.stop(signal.SIGKILL)
    await s.client.close()


async def antq(own: Servers, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "antq"), "--nats-url", own.nats_url, *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_a_dead_letter_replayed_after_its_cause_is_fixed_is_applied_once(own, gapped, receiver):
    """A festival's `held` (version 2) arrives without its `planned` (version 1): the gap rule
    dead-letters it. Once the `planned` is published (the fix), `antq dlq replay` applies the `held`;
    replayed twice, it is still applied once."""
    s, season = gapped
    h = season.hamlets[0]
    festival = f"{h}-f"
    held = r.FestivalHeld(
        festival_id=festival, campaign_id=f"{season.tag}-c", unit_id=h, year=2026, held_on=dt.date(2026, 8, 1),
        on_time=True, participants=100, ceremony_held=True, festival_part_held=True,
    )  # fmt: skip
    subject, body, eid = event("festival", "held", festival, held, version=2)
    nc = await nats.connect(own.nats_url)
    js = nc.jetstream()
    await js.publish(subject, body, headers={"Nats-Msg-Id": eid})
    deadline = time.monotonic() + 90
    while True:
        letters = [
            (m.metadata.sequence.stream, json.loads(m.data))
            for m in await read_stream(js, "ANTQ_DLQ", f"antq.dlq.{s.service}.>")
            if festival.encode() in m.data
        ]
        if letters:
            break
        assert time.monotonic() < deadline, "the held festival was never dead-lettered"
        await asyncio.sleep(0.3)
    [(seq, letter)] = letters
    assert letter["reason"] == "gap"
    # the fix: its predecessor
    season.plan()
    [planned] = [f for f in season.festivals if json.loads(f[1])["data"]["festival_id"] == festival]
    await publish(js, [planned])
    said = [await antq(own, "dlq", "replay", str(seq)) for _ in range(2)]  # replayed twice …
    assert all(f"replayed dead letter {seq}" in line for line in said)
    assert said[0] == said[1]  # … the second is the broker's duplicate of the first (same stream seq)
    deadline = time.monotonic() + 60
    while True:
        if s.service == "notifications":
            types = [p.json["type"] for p in receiver.at(f"/{season.tag}")]
            done = types.count("vn.antq.registry.festival.held.v1") >= 1
        else:
            doc = await s.db.festivals.find_one({"_id": festival})
            done = bool(doc and doc.get("status") == "held")
        if done:
            break
        assert time.monotonic() < deadline, "the replayed event was not applied"
        await asyncio.sleep(0.2)
    infos = [await js.consumer_info("ANTQ_REGISTRY", d) for d in s.durables()]
    while any(i.num_pending or i.num_ack_pending for i in infos):
        await asyncio.sleep(0.2)
        infos = [await js.consumer_info("ANTQ_REGISTRY", d) for d in s.durables()]
    await nc.close()
    if s.service == "notifications":
        await asyncio.sleep(1.0)
        posts = receiver.at(f"/{season.tag}")
        held_posts = {p.headers["webhook-id"] for p in posts if p.json["type"] == "vn.antq.registry.festival.held.v1"}
        assert len(held_posts) == 1  # notified once
    receipts = s.counted("processed")
    report(s, f"dead letter {seq} replayed twice after its cause was fixed", {"processed": receipts})
