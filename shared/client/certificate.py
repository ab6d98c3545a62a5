"""A certificate's paragraphs (awards' `certificate` query) laid out on an A4 landscape page, centred,
as PDF (fpdf2, with a TrueType font that has Vietnamese: DejaVu Sans by default) or DOCX."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FONT = Path(os.environ.get("ANTQ_CERTIFICATE_FONT", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
BOLD = FONT.with_name(FONT.stem + "-Bold" + FONT.suffix)
SIZES = {"heading": 13, "motto": 12, "authority": 14, "title": 30, "name": 22, "body": 14, "small": 11}
BOLDS = {"heading", "authority", "title", "name"}
SPACE_BEFORE = {"authority": 10, "title": 14, "name": 8, "small": 6}  # millimetres (PDF) / points ÷ 2 (DOCX)


class FontMissing(Exception):
    pass


def write_pdf(lines: list[dict[str, Any]], path: Path) -> None:
    from fpdf import FPDF

    if not FONT.is_file():
        raise FontMissing(
            f"no font at {FONT}: install fonts-dejavu-core, or set ANTQ_CERTIFICATE_FONT to a TrueType font with "
            "Vietnamese letters"
        )
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.add_font("cert", "", str(FONT))
    pdf.add_font("cert", "B", str(BOLD if BOLD.is_file() else FONT))
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_y(22)
    for line in lines:
        style = line["style"]
        pdf.ln(SPACE_BEFORE.get(style, 2))
        pdf.set_font("cert", "B" if style in BOLDS else "", SIZES.get(style, 14))
        pdf.multi_cell(0, SIZES.get(style, 14) * 0.5, line["text"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def write_docx(lines: list[dict[str, Any]], path: Path) -> None:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for line in lines:
        style = line["style"]
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.space_before = Pt(SPACE_BEFORE.get(style, 2) * 2)
        run = p.add_run(line["text"])
        run.bold = style in BOLDS
        run.italic = style == "motto"
        run.font.size = Pt(SIZES.get(style, 14))
    doc.save(str(path))


def write(lines: list[dict[str, Any]], path: Path) -> None:
    if path.suffix.lower() == ".pdf":
        write_pdf(lines, path)
    elif path.suffix.lower() == ".docx":
        write_docx(lines, path)
    else:
        raise ValueError(f"{path.name}: a certificate is written as .pdf or .docx")
