"""`make bench`: registry figures beside the raw limits of the same servers, measured in one run.

Starts its own nats-server and SecantusDB on free ports; prints a table; asserts nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats
from pymongo import AsyncMongoClient

from bench import consumers, history, reporting, round_trips, topic, tracing
from deploy.embedded import Child, free_port, http_ok, mongo_command, mongo_url, nats_command
from shared.client import command_envelope
from shared.contract.envelope import Actor

RATE = 100  # commands per second for the latency figure (DESIGN §8)
SECONDS = 10


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def paced(n: int, rate: float, fn) -> list[float]:  # type: ignore[no-untyped-def]
    """Open-loop load: start one call every 1/rate s, whatever the previous ones do."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        await fn(i)
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies


async def raw_mongo(url: str) -> dict[str, float]:
    client: AsyncMongoClient[dict] = AsyncMongoClient(url, w="majority")
    coll = client.bench_raw.docs
    await coll.drop()
    n = 500
    t = time.perf_counter()
    for i in range(n):
        await coll.insert_one({"i": i, "pad": "x" * 200})
    single = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(200):
        async with client.start_session() as s, await s.start_transaction():
            await coll.insert_one({"t": i}, session=s)
            await client.bench_raw.other.insert_one({"t": i}, session=s)
    txn = 200 / (time.perf_counter() - t)

    async def paced_txn(i: int) -> None:
        async with client.start_session() as s, await s.start_transaction():
            await coll.insert_one({"p": i}, session=s)
            await client.bench_raw.other.insert_one({"p": i}, session=s)

    # the same two-insert transaction at the commands' pace: the store's own tail beside theirs
    lat = await paced(RATE * SECONDS, RATE, paced_txn)
    t = time.perf_counter()
    await coll.insert_many([{"b": i, "pad": "x" * 200} for i in range(20_000)])
    bulk = 20_000 / (time.perf_counter() - t)
    await client.close()
    return {
        "single": single,
        "txn": txn,
        "bulk": bulk,
        "txn_p50": pct(lat, 0.5),
        "txn_p99": pct(lat, 0.99),
        "txn_max": max(lat) * 1000,
    }


async def raw_nats(url: str) -> dict[str, float]:
    nc = await nats.connect(url)

    async def echo(msg):  # type: ignore[no-untyped-def]
        await msg.respond(msg.data)

    await nc.subscribe("bench.echo", queue="b", cb=echo)
    lat = await paced(RATE * SECONDS, RATE, lambda i: nc.request("bench.echo", b"x" * 400, timeout=5))
    js = nc.jetstream()
    await js.add_stream(name="BENCH", subjects=["bench.js"])
    t = time.perf_counter()
    for i in range(2000):
        await js.publish("bench.js", b"x" * 400, headers={"Nats-Msg-Id": str(i)})
    js_rate = 2000 / (time.perf_counter() - t)
    await nc.close()
    return {"p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "js_publish": js_rate}


def envelope(action: str, data: dict, cid: str) -> bytes:
    return command_envelope("registry", action, data, Actor(id="bench", unit=None, role="admin"), "bench", cid)


async def registry_figures(url: str) -> dict[str, float]:
    nc = await nats.connect(url)

    async def cmd(action: str, data: dict) -> dict:
        msg = await nc.request(f"antq.cmd.registry.{action}", envelope(action, data, str(uuid.uuid4())), timeout=10)
        reply = json.loads(msg.data)
        if not reply["ok"]:
            raise RuntimeError(reply)
        return reply

    await cmd("register-unit", {"unit_id": "bench-p", "name": "Tỉnh", "kind": "province", "valid_from": "2025-01-01"})
    await cmd(
        "register-unit",
        {"unit_id": "bench-c", "name": "Xã", "kind": "commune", "parent_id": "bench-p", "valid_from": "2025-01-01"},
    )
    lat = await paced(
        RATE * SECONDS,
        RATE,
        lambda i: cmd(
            "register-unit",
            {
                "unit_id": f"bench-h{i}",
                "name": f"Thôn {i}",
                "kind": "hamlet",
                "parent_id": "bench-c",
                "valid_from": "2025-01-01",
            },
        ),
    )
    # closed loop, 16 in flight: the most it takes
    n, gate = 1000, asyncio.Semaphore(16)

    async def limited(i: int) -> None:
        async with gate:
            await cmd(
                "register-unit",
                {
                    "unit_id": f"bench-t{i}",
                    "name": f"Tổ {i}",
                    "kind": "hamlet",
                    "parent_id": "bench-c",
                    "valid_from": "2025-01-01",
                },
            )

    t = time.perf_counter()
    await asyncio.gather(*(limited(i) for i in range(n)))
    throughput = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(50):
        msg = await nc.request(
            "antq.query.registry.units",
            json.dumps({"parent_id": "bench-c", "limit": 10000, "date": "2025-08-01"}).encode(),
            timeout=10,
        )
    query_ms = (time.perf_counter() - t) / 50 * 1000
    units = len(json.loads(msg.data)["result"]["units"])
    await nc.close()
    return {
        "p50": pct(lat, 0.5),
        "p99": pct(lat, 0.99),
        "max": max(lat) * 1000,
        "throughput": throughput,
        "query_ms": query_ms,
        "query_units": units,
    }


def trips_of(port: int) -> dict[str, float]:
    """Database round trips per command, from the service's own metrics (PyMongo command monitoring)."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "antq_command_db_round_trips_sum":
                sums[sample.labels["command"]] = sample.value
            elif sample.name == "antq_command_db_round_trips_count":
                counts[sample.labels["command"]] = sample.value
    return {k: sums[k] / counts[k] for k in sums if counts.get(k)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="antq-bench-"))
    procs: list[Child] = []
    try:
        nport, mport, hport = free_port(), free_port(), free_port()
        procs.append(Child("nats", nats_command(work / "nats", nport, free_port()), nport))
        procs.append(Child("mongodb", mongo_command(work / "mongo", mport), mport))
        for server in procs:
            server.start(wait=60)
        nurl, murl = f"nats://127.0.0.1:{nport}", mongo_url(mport)
        print("measuring raw limits…", flush=True)
        mongo = await raw_mongo(murl)
        raw = await raw_nats(nurl)
        env = {
            "ANTQ_NATS_URL": nurl,
            "ANTQ_MONGODB_URL": murl,
            "ANTQ_HTTP_PORT": str(hport),
            "ANTQ_LOG_LEVEL": "WARNING",
        }
        svc = Child("registry", [sys.executable, "-m", "services.registry"], hport, env=env)
        procs.append(svc)
        svc.start()
        deadline = time.monotonic() + 60
        while not http_ok(f"http://127.0.0.1:{hport}/readyz") and time.monotonic() < deadline:
            time.sleep(0.2)
        print("measuring the registry…", flush=True)
        reg = await registry_figures(nurl)
        assert svc.proc is not None
        rss = rss_mb(svc.proc.pid)
        trips = trips_of(hport)
        svc.stop(timeout=15)  # the next measurements run registries of their own on this broker
        print("measuring consumer ingest…", flush=True)
        raw_writes = await consumers.raw_rates(murl)
        kit = await consumers.ingest(nurl, murl)
        print("measuring reporting…", flush=True)
        # the raw rate before and after the ingest, against the mean of their times: the machine's speed
        # drifts over seconds (one raw pass beside one ingest gave R from 0.59 to 1.03 on the same code)
        raws = [await reporting.raw_rate(murl)]
        rep = await reporting.ingest(nurl, murl)
        raws.append(await reporting.raw_rate(murl))
        rep_raw = len(raws) / sum(1 / r for r in raws)
        profiled = await reporting.ingest(nurl, murl, profile=True)  # a second pass, for where the time goes
        cov = await reporting.coverage(nurl, murl)
        print("measuring from report to topic…", flush=True)
        latency = await topic.measure(nurl, murl)
        print("counting round trips per command…", flush=True)
        per_command = await round_trips.measure(nurl, murl)
        print("measuring what tracing costs…", flush=True)
        traced = await tracing.measure(nurl, murl)
        rows = [
            ("command round trip p50 at 100/s", f"{reg['p50']:.1f} ms", f"raw NATS request p50 {raw['p50']:.2f} ms"),
            (
                "command round trip p99 at 100/s",
                f"{reg['p99']:.1f} ms (target ≤ 25)",
                f"raw NATS request p99 {raw['p99']:.2f} ms",
            ),
            (
                "command round trip max at 100/s",
                f"{reg['max']:.1f} ms",
                f"raw Mongo txn (2 inserts) at 100/s: p50 {mongo['txn_p50']:.1f} ms, p99 {mongo['txn_p99']:.1f} ms, "
                f"max {mongo['txn_max']:.1f} ms",
            ),
            (
                "commands/s, 16 in flight",
                f"{reg['throughput']:.0f}, C = {reg['throughput'] / mongo['txn']:.2f} (target ≥ 0.6)",
                f"raw Mongo txn (2 inserts) {mongo['txn']:.0f}/s; single insert {mongo['single']:.0f}/s",
            ),
            (f"units query ({reg['query_units']:.0f} children)", f"{reg['query_ms']:.1f} ms", ""),
            ("registry RSS after the run", f"{rss:.0f} MB (target < 200)", ""),
            (
                "database round trips per register-unit",
                f"{trips.get('register-unit', 0):.1f} (target ≤ 5)",
                "mean over the run's paced commands",
            ),
            (
                f"consumer ingest, batches of {consumers.BATCH} ({consumers.N} events)",
                f"{kit['ingest']:.0f} events/s",
                f"raw bulk upserts {raw_writes['upsert']:.0f}/s (ratio {kit['ingest'] / raw_writes['upsert']:.2f}); "
                f"raw bulk inserts {raw_writes['insert']:.0f}/s (ratio {kit['ingest'] / raw_writes['insert']:.2f})",
            ),
            (
                f"projection ingest ratio R (reporting, {rep['events']:.0f} festival events)",
                f"{rep['ingest']:.0f} events/s, R = {rep['ingest'] / rep_raw:.2f}",
                f"raw bulk upserts of the same documents, per event: {rep_raw:.0f} events/s "
                f"(before {raws[0]:.0f}, after {raws[1]:.0f}; target R ≥ 0.8)",
            ),
            (
                f"coverage of a province of {reporting.UNITS:,} units",
                f"p50 {cov['p50_ms']:.0f} ms, max {cov['max_ms']:.0f} ms (target ≤ 100)",
                f"first answer (loads tree and year into memory) {cov['cold_ms']:.0f} ms",
            ),
            (
                f"units-report of that province, every page of 2 000 ({cov['report_pages']} pages)",
                f"{cov['report_s']:.1f} s",
                "the season report's list of units (a page built every unit's row until issue 18's 7th session)",
            ),
            (
                f"reporting's memory for that province ({reporting.UNITS:,} units)",
                f"+{cov['tree_mb']:.0f} MB RSS after the first answer",
                "tree, day index and the year's summaries (compact records since issue 18)",
            ),
            (
                "awards-summary of that province",
                f"{cov['awards_ms']:.0f} ms (median of 3)",
                f"{cov['awarded']:,} units' awards documents folded from one cursor",
            ),
            ("raw JetStream publish (sync acks)", f"{raw['js_publish']:.0f}/s", ""),
            ("raw Mongo bulk insert", f"{mongo['bulk']:.0f} docs/s", ""),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"\n{'figure':<{width}}  {'registry':<26}  raw limit (same run)")
        for name, value, limit in rows:
            print(f"{name:<{width}}  {value:<26}  {limit}")
        print(f"\n{RATE * SECONDS} commands paced at {RATE}/s (open loop); 2 cores, embedded servers.\n")
        for line in topic.lines(latency):
            print(line)
        print()
        for line in tracing.lines(traced):
            print(line)
        history.record(
            {
                "R": round(rep["ingest"] / rep_raw, 3),
                "C": round(reg["throughput"] / mongo["txn"], 3),
                "p99_ms": round(reg["p99"], 1),
                "raw_txn_p99_ms": round(mongo["txn_p99"], 1),
            },
            dt.datetime.now(dt.UTC),
        )
        print(f"\nthe last {history.RUNS} runs of make bench on this machine ({history.machine()}; {history.PATH}):")
        for line in history.lines(history.last(), "R", 0.8, "R"):
            print(line)
        print("\ndatabase round trips per command, every registry and awards command (target: none above 8):")
        for line in round_trips.table(per_command):
            print("  " + line)
        print(
            "\nreporting ingest profile (pyinstrument, own time of each function; a second pass, "
            f"{profiled['ingest']:.0f} events/s with the profiler):"
        )
        for line in profiled["profile"]:
            print("  " + line)
    finally:
        for child in reversed(procs):
            child.stop(timeout=15)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
