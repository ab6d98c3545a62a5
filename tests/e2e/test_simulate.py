"""`antq simulate season` end to end: registry, awards, notifications and reporting as their own
processes (with a local SMTP server), a generated province driven through the bus only, and the
simulator's self-check: its own figures against reporting's at every level, the units missing, the
awards and gifts summaries, and notifications' delivery log. Then the check is shown to fail: the same
answers compared with a season that differs by one festival report are reported as differences."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import smtp_sink
from deploy.embedded import free_port
from shared.client.client import Client
from shared.client.simulate import check, simulate
from shared.contract.envelope import Actor
from tests import clock
from tests.e2e.conftest import ServiceProcess, running, service_process

ANTQ = str(Path(sys.executable).parent / "antq")


@pytest.fixture(scope="module")
def season_stack(servers, tmp_path_factory, registry_process) -> Iterator[dict[str, ServiceProcess]]:
    tmp = tmp_path_factory.mktemp("e2e-simulate")
    port = free_port()
    mail = smtp_sink.start(tmp / "mail", port)
    procs = {
        "awards": service_process(servers, "awards", tmp),
        "notifications": service_process(
            servers, "notifications", tmp, ANTQ_SMTP_PORT=str(port), ANTQ_SEND_POLL_SECONDS="0.1"
        ),
        "reporting": service_process(servers, "reporting", tmp, ANTQ_COVERAGE_INTERVAL_SECONDS="0.5"),
    }
    with running(procs):
        yield procs
    mail.stop()


@pytest.mark.timeout(600)
def test_a_simulated_season_reports_what_was_sent_at_every_level(servers, season_stack, tmp_path):
    # unsigned, as development allows (no issuer folder: the CLI signs nothing)
    env = {"ANTQ_NATS_URL": servers.nats_url, "COLUMNS": "160", "ANTQ_ISSUER_DIR": str(tmp_path / "no-issuer")}
    args = ["--lang", "en", "simulate", "season", "--units", "150", "--year", "2026", "--seed", "7"]
    r = subprocess.run(
        [ANTQ, *args, "--email", "so-cong-an@antq.test", "--out-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "expected = reported at every level" in r.stdout
    assert "deliveries to the email recipient: {'sent':" in r.stdout
    assert re.search(
        r"merger\(s\) on 2026-08-01: [1-9]\d* \(with dossiers decided after them\)", " ".join(r.stdout.split())
    )
    assert len(list(tmp_path.glob("so-ket-2026-sim-*.docx"))) == 1 and len(list(tmp_path.glob("*.xlsx"))) == 1
    assert "Traceback" not in r.stderr
    # a season cannot be laid over another on the same scope and year: refused, with what to do
    tree_root = next(tmp_path.glob("so-ket-2026-*.docx")).stem.removeprefix("so-ket-2026-")
    again = subprocess.run(
        [ANTQ, "simulate", "season", "--scope", tree_root, "--year", "2026"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert again.returncode == 1 and "already has a campaign for 2026" in again.stderr, again.stderr


@pytest.mark.timeout(600)
async def test_the_self_check_finds_a_difference_when_there_is_one(servers, season_stack):
    client = await Client.connect(servers.nats_url, Actor(id="simulator", unit=None, role="admin"), timeout=30)
    try:
        outcome = await simulate(client, 2026, seed=11, units=60)
        assert outcome.today == clock.today()  # the services' own date, read from their events
        assert outcome.ok, outcome.differences + outcome.failures
        # the same answers against a season in which one held festival was not reported
        season = outcome.season
        leaves = ("hamlet", "residential_group")
        unit_id, held = next(
            (u, f)
            for u, f in season.festivals.items()
            if f.held_on and u in outcome.tree.units and outcome.tree.units[u].kind in leaves
        )
        fewer = dataclasses.replace(
            season, festivals={**season.festivals, unit_id: dataclasses.replace(held, held_on=None, fate="unreported")}
        )
        found = await check.differences(client, outcome.tree, fewer, clock.today())
        assert any(f"coverage {unit_id} units_held: expected 0, reported 1" == d for d in found), found
        assert any(d.startswith(f"coverage {outcome.tree.root} units_held:") for d in found)
        # and "reported on time" follows the day the services report on
        later = await check.differences(client, outcome.tree, season, season.report_deadline.replace(year=2027))
        assert any("units_reported_on_time" in d for d in later)
    finally:
        await client.close()
