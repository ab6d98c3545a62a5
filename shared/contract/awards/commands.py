"""Awards' commands: the payloads of `antq.cmd.awards.<action>`."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from shared.contract.awards.kinds import AttachmentKind, BeneficiaryKind, DecisionNo, FormCode, NomineeKind, Sha256
from shared.contract.types import Day, Id, Model, Name, Text, Vnd, Year

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


class PriorCommendation(Model):
    """An earlier commendation the nominee holds: an award of the platform (decided or imported here), or
    one recorded elsewhere by its decision (then flagged as not verified by the platform)."""

    award_id: Id | None = None
    decision_no: DecisionNo | None = None
    decision_date: Day | None = None
    name: Name | None = Field(default=None, description="e.g. 'Giấy khen của Giám đốc Công an tỉnh'.")

    @model_validator(mode="after")
    def _which(self) -> Self:
        if self.award_id is None and (self.decision_no is None or self.decision_date is None):
            raise ValueError("give award_id, or decision_no with decision_date")
        return self


class Eligibility(Model):
    """The facts a form's written conditions need (the medal's, for one), as the nominating unit declares
    them; what the rule does not need may be left out."""

    role: Literal["leader", "security_team_member"] | None = Field(
        default=None, description="A leader (party committee, authority, union, school, enterprise) or a member of "
        "the grassroots security-and-order team.",
    )  # fmt: skip
    years_in_post: Annotated[int, Field(ge=0, le=80)] | None = None
    years_in_force: Annotated[int, Field(ge=0, le=80, description="Years in the security team.")] | None = None
    sex: Literal["male", "female"] | None = Field(default=None, description="The team's term differs (15/10 years).")
    prior_commendations: list[PriorCommendation] = Field(default=[], max_length=20)
    holds_excluding_award: bool = Field(
        default=False, description="Holds the Huy chương Chiến sĩ vẻ vang or Vì an ninh Tổ quốc, or a Huân chương "
        "for service in the People's Public Security.",
    )  # fmt: skip
    prosecuted: bool = False
    pending_discipline: bool = Field(default=False, description="A disciplinary sanction or a complaint is pending.")
    incident_in_area: bool = Field(
        default=False, description="A complex social-evil hotspot or a serious security incident in the area led."
    )


class SubmitNomination(Model):
    """Nominate a collective or an individual for an award form (an officer of the nominee's unit or above)."""

    nomination_id: Id | None = None
    nominee: Nominee
    award_form: FormCode
    year: Year
    achievement: Text = Field(description="The achievement; one achievement earns one award.")
    festival_id: Id | None = Field(default=None, description="The festival whose ceremony it is meant for.")
    eligibility: Eligibility | None = Field(default=None, description="For a form with written conditions.")


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
    eligibility: Eligibility | None = Field(default=None, description="Corrected facts (checked again).")


class ApproveNomination(Model):
    """Approve: the decision of the granting authority (or, for a form granted outside the province,
    the outside decision recorded by an approver of the province). Creates the award."""

    nomination_id: Id
    decision_no: DecisionNo
    decision_date: Day
    award_id: Id | None = None


class DecisionItem(Model):
    nomination_id: Id
    award_id: Id | None = Field(default=None, description="The award's id (default: one is made).")


class RecordDecision(Model):
    """One commendation decision (quyết định khen thưởng): one number, date and signer approving many
    nominations at once, atomically: every nomination is approved, or none is and the refusal gives the
    reason for each one refused. They must share one granting authority (the decision's)."""

    decision_no: DecisionNo
    decision_date: Day
    signer: Name = Field(description="Who signed, e.g. 'Nguyễn Văn B, Chủ tịch UBND phường Thuận Hóa'.")
    title: Text | None = Field(default=None, description="e.g. 'Về việc khen thưởng … Ngày hội năm 2026'.")
    nominations: list[DecisionItem] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        ids = [i.nomination_id for i in self.nominations]
        if len(set(ids)) != len(ids):
            raise ValueError("a nomination is listed twice in the decision")
        awards = [i.award_id for i in self.nominations if i.award_id is not None]
        if len(set(awards)) != len(awards):
            raise ValueError("an award_id is listed twice in the decision")
        return self


class RecordCouncilReview(Model):
    """The emulation council's review (Hội đồng Thi đua – Khen thưởng) of a dossier whose form needs one
    before the decision, recorded by an approver of the granting authority with its minutes, which are
    an attachment of the dossier (kind bien_ban_hoi_dong)."""

    nomination_id: Id
    meeting_date: Day
    recommended: bool = Field(description="Whether the council recommends the award.")
    minutes_attachment_id: Id
    note: Text | None = None


class ImportAward(Model):
    """A past award, from before the platform (the office's golden register, earlier software), so that
    once-only forms and "one achievement, one award" know it. Marked imported; idempotent by its id
    (default: derived from the decision, the form, the nominee and the year)."""

    award_id: Id | None = None
    award_form: FormCode
    nominee: Nominee
    year: Year
    achievement: Text
    decision_no: DecisionNo
    decision_date: Day
    decided_by: Name | None = Field(default=None, description="Who decided (default: the form's grantor).")
    register_no: Name | None = Field(default=None, description="Its number in the golden register (sổ vàng).")


class AttachFile(Model):
    """Attach a file to a nomination's dossier: first put it in the JetStream object store `antq-uploads`
    (under `upload`), then name it here with its size, media type and SHA-256. Awards checks them
    against the upload and the limits and keeps the file; the upload expires on its own."""

    nomination_id: Id
    attachment_id: Id | None = Field(default=None, description="Default: one is made.")
    kind: AttachmentKind
    name: Name = Field(description="The file's name as shown, e.g. 'To-trinh-khen-thuong.pdf'.")
    media_type: Annotated[str, Field(min_length=1, max_length=255, description="e.g. application/pdf")]
    size: Annotated[int, Field(ge=0, le=2**40, description="Bytes.")]
    sha256: Sha256
    upload: Annotated[
        str, Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$", description="Its name in antq-uploads.")
    ]


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
    "record-decision": RecordDecision,
    "reject-nomination": RejectNomination,
    "attach-file": AttachFile,
    "import-award": ImportAward,
    "record-council-review": RecordCouncilReview,
    "confer-award": ConferAward,
    "revoke-award": RevokeAward,
    "record-gift": RecordGift,
}
