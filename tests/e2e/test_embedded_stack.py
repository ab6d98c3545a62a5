"""`make up` end to end (on free ports): servers and services start, the sample loads once,
a killed service is restarted, Ctrl-C stops everything, and data survives a restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import nats
import pytest

from deploy.embedded import free_port, port_in_use
from shared.contract.services import SERVICES
from tests import clock
from tests.e2e.awards_flow import Outside, check_stream, ok, run_flow

SERVICE_NAMES = [s.name for s in SERVICES]


def children_of(pid: int) -> dict[int, str]:
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                child = int(stat.parent.name)
                out[child] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return out


def start_stack(data: Path, ports: dict[str, int], *more: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTQ_NATS_URL", "ANTQ_MONGODB_URL")}
    env.update(clock.env())  # the services' one clock: the tests', not the wall's, however late each starts
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deploy.embedded",
            "--data",
            str(data),
            "--nats-port",
            str(ports["nats"]),
            "--nats-monitor-port",
            str(ports["monitor"]),
            "--mongodb-port",
            str(ports["mongodb"]),
            "--smtp-port",
            str(ports["smtp"]),
            *(a for name in SERVICE_NAMES for a in ("--http-port", f"{name}={ports[name]}")),
            *more,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError("stack exited: " + "".join(lines))
        lines.append(line)
        if line.strip() == '{"ready": true}':
            return proc, lines
    raise AssertionError("stack not ready: " + "".join(lines))


def frozen_objects(port: int, service: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(f'antq_gc_frozen_objects{{service="{service}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


async def count_units(nats_port: int) -> int:
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    msg = await nc.request(
        "antq.query.registry.units", json.dumps({"parent_id": "hue", "date": "2025-08-01"}).encode(), timeout=10
    )
    await nc.close()
    return len(json.loads(msg.data)["result"]["units"])


async def tokens_of_the_development_issuer(nats_port: int, data: Path) -> None:
    """`antq token` signs with make up's issuer; the services verify what is sent (a forged token is
    refused) and still accept unsigned commands, as the banner says."""
    env = {**os.environ, "ANTQ_ISSUER_DIR": str(data / "issuer")}
    antq = str(Path(sys.executable).parent / "antq")
    proc = await asyncio.create_subprocess_exec(
        antq,
        "token",
        "--actor-id",
        "can-bo-1",
        "--unit",
        "hue-19753",
        "--role",
        "officer",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    token = out.decode().strip()
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    try:
        params = json.dumps({"unit_id": "hue-19753"}).encode()
        for bearer, expected in ((token, True), (token[:-4] + "AAAA", False)):
            msg = await nc.request(
                "antq.query.registry.unit", params, timeout=10, headers={"Authorization": f"Bearer {bearer}"}
            )
            assert json.loads(msg.data)["ok"] is expected, msg.data
    finally:
        await nc.close()


async def a_season_survives_chaos(nats_port: int, data: Path, tmp: Path) -> None:
    """`antq simulate season --chaos` against `make up`: each service and the database are killed with
    kill -9 in turn during the season, `make up` restarts them, and the season's self-check still
    finds expected = reported (webhooks: one distinct webhook-id per report, whatever was re-sent)."""
    env = {
        **os.environ,
        "ANTQ_NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "ANTQ_ISSUER_DIR": str(data / "issuer"),
        "COLUMNS": "160",
    }
    args = ["--units", "80", "--year", "2026", "--seed", "5", "--chaos"]
    antq = str(Path(sys.executable).parent / "antq")
    proc = await asyncio.create_subprocess_exec(
        antq, "--lang", "en", "simulate", "season", *args, "--data", str(data), "--out-dir", str(tmp),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, errors = await asyncio.wait_for(proc.communicate(), 900)
    text = " ".join(out.decode().split())
    assert proc.returncode == 0, text[-3000:] + errors.decode()[-3000:]
    assert "expected = reported at every level" in text
    killed = [
        part for part in ("registry", "awards", "notifications", "reporting", "mongodb") if f"kill -9 {part}" in text
    ]
    assert killed == ["registry", "awards", "notifications", "reporting", "mongodb"], text[-2000:]


async def mail_lands_in_the_sink(nats_port: int, data: Path) -> None:
    """notifications sends through `make up`'s SMTP sink, which writes the message under <data>/mail."""
    nc = await nats.connect(f"nats://127.0.0.1:{nats_port}")
    c = Outside(nc)
    try:
        recipient = {
            "scope_unit_id": "hue",
            "events": ["vn.antq.registry.campaign.opened.v1"],
            "channel": "email",
            "address": "so-cong-an@hue.gov.vn",
        }
        ok(await c.until_known("notifications", "add-recipient", recipient, "", "admin"))
        ok(await c.send("registry", "open-campaign", {"year": 2027, "scope_unit_id": "hue"}))
        # notifications learns the tree, then the campaign, each on its own consumer: on a loaded machine
        # (CI beside other work) that took longer than 30 s once
        deadline = time.monotonic() + 120
        while not list((data / "mail").glob("*so-cong-an*.eml")):
            assert time.monotonic() < deadline, "no email in the sink"
            await asyncio.sleep(0.3)
        text = next((data / "mail").glob("*so-cong-an*.eml")).read_text()
        assert "Subject:" in text and "so-cong-an@hue.gov.vn" in text
    finally:
        await nc.close()


@pytest.mark.timeout(900)  # two starts of the whole stack and a season under kill -9
async def test_make_up_supervises_restarts_and_keeps_data(tmp_path):
    ports = {"nats": free_port(), "monitor": free_port(), "mongodb": free_port(), "smtp": free_port()}
    ports.update({name: free_port() for name in SERVICE_NAMES})
    proc, lines = start_stack(tmp_path / "data", ports)
    try:
        assert any("loading the sample tree" in line for line in lines)
        assert any(f"http://127.0.0.1:{ports['registry']}/readyz" in line for line in lines)
        assert await count_units(ports["nats"]) == 47
        for name in SERVICE_NAMES:  # start-up's objects are out of the collector's full passes
            assert frozen_objects(ports[name], name) > 20_000, name
        # the awards issue's flow, as an outside nats-py client runs it against `make up`
        nats_url = f"nats://127.0.0.1:{ports['nats']}"
        await check_stream(nats_url, await run_flow(nats_url))
        await mail_lands_in_the_sink(ports["nats"], tmp_path / "data")
        await tokens_of_the_development_issuer(ports["nats"], tmp_path / "data")
        assert any("DEVELOPMENT MODE" in line for line in lines)
        # the banner names the season board, and it opens on the sample tree (development: no sign-in)
        board = f"http://127.0.0.1:{ports['reporting']}/board"
        assert any(board in line for line in lines)
        async with httpx.AsyncClient(timeout=20) as http:
            page = (await http.get(f"{board}/u/hue?year=2026")).text
        assert "Thành phố Huế" in page and 'data-unit="hue" data-field="units_total"' in page
        await a_season_survives_chaos(ports["nats"], tmp_path / "data", tmp_path)
        [registry_pid] = [pid for pid, cmd in children_of(proc.pid).items() if "services.registry" in cmd]
        os.kill(registry_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (ready(ports["registry"]) and registry_pid not in children_of(proc.pid)):
            assert time.monotonic() < deadline, "registry was not restarted"
            await asyncio.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    assert not any(port_in_use(p) for p in ports.values())  # everything stopped
    proc, lines = start_stack(tmp_path / "data", ports, "--traces")  # `make up UP=--traces`
    try:
        assert not any("loading the sample tree" in line for line in lines)  # first start only
        assert await count_units(ports["nats"]) == 47  # the data survived
        assert any("traces" in line and "<service>.jsonl" in line for line in lines)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    # the query's span, written when the registry stopped
    spans = [json.loads(line) for line in (tmp_path / "data" / "traces" / "registry.jsonl").read_text().splitlines()]
    assert any(s["name"] == "antq.query.registry.units process" for s in spans)
    assert all(s["resource"]["attributes"]["service.name"] == "antq-registry" for s in spans)
