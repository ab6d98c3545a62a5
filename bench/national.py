"""`make bench-national`: a season of a generated province replayed at the event level, straight into
registry's and awards' streams, through the services that consume them (awards, notifications,
reporting, each its own process), at three sizes; time and memory fitted against the events.

Per size it prints: the events published and the publish rate; each service's ingest (events it
applied per second, from its consumers' own counters); the time from the last event published to
correct projections (reporting's coverage of the province and its awards summary equal to the
figures the generator computed itself); each service's peak RSS; the whole-tree coverage latency;
the time reporting takes to load the tree and the year (the first answer of a restarted reporting);
the time the province's season report takes (every page of its queries, then the XLSX written).
Then the exponent of time and of memory against events (target ≤ 1.1).

`python -m bench.national [UNITS ...]` (default 10000 30000 100000)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext

from deploy.embedded import Child, free_port, http_ok, mongo_command, mongo_url, nats_command
from shared.client.simulate.scenario import generated
from shared.contract import awards as a
from shared.contract import registry as r
from shared.contract.envelope import new_event
from shared.runtime.bus import ensure_streams
from shared.runtime.settings import ServiceSettings

YEAR = 2026
SERVICES = ("awards", "notifications", "reporting")
# ANTQ_NATIONAL_PROGRESS: seconds between lines of each consumer's progress while waiting (0: none)
PROGRESS_SECONDS = float(os.environ.get("ANTQ_NATIONAL_PROGRESS", "30"))
FORM = "giay_khen_chu_tich_ubnd_xa"
# settings for the services of the run, e.g. ANTQ_NATIONAL_ENV="ANTQ_CONSUMER_ACK_WAIT_SECONDS=300"
EXTRA_ENV = dict(e.split("=", 1) for e in os.environ.get("ANTQ_NATIONAL_ENV", "").split() if "=" in e)


def event(service: str, aggregate: str, name: str, subject: str, data: Any, version: int) -> tuple[str, bytes, str]:
    e = new_event(
        source=f"antq/{service}",
        type=f"vn.antq.{service}.{aggregate}.{name}.v1",
        subject=subject,
        data=data.model_dump(mode="json"),
        aggregateversion=version,
    )
    return f"antq.{service}.{aggregate}.{name}.v1", e.to_bytes(), e.id


def season_events(units: int, seed: int) -> tuple[list[tuple[str, bytes, str]], dict[str, int], str]:
    """The province's units, its campaign, a festival planned for 9 expected units in 10 and held by 8
    of them, and a nomination approved for every other unit held; with the figures they must give."""
    tree = generated(units, seed, f"n{uuid.uuid4().hex[:6]}")
    out: list[tuple[str, bytes, str]] = []
    day = dt.date(2024, 1, 1)
    for level in _levels(tree):
        for uid in level:
            u = tree.units[uid]
            data = r.UnitRegistered(
                unit_id=uid, code=None, name=u.name, kind=u.kind, parent_id=u.parent_id, valid_from=day
            )  # fmt: skip
            out.append(event("registry", "unit", "registered", uid, data, 1))
    campaign = f"{tree.root}-c"
    opened = r.CampaignOpened(
        campaign_id=campaign,
        year=YEAR,
        scope_unit_id=tree.root,
        window_start=dt.date(YEAR, 7, 1),
        window_end=dt.date(YEAR, 8, 19),
        report_deadline=dt.date(YEAR, 12, 31),
    )
    out.append(event("registry", "campaign", "opened", campaign, opened, 1))
    expected = sorted(u for u in tree.units if tree.units[u].kind not in ("province", "district"))
    held = nominations = 0
    grantor = a.Authority(kind="unit", unit_id=tree.root, name=tree.units[tree.root].name, level="province")
    for i, uid in enumerate(expected):
        if i % 10 == 9:
            continue
        fid = f"{uid}-f"
        planned = r.FestivalPlanned(
            festival_id=fid, campaign_id=campaign, unit_id=uid, year=YEAR, date=dt.date(YEAR, 8, 1),
            venue="Nhà văn hóa", ceremony={}, festival_part={},
        )  # fmt: skip
        out.append(event("registry", "festival", "planned", fid, planned, 1))
        if i % 10 == 8:
            continue
        done = r.FestivalHeld(
            festival_id=fid, campaign_id=campaign, unit_id=uid, year=YEAR, held_on=dt.date(YEAR, 8, 1),
            on_time=True, participants=100, ceremony_held=True, festival_part_held=True,
        )  # fmt: skip
        out.append(event("registry", "festival", "held", fid, done, 2))
        held += 1
        if i % 2 == 0:
            nid, nominee = f"{uid}-n", a.NomineeFact(kind="collective", unit_id=uid)
            submitted = a.NominationSubmitted(
                nomination_id=nid, nominee=nominee, award_form=FORM, year=YEAR, achievement="Tiêu biểu",
                grantor=grantor, forwarded=False, submitted_on=dt.date(YEAR, 8, 2),
            )  # fmt: skip
            approved = a.NominationApproved(
                nomination_id=nid, award_id=f"{uid}-a", award_form=FORM, nominee=nominee, year=YEAR,
                decision_no="1/QĐ", decision_date=dt.date(YEAR, 8, 5), decided_by=grantor, recorded_by="bench",
                amount_vnd=0,
            )  # fmt: skip
            out.append(event("awards", "nomination", "submitted", nid, submitted, 1))
            out.append(event("awards", "nomination", "approved", nid, approved, 2))
            nominations += 1
    figures = {"units_total": len(expected), "units_held": held, "nominations": nominations}
    return out, figures, tree.root


def _levels(tree: Any) -> list[list[str]]:
    levels, frontier = [], [tree.root]
    while frontier:
        levels.append(frontier)
        frontier = [c for u in frontier for c in tree.children.get(u, [])]
    return levels


async def publish(js: JetStreamContext, events: list[tuple[str, bytes, str]]) -> float:
    started = time.perf_counter()
    for k in range(0, len(events), 1000):
        chunk = events[k : k + 1000]
        await asyncio.gather(*(js.publish(s, b, headers={"Nats-Msg-Id": i}) for s, b, i in chunk))
    return len(events) / (time.perf_counter() - started)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def ask(nc: Any, subject: str, params: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads((await nc.request(subject, json.dumps(params).encode(), timeout=timeout)).data)
    return reply


def answered(reply: dict[str, Any]) -> dict[str, Any]:
    """A query's result; empty while the scope is not known yet; any other refusal stops the bench (a
    refused query never matches, and the bench waited for ever on one)."""
    if (reply.get("error") or {}).get("code") not in (None, "not_found", "rule_violation"):
        raise RuntimeError(f"query refused: {reply['error']}")
    result: dict[str, Any] = reply.get("result") or {}
    return result


def consumer_figures(port: int) -> dict[str, dict[str, float]]:
    """consumer → processed, pending and the held/retried counts, from a service's /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith(("antq_consumer_events_total{", "antq_consumer_pending{")):
            labels, value = line.rsplit(" ", 1)
            fields = dict(f.split("=", 1) for f in labels[labels.index("{") + 1 : -1].split(","))
            consumer = fields["consumer"].strip('"')
            what = fields.get("outcome", '"pending"').strip('"')
            if what in ("processed", "pending", "parked", "retried", "dead_lettered"):
                out.setdefault(consumer, {})[what] = float(value)
    return out


def caught_up(port: int) -> bool:
    """Whether a service's consumers have nothing pending (its /metrics; without an answer, assumed so).
    The province-wide queries wait for it: at 100 000 units they took a share of the two cores."""
    try:
        figures = consumer_figures(port)
    except OSError:
        return True
    return all(not f.get("pending") for f in figures.values())


def progress_line(elapsed: float, procs: dict[str, Any]) -> str:
    """One line of where each consumer stands, while the bench waits for correct projections."""
    parts = []
    for name, p in procs.items():
        try:
            figures = consumer_figures(p.port)
        except OSError:
            parts.append(f"{name}: no answer")
            continue
        for consumer, f in sorted(figures.items()):
            extra = "".join(f" {k} {f[k]:.0f}" for k in ("parked", "retried", "dead_lettered") if f.get(k))
            parts.append(
                f"{name}/{consumer} {f.get('processed', 0):.0f} done, {f.get('pending', 0):.0f} pending{extra}"
            )
    return f"    {elapsed:5.0f} s: " + "; ".join(parts)


class Ingest:
    """Each consumer's rate: the events it applied over the time until its count last grew."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.done: dict[str, tuple[float, float]] = {}  # service/consumer → (processed, when it last grew)

    def sample(self, procs: dict[str, Any]) -> None:
        now = time.perf_counter()
        for name, p in procs.items():
            try:
                figures = consumer_figures(p.port)
            except OSError:
                continue
            for consumer, f in figures.items():
                processed = f.get("processed", 0.0)
                before = self.done.get(f"{name}/{consumer}")
                if processed and (before is None or processed > before[0]):
                    self.done[f"{name}/{consumer}"] = (processed, now)

    def rates(self) -> dict[str, tuple[float, float]]:
        """service/consumer → (events applied, events/s)."""
        return {k: (n, n / max(at - self.started, 1e-3)) for k, (n, at) in sorted(self.done.items())}


async def season_report_seconds(url: str, root: str, work: Path) -> tuple[float, float, int]:
    """The province's season report as `antq reporting export` makes it: (seconds to read every page,
    seconds to write the XLSX, unit rows)."""
    from shared.client import Client
    from shared.client.season_report import season, write_xlsx
    from shared.contract.envelope import Actor

    client = await Client.connect(url, Actor(id="bench", unit=None, role="admin"), timeout=120)
    asked = client.query
    slow: list[tuple[float, str]] = []  # each query's seconds, to name the slowest (or the one that failed)

    async def timed(service: str, name: str, params: Any = None) -> Any:
        t = time.perf_counter()
        try:
            return await asked(service, name, params)
        except Exception as exc:
            raise RuntimeError(f"{service} {name} {params} after {time.perf_counter() - t:.1f} s: {exc!r}") from exc
        finally:
            slow.append((time.perf_counter() - t, f"{service} {name}"))

    client.query = timed  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        data = await season(client, YEAR, root, None)
        print("  the season report's slowest queries: " + ", ".join(f"{n} {s:.1f} s" for s, n in sorted(slow)[-3:]))
        t1 = time.perf_counter()
        await asyncio.to_thread(write_xlsx, data, work / "so-ket.xlsx")
        return t1 - t0, time.perf_counter() - t1, len(data["units"])
    finally:
        await client.close()


async def wait_ready(name: str, p: Any, work: Path) -> None:
    deadline = time.monotonic() + 120
    while not http_ok(f"http://127.0.0.1:{p.port}/readyz"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} not ready: {(work / f'{name}.log').read_text()[-2000:]}")
        await asyncio.sleep(0.3)


async def one_size(units: int, seed: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="antq-national-"))
    n, m = free_port(), free_port()
    servers = [
        Child("nats", nats_command(work / "nats", n, free_port()), n),
        Child("mongodb", mongo_command(work / "m", m), m),
    ]
    procs: dict[str, Child] = {}
    try:
        for s in servers:
            s.start(wait=60)
        url, murl = f"nats://127.0.0.1:{n}", mongo_url(m)
        nc = await nats.connect(url)
        js = nc.jetstream()
        await ensure_streams(js, ServiceSettings(nats_url=url, mongodb_url=murl))
        events, want, root = season_events(units, seed)
        for name in SERVICES:
            port = free_port()
            env = {
                "ANTQ_NATS_URL": url,
                "ANTQ_MONGODB_URL": murl,
                "ANTQ_HTTP_PORT": str(port),
                "ANTQ_LOG_LEVEL": "WARNING",
            }
            env.update(EXTRA_ENV)
            procs[name] = Child(
                name, [sys.executable, "-m", f"services.{name}"], port, env=env, log=work / f"{name}.log"
            )
            procs[name].start()
        for name, p in procs.items():
            await wait_ready(name, p, work)
        started = time.perf_counter()
        ingest = Ingest(started)
        rate = await publish(js, events)
        published = time.perf_counter()
        # a page of the breakdown: a province of 4 000 communes is larger than one answer (the figures
        # are the whole province's on every page)
        params = {"year": YEAR, "scope_unit_id": root, "breakdown_limit": 1000}
        next_progress = published + PROGRESS_SECONDS
        while True:
            if PROGRESS_SECONDS and time.perf_counter() >= next_progress:
                print(progress_line(time.perf_counter() - published, procs), flush=True)
                next_progress = time.perf_counter() + PROGRESS_SECONDS
            ingest.sample(procs)
            if not caught_up(procs["reporting"].port):  # asked every 2 s, the queries slowed the consumers
                if time.perf_counter() - published > max(3600, units * 0.1):
                    raise TimeoutError(f"{units} units: reporting's consumers never caught up")
                await asyncio.sleep(2.0)
                continue
            cov = answered(await ask(nc, "antq.query.reporting.coverage", params))
            scope = {"year": YEAR, "scope_unit_id": root}
            summary = answered(await ask(nc, "antq.query.reporting.awards-summary", scope))
            noms = sum(sum(s.values()) for s in (summary.get("nominations") or {}).values())
            got = {"units_total": cov.get("units_total"), "units_held": cov.get("units_held"), "nominations": noms}
            if got == want:
                break
            if time.perf_counter() - published > max(3600, units * 0.1):  # an hour, or 0.1 s a unit
                raise TimeoutError(f"{units} units: projections never matched: {got} != {want}")
            await asyncio.sleep(2.0)
        correct = time.perf_counter()
        ingest.sample(procs)
        times = []
        for _ in range(11):
            t0 = time.perf_counter()
            await ask(nc, "antq.query.reporting.coverage", params)
            times.append((time.perf_counter() - t0) * 1000)
        warm = sorted(times[1:])
        rss = {name: peak_rss_mb(p.proc.pid) for name, p in procs.items() if p.proc is not None}
        try:
            report_read, report_write, report_rows = await season_report_seconds(url, root, work)
        except Exception as exc:  # printed with the other figures, which stand without it
            print(f"  the season report of the province failed: {exc!r}"[:600], flush=True)
            report_read = report_write = float("nan")
            report_rows = 0
        # reporting restarted: its first answer loads the tree and the year into memory
        procs["reporting"].stop(timeout=20)
        procs["reporting"].start()
        await wait_ready("reporting", procs["reporting"], work)
        t0 = time.perf_counter()
        cold = (await ask(nc, "antq.query.reporting.coverage", params)).get("result") or {}
        cold_s = time.perf_counter() - t0
        if cold.get("units_held") != want["units_held"]:
            raise RuntimeError(f"restarted, reporting answered {cold.get('units_held')} held, not {want['units_held']}")
        await nc.close()
        return {
            "units": units,
            "events": len(events),
            "publish_rate": rate,
            "to_correct_s": correct - published,
            "total_s": correct - started,
            "events_per_s": len(events) / (correct - started),
            "rss_mb": rss,
            "coverage_p50_ms": warm[len(warm) // 2],
            "coverage_max_ms": warm[-1],
            "ingest": ingest.rates(),
            "report_read_s": report_read,
            "report_write_s": report_write,
            "report_rows": report_rows,
            "cold_s": cold_s,
        }
    finally:
        for p in procs.values():
            p.stop(timeout=20)
        for s in reversed(servers):
            s.stop(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


def exponent(xs: list[float], ys: list[float]) -> float:
    """The slope of log y against log x (least squares): y ∝ x^slope."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


async def main(sizes: list[int]) -> None:
    # a `kill` (SIGTERM) cancels the run, so each size's `finally` stops the servers and services it
    # started (they run in sessions of their own: killed without it, they went on running)
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    rows = []
    for units in sizes:
        print(f"replaying a season of {units:,} units…", flush=True)
        rows.append(await one_size(units, seed=1))
        x = rows[-1]
        rss = ", ".join(f"{k} {v:.0f} MB" for k, v in x["rss_mb"].items())
        print(
            f"  {x['events']:,} events published at {x['publish_rate']:.0f}/s; correct projections "
            f"{x['to_correct_s']:.1f} s after the last ({x['events_per_s']:.0f} events/s end to end); "
            f"peak RSS: {rss} (target < 200 MB); coverage of the whole tree p50 {x['coverage_p50_ms']:.0f} ms, "
            f"max {x['coverage_max_ms']:.0f} ms",
            flush=True,
        )
        print(
            f"  reporting restarted: first answer (loads the tree and the year) {x['cold_s']:.1f} s; season report "
            f"of the province ({x['report_rows']:,} unit rows): queries {x['report_read_s']:.1f} s, "
            f"XLSX written {x['report_write_s']:.1f} s",
            flush=True,
        )
        print("  ingest per consumer (events applied ÷ seconds from the first publish to its last):")
        for consumer, (n, per_s) in x["ingest"].items():
            print(f"    {consumer:<28} {n:>8,.0f} events  {per_s:>7.0f}/s", flush=True)
    if len(rows) >= 2:
        events = [float(x["events"]) for x in rows]
        print(f"\ntime against events: exponent {exponent(events, [x['total_s'] for x in rows]):.2f} (target ≤ 1.1)")
        for name in SERVICES:
            mem = [x["rss_mb"][name] for x in rows]
            print(f"{name} peak RSS against events: exponent {exponent(events, mem):.2f}")


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [10_000, 30_000, 100_000]))
