"""The sample tree of Huế loads through the bus, idempotently, from CSV and from XLSX."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from shared.client.importer import import_units, read_rows
from tests.integration.conftest import uid

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "hue-2025.csv"


async def _subtree(admin, root, date="2025-08-01"):
    r = await admin.query("registry", "units", {"parent_id": root, "depth": "subtree", "date": date, "limit": 10000})
    assert r.ok, r.error
    return r.result["units"]


async def test_sample_of_hue_imports_twice_to_the_same_state(admin):
    rows = read_rows(SAMPLE)
    first = await import_units(admin, rows)
    assert first.failed == []
    assert first.created == len(rows) == 330
    before = await _subtree(admin, "hue")
    second = await import_units(admin, rows)
    assert second.failed == []
    assert (second.created, second.unchanged) == (0, 330)
    assert await _subtree(admin, "hue") == before
    assert len(before) == 329
    communes = [u for u in before if u["parent_id"] == "hue" and u["kind"] in ("ward", "commune")]
    assert len(communes) == 40
    assert sum(u["kind"] == "ward" for u in communes) == 21
    phu_xuan = next(u for u in communes if u["code"] == "19753")
    assert phu_xuan["name"] == "Phường Phú Xuân"
    assert await _subtree(admin, "hue", "2025-06-30") == []  # the new tree starts on 1 July 2025


async def test_xlsx_rows_and_bad_rows_are_reported_per_line(admin, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["unit_id", "code", "name", "kind", "parent_id", "valid_from", "flags"])
    ws.append(["xl-prov", "", "Tỉnh Excel", "province", "", "2025-01-01", ""])
    ws.append(["xl-c1", "", "Xã Một", "commune", "xl-prov", "2025-01-01", "key_area"])
    ws.append(["xl-bad", "", "Xã Hai", "planet", "xl-prov", "2025-01-01", ""])
    path = tmp_path / "tree.xlsx"
    wb.save(path)
    report = await import_units(admin, read_rows(path))
    assert report.ok == 2
    assert [(line, uid) for line, uid, _ in report.failed] == [(4, "xl-bad")]
    assert "kind" in report.failed[0][2]


async def test_rows_without_ids_wait_for_their_parent_and_a_failed_row_succeeds_on_a_later_run(admin, tmp_path):
    prov = uid("prov")
    children = tmp_path / "children.csv"
    children.write_text(
        "unit_id,code,name,kind,parent_id,valid_from,flags\n"
        f",,Thôn Một,hamlet,{prov}-c,2025-01-01,\n"
        f"{prov}-c,,Xã Cha,commune,{prov},2025-01-01,\n",
        encoding="utf-8",
    )
    first = await import_units(admin, read_rows(children))  # the province is not there yet
    assert {reason.split(":")[0] for _, _, reason in first.failed} == {"not_found"}
    parents = tmp_path / "parents.csv"
    parents.write_text(f"unit_id,code,name,kind,parent_id,valid_from,flags\n{prov},,Tỉnh,province,,2025-01-01,\n")
    assert (await import_units(admin, read_rows(parents))).created == 1
    second = await import_units(admin, read_rows(children))
    assert second.failed == []
    assert second.created == 2  # the commune first, then the hamlet without an id under it
    third = await import_units(admin, read_rows(children))
    assert (third.created, third.unchanged) == (0, 2)


async def test_a_row_that_differs_from_the_registry_is_reported_not_applied(admin, tmp_path):
    prov = uid("prov")
    path = tmp_path / "t.csv"
    path.write_text(f"unit_id,code,name,kind,parent_id,valid_from,flags\n{prov},,Tỉnh A,province,,2025-01-01,\n")
    assert (await import_units(admin, read_rows(path))).created == 1
    path.write_text(f"unit_id,code,name,kind,parent_id,valid_from,flags\n{prov},,Tỉnh B,province,,2025-01-01,\n")
    report = await import_units(admin, read_rows(path))
    assert report.failed[0][2].startswith("differs from the registry: name")
