"""Awards end to end: registry and awards as their own processes, driven by plain nats-py through
the bus only. Then registry goes down and awards keeps working on what it knows."""

from __future__ import annotations

from collections.abc import Iterator

import nats
import pytest

from tests.e2e.awards_flow import Outside, check_stream, code, ok, run_flow
from tests.e2e.conftest import ServiceProcess, service_process


@pytest.fixture(scope="module")
def awards_process(servers, tmp_path_factory, registry_process) -> Iterator[ServiceProcess]:
    svc = service_process(servers, "awards", tmp_path_factory.mktemp("e2e-awards"))
    svc.start()
    svc.wait_ready()
    yield svc
    svc.stop()


def test_the_awards_cli_prints_rules_nominations_history_and_gifts(servers, registry_process, awards_process):
    """(Runs first: the next test stops registry.)"""
    import asyncio
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    flow = asyncio.run(run_flow(servers.nats_url))
    antq = str(Path(sys.executable).parent / "antq")
    env = {**os.environ, "ANTQ_NATS_URL": servers.nats_url, "COLUMNS": "250"}

    def cli(*args: str) -> str:
        r = subprocess.run([antq, "awards", *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr + r.stdout
        return " ".join(r.stdout.split())  # rich wraps lines at the terminal's width

    rules = cli("rules", "--date", "2025-06-30")
    assert "giay_khen_chu_tich_ubnd_huyen" in rules and "UNCONFIRMED" in rules
    assert "giay_khen_chu_tich_ubnd_huyen" not in cli("rules", "--date", "2025-07-01")
    assert flow.nomination_id in cli("nominations", "--unit", flow.province, "--year", "2026")
    history = cli("history", "--person", flow.person_id)
    assert "revoked" in history and "710.000" in history
    assert "1 entries, 5 recipients, 2.500.000 VND" in cli("gifts", "--unit", flow.ward)
    r = subprocess.run([antq, "awards", "history"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    # a decision from the command line: return (its reason asked for), resubmit, approve
    nominee = {"kind": "collective", "unit_id": flow.group}
    submit = {"nominee": nominee, "award_form": "giay_khen_chu_tich_ubnd_xa", "year": 2026, "achievement": "Tổ tự quản"}
    sent = subprocess.run(
        [antq, "command", "awards", "submit-nomination", json.dumps(submit)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    nomination = json.loads(sent.stdout)["nomination_id"]
    back = subprocess.run(
        [antq, "awards", "decide", nomination, "return"], input="Bổ sung biên bản\n",
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert back.returncode == 0 and f"nomination {nomination} returned" in back.stdout, back.stderr + back.stdout
    early = subprocess.run(
        [antq, "awards", "decide", nomination, "approve", "--decision-no", "5/QĐ", "--decision-date", "2026-08-05"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert early.returncode == 1 and "conflict" in early.stderr  # returned: resubmitted first
    again = {"nomination_id": nomination}
    subprocess.run([antq, "command", "awards", "resubmit-nomination", json.dumps(again)], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    approved = subprocess.run(
        [antq, "awards", "decide", nomination, "approve", "--decision-no", "5/QĐ", "--decision-date", "2026-08-05"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert approved.returncode == 0 and "approved: award" in approved.stdout, approved.stderr
    wrong = subprocess.run([antq, "awards", "decide", nomination, "maybe"], env=env, capture_output=True, text=True)
    assert wrong.returncode == 2 and "is not a decision" in wrong.stderr


async def test_the_awards_flow_through_the_bus_then_without_registry(servers, registry_process, awards_process):
    flow = await run_flow(servers.nats_url)
    await check_stream(servers.nats_url, flow)

    registry_process.stop()  # registry down: awards answers from its own replicas
    nc = await nats.connect(servers.nats_url)
    c = Outside(nc)
    try:
        gift = await c.send(
            "awards",
            "record-gift",
            {
                "unit_id": flow.group,
                "beneficiary_kind": "poor_household",
                "recipients": 2,
                "value_vnd": 1_000_000,
                "funding_source": "Mặt trận phường",
            },
            flow.ward,
            "officer",
        )
        assert code(gift) == "ok", gift
        nominated = await c.send(
            "awards",
            "submit-nomination",
            {
                "nominee": {"kind": "collective", "unit_id": flow.group},
                "award_form": "bang_khen_chu_tich_ubnd_tinh",
                "year": 2026,
                "achievement": "Tổ dân phố tiêu biểu",
            },
            flow.ward,
            "officer",
        )
        assert ok(nominated)["grantor"]["unit_id"] == flow.province
        gifts = ok(await c.query("awards", "gifts", {"unit_id": flow.ward}))
        assert gifts["totals"]["entries"] == 2
        unknown = await c.send(
            "awards",
            "submit-nomination",
            {
                "nominee": {"kind": "collective", "unit_id": "registered-while-registry-was-down"},
                "award_form": "bang_khen_chu_tich_ubnd_tinh",
                "year": 2026,
                "achievement": "x",
            },
            "",
            "admin",
        )
        assert code(unknown) == "not_found" and unknown["error"]["details"][0]["rule"] == "not_known_yet"
    finally:
        await nc.close()
    assert awards_process.status("/readyz") == 200
