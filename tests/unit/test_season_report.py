"""The season report's rows, as the office reads them: planned and held dates in their own columns; and no
cell that runs what a producer wrote (formula injection)."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile

from shared.client.season_report import (
    FIGURE_HEADINGS,
    FORMULA_START,
    UNIT_HEADINGS,
    _unit_row,
    write_csv,
    write_xlsx,
)


def row(**kw):
    unit = {
        "unit_id": "h",
        "code": "01",
        "name": "Thôn 1",
        "kind": "hamlet",
        "parent_id": "x",
        "parent_name": "Xã X",
        "planned": True,
        "held": True,
        "held_on_time": True,
        "reported_on_time": False,
        "both_parts": True,
        "participants": 120,
        "cost_vnd": 5_000_000,
        "held_on": "2026-08-12",
        "planned_date": "2026-08-10",
        **kw,
    }
    return dict(zip(UNIT_HEADINGS, _unit_row(unit, as_dates=True), strict=True))


def test_the_held_on_column_shows_the_day_it_was_held_not_the_day_planned():
    r = row()
    assert (r["Ngày dự kiến"], r["Ngày tổ chức"]) == (dt.date(2026, 8, 10), dt.date(2026, 8, 12))
    assert (r["Đúng hạn"], r["Báo cáo đúng hạn"]) == ("Có", "Không")


def test_a_unit_not_held_has_no_held_on_day():
    r = row(held=False, held_on=None)
    assert (r["Đã tổ chức"], r["Ngày tổ chức"]) == ("Không", None)


EVIL = '=HYPERLINK("http://example.invalid/x","Bấm vào đây")'


def evil_season() -> dict:
    figures = {k: 1 for k, _ in FIGURE_HEADINGS}
    units = [
        {**_unit("h1", EVIL, "hamlet"), "parent_name": "+SUM(1,2)"},
        {**_unit("w1", "@cmd", "ward"), "parent_name": "-1+1"},
        {**_unit("w2", "\t=1+1", "ward"), "code": "\r=2"},
    ]
    return {
        "coverage": {
            "year": 2026,
            "scope_name": EVIL,
            "tree_date": "2026-08-19",
            "breakdown": [{"name": EVIL, **figures}, {"name": "#N/A", **figures}],
            **figures,
        },
        "units": units,
        "awards-summary": {
            "nominations": {"f": {"submitted": 1}},
            "awards": {"f": {"approved": 1}},
            "awards_amount_vnd": 0,
        },
        "forms": {"f": "=1+1"},
        "gifts-summary": {
            "by_funding_source": {EVIL: 10},
            "by_beneficiary_kind": {"=2+2": {"entries": 1, "recipients": 1, "value_vnd": 10}},
            "entries": 1,
            "recipients": 1,
            "value_vnd": 10,
        },
    }


def _unit(unit_id: str, name: str, kind: str) -> dict:
    return {
        "unit_id": unit_id,
        "code": "01",
        "name": name,
        "kind": kind,
        "parent_id": "p",
        "planned": False,
        "held": False,
        "held_on_time": False,
        "reported_on_time": False,
        "both_parts": False,
        "participants": 0,
        "cost_vnd": 0,
        "held_on": None,
        "planned_date": None,
    }


def test_no_cell_of_the_xlsx_is_a_formula_whatever_a_producer_named_things(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    write_xlsx(evil_season(), path)
    with zipfile.ZipFile(path) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 7 and not any("<f>" in xml or "<f " in xml for xml in sheets)  # + compliance, models
    book = load_workbook(path)
    texts = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {EVIL, "+SUM(1,2)", "@cmd", "-1+1", "\t=1+1", "#N/A", "=1+1", "=2+2"} <= texts  # kept, as text
    assert all(c.data_type == "s" for ws in book.worksheets for row in ws.iter_rows() for c in row
               if isinstance(c.value, str))  # fmt: skip


def test_no_cell_of_the_csv_starts_a_formula(tmp_path):
    path = tmp_path / "r.csv"
    write_csv(evil_season(), path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]
    assert "'" + EVIL in cells and "'@cmd" in cells and "'\t=1+1" in cells and "'\r=2" in cells
    assert "'+SUM(1,2)" in cells and "'-1+1" in cells
    assert rows[0] == list(UNIT_HEADINGS)


def test_every_row_names_its_unit_and_columns_fit_their_content(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    write_xlsx(evil_season(), path)
    book = load_workbook(path)
    hamlets = book["Thôn, tổ dân phố"]
    assert (
        hamlets.cell(1, len(UNIT_HEADINGS)).value == "Mã định danh"
        and hamlets.cell(2, len(UNIT_HEADINGS)).value == "h1"
    )
    width = hamlets.column_dimensions["B"].width  # the unit's name
    assert width == min(len(EVIL) + 2, 60)
    assert book["Tổng hợp"].column_dimensions["A"].width >= len(EVIL)
    csv_path = tmp_path / "r.csv"
    write_csv(evil_season(), csv_path)
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "Mã định danh" and [r[-1] for r in rows[1:]] == ["h1", "w1", "w2"]
