"""The README's examples run as written, twice: the plain nats-py client against a registry of its
own (on a broker of its own, so the units it names clash with no other test's)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.embedded import Child, free_port, nats_command
from tests.e2e.conftest import service_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def own_registry(servers, tmp_path_factory) -> Iterator[str]:
    from tests.conftest import SERVER_START, Servers

    work = tmp_path_factory.mktemp("examples")
    port = free_port()
    broker = Child("nats", nats_command(work / "data", port, free_port()), port, log=work / "nats.log")
    broker.start(wait=SERVER_START)
    mine = Servers(f"nats://127.0.0.1:{port}", servers.mongodb_url, work, nats=broker)
    registry = service_process(mine, "registry", work)
    registry.start()
    registry.wait_ready()
    yield mine.nats_url
    registry.stop()
    broker.stop()


def test_the_readmes_plain_client_runs_as_written_twice(own_registry):
    """It opens the 2025 campaign (a conflict the second time), plans a festival as the ward's officer
    and prints that festival's own event, not an older one."""
    antq = str(Path(sys.executable).parent / "antq")
    env = {"ANTQ_NATS_URL": own_registry, "PATH": str(Path(sys.executable).parent)}
    for unit, kind, parent in (
        ("hue", "province", None),
        ("hue-19753", "ward", "hue"),
        ("hue-19753-h01", "residential_group", "hue-19753"),
    ):
        data = {"unit_id": unit, "name": unit, "kind": kind, "valid_from": "2025-01-01"}
        data |= {"parent_id": parent} if parent else {}
        made = subprocess.run([antq, "command", "registry", "register-unit", json.dumps(data)], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert made.returncode == 0, made.stderr
    example = str(ROOT / "examples" / "plain_client.py")
    outputs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, example, own_registry], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        outputs.append(r.stdout)
    assert "open-campaign: {" in outputs[0] and "'ok': True" in outputs[0]
    assert "open-campaign: conflict" in outputs[1]
    for out in outputs:
        assert "event: vn.antq.registry.festival.planned.v1" in out, out
