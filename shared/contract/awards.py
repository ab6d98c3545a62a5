"""Awards' public contract (khen thưởng): command, event and query payloads (the `data` of the envelope).

Nominations of collectives and individuals for the award forms in force (the `rules` query), their
decisions, the awards they create (conferred, perhaps at a festival's ceremony; revoked, never
deleted), and the ledger of gifts and visits."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from shared.contract.types import Day, Fact, Id, Model, Name, Text, Vnd, Year

SERVICE = "awards"

NomineeKind = Literal["collective", "individual"]
GrantingLevel = Literal["commune", "district", "province", "provincial_agency", "provincial_police", "outside"]
NominationStatus = Literal["submitted", "returned", "resubmitted", "approved", "rejected"]
AwardStatus = Literal["approved", "conferred", "revoked"]
BeneficiaryKind = Literal[
    "policy_family",
    "martyr_family",
    "force_member_family_in_hardship",
    "poor_household",
    "outstanding_collective",
    "outstanding_individual",
    "other",
]  # the seed plan: đối tượng chính sách, tập thể / cá nhân có thành tích xuất sắc, gia đình cán bộ, chiến sĩ khó khăn
FormCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,79}$", description="An award form code (`rules` query).")]
DecisionNo = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$", description="e.g. 1234/QĐ-UBND")
]


# ---------------------------------------------------------------- commands


class Person(Model):
    """An individual, identified by the nominating unit's stable id for them (no national id numbers)."""

    person_id: Id
    name: Name
    position: Name | None = None
    year_of_birth: int | None = Field(default=None, ge=1900, le=2100)


class Nominee(Model):
    kind: NomineeKind
    unit_id: Id = Field(description="The collective, or the unit the individual belongs to.")
    person: Person | None = Field(default=None, description="Required for an individual, absent for a collective.")

    @model_validator(mode="after")
    def _person(self) -> Self:
        if self.kind == "individual" and self.person is None:
            raise ValueError("an individual nominee needs person {person_id, name}")
        if self.kind == "collective" and self.person is not None:
            raise ValueError("a collective nominee has no person")
        return self


class SubmitNomination(Model):
    """Nominate a collective or an individual for an award form (an officer of the nominee's unit or above)."""

    nomination_id: Id | None = None
    nominee: Nominee
    award_form: FormCode
    year: Year
    achievement: Text = Field(description="The achievement; one achievement earns one award.")
    festival_id: Id | None = Field(default=None, description="The festival whose ceremony it is meant for.")


class ReturnNomination(Model):
    """Send a nomination back for corrections (an approver of the granting authority)."""

    nomination_id: Id
    reason: Text


class ResubmitNomination(Model):
    """Resubmit a returned nomination, with corrected dossier fields."""

    nomination_id: Id
    note: Text | None = None
    achievement: Text | None = None
    person: Person | None = Field(default=None, description="Corrections; the person_id cannot change.")
    festival_id: Id | None = None


class ApproveNomination(Model):
    """Approve: the decision of the granting authority (or, for a form granted outside the province,
    the outside decision recorded by an approver of the province). Creates the award."""

    nomination_id: Id
    decision_no: DecisionNo
    decision_date: Day
    award_id: Id | None = None


class RejectNomination(Model):
    nomination_id: Id
    reason: Text
    decision_no: DecisionNo | None = None
    decision_date: Day | None = None


class ConferAward(Model):
    """Present an award, perhaps at a festival's ceremony (phần lễ): then on the festival's date."""

    award_id: Id
    conferred_on: Day
    festival_id: Id | None = None
    presented_by: Name | None = Field(
        default=None, description="Who handed it over (default: the form's presenter, e.g. 'Giám đốc Công an tỉnh')."
    )


class RevokeAward(Model):
    """Revoke an award (fraud, false dossier, approval contrary to law): it is kept, marked revoked."""

    award_id: Id
    reason: Text
    decision_no: DecisionNo
    decision_date: Day


class RecordGift(Model):
    """A gift or visit (tặng quà, thăm hỏi) in the ledger."""

    gift_id: Id | None = None
    unit_id: Id
    beneficiary_kind: BeneficiaryKind
    recipients: Annotated[int, Field(ge=1, le=1_000_000)]
    value_vnd: Vnd
    funding_source: Name
    festival_id: Id | None = None
    given_on: Day | None = Field(default=None, description="Default: the festival's date, else today.")
    note: Text | None = None


COMMANDS: dict[str, type[Model]] = {
    "submit-nomination": SubmitNomination,
    "return-nomination": ReturnNomination,
    "resubmit-nomination": ResubmitNomination,
    "approve-nomination": ApproveNomination,
    "reject-nomination": RejectNomination,
    "confer-award": ConferAward,
    "revoke-award": RevokeAward,
    "record-gift": RecordGift,
}


# ---------------------------------------------------------------- events


class PersonFact(Fact):
    person_id: str
    name: str
    position: str | None = None
    year_of_birth: int | None = None


class NomineeFact(Fact):
    kind: NomineeKind
    unit_id: str
    person: PersonFact | None = None


class Authority(Fact):
    """Who grants a form for a nominee: a unit of the province, or an authority outside it."""

    kind: Literal["unit", "outside"]
    unit_id: str | None = Field(default=None, description="The granting unit (kind unit).")
    level: GrantingLevel | None = Field(
        default=None, description="The level that grants (the form's grantor): a level of the tree, or outside."
    )
    name: str = Field(description="e.g. 'Chủ tịch UBND cấp xã', 'Bộ trưởng Bộ Công an'.")


class NominationSubmitted(Fact):
    nomination_id: str
    nominee: NomineeFact
    award_form: str
    year: int
    achievement: str
    festival_id: str | None = None
    grantor: Authority
    forwarded: bool = Field(description="Granted outside the province: forwarded, decision recorded by the province.")
    submitted_on: dt.date


class NominationReturned(Fact):
    nomination_id: str
    reason: str
    returned_on: dt.date


class NominationResubmitted(Fact):
    nomination_id: str
    note: str | None = None
    achievement: str
    person: PersonFact | None = None
    festival_id: str | None = None
    resubmitted_on: dt.date


class NominationApproved(Fact):
    nomination_id: str
    award_id: str
    award_form: str
    nominee: NomineeFact
    year: int
    decision_no: str
    decision_date: dt.date
    decided_by: Authority
    recorded_by: str = Field(description="The actor who recorded the decision.")
    amount_vnd: int | None = Field(description="Base salary on the decision date × multiple, rounded up to 10,000.")
    amount_unconfirmed: bool = False
    amount_at_most: bool = Field(
        default=False, description="The form's amount is a cap (at most the multiple): amount_vnd is that cap."
    )
    nominee_unit_name: str | None = Field(default=None, description="The nominee's unit's name as it earned it.")
    successor_unit_ids: list[str] = Field(
        default=[],
        description="When the nominee's unit was closed (a merger) before the decision date: the units that carry "
        "it through the lineage, whose authority decided. The nominee stays as it was.",
    )


class NominationRejected(Fact):
    nomination_id: str
    reason: str
    decision_no: str | None = None
    decision_date: dt.date | None = None


class AwardConferred(Fact):
    award_id: str
    nomination_id: str
    award_form: str
    nominee: NomineeFact
    conferred_on: dt.date
    festival_id: str | None = None
    presented_by: str | None = None


class AwardRevoked(Fact):
    award_id: str
    nomination_id: str
    reason: str
    decision_no: str
    decision_date: dt.date


class GiftRecorded(Fact):
    gift_id: str
    unit_id: str
    beneficiary_kind: BeneficiaryKind
    recipients: int
    value_vnd: int
    funding_source: str
    festival_id: str | None = None
    given_on: dt.date
    year: int
    note: str | None = None


EVENTS: dict[tuple[str, str], type[Fact]] = {
    ("nomination", "submitted"): NominationSubmitted,
    ("nomination", "returned"): NominationReturned,
    ("nomination", "resubmitted"): NominationResubmitted,
    ("nomination", "approved"): NominationApproved,
    ("nomination", "rejected"): NominationRejected,
    ("award", "conferred"): AwardConferred,
    ("award", "revoked"): AwardRevoked,
    ("gift", "recorded"): GiftRecorded,
}


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
    limit: Limit = 100
    after: Id | None = Field(default=None, description="Cursor: the last nomination_id of the previous page.")


class AwardQuery(Model):
    award_id: Id


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
    "awards": AwardsQuery,
    "history": HistoryQuery,
    "gifts": GiftsQuery,
}
