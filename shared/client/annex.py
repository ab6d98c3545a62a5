"""A decision's annex, "Danh sách tập thể, cá nhân được khen thưởng" (kèm theo Quyết định số …), as the
office files it beside the decision: DOCX and XLSX, from awards' `decision` query. Collectives first,
then individuals, each numbered; a collective as it was named when it earned the award."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.client.season_docx import grid_table
from shared.client.season_report import dmy, vnd

TITLE = "DANH SÁCH TẬP THỂ, CÁ NHÂN ĐƯỢC KHEN THƯỞNG"
HEADINGS = [
    "TT",
    "Tên tập thể / Họ và tên",
    "Chức vụ",
    "Đơn vị",
    "Hình thức khen thưởng",
    "Thành tích",
    "Số tiền (đồng)",
]
SECTIONS = (("collective", "I. TẬP THỂ"), ("individual", "II. CÁ NHÂN"))


def subtitle(decision: dict[str, Any]) -> str:
    return (
        f"(Kèm theo Quyết định số {decision['decision_no']} ngày {dmy(decision['decision_date'])} "
        f"của {decision['decided_by']['name']})"
    )


def rows(decision: dict[str, Any], forms: dict[str, str] | None = None) -> dict[str, list[list[str]]]:
    """Per nominee kind, the numbered rows. `forms`: code → the form's name (default: the code). An
    award revoked since is still listed, marked (the decision listed it)."""
    out: dict[str, list[list[str]]] = {"collective": [], "individual": []}
    for item, award in zip(decision["nominations"], decision["awards"], strict=True):
        nominee = item["nominee"]
        unit = item.get("nominee_unit_name") or nominee["unit_id"]
        person = nominee.get("person")
        name = person["name"] if person else unit
        form = (forms or {}).get(item["award_form"], item["award_form"])
        if award and award.get("status") == "revoked":
            form += f" (đã hủy theo QĐ {award['revocation']['decision_no']})"
        kind_rows = out[nominee["kind"]]
        kind_rows.append(
            [
                str(len(kind_rows) + 1),
                name,
                (person or {}).get("position") or "",
                unit if person else "",
                form,
                item["achievement"],
                vnd(item.get("amount_vnd")),
            ]
        )
    return out


def write_docx(decision: dict[str, Any], path: Path, forms: dict[str, str] | None = None) -> None:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # A4, as offices print
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    head.add_run(TITLE).bold = True
    sub = doc.add_paragraph(subtitle(decision))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if decision.get("title"):
        about = doc.add_paragraph(decision["title"])
        about.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for kind, heading in SECTIONS:
        found = rows(decision, forms)[kind]
        if not found:
            continue
        doc.add_paragraph().add_run(f"{heading} ({len(found)})").bold = True
        grid_table(doc, HEADINGS, found)
    doc.add_paragraph(f"Người ký: {decision['signer']}")
    doc.save(str(path))


def write_xlsx(decision: dict[str, Any], path: Path, forms: dict[str, str] | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append([TITLE])
    sheet.append([subtitle(decision)])
    if decision.get("title"):
        sheet.append([decision["title"]])
    sheet["A1"].font = Font(bold=True)
    for kind, heading in SECTIONS:
        found = rows(decision, forms)[kind]
        if not found:
            continue
        sheet.append([])
        sheet.append([f"{heading} ({len(found)})"])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append(HEADINGS)
        for row in found:
            sheet.append([int(row[0]), *row[1:6], decision_amount(row[6])])
    sheet.append([])
    sheet.append([f"Người ký: {decision['signer']}"])
    for column, width in zip("ABCDEFG", (5, 32, 18, 28, 40, 50, 14), strict=True):
        sheet.column_dimensions[column].width = width
    book.save(str(path))


def decision_amount(text: str) -> int | str:
    """The amount as a number in the sheet (a cell sums), or the dash of an unknown one."""
    digits = text.replace(".", "")
    return int(digits) if digits.isdigit() else text


def write(decision: dict[str, Any], path: Path, forms: dict[str, str] | None = None) -> None:
    if path.suffix.lower() == ".xlsx":
        write_xlsx(decision, path, forms)
    elif path.suffix.lower() == ".docx":
        write_docx(decision, path, forms)
    else:
        raise ValueError(f"{path.name}: the annex is written as .docx or .xlsx")
