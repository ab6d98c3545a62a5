"""Awards' queries: the parameters of `antq.query.awards.<name>`."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from shared.contract.awards.kinds import (
    AwardStatus,
    BeneficiaryKind,
    DecisionNo,
    FormCode,
    NominationStatus,
    NomineeKind,
)
from shared.contract.types import Day, Id, Model, Year

# ---------------------------------------------------------------- queries

Limit = Annotated[int, Field(default=100, ge=1, le=1000)]


class RulesQuery(Model):
    date: Day | None = Field(default=None, description="Forms in force on this date; default today.")


class NominationQuery(Model):
    nomination_id: Id


class NominationsQuery(Model):
    """Nominations of a unit's subtree (on `tree_date`), newest first, paged."""

    unit_id: Id
    tree_date: Day | None = Field(default=None, description="The tree to read the subtree on; default today.")
    year: Year | None = None
    status: NominationStatus | None = None
    award_form: FormCode | None = None
    overdue: bool | None = Field(default=None, description="Only the open dossiers past their due date.")
    limit: Limit = 100
    after: Id | None = Field(default=None, description="Cursor: the last nomination_id of the previous page.")


class AwardQuery(Model):
    award_id: Id


class AttachmentQuery(Model):
    """A part of an attached file (base64), from `offset`: ask again from `next` until it is null."""

    nomination_id: Id
    attachment_id: Id
    offset: Annotated[int, Field(default=0, ge=0)] = 0
    length: Annotated[int, Field(default=524_288, ge=1, le=524_288, description="Bytes (at most 512 KiB).")] = 524_288


class CertificateQuery(Model):
    """An award's certificate, as the paragraphs of its form's template (the CLI prints it as PDF or DOCX)."""

    award_id: Id


class NomineesQuery(Model):
    """Individual nominees whose name has all the words given, with or without diacritics ("nguyen van a"
    finds "Nguyễn Văn A"), among the nominations of a unit's subtree (default: the actor's)."""

    text: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
    unit_id: Id | None = None
    limit: Annotated[int, Field(default=50, ge=1, le=200)] = 50


class DecisionQuery(Model):
    """A decision recorded with `record-decision` and its awards (the annex's list)."""

    decision_id: Id | None = Field(default=None, description="As `record-decision` answered it.")
    decision_no: DecisionNo | None = Field(default=None, description="With unit_id and year: the granting unit's.")
    unit_id: Id | None = None
    year: Year | None = Field(default=None, description="The decision's year (numbers start again each year).")

    @model_validator(mode="after")
    def _which(self) -> Self:
        if self.decision_id is None and (self.decision_no is None or self.year is None):
            raise ValueError("give decision_id, or decision_no with the granting unit_id and the year")
        return self


class AwardsQuery(Model):
    """Awards of a festival (its commendations), or of a unit's subtree; paged."""

    festival_id: Id | None = None
    unit_id: Id | None = None
    tree_date: Day | None = None
    year: Year | None = None
    status: AwardStatus | None = None
    limit: Limit = 100
    after: Id | None = None

    @model_validator(mode="after")
    def _either(self) -> Self:
        if self.festival_id is None and self.unit_id is None:
            raise ValueError("give festival_id or unit_id")
        return self


class HistoryPerson(Model):
    person_id: Id


class HistoryNominee(Model):
    """A nominee as in submit-nomination; for an individual, person.person_id is enough."""

    kind: NomineeKind
    unit_id: Id | None = None
    person: HistoryPerson | None = None

    @model_validator(mode="after")
    def _key(self) -> Self:
        if self.kind == "collective" and (self.unit_id is None or self.person is not None):
            raise ValueError("a collective nominee is its unit_id, without a person")
        if self.kind == "individual" and self.person is None:
            raise ValueError("an individual nominee needs person.person_id")
        return self


class HistoryQuery(Model):
    """A nominee's nominations and awards, each newest first and paged on its own."""

    nominee: HistoryNominee
    limit: Limit = 100
    nominations_after: Id | None = Field(default=None, description="Cursor: nominations_next of the previous page.")
    awards_after: Id | None = Field(default=None, description="Cursor: awards_next of the previous page.")


class GiftsQuery(Model):
    """Gifts of a unit's subtree and/or a festival, newest first, paged, with the totals of the filter."""

    unit_id: Id | None = None
    tree_date: Day | None = None
    festival_id: Id | None = None
    year: Year | None = None
    beneficiary_kind: BeneficiaryKind | None = None
    limit: Limit = 100
    after: Id | None = None

    @model_validator(mode="after")
    def _either(self) -> Self:
        if self.festival_id is None and self.unit_id is None:
            raise ValueError("give unit_id or festival_id")
        return self


QUERIES: dict[str, type[Model]] = {
    "rules": RulesQuery,
    "nomination": NominationQuery,
    "nominations": NominationsQuery,
    "award": AwardQuery,
    "decision": DecisionQuery,
    "attachment": AttachmentQuery,
    "nominees": NomineesQuery,
    "certificate": CertificateQuery,
    "awards": AwardsQuery,
    "history": HistoryQuery,
    "gifts": GiftsQuery,
}
