"""Consumer-kit ingest beside the raw write rates of the same store, measured in the same run.

N `festival.planned` events are published to ANTQ_REGISTRY first; then a service with one batch
consumer (a projection that upserts one status document per unit and year, as reporting will) is
started and timed until every event is applied. The raw figures write the same documents with
the same operations, in transactions of the same size, with no broker, parsing or tracking."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from typing import Any

import nats
from pymongo import AsyncMongoClient, UpdateOne

from shared.contract import registry as c
from shared.contract.envelope import new_event
from shared.runtime.bus import ensure_streams
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.settings import ServiceSettings

N = 20_000
BATCH = 500


def status_update(event: c.FestivalPlanned) -> dict[str, Any]:
    return {
        "$set": {
            "unit_id": event.unit_id,
            "year": event.year,
            "planned_on": event.date.isoformat(),
            "status": "planned",
        },
        "$inc": {"planned": 1},
    }


def projection() -> Consumer[None]:
    consumer: Consumer[None] = Consumer(
        name="status", store=lambda db, s: None, collections=("status",), batch=Batch(BATCH, 200)
    )

    @consumer.on(c.FestivalPlanned)
    async def planned(event: c.FestivalPlanned, meta: EventMeta, tx: Tx[None]) -> None:
        tx.upsert("status", f"{event.year}|{event.unit_id}", status_update(event))

    return consumer


def planned(i: int) -> c.FestivalPlanned:
    return c.FestivalPlanned(
        festival_id=f"f{i}",
        campaign_id="camp",
        unit_id=f"u{i}",
        year=2026,
        date=dt.date(2026, 8, 1),
        venue="Nhà văn hóa",
        ceremony={"planned": True, "items": []},
        festival_part={"planned": True, "items": []},
    )


async def raw_rates(url: str) -> dict[str, float]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, w="majority")
    db = client[f"bench_raw_{uuid.uuid4().hex[:6]}"]
    events = [planned(i) for i in range(N)]

    async def timed(write) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        for k in range(0, N, BATCH):
            async with client.start_session() as s, await s.start_transaction():
                await write(events[k : k + BATCH], s)
        return N / (time.perf_counter() - started)

    async def upserts(chunk, s) -> None:  # type: ignore[no-untyped-def]
        ops = [UpdateOne({"_id": f"{e.year}|{e.unit_id}"}, status_update(e), upsert=True) for e in chunk]
        await db.status.bulk_write(ops, ordered=True, session=s)

    async def inserts(chunk, s) -> None:  # type: ignore[no-untyped-def]
        await db.rows.insert_many([{"_id": f"{e.year}|{e.unit_id}", "unit_id": e.unit_id} for e in chunk], session=s)

    out = {"upsert": await timed(upserts), "insert": await timed(inserts)}
    await client.drop_database(db.name)
    await client.close()
    return out


async def ingest(nats_url: str, mongodb_url: str) -> dict[str, float]:
    logging.getLogger("faststream").setLevel(logging.WARNING)  # its task supervisor talks at INFO
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, ServiceSettings())
    acks = []
    for i in range(N):
        e = new_event(
            source="antq/registry",
            type="vn.antq.registry.festival.planned.v1",
            subject=f"f{i}",
            data=planned(i).model_dump(mode="json"),
            aggregateversion=1,
        )
        acks.append(
            await js.publish_async("antq.registry.festival.planned.v1", e.to_bytes(), headers={"Nats-Msg-Id": e.id})
        )
    await asyncio.gather(*acks)
    await nc.close()

    async def no_indexes(db: object) -> None:
        return None

    definition = ServiceDefinition(
        name="benchproj",
        commands=[],
        queries=[],
        events={},
        store_factory=lambda db, s: None,
        ensure_indexes=no_indexes,
        consumers=[projection()],
    )
    settings = ServiceSettings(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        mongodb_db=f"bench_proj_{uuid.uuid4().hex[:6]}",
        http_port=0,
        log_level="WARNING",
    )
    host = ServiceHost(definition, settings)
    await host.start()
    runner = host.runners["status"]
    while runner.progress.processed == 0:  # from the first transaction on: start-up is not ingest
        await asyncio.sleep(0.005)
    first, started = runner.progress.processed, time.perf_counter()
    while runner.progress.processed < N:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await host.stop()
    return {"ingest": (N - first) / elapsed, "seconds": elapsed}
