"""A conferred award's certificate (Giấy khen, Bằng khen, the medal's certificate) as text, from its form's
Jinja2 template in data/certificates/ (stored as data beside the forms, named by the form's
`certificate`). A template renders one paragraph per line, "style: text"; the client lays the lines
out as PDF or DOCX.

The context a template reads: awardee (the person, or the collective's name as it was when it earned
the award), position, unit_name (an individual's unit, as it was), year, achievement, form_name,
grantor_title (the form's grantor, e.g. "Chủ tịch UBND cấp xã"), grantor_level (commune, district,
province, provincial_agency, provincial_police or outside), grantor_unit (the deciding unit's name
on the decision date; none outside the province), decision_no, decision_date (a date), decision_day
(dd/mm/yyyy), register_no (the golden register's number, or none) and place (the province's name)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.awards.domain.model import Award
from services.awards.rules import CERTIFICATES, Form

STYLES = ("heading", "motto", "authority", "title", "name", "body", "small")


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(CERTIFICATES), undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


def context(award: Award, form: Form, grantor_unit: str | None, place: str | None) -> dict[str, Any]:
    person = award.nominee.person
    day: dt.date = award.decision_date
    return {
        "awardee": person.name if person else (award.unit_name or award.unit_id),
        "position": person.position if person else None,
        "unit_name": (award.unit_name or award.unit_id) if person else None,
        "year": award.year,
        "achievement": award.achievement,
        "form_name": form.name,
        "grantor_title": form.grantor.name,
        "grantor_level": form.grantor.level or "outside",
        "grantor_unit": grantor_unit,
        "decision_no": award.decision_no,
        "decision_date": day,
        "decision_day": day.strftime("%d/%m/%Y"),
        "register_no": award.register_no,
        "place": place or "",
    }


def render(award: Award, form: Form, grantor_unit: str | None, place: str | None) -> list[dict[str, str]]:
    """The certificate's paragraphs, each {style, text}, in order."""
    assert form.certificate is not None
    text = environment().get_template(form.certificate).render(context(award, form, grantor_unit, place))
    lines: list[dict[str, str]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        style, _, said = raw.partition(": ")
        if style not in STYLES:
            raise ValueError(f"{form.certificate}: line {raw!r} has no style of {STYLES}")
        lines.append({"style": style, "text": said.strip()})
    return lines
