"""Reporting's figures beside raw limits measured in the same run.

1. Projection ingest ratio R: N units' `festival.planned` and `festival.held` events are published to
   registry's stream, emptied first (so it holds these events only); the reporting service (its
   registry consumer, batches of 500) is started and timed until all are applied. The raw rate
   writes, per event, the documents reporting writes (the festival and the unit's year; and per
   transaction the publisher's list of changed units) with bulk upserts in transactions of the same
   size, with no broker, parsing, reads, coalescing, tracking or secondary index. It is measured just
   before and just after the ingest, and R taken against the mean of the two times.
2. Coverage of a whole province of `UNITS` units: the tree and the summaries are loaded into the
   projections directly (bulk), then `coverage` is asked over the bus: the first answer (cold: loads
   the tree and the year into memory) and the following ones."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import logging
import time
import uuid
from typing import Any

import nats
from pyinstrument import Profiler
from pymongo import AsyncMongoClient, ReplaceOne, UpdateOne

from services.reporting.app import ReportingSettings, create
from shared.contract import registry as r
from shared.contract.envelope import new_event
from shared.runtime.bus import ensure_streams
from shared.runtime.logs import SupervisorNoise
from shared.runtime.settings import ServiceSettings

N = 10_000  # units: 2 events each
BATCH = 500
UNITS = 100_000


def events(prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for i in range(N):
        fid, unit = f"{prefix}f{i}", f"{prefix}u{i}"
        planned = r.FestivalPlanned(
            festival_id=fid,
            campaign_id="c",
            unit_id=unit,
            year=2026,
            date=dt.date(2026, 8, 1),
            venue="Nhà văn hóa",
            ceremony={},
            festival_part={},
        )
        held = r.FestivalHeld(
            festival_id=fid,
            campaign_id="c",
            unit_id=unit,
            year=2026,
            held_on=dt.date(2026, 8, 1),
            on_time=True,
            participants=100,
            ceremony_held=True,
            festival_part_held=True,
        )
        for version, (name, data) in enumerate((("planned", planned), ("held", held)), start=1):
            e = new_event(
                source="antq/registry",
                type=f"vn.antq.registry.festival.{name}.v1",
                subject=fid,
                data=data.model_dump(mode="json"),
                aggregateversion=version,
            )
            out.append((f"antq.registry.festival.{name}.v1", e.to_bytes()))
    return out


async def raw_rate(url: str) -> float:
    """Events/s for the same writes, one set per event (and a mark list per transaction), bulk upserts in
    transactions of BATCH events."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, w="majority")
    db = client[f"bench_rraw_{uuid.uuid4().hex[:6]}"]
    started = time.perf_counter()
    for k in range(0, 2 * N, BATCH):
        festivals, years, marks = [], [], []
        for j in range(k, k + BATCH):
            i = j // 2
            doc = {"_id": f"f{i}", "unit_id": f"u{i}", "year": 2026, "status": "held" if j % 2 else "planned"}
            festivals.append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
            years.append(UpdateOne({"_id": f"2026|u{i}"}, {"$set": {"festival": {"held": bool(j % 2)}}}, upsert=True))
            marks.append({"year": 2026, "unit_id": f"u{i}", "subtree": False})
        async with client.start_session() as s, await s.start_transaction():
            await db.festivals.bulk_write(festivals, ordered=True, session=s)
            await db.unit_year.bulk_write(years, ordered=True, session=s)
            mark = {"_id": uuid.uuid4().hex, "at": dt.datetime.now(dt.UTC), "marks": marks}
            await db.dirty.insert_one(mark, session=s)
    rate = 2 * N / (time.perf_counter() - started)
    await client.drop_database(db.name)
    await client.close()
    return rate


async def ingest(nats_url: str, mongodb_url: str, profile: bool = False) -> dict[str, Any]:
    """Reporting's registry consumer applying N festival events' worth of the stream. `profile`: with
    pyinstrument attached (its hook on every call slows the process it watches: the rate R is taken
    from a pass without it)."""
    for name in ("faststream", "faststream.access", "faststream.access.nats"):
        logging.getLogger(name).addFilter(SupervisorNoise())
        logging.getLogger(name).setLevel(logging.WARNING)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, ServiceSettings())
    # the stream holds only these events (earlier benches published theirs to it): reporting's consumer
    # then reads exactly the workload the raw rate writes
    await js.purge_stream("ANTQ_REGISTRY")
    prefix = uuid.uuid4().hex[:4]
    acks = [await js.publish_async(subject, body) for subject, body in events(prefix)]
    await asyncio.gather(*acks)
    await nc.close()
    settings = ReportingSettings(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        http_port=0,
        log_level="WARNING",
        mongodb_db=f"bench_reporting_{uuid.uuid4().hex[:6]}",
    )
    host = create(settings)
    profiler = Profiler(interval=0.002, async_mode="disabled")
    await host.start()
    runner = host.runners["registry"]
    while runner.progress.processed == 0:
        await asyncio.sleep(0.005)
    first, started = runner.progress.processed, time.perf_counter()
    if profile:
        profiler.start()
    while True:  # until the durable has nothing pending or unacknowledged (the server says so)
        info = await runner.js.consumer_info(runner.spec.stream, runner.durable)
        if not info.num_pending and not info.num_ack_pending:
            break
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    if profile:
        profiler.stop()
    await host.stop()
    return {
        "ingest": (runner.progress.processed - first) / elapsed,
        "events": runner.progress.processed,
        "profile": profile_lines(profiler) if profile else [],
    }


def profile_lines(profiler: Profiler, top: int = 12) -> list[str]:
    """Where the ingest's time goes in this process (the kit, the handlers, PyMongo, asyncio; the
    database server is another process): functions by their own time, as a share of the window."""
    session = profiler.last_session
    if session is None or session.root_frame() is None:
        return []
    totals: dict[str, float] = {}
    stack = [session.root_frame()]
    while stack:
        frame = stack.pop()
        if frame is None:
            continue
        name = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        own = frame.time - sum(child.time for child in frame.children)
        totals[name] = totals.get(name, 0.0) + own
        stack.extend(frame.children)
    whole = session.duration or 1.0
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [f"{100 * t / whole:5.1f}%  {name}" for name, t in ranked]


async def coverage(nats_url: str, mongodb_url: str) -> dict[str, float]:
    """A province of UNITS units (40 communes, hamlets below), loaded directly; then coverage over the bus."""
    db_name = f"bench_cov_{uuid.uuid4().hex[:6]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, w="majority")
    db = client[db_name]
    start = "2024-01-01"
    docs = [
        {
            "_id": "P",
            "unit_id": "P",
            "kind": "province",
            "version": 1,
            "versions": [
                {"valid_from": start, "valid_to": "9999-12-31", "parent_id": None, "name": "Tỉnh", "kind": "province"}
            ],
        }
    ]
    communes = 40
    for k in range(communes):
        docs.append(
            {
                "_id": f"C{k}",
                "unit_id": f"C{k}",
                "kind": "commune",
                "version": 1,
                "versions": [
                    {
                        "valid_from": start,
                        "valid_to": "9999-12-31",
                        "parent_id": "P",
                        "name": f"Xã {k}",
                        "kind": "commune",
                    }
                ],
            }
        )
    for i in range(UNITS - communes - 1):
        docs.append(
            {
                "_id": f"H{i}",
                "unit_id": f"H{i}",
                "kind": "hamlet",
                "version": 1,
                "versions": [
                    {
                        "valid_from": start,
                        "valid_to": "9999-12-31",
                        "parent_id": f"C{i % communes}",
                        "name": f"Thôn {i}",
                        "kind": "hamlet",
                    }
                ],
            }
        )
    years = [
        {
            "_id": f"2026|H{i}",
            "year": 2026,
            "unit_id": f"H{i}",
            "festival": {
                "planned": True,
                "held": i % 3 != 0,
                "held_on_time": i % 3 == 1,
                "both_parts": True,
                "participants": 100,
            },
        }
        for i in range(0, UNITS - communes - 1, 2)
    ]
    # every fourth hamlet has nominations and awards: the province's awards-summary folds them
    awarded = [
        {
            "_id": f"2026|H{i}",
            "year": 2026,
            "unit_id": f"H{i}",
            "nominations": {"giay_khen": {"approved": 1 + i % 3}},
            "awards": {"giay_khen": {"conferred": 1 + i % 3}},
            "amount_vnd": 500_000 * (1 + i % 3),
        }
        for i in range(0, UNITS - communes - 1, 4)
    ]
    for coll, rows in (("units", docs), ("unit_year", years), ("unit_awards", awarded)):
        for k in range(0, len(rows), 5000):
            await db[coll].insert_many(rows[k : k + 5000])
    await db.campaigns.insert_one({"_id": "c", "year": 2026, "scope_unit_id": "P", "expected_kinds": None})
    for consumer in ("units", "registry"):  # as the consumers leave them: the cache reloads when these move
        await db[f"track_{consumer}"].insert_one({"_id": "fence", "writer": "bench", "n": 1})
    settings = ReportingSettings(
        nats_url=nats_url, mongodb_url=mongodb_url, http_port=0, log_level="WARNING", mongodb_db=db_name
    )
    host = create(settings)
    await host.start()
    nc = await nats.connect(nats_url)
    body = json.dumps({"year": 2026, "scope_unit_id": "P", "tree_date": "2026-08-19"}).encode()
    gc.collect()
    before = rss_mb()
    times = []
    for _ in range(21):
        t0 = time.perf_counter()
        reply = json.loads((await nc.request("antq.query.reporting.coverage", body, timeout=120)).data)
        times.append((time.perf_counter() - t0) * 1000)
        assert reply["ok"] and reply["result"]["units_total"] == UNITS - 1, reply
    gc.collect()
    grown = rss_mb() - before  # the tree, the day's index and the year's summaries, as reporting keeps them
    conferred = sum(a["awards"]["giay_khen"]["conferred"] for a in awarded)
    awards_ms = []
    for _ in range(3):
        t0 = time.perf_counter()
        reply = json.loads((await nc.request("antq.query.reporting.awards-summary", body, timeout=300)).data)
        awards_ms.append((time.perf_counter() - t0) * 1000)
        assert reply["ok"] and reply["result"]["awards"] == {"giay_khen": {"conferred": conferred}}, reply
    # the season report's list of every unit, page by page (as `antq reporting export` reads it)
    t0, pages, listed, after = time.perf_counter(), 0, 0, None
    while True:
        params = {"year": 2026, "scope_unit_id": "P", "tree_date": "2026-08-19", "limit": 2000, "after": after}
        reply = json.loads(
            (await nc.request("antq.query.reporting.units-report", json.dumps(params).encode(), 300)).data
        )
        assert reply["ok"], reply
        pages, listed, after = pages + 1, listed + len(reply["result"]["units"]), reply["result"]["next"]
        if after is None:
            break
    report_s = time.perf_counter() - t0
    assert listed == UNITS - 1, listed
    await nc.close()
    await host.stop()
    await client.drop_database(db_name)
    await client.close()
    warm = sorted(times[1:])
    return {
        "cold_ms": times[0],
        "p50_ms": warm[len(warm) // 2],
        "max_ms": warm[-1],
        "tree_mb": grown,
        "awards_ms": sorted(awards_ms)[1],
        "awarded": len(awarded),
        "report_s": report_s,
        "report_pages": pages,
    }


def rss_mb() -> float:
    """This process's resident memory (reporting runs in it here)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
