"""The season report's rows, as the office reads them: planned and held dates in their own columns."""

from __future__ import annotations

import datetime as dt

from shared.client.season_report import UNIT_HEADINGS, _unit_row


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
