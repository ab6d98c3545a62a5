"""The sample tree of Huế loads through the bus, idempotently, from CSV and from XLSX."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

from shared.client.importer import import_units, read_rows
from shared.client.reform import apply_reform, read_csv
from shared.contract import registry as c
from tests.integration.conftest import uid

DATA = Path(__file__).resolve().parents[2] / "data"
OLD_TREE = DATA / "sample" / "hue-2025-06-30.csv"
BELOW = DATA / "sample" / "hue-2025.csv"
LINEAGE, NEW_UNITS = DATA / "reference" / "hue-units-2025-lineage.csv", DATA / "reference" / "hue-units-2025.csv"


async def _subtree(admin, root, date="2025-08-01"):
    r = await admin.query("registry", "units", {"parent_id": root, "depth": "subtree", "date": date, "limit": 10000})
    assert r.ok, r.error
    return r.result["units"]


async def _load(admin):
    """The sample, as `make up` loads it: the tree of 30 Jun 2025, the reform, the units below."""
    old = await import_units(admin, read_rows(OLD_TREE))
    reform = await apply_reform(
        admin, read_csv(LINEAGE), read_csv(NEW_UNITS), dt.date(2025, 7, 1), "hue", "hue-old-", "hue-"
    )
    below = await import_units(admin, read_rows(BELOW))
    return old, reform, below


async def test_the_sample_of_hue_tells_its_history_and_loads_twice_to_the_same_state(admin):
    old, reform, below = await _load(admin)
    assert (old.failed, reform.failed, below.failed) == ([], [], [])
    assert (old.created, reform.merged, reform.moved, reform.closed, below.created) == (143, 39, 1, 9, 290)
    before, after = await _subtree(admin, "hue", "2025-06-30"), await _subtree(admin, "hue")
    again = await _load(admin)
    assert (again[0].created, again[0].unchanged, again[2].created, again[2].unchanged) == (0, 143, 0, 290)
    assert again[1].failed == []
    assert (again[1].merged, again[1].moved, again[1].closed, again[1].unchanged) == (0, 0, 0, 49)  # said so
    assert (await _subtree(admin, "hue", "2025-06-30"), await _subtree(admin, "hue")) == (before, after)
    assert len(before) == 9 + 133
    assert sum(u["kind"] == "township" for u in before) == 7  # thị trấn, before the reform
    communes = [u for u in after if u["parent_id"] == "hue" and u["kind"] in ("ward", "commune")]
    assert len(communes) == 40
    assert sum(u["kind"] == "ward" for u in communes) == 21
    phu_xuan = (await admin.query("registry", "unit", {"unit_id": "hue-19753"})).result
    assert phu_xuan["name"] == "Phường Phú Xuân"
    assert len(phu_xuan["predecessors"]) == 6
    duong_no = (await admin.query("registry", "unit", {"unit_id": "hue-19909", "date": "2025-08-01"})).result
    assert duong_no["parent_id"] == "hue"  # not rearranged: it moved up when the districts ended
    assert not any("key_area" in u["flags"] for u in after)  # no invented flags on official units
    assert (await admin.send(c.OpenCampaign(year=2024, scope_unit_id="hue"))).ok  # the old tree has 2024


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
