"""Reporting end to end: registry, awards and reporting as their own processes; a separate
reporting-consumer process (examples/coverage_subscriber.py, the README's subscriber) listens to the
topic while an outside client scripts a small season through the bus — including a unit moved after
the window — and then exports the season report with the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from openpyxl import load_workbook

from deploy.embedded import Child
from tests.e2e.awards_flow import Outside, ok
from tests.e2e.conftest import ServiceProcess, running, service_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(servers, tmp_path_factory, registry_process) -> Iterator[dict[str, ServiceProcess]]:
    tmp = tmp_path_factory.mktemp("e2e-reporting")
    procs = {
        "awards": service_process(servers, "awards", tmp),
        "reporting": service_process(servers, "reporting", tmp, ANTQ_COVERAGE_INTERVAL_SECONDS="0.5"),
    }
    with running(procs):
        yield procs


async def season(url: str) -> dict[str, str]:
    """Province P: wards W1 (groups G1, G2) and W2 (group G3). G1 and W1 hold on 10 Aug, G2 only plans;
    G2 moves to W2 on 1 Sep (after the window); one award and one gift for G1."""
    nc = await nats.connect(url)
    c = Outside(nc)
    t = uuid.uuid4().hex[:6]
    u = {k: f"{k}-{t}" for k in ("p", "w1", "w2", "g1", "g2", "g3")}
    try:
        for key, kind, parent in (
            ("p", "province", None),
            ("w1", "ward", "p"),
            ("w2", "ward", "p"),
            ("g1", "residential_group", "w1"),
            ("g2", "residential_group", "w1"),
            ("g3", "residential_group", "w2"),
        ):
            ok(
                await c.send(
                    "registry",
                    "register-unit",
                    {
                        "unit_id": u[key],
                        "name": f"Đơn vị {u[key]}",
                        "kind": kind,
                        "parent_id": u[parent] if parent else None,
                        "valid_from": "2024-01-01",
                    },
                )
            )
        ok(await c.send("registry", "open-campaign", {"year": 2026, "scope_unit_id": u["p"]}))
        for key, held in (("g1", True), ("w1", True), ("g2", False)):
            fid = ok(
                await c.send(
                    "registry",
                    "plan-festival",
                    {
                        "unit_id": u[key],
                        "year": 2026,
                        "date": "2026-08-10",
                        "venue": "Nhà văn hóa",
                        "ceremony": {},
                        "festival_part": {},
                    },
                )
            )["festival_id"]
            if held:
                ok(
                    await c.send(
                        "registry",
                        "report-festival",
                        {
                            "festival_id": fid,
                            "held_on": "2026-08-10",
                            "participants": 150,
                            "ceremony_held": True,
                            "festival_part_held": key == "g1",
                            "cost_vnd": 2_000_000,
                        },
                    )
                )
        ok(
            await c.send(
                "registry", "move-unit", {"unit_id": u["g2"], "new_parent_id": u["w2"], "effective_date": "2026-09-01"}
            )
        )
        nomination = {
            "nominee": {"kind": "collective", "unit_id": u["g1"]},
            "award_form": "giay_khen_chu_tich_ubnd_xa",
            "year": 2026,
            "achievement": "Tổ dân phố tiêu biểu",
        }
        nid = ok(await c.until_known("awards", "submit-nomination", nomination, "", "admin"))["nomination_id"]
        ok(
            await c.send(
                "awards",
                "approve-nomination",
                {"nomination_id": nid, "decision_no": "9/QĐ", "decision_date": "2026-08-05"},
            )
        )
        ok(
            await c.send(
                "awards",
                "record-gift",
                {
                    "unit_id": u["g1"],
                    "beneficiary_kind": "policy_family",
                    "recipients": 3,
                    "value_vnd": 1_500_000,
                    "funding_source": "Ngân sách phường",
                    "given_on": "2026-08-10",
                },
            )
        )
        return u
    finally:
        await nc.close()


async def query(url: str, name: str, params: dict) -> dict:
    nc = await nats.connect(url)
    try:
        return json.loads(
            (await nc.request(f"antq.query.reporting.{name}", json.dumps(params).encode(), timeout=10)).data
        )
    finally:
        await nc.close()


async def until(fn, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await fn()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.3)


async def test_a_scripted_season_through_the_bus(servers, stack, tmp_path):
    log = tmp_path / "subscriber.log"
    subscriber = Child(
        "subscriber",
        [sys.executable, str(ROOT / "examples" / "coverage_subscriber.py"), "--replay", servers.nats_url],
        0,
        log=log,
    )
    subscriber.start()
    try:
        u = await season(servers.nats_url)

        async def held_in_subscriber() -> list[dict]:
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            # the figures settle as reporting learns the tree and the festivals (two consumers, each in
            # its own time): the subscriber ends up with the season's figures, without polling
            return [
                x
                for x in lines
                if x["scope"] == u["p"] and (x["units_total"], x["units_planned"], x["units_held"]) == (5, 3, 2)
            ]

        seen = await until(held_in_subscriber)
        assert seen, log.read_text()[-2000:]
        assert seen[-1]["coverage"] == 0.4  # W1, W2, G1, G2, G3
    finally:
        subscriber.stop()

    def rows_of(result: dict) -> dict:
        return {b["unit_id"]: (b["units_total"], b["units_planned"], b["units_held"]) for b in result["breakdown"]}

    async def coverage_on(day: str) -> dict:
        params = {"year": 2026, "scope_unit_id": u["p"], "tree_date": day}
        return ok(await query(servers.nats_url, "coverage", params))

    async def on(day: str, expected: dict) -> dict:  # the move reaches reporting's tree on its own consumer
        async def match() -> dict | None:
            result = await coverage_on(day)
            return result if rows_of(result) == expected else None

        return await until(match) or await coverage_on(day)

    aug = await on("2026-08-15", {u["w1"]: (3, 3, 2), u["w2"]: (2, 0, 0)})
    sep = await on("2026-09-15", {u["w1"]: (2, 2, 2), u["w2"]: (3, 1, 0)})
    rows = {"aug": rows_of(aug), "sep": rows_of(sep)}
    assert rows["aug"] == {u["w1"]: (3, 3, 2), u["w2"]: (2, 0, 0)}
    assert rows["sep"] == {u["w1"]: (2, 2, 2), u["w2"]: (3, 1, 0)}  # G2 counts under W2 on a September tree
    assert (aug["units_held"], aug["ceremony_compliance"], aug["participants"]) == (2, 0.5, 300)

    async def gift_arrived() -> bool:  # the gift reaches reporting through awards' stream
        summary = await query(servers.nats_url, "gifts-summary", {"year": 2026, "scope_unit_id": u["p"]})
        return summary["ok"] and summary["result"]["entries"] == 1

    assert await until(gift_arrived)
    out = tmp_path / "so-ket-2026.xlsx"
    env = {**os.environ, "ANTQ_NATS_URL": servers.nats_url}
    antq = str(Path(sys.executable).parent / "antq")
    r = await asyncio.to_thread(
        subprocess.run,
        [
            antq,
            "reporting",
            "export",
            "--year",
            "2026",
            "--scope",
            u["p"],
            "--tree-date",
            "2026-08-15",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    wb = load_workbook(out)
    assert wb.sheetnames == [
        "Tổng hợp",
        "Cấp xã",
        "Thôn, tổ dân phố",
        "Khen thưởng",
        "Quà tặng",
        "Tuân thủ hai phần",
        "So sánh cùng kỳ",
        "Mô hình",
        "Ngày hội điểm",
    ]
    summary = wb["Tổng hợp"]
    assert len(summary._charts) == 1  # coverage by child unit
    heads = [c.value for c in wb["Thôn, tổ dân phố"][1]]
    assert heads[:3] == ["Mã", "Đơn vị", "Loại"] and "Số người tham gia" in heads and "Đúng hạn" in heads
    g1 = next(row for row in wb["Thôn, tổ dân phố"].iter_rows(min_row=2, values_only=True) if row[1].endswith(u["g1"]))
    assert g1[2] == "Tổ dân phố" and g1[3] == f"Đơn vị {u['w1']}"  # kinds and parents in words
    assert g1[7].date() == dt.date(2026, 8, 10) and g1[11] == 150 and g1[12] == 2_000_000
    assert wb["Thôn, tổ dân phố"].cell(2, 8).number_format == "DD/MM/YYYY"
    assert summary["A2"].value == f"Đơn vị: Đơn vị {u['p']}"
    awards_rows = list(wb["Khen thưởng"].iter_rows(values_only=True))
    assert (
        "Hình thức",
        "Đã đề nghị",
        "Trả lại bổ sung",
        "Đề nghị lại",
        "Đã có quyết định",
        "Không khen thưởng",
        "Tổng",
    ) in awards_rows
    assert any(row[0] == "Giấy khen của Chủ tịch Ủy ban nhân dân cấp xã" for row in awards_rows)
    assert wb["Thôn, tổ dân phố"].cell(2, 13).number_format == "#,##0"
    assert any(
        row[0] == "Ngân sách phường" and row[1] == 1_500_000 for row in wb["Quà tặng"].iter_rows(values_only=True)
    )
    docx_out = tmp_path / "bao-cao-so-ket-2026.docx"
    r = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "export", "--year", "2026", "--scope", u["p"], "--format", "docx", "--out", str(docx_out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    from docx import Document

    heading = Document(str(docx_out)).paragraphs[0].text
    assert heading == "Báo cáo sơ kết Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm 2026"
    wrong = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "export", "--year", "2026", "--scope", u["p"], "--format", "docx", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and "does not end in .docx" in wrong.stderr
    csv_out = tmp_path / "so-ket-2026.csv"
    r = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "export", "--year", "2026", "--scope", u["p"], "--out", str(csv_out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    text = csv_out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Mã,Đơn vị,Loại") and "2.000.000" in text and "10/08/2026" in text
    table = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "coverage", "--year", "2026", "--scope", u["p"]],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    coverage = ok(await query(servers.nats_url, "coverage", {"year": 2026, "scope_unit_id": u["p"]}))
    [total] = [line for line in table.stdout.splitlines() if "Tổng" in line]
    cells = [cell.strip() for cell in total.split("│") if cell.strip()]
    # the total row: units, planned, held, on time, coverage, both parts, participants, as the query says
    assert cells[1:5] == [
        str(coverage[k]) for k in ("units_total", "units_planned", "units_held", "units_held_on_time")
    ]
    assert cells[5] == f"{coverage['coverage']:.0%}" and cells[-1] == f"{coverage['participants']:,}".replace(",", ".")
    # the verbs people ask with: the units to chase (ids whole at 80 columns), one unit's year, the festivals
    missing = ok(await query(servers.nats_url, "units-missing", {"year": 2026, "scope_unit_id": u["p"]}))
    narrow = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "missing", "--year", "2026", "--scope", u["p"]],
        env={**env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert narrow.returncode == 0, narrow.stderr
    for unit in missing["units"]:
        assert unit["unit_id"] in narrow.stdout  # never cut
    listed = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "missing", "--year", "2026", "--scope", u["p"], "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [x["unit_id"] for x in json.loads(listed.stdout)] == [x["unit_id"] for x in missing["units"]]
    status = await asyncio.to_thread(
        subprocess.run,
        [antq, "reporting", "unit-status", "--year", "2026", "--unit", u["g1"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0 and json.loads(status.stdout)["unit_id"] == u["g1"], status.stderr
    festivals = await asyncio.to_thread(
        subprocess.run,
        [antq, "registry", "festivals", "--scope", u["p"], "--from", "2026-07-01", "--to", "2026-08-19", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert festivals.returncode == 0, festivals.stderr
    days = [f["date"] for f in json.loads(festivals.stdout)]
    assert days == sorted(days) and days
