"""Award rules as dated data: the forms of `data/award-forms.yaml`, checked by the schema below
when loaded (at start), and what is in force on a date, with amounts.

Pure: no I/O except `load()`."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contract.awards import NomineeKind

RULES_FILE = Path(__file__).parent / "data" / "award-forms.yaml"
ROUND_TO = 10_000  # amounts are rounded up to 10,000 VND (Decree 98/2023)
Level = Literal["commune", "district", "province", "provincial_agency", "provincial_police"]
Multiple = Annotated[str, Field(pattern=r"^\d{1,2}(\.\d{1,3})?$", description="A decimal multiple, e.g. '0.3'.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Grantor(Strict):
    level: Level | None = Field(default=None, description="The unit of the province that grants it.")
    outside: bool = Field(default=False, description="Granted outside the province: forwarded.")
    name: str = Field(min_length=1)
    presented_by: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.level is None) == (not self.outside):
            raise ValueError("a grantor is either a level of the province's tree or outside it")
        return self


class InForce(Strict):
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    confirmed_from: dt.date | None = Field(
        default=None, description="Before this day the form is in the data but the reference does not confirm it."
    )

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


class AmountRow(Strict):
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    individual: Multiple | None = None
    collective: Multiple | None = None
    at_most: bool = Field(default=False, description="The multiple is a cap (≤): the amount is at most this.")
    source: str
    unconfirmed: list[NomineeKind] = []

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


class BaseSalary(Strict):
    from_: dt.date = Field(alias="from")
    vnd: int = Field(gt=0)
    source: str
    unconfirmed: bool = False


class Rounding(Strict):
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    to_vnd: int = Field(gt=0, description="Amounts are rounded up to a multiple of this.")
    source: str
    unconfirmed: bool = False

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


class Amount(BaseModel):
    vnd: int
    multiple: str
    base_salary_vnd: int
    unconfirmed: bool
    at_most: bool = False  # the data gives a cap: the amount is at most `vnd`


def round_up(vnd: Fraction, to: int = ROUND_TO) -> int:
    """Up to the next multiple of `to` (10,000 VND; an exact multiple stays)."""
    return math.ceil(vnd / to) * to


Fact = Literal["years_in_post", "years_in_force", "prior_commendations"]
Role = Literal["leader", "security_team_member"]
Flag = Literal["holds_excluding_award", "prosecuted", "pending_discipline", "incident_in_area"]


class Condition(Strict):
    """One written condition: a fact of the nominee at least a number (perhaps only for one sex)."""

    fact: Fact
    at_least: int = Field(ge=0)
    when_sex: Literal["male", "female"] | None = None
    says: str = Field(min_length=1, description="The condition as the text gives it, for a refusal to quote.")


class EligibilityRule(Strict):
    """A form's conditions in force from a date: per role, the conditions that must all hold; flags that
    exclude the nominee or defer the proposal; and what the reference does not confirm."""

    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    source: str
    roles: dict[Role, list[Condition]] = Field(min_length=1)
    excluded_if: list[Flag] = []
    excluded_for: dict[Role, list[Flag]] = Field(default={}, description="Exclusions of one role only.")
    deferred_if: list[Flag] = []
    unverified: list[str] = []

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


class Processing(Strict):
    working_days: int = Field(gt=0, le=120)
    source: str
    unconfirmed: bool = False


def add_working_days(day: dt.date, n: int) -> dt.date:
    """`n` working days (Monday to Friday) after `day`; public holidays are not known to the data."""
    out = day
    while n > 0:
        out += dt.timedelta(days=1)
        if out.weekday() < 5:
            n -= 1
    return out


class Form(Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,79}$")
    name: str = Field(min_length=1)
    aliases: list[str] = []
    grantor: Grantor
    in_force: InForce
    for_: list[NomineeKind] = Field(alias="for", min_length=1)
    once_only: bool
    amounts: list[AmountRow] = []
    basis: str
    unconfirmed: list[str] = []
    eligibility: list[EligibilityRule] = []
    council: bool = Field(default=False, description="The emulation council reviews it before the decision.")
    certificate: str | None = Field(
        default=None, pattern=r"^[a-z_]+\.j2$", description="Its certificate's template, in data/certificates/."
    )
    processing_days: int | None = Field(default=None, gt=0, le=120, description="Its own processing time.")

    def in_force_on(self, day: dt.date) -> bool:
        return self.in_force.covers(day)

    def eligibility_on(self, day: dt.date) -> EligibilityRule | None:
        return next((r for r in self.eligibility if r.covers(day)), None)

    def unconfirmed_on(self, day: dt.date) -> list[str]:
        """What the reference does not confirm of this form on `day`: its flagged fields, and that it
        is in force at all before `confirmed_from`."""
        early = self.in_force.confirmed_from is not None and day < self.in_force.confirmed_from
        return [*self.unconfirmed, *(["in_force"] if early else [])]

    def amount(
        self, kind: NomineeKind, day: dt.date, salaries: list[BaseSalary], rounding: list[Rounding] | None = None
    ) -> Amount | None:
        """The amount of a decision on `day`, or None where the data has no multiple for it. Unconfirmed
        when the multiple, the base salary, the rounding or the form itself that day is."""
        row = next((a for a in self.amounts if a.covers(day)), None)
        salary = next((s for s in reversed(salaries) if s.from_ <= day), None)
        rule = next((r for r in rounding or [] if r.covers(day)), None)
        multiple = getattr(row, kind) if row else None
        if row is None or multiple is None or salary is None:
            return None
        return Amount(
            vnd=round_up(Fraction(multiple) * salary.vnd, rule.to_vnd if rule else ROUND_TO),
            multiple=multiple,
            base_salary_vnd=salary.vnd,
            unconfirmed=kind in row.unconfirmed
            or salary.unconfirmed
            or (rule is not None and rule.unconfirmed)
            or "in_force" in self.unconfirmed_on(day),
            at_most=row.at_most,
        )

    def view(
        self, day: dt.date, salaries: list[BaseSalary], rounding: list[Rounding] | None = None
    ) -> dict[str, object]:
        amounts = {k: self.amount(k, day, salaries, rounding) for k in self.for_}
        return {
            "code": self.code,
            "name": self.name,
            "aliases": self.aliases,
            "grantor": self.grantor.model_dump(exclude_none=True),
            "forwarded": self.grantor.outside,
            "in_force_from": self.in_force.from_.isoformat(),
            "in_force_to": self.in_force.to.isoformat() if self.in_force.to else None,
            "for": list(self.for_),
            "once_only": self.once_only,
            "amount": {k: (a.model_dump() if a else None) for k, a in amounts.items()},
            "basis": self.basis,
            "unconfirmed": bool(self.unconfirmed_on(day)) or any(a is None or a.unconfirmed for a in amounts.values()),
            "unconfirmed_fields": self.unconfirmed_on(day),
        }


class Catalogue(Strict):
    """The file's schema (services/awards/data/award-forms.schema.json is generated from it)."""

    version: str
    base_salary: list[BaseSalary] = Field(min_length=1)
    rounding: list[Rounding] = []
    processing: Processing
    forms: list[Form] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        codes = [f.code for f in self.forms]
        if len(set(codes)) != len(codes):
            raise ValueError(f"form codes repeat: {sorted(c for c in codes if codes.count(c) > 1)}")
        days = [s.from_ for s in self.base_salary]
        if days != sorted(set(days)):
            raise ValueError("base_salary rows must be in date order, one per date")
        for f in self.forms:
            if f.in_force.to is not None and f.in_force.to < f.in_force.from_:
                raise ValueError(f"{f.code}: in_force ends before it starts")
            rows = f.amounts
            for a, b in itertools.pairwise(rows):
                if a.to is None or a.to >= b.from_:
                    raise ValueError(f"{f.code}: amount rows overlap or are out of order")
            for a in rows:
                for kind in ("individual", "collective"):
                    if getattr(a, kind) is not None and kind not in f.for_:
                        raise ValueError(f"{f.code}: an amount for {kind}, but the form is not for {kind}s")
        return self

    def form(self, code: str) -> Form | None:
        return next((f for f in self.forms if f.code == code), None)

    def in_force(self, day: dt.date) -> list[Form]:
        return [f for f in self.forms if f.in_force_on(day)]

    def amount(self, form: Form, kind: NomineeKind, day: dt.date) -> Amount | None:
        return form.amount(kind, day, self.base_salary, self.rounding)

    def due_on(self, form: Form, day: dt.date) -> tuple[dt.date, bool]:
        """When a dossier received on `day` is due (and whether that time is unconfirmed)."""
        days = form.processing_days or self.processing.working_days
        unconfirmed = form.processing_days is None and self.processing.unconfirmed
        return add_working_days(day, days), unconfirmed


def parse(text: str) -> Catalogue:
    return Catalogue.model_validate(yaml.safe_load(text))


CERTIFICATES = RULES_FILE.parent / "certificates"


@cache
def load(path: Path = RULES_FILE) -> Catalogue:
    """The catalogue in the repo, checked by the schema (a bad file stops the service at start), each
    certificate template it names present."""
    catalogue = parse(path.read_text(encoding="utf-8"))
    missing = [
        f.certificate
        for f in catalogue.forms
        if f.certificate and not (path.parent / "certificates" / f.certificate).is_file()
    ]
    if missing:
        raise ValueError(f"certificate templates missing from {path.parent / 'certificates'}: {sorted(set(missing))}")
    return catalogue
