"""Faults under the consumer kit: a consumer process killed mid-batch, the database stopped while
it applies events, the broker killed. Every event is applied exactly once in the end (a counter
with $inc would show a double application), and nothing goes to the dead letters."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import sys
import time
import uuid
from collections.abc import Iterator

import nats
import pytest
from pymongo import AsyncMongoClient

from deploy.embedded import free_port
from shared.client import read_stream
from shared.contract import registry as c
from shared.contract.envelope import new_event
from tests.conftest import SERVER_START, Servers, launch
from tests.e2e.conftest import ServiceProcess
from tests.faults.test_faults import metric

N = 300


@pytest.fixture(scope="module")
def own() -> Iterator[Servers]:
    s = launch(external=False)
    yield s
    s.stop()


@pytest.fixture(params=[None, "1"], ids=["single", "batch"])
def probe(own, tmp_path, request) -> Iterator[ServiceProcess]:
    port = free_port()
    env = {
        "ANTQ_NATS_URL": own.nats_url,
        "ANTQ_MONGODB_URL": own.mongodb_url,
        "ANTQ_MONGODB_DB": f"antq_probe_{uuid.uuid4().hex[:8]}",
        "ANTQ_HTTP_PORT": str(port),
        "ANTQ_NACK_DELAY_SECONDS": "0.2",
        "ANTQ_CONSUMER_STATUS_SECONDS": "0.5",
        "ANTQ_CONSUMER_ACK_WAIT_SECONDS": "3",  # what the killed process held comes back after 3 s
        **({"PROBE_BATCH": request.param} if request.param else {}),
    }
    svc = ServiceProcess(
        "probe", [sys.executable, "-m", "tests.faults.probe_service"], port, env=env, log=tmp_path / "probe.log"
    )
    svc.start()
    svc.wait_ready()
    yield svc
    svc.stop(signal.SIGKILL)


async def publish_registrations(js, tag: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        data = c.UnitRegistered(
            unit_id=f"{tag}-u{i}",
            code=None,
            name=f"Tỉnh {i}",
            kind="province",
            parent_id=None,
            valid_from=dt.date(2025, 1, 1),
        )
        e = new_event(
            source="antq/registry",
            type="vn.antq.registry.unit.registered.v1",
            subject=data.unit_id,
            data=data.model_dump(mode="json"),
            aggregateversion=1,
        )
        await js.publish("antq.registry.unit.registered.v1", e.to_bytes(), headers={"Nats-Msg-Id": e.id})


class Counts:
    def __init__(self, own: Servers, probe: ServiceProcess, tag: str) -> None:
        self.client: AsyncMongoClient = AsyncMongoClient(own.mongodb_url, serverSelectionTimeoutMS=2000)
        self.db = self.client[probe.env["ANTQ_MONGODB_DB"]]
        self.tag = tag

    async def counted(self) -> int:
        doc = await self.db.counts.find_one({"_id": self.tag})
        return int(doc["n"]) if doc else 0

    async def replicated(self) -> int:
        return await self.db.units.count_documents({"_id": {"$regex": f"^{self.tag}-"}})

    async def until(self, at_least: int, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while (n := await self.counted()) < at_least and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return n


async def drained(js, durables: tuple[str, ...], stream: str = "ANTQ_REGISTRY", timeout: float = 60) -> None:
    """Until the durables have nothing pending and nothing unacknowledged: nothing can come back."""
    deadline = time.monotonic() + timeout
    while True:
        infos = [await js.consumer_info(stream, d) for d in durables]
        if all(not i.num_pending and not i.num_ack_pending for i in infos):
            return
        assert time.monotonic() < deadline, [(i.name, i.num_pending, i.num_ack_pending) for i in infos]
        await asyncio.sleep(0.1)


async def settled_exactly_once(own: Servers, probe: ServiceProcess, counts: Counts) -> None:
    deadline = time.monotonic() + 95  # past the minute an orphaned transaction may hold locks
    while (await counts.counted() < N or await counts.replicated() < N) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert await counts.counted() == N
    assert await counts.replicated() == N
    nc = await nats.connect(own.nats_url)
    await drained(nc.jetstream(), ("probe-units", "probe-counts"))  # nothing in flight: nothing applied again
    assert await counts.counted() == N
    dead = await read_stream(nc.jetstream(), "ANTQ_DLQ", "antq.dlq.probe.>")
    await nc.close()
    assert [m for m in dead if counts.tag.encode() in m.data] == []


@pytest.mark.parametrize("probe", ["1"], ids=["batch"], indirect=True)  # the orphan costs a minute: once
async def test_a_consumer_killed_mid_batch_applies_every_event_exactly_once(own, probe):
    """The killed process leaves a transaction open: its documents stay locked until the server
    aborts it (about a minute), and the events that touch them wait without failing."""
    tag = uuid.uuid4().hex[:8]
    counts = Counts(own, probe, tag)
    nc = await nats.connect(own.nats_url)
    await publish_registrations(nc.jetstream(), tag, N)
    assert 0 < await counts.until(30) < N  # mid-way
    probe.stop(signal.SIGKILL)
    probe.start()
    probe.wait_ready()
    await settled_exactly_once(own, probe, counts)
    await nc.close()


async def test_a_database_outage_is_waited_out_without_dead_letters(own, probe):
    tag = uuid.uuid4().hex[:8]
    counts = Counts(own, probe, tag)
    nc = await nats.connect(own.nats_url)
    # half first, the rest just before the outage: some are applied and some still wait when it
    # comes, however fast the consumer is
    await publish_registrations(nc.jetstream(), tag, N // 2)
    assert 0 < await counts.until(30) < N
    await publish_registrations(nc.jetstream(), tag, N - N // 2, start=N // 2)
    retried = metric(probe, "antq_consumer_events_total", consumer="units", outcome="retried")
    own.mongodb.stop(signal.SIGKILL)
    try:
        deadline = time.monotonic() + 60
        while metric(probe, "antq_consumer_events_total", consumer="units", outcome="retried") <= retried:
            assert time.monotonic() < deadline, "the consumer never met the outage"
            await asyncio.sleep(0.2)
    finally:
        own.mongodb.start(wait=SERVER_START)
    await settled_exactly_once(own, probe, counts)
    await nc.close()


async def test_a_broker_killed_mid_batch_loses_nothing(own, probe):
    tag = uuid.uuid4().hex[:8]
    counts = Counts(own, probe, tag)
    nc = await nats.connect(own.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
    await publish_registrations(nc.jetstream(), tag, N)
    assert 0 < await counts.until(30) < N
    own.nats.stop(signal.SIGKILL)
    own.nats.start(wait=SERVER_START)
    await settled_exactly_once(own, probe, counts)
    await nc.close()
