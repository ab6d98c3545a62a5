"""The form a nomination names, read against the catalogue: that it exists, is in force (or was, in the
nomination's year) and is for the nominee's kind; and the day its authority and scope are read on.

Pure: the catalogue is passed."""

from __future__ import annotations

import datetime as dt

from services.awards.rules import Catalogue, Form
from shared.contract.errors import RuleViolation


def check_form(catalogue: Catalogue, code: str, kind: str, year: int, today: dt.date) -> tuple[Form, dt.date]:
    """The form a nomination names, and the day its authority and scope are read on: today when the
    form is in force today; for a form no longer (or not yet) in force, the last day of the
    nomination's year on which it was, so a 2025 record of a form that ended on 30 Jun 2025 can still
    be entered (and decided with a decision date when it was in force)."""
    form = catalogue.form(code)
    if form is None:
        known = ", ".join(f.code for f in catalogue.forms)
        raise RuleViolation(
            f"award form {code} does not exist; the forms are: {known}",
            [{"field": "award_form", "value": code, "rule": "form_exists"}],
        )
    if year > today.year:
        raise RuleViolation(
            f"year {year} is in the future: an achievement is nominated once it is made (today is {today.isoformat()})",
            [{"field": "year", "value": year, "rule": "year_not_in_future"}],
        )
    day = today
    if not form.in_force_on(today):
        last = min(dt.date(year, 12, 31), form.in_force.to or dt.date.max)
        day = last
        if last < max(dt.date(year, 1, 1), form.in_force.from_) or not form.in_force_on(last):
            to = form.in_force.to.isoformat() if form.in_force.to else "—"
            raise RuleViolation(
                f"award form {code} is not in force today nor in {year} (in force {form.in_force.from_.isoformat()} "
                f"to {to})",
                [{"field": "award_form", "value": code, "rule": "form_in_force"}],
            )
    if kind not in form.for_:
        raise RuleViolation(
            f"award form {code} is for {' and '.join(form.for_)} nominees, not {kind}",
            [{"field": "nominee.kind", "value": kind, "rule": "form_for"}],
        )
    return form, day
