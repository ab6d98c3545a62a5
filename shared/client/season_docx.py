"""The narrative season report as the campaign office files it, as DOCX: "Báo cáo sơ kết Ngày hội toàn
dân bảo vệ an ninh Tổ quốc năm Y" for a scope. Headline figures in sentences and in a table of key
figures, the tables by unit, the units still missing, and placeholders for what no system knows
(lessons, directions), which the office writes in. Built from what `season_report.season` gathered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.client.season_report import BENEFICIARY_VI, dmy, pct, vnd
from shared.client.season_sheets import LEVEL_VI, NOMINEE_VI, REASON_VI

PLACEHOLDER = "[Ban Chỉ đạo bổ sung]"


def key_figures(season: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline figures, as the table "Số liệu chính" shows them (a test reads them back)."""
    cov = season["coverage"]
    standing = season["awards-summary"].get("standing", {}).get("by_nominee_kind", {})
    gifts = season["gifts-summary"]
    rows = [
        ("Số đơn vị thuộc diện tổ chức", vnd(cov["units_total"])),
        ("Số đơn vị đã tổ chức", vnd(cov["units_held"])),
        ("Tỷ lệ tổ chức", pct(cov["coverage"])),
        ("Tổ chức đủ phần lễ và phần hội", vnd(cov.get("units_held_both_parts", 0))),
        ("Tổ chức đúng thời gian", vnd(cov["units_held_on_time"])),
        ("Báo cáo được cấp trên chấp nhận", vnd(cov.get("units_accepted", 0))),
        ("Số người tham gia", vnd(cov["participants"])),
        ("Kinh phí (đồng)", vnd(cov["cost_vnd"])),
        ("Mô hình mới", vnd(cov.get("models_registered", 0))),
        ("Mô hình được công nhận", vnd(cov.get("models_recognised", 0))),
        ("Lượt nhân rộng mô hình", vnd(cov.get("models_replicated", 0))),
        ("Tập thể được khen thưởng", vnd(standing.get("collective", {}).get("awards", 0))),
        ("Cá nhân được khen thưởng", vnd(standing.get("individual", {}).get("awards", 0))),
        ("Tiền thưởng (đồng)", vnd(season["awards-summary"]["awards_amount_vnd"])),
        ("Suất quà tặng", vnd(gifts["recipients"])),
        ("Giá trị quà tặng (đồng)", vnd(gifts["value_vnd"])),
    ]
    points = season.get("point-festivals")
    if points:
        rows.append(("Ngày hội điểm", vnd(points["festivals"])))
    return rows


def sentences(season: dict[str, Any]) -> list[str]:
    cov = season["coverage"]
    y, scope = cov["year"], cov["scope_name"]
    out = [
        f"Năm {y}, toàn {scope} có {vnd(cov['units_total'])} đơn vị thuộc diện tổ chức Ngày hội toàn dân bảo vệ an "
        f"ninh Tổ quốc; {vnd(cov['units_held'])} đơn vị đã tổ chức, đạt {pct(cov['coverage'])}, trong đó "
        f"{vnd(cov.get('units_held_both_parts', 0))} đơn vị tổ chức đủ phần lễ và phần hội và "
        f"{vnd(cov['units_held_on_time'])} đơn vị tổ chức đúng thời gian (từ 01/7 đến 19/8).",
        f"Ngày hội thu hút {vnd(cov['participants'])} lượt người tham gia; tổng kinh phí {vnd(cov['cost_vnd'])} "
        f"đồng. {vnd(cov.get('units_accepted', 0))} báo cáo kết quả đã được cấp trên chấp nhận.",
    ]
    before = cov.get("previous_year")
    if before:
        out.append(
            f"So với năm {before['year']} (tính trên cây đơn vị năm {y}, qua sắp xếp đơn vị hành chính), số đơn vị "
            f"đã tổ chức là {vnd(cov['units_held'])} so với {vnd(before['units_held'])}, tỷ lệ {pct(cov['coverage'])} "
            f"so với {pct(before['coverage'])}."
        )
    out.append(
        f"Xây dựng mới {vnd(cov.get('models_registered', 0))} mô hình, điển hình tiên tiến, trong đó "
        f"{vnd(cov.get('models_at_festival', 0))} mô hình ra mắt tại Ngày hội; "
        f"{vnd(cov.get('models_recognised', 0))} mô hình được công nhận; {vnd(cov.get('models_replicated', 0))} "
        "lượt nhân rộng."
    )
    points = season.get("point-festivals")
    if points and points["festivals"]:
        levels = ", ".join(
            f"{v['festivals']} cấp {LEVEL_VI.get(k, k).removeprefix('Cấp ').lower()}"
            for k, v in points["by_level"].items()
            if v["festivals"]
        )
        out.append(f"Tổ chức {points['festivals']} Ngày hội điểm ({levels}) với {vnd(points['delegates'])} đại biểu.")
    standing = season["awards-summary"].get("standing", {}).get("by_nominee_kind", {})
    gifts = season["gifts-summary"]
    out.append(
        f"Khen thưởng {vnd(standing.get('collective', {}).get('awards', 0))} tập thể và "
        f"{vnd(standing.get('individual', {}).get('awards', 0))} cá nhân có thành tích xuất sắc, tổng tiền thưởng "
        f"{vnd(season['awards-summary']['awards_amount_vnd'])} đồng; tặng {vnd(gifts['recipients'])} suất quà, trị giá "
        f"{vnd(gifts['value_vnd'])} đồng."
    )
    return out


def grid_table(doc: Any, headings: list[str], rows: list[list[str]]) -> None:
    """A bordered table with its headings row (the season report's tables, a decision's annex)."""
    table = doc.add_table(rows=1, cols=len(headings))
    table.style = "Table Grid"
    for cell, heading in zip(table.rows[0].cells, headings, strict=True):
        cell.text = heading
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = str(value)


def write_docx(season: dict[str, Any], path: Path) -> None:
    from docx import Document

    cov = season["coverage"]
    doc = Document()
    doc.add_heading(f"Báo cáo sơ kết Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm {cov['year']}", level=0)
    doc.add_paragraph(f"Đơn vị: {cov['scope_name']}. Số liệu trên cây đơn vị ngày {dmy(cov['tree_date'])}.")
    if season.get("illustrative"):
        doc.add_paragraph("Ghi chú: một phần cây đơn vị là minh họa (illustrative), không phải số liệu chính thức.")
    doc.add_heading("I. Kết quả tổ chức Ngày hội", level=1)
    for text in sentences(season):
        doc.add_paragraph(text)
    doc.add_heading("Số liệu chính", level=2)
    grid_table(doc, ["Chỉ tiêu", "Số liệu"], [list(r) for r in key_figures(season)])
    doc.add_heading("Kết quả theo đơn vị", level=2)
    grid_table(
        doc,
        ["Đơn vị", "Số đơn vị", "Đã tổ chức", "Tỷ lệ", "Đủ hai phần", "Người tham gia"],
        [
            [b["name"], vnd(b["units_total"]), vnd(b["units_held"]), pct(b["coverage"]),
             vnd(b.get("units_held_both_parts", 0)), vnd(b["participants"])]
            for b in cov["breakdown"]
        ],
    )  # fmt: skip
    standing = season["awards-summary"].get("standing", {})
    if standing.get("by_granting_level"):
        doc.add_heading("Khen thưởng", level=2)
        rows = [[NOMINEE_VI.get(k, k), vnd(v["awards"]), vnd(v["amount_vnd"])] for k, v in
                sorted(standing["by_nominee_kind"].items())]  # fmt: skip
        rows += [[LEVEL_VI.get(k, k), vnd(v["awards"]), vnd(v["amount_vnd"])] for k, v in
                 sorted(standing["by_granting_level"].items())]  # fmt: skip
        grid_table(doc, ["Đối tượng, cấp khen", "Số lượng", "Số tiền (đồng)"], rows)
    kinds = season["gifts-summary"].get("by_beneficiary_kind") or {}
    if kinds:
        doc.add_heading("Thăm hỏi, tặng quà", level=2)
        grid_table(
            doc,
            ["Đối tượng", "Số suất", "Giá trị (đồng)"],
            [[BENEFICIARY_VI.get(k, k), vnd(v["recipients"]), vnd(v["value_vnd"])] for k, v in sorted(kinds.items())],
        )
    missing = season.get("missing") or []
    doc.add_heading("Đơn vị chưa hoàn thành", level=2)
    if missing:
        grid_table(
            doc,
            ["Đơn vị", "Trực thuộc", "Lý do"],
            [[u["name"], u.get("parent_name") or "", REASON_VI.get(u["reason"], u["reason"])] for u in missing],
        )
    else:
        doc.add_paragraph("Tất cả đơn vị thuộc diện đã tổ chức đủ phần lễ và phần hội.")
    doc.add_heading("II. Ưu điểm, hạn chế và bài học kinh nghiệm", level=1)
    doc.add_paragraph(PLACEHOLDER)
    doc.add_heading("III. Phương hướng, nhiệm vụ thời gian tới", level=1)
    doc.add_paragraph(PLACEHOLDER)
    doc.add_heading("IV. Đề xuất, kiến nghị", level=1)
    doc.add_paragraph(PLACEHOLDER)
    doc.save(str(path))
