"""The issue's acceptance scenario, by a plain nats-py script that knows only the README and
DESIGN §3: register a tree, open a campaign, plan and report festivals, be refused for a date
outside the window and for a second festival, and find each event in ANTQ_REGISTRY exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

ROOT = Path(__file__).resolve().parents[2]


def command(action: str, data: dict, actor_unit: str = "", role: str = "admin", cid: str | None = None) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": cid or str(uuid.uuid4()),
            "source": "e2e-producer",
            "type": f"vn.antq.registry.{action}.v1",
            "time": "2026-11-29T08:00:00Z",
            "datacontenttype": "application/json",
            "data": data,
            "actorid": "e2e",
            "actorunit": actor_unit,
            "actorrole": role,
        }
    ).encode()


async def ask(nc, action: str, data: dict, **kw) -> dict:
    msg = await nc.request(f"antq.cmd.registry.{action}", command(action, data, **kw), timeout=10)
    return json.loads(msg.data)


async def all_events(nc, filter_subject: str = "antq.registry.>") -> list[dict]:
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        filter_subject,
        stream="ANTQ_REGISTRY",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=5),
    )
    out = []
    while True:
        try:
            msgs = await sub.fetch(500, timeout=1)
        except TimeoutError:  # nats raises its own subclass or asyncio's, depending on the path
            break
        out += [json.loads(m.data) for m in msgs]
    await sub.unsubscribe()
    return out


async def test_acceptance_scenario_with_a_plain_nats_client(servers, registry_process):
    nc = await nats.connect(servers.nats_url)
    tag = uuid.uuid4().hex[:8]
    prov, ward, hamlet = f"prov-{tag}", f"ward-{tag}", f"hamlet-{tag}"
    try:
        assert (
            await ask(
                nc,
                "register-unit",
                {"unit_id": prov, "name": "Thành phố Huế", "kind": "province", "valid_from": "2025-01-01"},
            )
        )["ok"]
        assert (
            await ask(
                nc,
                "register-unit",
                {
                    "unit_id": ward,
                    "code": f"9{tag[:4]}",
                    "name": "Phường Phú Xuân",
                    "kind": "ward",
                    "parent_id": prov,
                    "valid_from": "2025-07-01",
                },
            )
        )["ok"]
        officer = {"actor_unit": ward, "role": "officer"}
        assert (
            await ask(
                nc,
                "register-unit",
                {
                    "unit_id": hamlet,
                    "name": "Tổ dân phố 1",
                    "kind": "residential_group",
                    "parent_id": ward,
                    "valid_from": "2025-07-01",
                },
                **officer,
            )
        )["ok"]
        camp = await ask(
            nc,
            "open-campaign",
            {
                "year": 2025,
                "scope_unit_id": prov,
                "window_start": "2025-07-01",
                "window_end": "2025-08-19",
                "report_deadline": "2025-08-15",
            },
        )
        assert camp["ok"], camp
        plan = {
            "unit_id": hamlet,
            "year": 2025,
            "date": "2025-08-02",
            "venue": "Nhà văn hóa tổ 1",
            "ceremony": True,
            "festival_part": True,
        }
        outside = await ask(nc, "plan-festival", {**plan, "date": "2025-09-02"}, **officer)
        assert outside["ok"] is False
        assert outside["error"]["code"] == "rule_violation"
        assert outside["error"]["details"][0]["rule"] == "window"
        cid = str(uuid.uuid4())
        planned = await ask(nc, "plan-festival", plan, cid=cid, **officer)
        assert planned["ok"], planned
        assert await ask(nc, "plan-festival", plan, cid=cid, **officer) == planned  # same id, same answer
        second = await ask(nc, "plan-festival", {**plan, "date": "2025-08-09"}, **officer)
        assert second["error"]["code"] == "conflict"
        fid = planned["result"]["festival_id"]
        held = await ask(
            nc,
            "report-festival",
            {
                "festival_id": fid,
                "held_on": "2025-08-02",
                "participants": 240,
                "ceremony_held": True,
                "festival_part_held": True,
                "cost_vnd": 12_500_000,
                "funding_source": "xã hội hóa",
            },
            **officer,
        )
        assert held["ok"] and held["result"]["on_time"] is True

        expected = {
            (prov, "unit.registered.v1"),
            (ward, "unit.registered.v1"),
            (hamlet, "unit.registered.v1"),
            (camp["result"]["campaign_id"], "campaign.opened.v1"),
            (fid, "festival.planned.v1"),
            (fid, "festival.held.v1"),  # the v1 twin, while consumers move to v2
            (fid, "festival.held.v2"),
        }
        for _ in range(50):
            mine = Counter(
                (e["subject"], e["type"].split(".", 3)[3])
                for e in await all_events(nc)
                if e["subject"] in {s for s, _ in expected}
            )
            if set(mine) >= expected:
                break
            await asyncio.sleep(0.2)
        assert dict(mine) == dict.fromkeys(expected, 1)  # each exactly once, nothing else
    finally:
        await nc.close()


def test_cli_loads_the_history_of_hue_and_the_tree_answers_for_each_date(servers, registry_process):
    """The tree of 30 Jun 2025, the reform of 1 Jul 2025 from the official lineage, the units below;
    each step twice (a rerun changes nothing). Then the CLI answers as of either date."""
    env = {**os.environ, "ANTQ_NATS_URL": servers.nats_url, "COLUMNS": "250"}  # rich wraps at the width
    antq = str(Path(sys.executable).parent / "antq")

    def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([antq, *args], env=env, capture_output=True, text=True, timeout=timeout)
        if args[0] != "query":  # rich wraps lines at the terminal's width
            r.stdout = " ".join(r.stdout.split())
        return r

    old_tree = str(ROOT / "data" / "sample" / "hue-2025-06-30.csv")
    lineage = str(ROOT / "data" / "reference" / "hue-units-2025-lineage.csv")
    new_units = str(ROOT / "data" / "reference" / "hue-units-2025.csv")
    below = str(ROOT / "data" / "sample" / "hue-2025.csv")
    for expected in ("143 created, 0 unchanged", "0 created, 143 unchanged"):
        r = cli("registry", "import", old_tree)
        assert r.returncode == 0, r.stderr
        assert f"143 rows: {expected}, 0 refused" in r.stdout
        assert re.search(r"143 rows in \d+\.\d s \(\d+ rows/s\)", " ".join(r.stderr.split())), r.stderr
    r = cli("registry", "reform", lineage, new_units, "--date", "2025-07-01")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "39 formed by merger, 1 moved" in r.stdout
    assert "9 units of the abolished level closed" in r.stdout
    again = cli("registry", "reform", lineage, new_units, "--date", "2025-07-01")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing changed: the reform of 2025-07-01 is already applied (49 units as it left them)" in again.stdout
    for expected in ("290 created, 0 unchanged", "0 created, 290 unchanged"):
        r = cli("registry", "import", below)
        assert r.returncode == 0, r.stderr
        assert f"290 rows: {expected}, 0 refused" in r.stdout
    r = cli("registry", "units", "--parent", "hue", "--date", "2025-08-01")
    assert r.returncode == 0, r.stderr
    assert "Phường Phú Xuân" in r.stdout
    assert "47 units" in r.stdout  # 40 commune-level units + 7 city-level agencies, enterprises, schools
    r = cli("registry", "units", "--parent", "hue", "--date", "2025-06-30")
    assert "9 units" in r.stdout  # the district level, before the reform
    phu_xuan = json.loads(cli("query", "registry", "unit", '{"unit_id": "hue-19753"}').stdout)
    assert len(phu_xuan["predecessors"]) == 6
    bad = cli("command", "registry", "register-unit", '{"name": "x"}', timeout=60)
    assert bad.returncode == 1
    assert "validation_failed" in bad.stderr
    opened = cli("command", "registry", "open-campaign", '{"year": 2024, "scope_unit_id": "hue"}', timeout=60)
    assert opened.returncode == 0, opened.stderr  # a 2024 campaign on the old tree


def test_cli_asks_each_service_of_the_table_for_its_consumers(servers, registry_process):
    env = {**os.environ, "ANTQ_NATS_URL": servers.nats_url}
    antq = str(Path(sys.executable).parent / "antq")
    r = subprocess.run([antq, "registry", "consumers"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "bộ tiêu thụ của registry" in r.stdout  # registry listens to nothing yet: an empty table
    r = subprocess.run(
        [antq, "--lang", "en", "registry", "consumers"], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "registry consumers" in r.stdout, r.stderr
    r = subprocess.run([antq, "registry", "rebuild", "units"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "not_found" in r.stderr and "has no consumer" in r.stderr
    officer = {**env, "ANTQ_ACTOR_UNIT": "hue", "ANTQ_ACTOR_ROLE": "officer"}
    r = subprocess.run([antq, "registry", "consumers"], env=officer, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "forbidden" in r.stderr


def test_health_endpoints_and_asyncapi(registry_process):
    assert registry_process.status("/healthz") == 200
    assert registry_process.status("/readyz") == 200
    assert registry_process.status("/metrics") == 200
    assert registry_process.status("/asyncapi.json") == 200
    assert registry_process.status("/nope") == 404


def test_cli_prints_a_scopes_calendar_and_writes_its_ical_feed(servers, registry_process, tmp_path):
    env = {**os.environ, "ANTQ_NATS_URL": servers.nats_url, "COLUMNS": "250"}
    antq = str(Path(sys.executable).parent / "antq")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([antq, *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    p, w = f"p-{uuid.uuid4().hex[:8]}", f"w-{uuid.uuid4().hex[:8]}"
    for unit, kind, parent in ((p, "province", None), (w, "ward", p)):
        unit_cmd = {"unit_id": unit, "name": f"Đơn vị {unit}", "kind": kind, "valid_from": "2025-01-01"}
        cli(
            "command",
            "registry",
            "register-unit",
            json.dumps({**unit_cmd, **({"parent_id": parent} if parent else {})}),
        )
    cli("command", "registry", "open-campaign", json.dumps({"year": 2025, "scope_unit_id": p}))
    for unit, day in ((w, "2025-08-02"), (p, "2025-07-15")):
        plan = {
            "unit_id": unit,
            "year": 2025,
            "date": day,
            "venue": "Sân vận động",
            "ceremony": {},
            "festival_part": {},
        }
        cli("command", "registry", "plan-festival", json.dumps(plan))
    feed = tmp_path / "lich.ics"
    shown = cli("registry", "calendar", "--scope", p, "--from", "2025-07-01", "--to", "2025-08-19", "--ics", str(feed))
    text = " ".join(shown.stdout.split())
    assert text.index("2025-07-15") < text.index("2025-08-02") and "2 festivals" in text
    ical = feed.read_text(encoding="utf-8")
    assert ical.count("BEGIN:VEVENT") == 2 and "DTSTART;VALUE=DATE:20250715" in ical
    listed = json.loads(cli("registry", "calendar", "--scope", w, "--from", "2025-07-01", "--json").stdout)
    assert [f["unit_id"] for f in listed] == [w]
