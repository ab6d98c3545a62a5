"""`make soak`: the whole platform (`make up`'s embedded stack, with its supervisor) under a mixed load
for a while, with kills, watching memory and lag.

The load is one simulated season after another (`antq simulate season --units N`, through the bus:
units, a campaign, festivals planned, reported and reviewed, models, nominations through every
outcome, a merger, gifts, webhook deliveries), each checking itself against reporting and the
delivery log. Every other season runs with chaos: each service and the database killed with -9 in
turn while it runs. Every minute a line gives each service's RSS and each service's consumer lag
(JetStream's pending and unacknowledged messages of its durables) and outbox pending.

It fails (exit 1) when a season's check finds a difference, when a service's memory keeps growing
(its peak in the last third of the run above its peak in the middle third by more than a quarter and
10 MB) or when the lag keeps growing (each of the last three samples above the one before, the last
above 1 000), or when the lag is not back to zero two minutes after the load stops.

`SOAK_MINUTES` (default 30), `SOAK_UNITS` (units per season, default 80)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.embedded import free_port
from shared.client import Client
from shared.client.cli.status import gather
from shared.client.simulate import simulate
from shared.client.simulate.chaos import Chaos
from shared.contract.envelope import Actor

SERVICES = ("registry", "awards", "notifications", "reporting")
MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
UNITS = int(os.environ.get("SOAK_UNITS", "80"))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", "60"))


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Sample:
    at: float
    rss: dict[str, float | None]
    lag: dict[str, int]
    outbox: dict[str, int | None]


@dataclass
class Run:
    data: Path
    nats_url: str
    samples: list[Sample] = field(default_factory=list)
    seasons: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def pids(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads((self.data / "pids.json").read_text()).items()}
        except (OSError, ValueError):
            return {}

    async def sample(self, client: Client) -> Sample:
        pids = self.pids()
        status = await gather(client, 3.0)
        lag: dict[str, int] = dict.fromkeys(SERVICES, 0)
        for c in status.consumers:
            lag[c["service"]] = lag.get(c["service"], 0) + int(c["pending"])
        outbox = {s["service"]: s.get("outbox_pending") for s in status.services}
        return Sample(
            time.monotonic() - self.started,
            {s: rss_mb(pids[s]) if s in pids else None for s in SERVICES},
            lag,
            outbox,
        )

    def line(self, s: Sample) -> str:
        def mb(v: float | None) -> str:
            return "  down" if v is None else f"{v:6.0f}"

        rss = " ".join(f"{mb(s.rss[n])}" for n in SERVICES)
        lag = " ".join(f"{s.lag.get(n, 0):6d}" for n in SERVICES)
        out = " ".join(f"{'?' if s.outbox.get(n) is None else s.outbox[n]:>6}" for n in SERVICES)
        return f"{s.at / 60:6.1f} min | RSS MB {rss} | lag {lag} | outbox {out}"


def header() -> str:
    names = " ".join(f"{n[:6]:>6}" for n in SERVICES)
    return f"{'':>10} | RSS MB {names} | lag {names} | outbox {names}"


def start_stack(data: Path) -> tuple[subprocess.Popen[str], str]:
    ports = {name: free_port() for name in (*SERVICES, "nats", "monitor", "mongodb", "smtp")}
    argv = [
        sys.executable, "-m", "deploy.embedded", "--data", str(data), "--no-sample",
        "--nats-port", str(ports["nats"]), "--nats-monitor-port", str(ports["monitor"]),
        "--mongodb-port", str(ports["mongodb"]), "--smtp-port", str(ports["smtp"]),
        *(a for s in SERVICES for a in ("--http-port", f"{s}={ports[s]}")),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("ANTQ_NATS_URL", "ANTQ_MONGODB_URL")}
    env["ANTQ_LOG_LEVEL"] = "WARNING"
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the stack exited before it was ready")
        if line.strip() == '{"ready": true}':
            return proc, f"nats://127.0.0.1:{ports['nats']}"
    raise RuntimeError("the stack was not ready in 180 s")


def grew(run: Run) -> list[str]:
    """Memory or lag that keeps growing (see the module's docstring)."""
    problems = []
    n = len(run.samples)
    if n >= 6:
        middle, last = run.samples[n // 3 : 2 * n // 3], run.samples[2 * n // 3 :]
        for s in SERVICES:
            before = max((x.rss[s] or 0) for x in middle)
            after = max((x.rss[s] or 0) for x in last)
            if after > before * 1.25 + 10:
                problems.append(f"{s}: memory keeps growing: peak {before:.0f} MB, then {after:.0f} MB")
    if n >= 4:
        totals = [sum(x.lag.values()) for x in run.samples[-4:]]
        if all(b > a for a, b in itertools.pairwise(totals)) and totals[-1] > 1000:
            problems.append(f"consumer lag keeps growing: {totals}")
    return problems


async def soak() -> int:
    data = Path(tempfile.mkdtemp(prefix="antq-soak-"))
    proc, nats_url = start_stack(data)
    run = Run(data, nats_url)
    print(f"soak: {MINUTES:g} minutes of seasons of {UNITS} units, chaos every other season; stack in {data}")
    client = await Client.connect(nats_url, Actor(id="soak", unit=None, role="admin"), source="antq/soak", timeout=20)
    stop = asyncio.Event()

    async def sampler() -> None:
        print(header(), flush=True)
        while not stop.is_set():
            try:
                s = await run.sample(client)
                run.samples.append(s)
                print(run.line(s), flush=True)
            except Exception as exc:  # the broker being killed: the next sample
                print(f"  (sample failed: {exc!r})", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)
            except TimeoutError:
                pass

    sampling = asyncio.create_task(sampler())
    deadline = time.monotonic() + MINUTES * 60
    i = 0
    try:
        while time.monotonic() < deadline:
            chaos = Chaos(data / "pids.json", every=8.0) if i % 2 else None
            outcome = await simulate(client, 2025, 1000 + i, units=UNITS, chaos=chaos, settle_timeout=600)
            kills = f", {len(outcome.kills)} kills" if chaos else ""
            verdict = "expected = reported" if outcome.ok else f"DIFFERENCES: {outcome.differences[:3]}"
            print(
                f"  season {i + 1}: {outcome.commands} commands, {outcome.retries} retries{kills}, "
                f"{outcome.seconds:.0f} s: {verdict}",
                flush=True,
            )
            if not outcome.ok:
                run.failures.append(f"season {i + 1}: {outcome.differences[:5]} {outcome.failures[:5]}")
            i += 1
        # the load stops: the lag must come back to zero
        quiet_by = time.monotonic() + 120
        while True:
            s = await run.sample(client)
            if sum(s.lag.values()) == 0:
                break
            if time.monotonic() > quiet_by:
                run.failures.append(f"the lag did not come back to zero within 2 minutes: {s.lag}")
                break
            await asyncio.sleep(2)
    finally:
        stop.set()
        await sampling
        await client.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)
    run.failures += grew(run)
    peaks = {s: max((x.rss[s] or 0) for x in run.samples) for s in SERVICES} if run.samples else {}
    print(f"\n{i} seasons in {MINUTES:g} minutes; peak RSS " + ", ".join(f"{s} {v:.0f} MB" for s, v in peaks.items()))
    for failure in run.failures:
        print(f"FAILED: {failure}")
    print("soak: passed" if not run.failures else "soak: failed")
    return 1 if run.failures else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(soak()))
