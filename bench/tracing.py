"""What tracing costs: the registry as a process, the same commands with tracing off (the default) and on
(spans written to a file), in one run on the same servers; and the tracing code that runs on every
command when it is off, timed on its own.

`python -m bench.tracing` starts its own servers; `make bench` calls `measure`."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats

from deploy.embedded import Child, free_port, http_ok
from shared.client import command_envelope
from shared.contract.envelope import Actor
from shared.runtime.tracing import Tracing, carrier

N = 600  # commands per configuration, 16 in flight
PACED = 300  # then paced at 100/s for the latency


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


async def one_configuration(nats_url: str, mongodb_url: str, env: dict[str, str]) -> dict[str, float]:
    port = free_port()
    tag = uuid.uuid4().hex[:6]
    child = Child(
        "registry",
        [sys.executable, "-m", "services.registry"],
        port,
        env={
            "ANTQ_NATS_URL": nats_url,
            "ANTQ_MONGODB_URL": mongodb_url,
            "ANTQ_MONGODB_DB": f"antq_registry_{tag}",
            "ANTQ_HTTP_PORT": str(port),
            "ANTQ_LOG_LEVEL": "WARNING",
            **env,
        },
    )
    child.start()
    try:
        deadline = time.monotonic() + 60
        while not http_ok(f"http://127.0.0.1:{port}/readyz") and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        nc = await nats.connect(nats_url)
        actor = Actor(id="bench", unit=None, role="admin")

        async def register(unit_id: str, parent: str | None, kind: str) -> None:
            data = {"unit_id": unit_id, "name": unit_id, "kind": kind, "valid_from": "2025-01-01"}
            if parent:
                data["parent_id"] = parent
            body = command_envelope("registry", "register-unit", data, actor, "bench", str(uuid.uuid4()))
            reply = json.loads((await nc.request("antq.cmd.registry.register-unit", body, timeout=30)).data)
            if not reply["ok"]:
                raise RuntimeError(reply)

        await register(f"{tag}-p", None, "province")
        await register(f"{tag}-c", f"{tag}-p", "commune")
        gate = asyncio.Semaphore(16)

        async def limited(i: int) -> None:
            async with gate:
                await register(f"{tag}-h{i}", f"{tag}-c", "hamlet")

        t = time.perf_counter()
        await asyncio.gather(*(limited(i) for i in range(N)))
        throughput = N / (time.perf_counter() - t)
        latencies: list[float] = []

        async def timed(i: int) -> None:
            t0 = time.perf_counter()
            await register(f"{tag}-g{i}", f"{tag}-c", "hamlet")
            latencies.append(time.perf_counter() - t0)

        start, tasks = time.perf_counter(), []
        for i in range(PACED):
            delay = start + i / 100 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(timed(i)))
        await asyncio.gather(*tasks)
        await nc.close()
        return {"throughput": throughput, "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99)}
    finally:
        child.stop(timeout=15)


def off_path_us() -> float:
    """The tracing code every command runs when tracing is off (its span's context manager, and the
    outbox's and notifications' look at the current span), per command, in microseconds."""
    tracing = Tracing("bench")  # off: no exporter configured
    n = 200_000
    t = time.perf_counter()
    for _ in range(n):
        with tracing.command("bench", "register-unit", "x", True, None):
            carrier()
    return (time.perf_counter() - t) / n * 1e6


async def measure(nats_url: str, mongodb_url: str) -> dict[str, Any]:
    spans = Path(tempfile.mkdtemp(prefix="antq-bench-spans-")) / "{service}.jsonl"
    off = await one_configuration(nats_url, mongodb_url, {})
    on = await one_configuration(nats_url, mongodb_url, {"ANTQ_OTEL_FILE": str(spans)})
    return {"off": off, "on": on, "off_path_us": off_path_us(), "spans": count_lines(spans, "registry")}


def count_lines(pattern: Path, service: str) -> int:
    written = Path(str(pattern).replace("{service}", service))
    return len(written.read_text().splitlines()) if written.exists() else 0


def lines(m: dict[str, Any]) -> list[str]:
    off, on = m["off"], m["on"]
    return [
        f"tracing: the code a command runs when it is off: {m['off_path_us']:.2f} µs per command "
        f"(against a command p50 of {off['p50']:.1f} ms: {m['off_path_us'] / 1000 / off['p50'] * 100:.3f} %)",
        f"tracing off: {off['throughput']:.0f} commands/s with 16 in flight, p50 {off['p50']:.1f} ms, "
        f"p99 {off['p99']:.1f} ms at 100/s",
        f"tracing on (every span to a file, {m['spans']:,} spans): {on['throughput']:.0f} commands/s, "
        f"p50 {on['p50']:.1f} ms, p99 {on['p99']:.1f} ms",
    ]


if __name__ == "__main__":
    from bench import servers

    async def main() -> None:
        with servers("antq-bench-tracing-") as (nats_url, mongodb_url):
            for line in lines(await measure(nats_url, mongodb_url)):
                print(line)

    asyncio.run(main())
