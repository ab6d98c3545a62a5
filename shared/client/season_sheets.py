"""The season report's review sheets (sơ kết): compliance with the two parts, year on year across the
2025 reform, models, point festivals, and awards split as the office counts them. Each reads what
`season_report.season` gathered; a part a service did not answer is left out."""

from __future__ import annotations

import datetime as dt
from typing import Any

LEVEL_VI = {
    "commune": "Cấp xã",
    "district": "Cấp huyện",
    "province": "Cấp tỉnh",
    "provincial_agency": "Sở, ngành cấp tỉnh",
    "provincial_police": "Công an tỉnh",
    "outside": "Bộ, ngành Trung ương",
    "ministry": "Bộ Công an",
    "unknown": "Chưa rõ",
}
NOMINEE_VI = {"collective": "Tập thể", "individual": "Cá nhân"}
STATE_VI = {"proposed": "Đề xuất", "recognised": "Được công nhận", "retired": "Dừng hoạt động"}
REASON_VI = {
    "nothing_planned": "Chưa đăng ký, chưa tổ chức",
    "one_part_only": "Chỉ tổ chức một phần",
    "report_returned": "Báo cáo bị cấp trên trả lại",
}
MODEL_COUNTS = (
    ("models_registered", "Mô hình mới"),
    ("models_recognised", "Được công nhận"),
    ("models_replicated", "Lượt nhân rộng"),
    ("models_at_festival", "Ra mắt tại Ngày hội"),
)


def _day(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso[:10]) if iso else None


def _dates(sheet: Any, column: int, first_row: int) -> None:
    for cells in sheet.iter_rows(min_row=first_row):
        if isinstance(cells[column - 1].value, dt.date):
            cells[column - 1].number_format = "DD/MM/YYYY"


def _bold(sheet: Any) -> None:
    from openpyxl.styles import Font

    sheet.cell(sheet.max_row, 1).font = Font(bold=True)


def _numbers(sheet: Any, first_row: int, first_col: int = 2, percent: tuple[int, ...] = ()) -> None:
    for cells in sheet.iter_rows(min_row=first_row):
        for cell in cells[first_col - 1 :]:
            if isinstance(cell.value, int | float):
                cell.number_format = "0%" if cell.column in percent else "#,##0"


def compliance(wb: Any, season: dict[str, Any]) -> None:
    """Both parts held, per child unit, and the units that held one part only."""
    cov = season["coverage"]
    sheet = wb.create_sheet("Tuân thủ hai phần")
    sheet.append(["Đơn vị", "Đã tổ chức", "Đủ phần lễ và phần hội", "Tỷ lệ"])
    for b in [*cov["breakdown"], {**cov, "name": "Tổng"}]:
        sheet.append([b["name"], b["units_held"], b.get("units_held_both_parts", 0), b["ceremony_compliance"]])
    _numbers(sheet, 2, percent=(4,))
    one_part = [u for u in season.get("missing", []) if u.get("reason") == "one_part_only"]
    if one_part:
        sheet.append([])
        sheet.append(["Đơn vị chỉ tổ chức một phần"])
        _bold(sheet)
        for u in one_part:
            sheet.append([u["name"], u.get("parent_name") or ""])


def year_on_year(wb: Any, season: dict[str, Any]) -> None:
    """Year Y−1 on year Y's tree (through the lineage) beside Y, per child unit."""
    cov = season["coverage"]
    before = cov.get("previous_year")
    if not before:
        return
    y, y1 = cov["year"], before["year"]
    sheet = wb.create_sheet("So sánh cùng kỳ")
    sheet.append([f"Năm {y1} tính trên cây đơn vị của năm {y} (qua sáp nhập, chia tách)"])
    _bold(sheet)
    sheet.append(["Đơn vị", f"Đã tổ chức {y1}", f"Đã tổ chức {y}", f"Tỷ lệ {y1}", f"Tỷ lệ {y}",
                  f"Người tham gia {y1}", f"Người tham gia {y}"])  # fmt: skip
    earlier = {b["unit_id"]: b for b in before.get("breakdown", [])}
    rows = [(b, earlier.get(b["unit_id"], {})) for b in cov["breakdown"]] + [({**cov, "name": "Tổng"}, before)]
    for now, then in rows:
        sheet.append([
            now["name"], then.get("units_held", 0), now["units_held"], then.get("coverage", 0.0), now["coverage"],
            then.get("participants", 0), now["participants"],
        ])  # fmt: skip
    _numbers(sheet, 3, percent=(4, 5))


def models(wb: Any, season: dict[str, Any]) -> None:
    """The year's models by child unit, and the models of the scope with their state."""
    cov = season["coverage"]
    sheet = wb.create_sheet("Mô hình")
    sheet.append(["Đơn vị", *(h for _, h in MODEL_COUNTS)])
    for b in [*cov["breakdown"], {**cov, "name": "Tổng"}]:
        sheet.append([b["name"], *(b.get(k, 0) for k, _ in MODEL_COUNTS)])
    _numbers(sheet, 2)
    listed = season.get("models") or []
    if listed:
        sheet.append([])
        sheet.append(
            ["Mô hình", "Đơn vị", "Ngày ra mắt", "Trạng thái", "Cấp công nhận", "Quyết định", "Lượt nhân rộng"]
        )
        _bold(sheet)
        first = sheet.max_row + 1
        for m in listed:
            sheet.append([
                m["name"], m.get("unit_name") or m["unit_id"], _day(m["launched_on"]),
                STATE_VI.get(m["state"], m["state"]),
                LEVEL_VI.get(m.get("level") or "", m.get("level") or ""), m.get("decision_no") or "",
                m.get("replications", 0),
            ])  # fmt: skip
        _dates(sheet, 3, first)


def point_festivals(wb: Any, season: dict[str, Any]) -> None:
    points = season.get("point-festivals")
    if not points:
        return
    sheet = wb.create_sheet("Ngày hội điểm")
    sheet.append(["Cấp chỉ đạo điểm", "Số Ngày hội điểm", "Đã tổ chức", "Số đại biểu"])
    for level, v in points["by_level"].items():
        sheet.append([LEVEL_VI.get(level, level), v["festivals"], v["held"], v["delegates"]])
    sheet.append(
        ["Tổng", points["festivals"], sum(v["held"] for v in points["by_level"].values()), points["delegates"]]
    )
    sheet.append([])
    sheet.append(["Đơn vị", "Cấp", "Ngày", "Người tham gia", "Đại biểu"])
    _bold(sheet)
    first = sheet.max_row + 1
    for level, v in points["by_level"].items():
        for item in v["items"]:
            sheet.append([
                item["unit_name"], LEVEL_VI.get(level, level), _day(item.get("date")), item.get("participants", 0),
                "; ".join(item.get("delegates") or []),
            ])  # fmt: skip
    _dates(sheet, 3, first)


def awards_split(sheet: Any, season: dict[str, Any], forms: dict[str, str]) -> None:
    """On the awards sheet: the awards standing by collective and individual, by granting level, and by
    form and kind, each with its amount."""
    standing = season["awards-summary"].get("standing")
    if not standing:
        return
    sheet.append([])
    sheet.append(["Khen thưởng theo đối tượng", "Số lượng", "Số tiền (VND)"])
    _bold(sheet)
    for kind, v in sorted(standing["by_nominee_kind"].items()):
        sheet.append([NOMINEE_VI.get(kind, kind), v.get("awards", 0), v.get("amount_vnd", 0)])
    sheet.append([])
    sheet.append(["Khen thưởng theo cấp khen", "Số lượng", "Số tiền (VND)"])
    _bold(sheet)
    for level, v in sorted(standing["by_granting_level"].items()):
        sheet.append([LEVEL_VI.get(level, level), v.get("awards", 0), v.get("amount_vnd", 0)])
    sheet.append([])
    sheet.append(["Hình thức", "Tập thể", "Tiền (VND)", "Cá nhân", "Tiền (VND)"])
    _bold(sheet)
    for form, kinds in sorted(standing["by_form"].items()):
        c, i = kinds.get("collective", {}), kinds.get("individual", {})
        sheet.append([forms.get(form, form), c.get("awards", 0), c.get("amount_vnd", 0), i.get("awards", 0),
                      i.get("amount_vnd", 0)])  # fmt: skip


def add_review_sheets(wb: Any, season: dict[str, Any]) -> None:
    compliance(wb, season)
    year_on_year(wb, season)
    models(wb, season)
    point_festivals(wb, season)
