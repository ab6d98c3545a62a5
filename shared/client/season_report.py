"""The season report (báo cáo sơ kết / tổng kết) as the campaign office files it: its Vietnamese
vocabulary and headings, read from reporting's queries and written as XLSX or CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from shared.client import Client, Reply
from shared.client.season_sheets import add_review_sheets, awards_split
from shared.contract.registry import ATTACHED, COMMUNE_LEVEL, HAMLET_LEVEL
from shared.contract.registry.kinds import KIND_NAMES

LEVELS: dict[str, tuple[str, ...]] = {  # the report's sheets: one per level of the tree (Excel: 31 characters)
    "Cấp huyện": ("district",),
    "Cấp xã": COMMUNE_LEVEL,
    "Thôn, tổ dân phố": HAMLET_LEVEL,
    "Cơ quan, DN, trường học": ATTACHED,
}
KIND_VI = KIND_NAMES["vi"]
STATUS_VI = {
    "submitted": "Đã đề nghị",
    "returned": "Trả lại bổ sung",
    "resubmitted": "Đề nghị lại",
    "approved": "Đã có quyết định",
    "rejected": "Không khen thưởng",
    "conferred": "Đã trao",
    "revoked": "Đã thu hồi",
}
BENEFICIARY_VI = {
    "policy_family": "Gia đình chính sách",
    "martyr_family": "Gia đình liệt sĩ",
    "force_member_family_in_hardship": "Gia đình cán bộ, chiến sĩ khó khăn",
    "poor_household": "Hộ nghèo",
    "outstanding_collective": "Tập thể có thành tích xuất sắc",
    "outstanding_individual": "Cá nhân có thành tích xuất sắc",
    "other": "Khác",
    "unspecified": "Chưa phân loại (báo cáo Ngày hội)",
}
UNIT_HEADINGS = (
    "Mã",
    "Đơn vị",
    "Loại",
    "Đơn vị cấp trên",
    "Đã đăng ký",
    "Ngày dự kiến",
    "Đã tổ chức",
    "Ngày tổ chức",
    "Đúng hạn",
    "Báo cáo đúng hạn",
    "Đủ phần lễ và phần hội",
    "Số người tham gia",
    "Kinh phí (VND)",
    "Mã định danh",  # the unit's id: what a hamlet without an official code is known by
)
PARTICIPANTS, COST = UNIT_HEADINGS.index("Số người tham gia"), UNIT_HEADINGS.index("Kinh phí (VND)")
FIGURE_HEADINGS = (
    ("units_total", "Số đơn vị"),
    ("units_planned", "Đã đăng ký"),
    ("units_held", "Đã tổ chức"),
    ("units_held_on_time", "Đúng hạn"),
    ("units_reported_on_time", "Báo cáo đúng hạn"),
    ("coverage", "Tỷ lệ tổ chức"),
    ("units_held_both_parts", "Đủ phần lễ và phần hội"),
    ("ceremony_compliance", "Tỷ lệ đủ hai phần"),
    ("participants", "Số người tham gia"),
    ("cost_vnd", "Kinh phí (VND)"),
)


def dmy(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def _day(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso) if iso else None


def _yes(flag: bool) -> str:
    return "Có" if flag else "Không"


def pct(x: float) -> str:
    return f"{x:.0%}"


async def _pages(client: Client, service: str, name: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every page of a listing. A page larger than one message (`reply_too_large`: a province's rows run
    to hundreds of bytes each) is asked again at half the size, down to one row."""
    items: list[dict[str, Any]] = []
    after = None
    limit = int(params.get("limit", 1000))
    while True:
        reply = await client.query(service, name, {**params, "limit": limit, **({"after": after} if after else {})})
        if not reply.ok and (reply.error or {}).get("code") == "reply_too_large" and limit > 1:
            limit //= 2
            continue
        page = ok(reply)
        items += page[key]
        after = page["next"]
        if after is None:
            return items


async def coverage(client: Client, params: dict[str, Any], limit: int = 1000) -> dict[str, Any]:
    """A scope's `coverage` with its whole breakdown, read a page of children at a time (a province of
    thousands of communes is larger than one message); a page too large is asked again at half the size."""
    out: dict[str, Any] | None = None
    after = None
    while True:
        ask = {**params, "breakdown_limit": limit, **({"breakdown_after": after} if after else {})}
        reply = await client.query("reporting", "coverage", ask)
        if not reply.ok and (reply.error or {}).get("code") == "reply_too_large" and limit > 1:
            limit //= 2
            continue
        page = ok(reply)
        if out is None:
            out = page
        else:
            out["breakdown"] += page["breakdown"]
            if "previous_year" in out:
                out["previous_year"]["breakdown"] += page["previous_year"]["breakdown"]
        after = page.get("breakdown_next")
        if after is None:
            out["breakdown_next"] = None  # as one answer of the whole breakdown says
            return out


async def season(client: Client, year: int, scope: str, tree_date: str | None) -> dict[str, Any]:
    """Everything the season report shows, from the services' queries: reporting's figures (with the
    year before on this year's tree), summaries, point festivals, the units and those still missing;
    awards' form names and registry's models (the report still comes out without those two)."""
    params: dict[str, Any] = {"year": year, "scope_unit_id": scope}
    if tree_date:
        params["tree_date"] = tree_date
    out: dict[str, Any] = {"coverage": await coverage(client, {**params, "year_on_year": True})}
    for name in ("awards-summary", "gifts-summary", "point-festivals"):
        out[name] = ok(await client.query("reporting", name, params))
    day = out["coverage"]["tree_date"]
    try:  # the forms' names, from awards (the report still comes out, with codes, if awards does not answer)
        rules = await client.query("awards", "rules", {"date": day})
        out["forms"] = {f["code"]: f["name"] for f in rules.result.get("forms", [])} if rules.ok else {}
    except Exception:
        out["forms"] = {}
    try:  # the scope's models with their state on the tree date, from registry
        query = {"scope_unit_id": scope, "year": year, "date": day, "limit": 10_000}
        out["models"] = await _pages(client, "registry", "models", query, "models")
    except Exception:
        out["models"] = []
    out["missing"] = await _pages(client, "reporting", "units-missing", {**params, "limit": 5000}, "units")
    out["units"] = await _pages(client, "reporting", "units-report", {**params, "limit": 5000}, "units")
    out["illustrative"] = any({"illustrative", "illustrative_date"} & set(u.get("flags") or []) for u in out["units"])
    return out


def _unit_row(u: dict[str, Any], as_dates: bool) -> list[Any]:
    day = _day if as_dates else dmy
    return [
        u["code"] or "",
        u["name"],
        KIND_VI.get(u["kind"], u["kind"]),
        u.get("parent_name") or u["parent_id"] or "",
        _yes(u["planned"]),
        day(u["planned_date"]),
        _yes(u["held"]),
        day(u["held_on"]),
        _yes(u["held_on_time"]),
        _yes(u["reported_on_time"]),
        _yes(u["both_parts"]),
        u["participants"],
        u["cost_vnd"],
        u["unit_id"],
    ]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet program may run as a formula (OWASP)


def inert(value: Any) -> Any:
    """A CSV cell that no spreadsheet program runs: text that could start a formula gets a leading `'`."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _text_as_text(workbook: Any) -> None:
    """Every text cell is written as a string, never a formula (openpyxl makes one of any text starting
    with `=`) nor an error value: the report computes no formula, and a unit's name is a name."""
    for sheet in workbook.worksheets:
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"


def _fit_columns(workbook: Any) -> None:
    """Column widths from their content (between 8 and 60 characters), so names are not cut in Excel;
    a title row that spans the sheet does not widen its first column."""
    from openpyxl.utils import get_column_letter

    for sheet in workbook.worksheets:
        widths: dict[int, int] = {}
        for cells in sheet.iter_rows():
            filled = [c for c in cells if c.value is not None]
            if len(filled) <= 1 and cells[0].row <= 3:
                continue  # a title
            for cell in filled:
                text = cell.value.strftime("%d/%m/%Y") if isinstance(cell.value, dt.date) else str(cell.value)
                widths[cell.column] = max(widths.get(cell.column, 8), min(len(text) + 2, 60))
        for column, width in widths.items():
            sheet.column_dimensions[get_column_letter(column)].width = width


def write_xlsx(season: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    cov = season["coverage"]
    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    ws.append([f"Báo cáo sơ kết Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm {cov['year']}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Đơn vị: {cov['scope_name']}", f"Cây đơn vị ngày {dmy(cov['tree_date'])}"])
    if season.get("illustrative"):
        ws.append(["Ghi chú: một phần cây đơn vị là minh họa (illustrative), không phải số liệu chính thức."])
    ws.append([])
    ws.append(["Đơn vị", *(h for _, h in FIGURE_HEADINGS)])
    first = ws.max_row + 1
    for b in cov["breakdown"]:
        ws.append([b["name"], *(b[k] for k, _ in FIGURE_HEADINGS)])
    last = ws.max_row
    ws.append(["Tổng", *(cov[k] for k, _ in FIGURE_HEADINGS)])
    for cells in ws.iter_rows(min_row=first, max_row=ws.max_row):
        for cell, (k, _) in zip(cells[1:], FIGURE_HEADINGS, strict=True):
            cell.number_format = "0%" if k in ("coverage", "ceremony_compliance") else "#,##0"
    if cov["breakdown"]:
        chart = BarChart()
        chart.title = "Tỷ lệ đơn vị đã tổ chức Ngày hội"
        chart.y_axis.title = "Tỷ lệ"
        chart.y_axis.number_format = "0%"
        column = 1 + [k for k, _ in FIGURE_HEADINGS].index("coverage") + 1
        chart.add_data(Reference(ws, min_col=column, min_row=first - 1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        chart.width, chart.height = 24, 10
        ws.add_chart(chart, f"A{ws.max_row + 3}")
    for title, kinds in LEVELS.items():
        rows = [u for u in season["units"] if u["kind"] in kinds]
        if not rows:
            continue
        sheet = wb.create_sheet(title)
        sheet.append(list(UNIT_HEADINGS))
        for u in rows:
            sheet.append(_unit_row(u, as_dates=True))
        for cells in sheet.iter_rows(min_row=2):
            cells[PARTICIPANTS].number_format = cells[COST].number_format = "#,##0"
            cells[5].number_format = cells[7].number_format = "DD/MM/YYYY"
    awards, forms = season["awards-summary"], season.get("forms", {})
    sheet = wb.create_sheet("Khen thưởng")
    tables = (
        (
            "Đề nghị khen thưởng",
            awards["nominations"],
            ("submitted", "returned", "resubmitted", "approved", "rejected"),
        ),
        ("Khen thưởng", awards["awards"], ("approved", "conferred", "revoked")),
    )
    for title, counts, statuses in tables:
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append(["Hình thức", *(STATUS_VI[x] for x in statuses), "Tổng"])
        for form, by_status in sorted(counts.items()):
            values = [by_status.get(x, 0) for x in statuses]
            sheet.append([forms.get(form, form), *values, sum(values)])
        sheet.append([])
    sheet.append(["Tổng tiền thưởng (VND)", awards["awards_amount_vnd"]])
    sheet.cell(sheet.max_row, 2).number_format = "#,##0"
    awards_split(sheet, season, forms)
    gifts = season["gifts-summary"]
    sheet = wb.create_sheet("Quà tặng")
    sheet.append(["Nguồn kinh phí", "Giá trị (VND)"])
    for source, value in sorted(gifts["by_funding_source"].items()):
        sheet.append([source, value])
    sheet.append([])
    sheet.append(["Đối tượng", "Số lượt", "Số người nhận", "Giá trị (VND)"])
    for kind, v in sorted(gifts["by_beneficiary_kind"].items()):
        sheet.append([BENEFICIARY_VI.get(kind, kind), v["entries"], v["recipients"], v["value_vnd"]])
    sheet.append(["Tổng", gifts["entries"], gifts["recipients"], gifts["value_vnd"]])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells[1:]:
            cell.number_format = "#,##0"
    add_review_sheets(wb, season)
    _text_as_text(wb)
    _fit_columns(wb)
    wb.save(path)


def write_csv(season: dict[str, Any], path: Path) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8-sig") as f:  # the BOM lets spreadsheet programs read UTF-8
        out = csv.writer(f)
        out.writerow(UNIT_HEADINGS)
        for u in season["units"]:
            row = _unit_row(u, as_dates=False)
            row[PARTICIPANTS], row[COST] = vnd(row[PARTICIPANTS]), vnd(row[COST])
            out.writerow([inert(v) for v in row])


class QueryRefused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply.error))
        self.reply = reply


def ok(reply: Reply) -> dict[str, Any]:
    if not reply.ok:
        raise QueryRefused(reply)
    return reply.result


def vnd(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", ".")
