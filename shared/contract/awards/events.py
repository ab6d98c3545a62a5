"""Awards' events: the facts it publishes on `antq.awards.<aggregate>.<event>`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from shared.contract.awards.kinds import AttachmentKind, BeneficiaryKind, GrantingLevel, NomineeKind
from shared.contract.types import Fact

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
    due_on: dt.date | None = Field(default=None, description="By when the granting authority decides it.")


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
    due_on: dt.date | None = Field(default=None, description="The processing time starts again.")


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
    decision_id: str | None = Field(default=None, description="The decision (record-decision) that approved it.")
    signer: str | None = Field(default=None, description="Who signed that decision.")


class DecidedNomination(Fact):
    nomination_id: str
    award_id: str
    award_form: str
    nominee: NomineeFact
    nominee_unit_name: str | None = None
    achievement: str
    amount_vnd: int | None = None


class DecisionRecorded(Fact):
    """A decision approving many nominations; each also has its own `nomination.approved`."""

    decision_id: str = Field(description="The granting unit (or outside authority) and the number.")
    decision_no: str
    decision_date: dt.date
    signer: str
    title: str | None = None
    decided_by: Authority
    recorded_by: str
    nominations: list[DecidedNomination]


class AttachmentFact(Fact):
    attachment_id: str
    kind: AttachmentKind
    name: str
    media_type: str
    size: int
    sha256: str
    attached_on: dt.date
    attached_by: str


class NominationAttached(Fact):
    """A file joined a nomination's dossier (its content stays with awards; read it with `attachment`)."""

    nomination_id: str
    attachment: AttachmentFact


class NominationReviewed(Fact):
    """The emulation council reviewed the dossier (its minutes are one of its attachments)."""

    nomination_id: str
    meeting_date: dt.date
    recommended: bool
    minutes_attachment_id: str
    note: str | None = None


class NominationOverdue(Fact):
    """A dossier not decided by its due date: the granting authority's recipients are reminded."""

    nomination_id: str
    nominee: NomineeFact
    award_form: str
    approver_unit_id: str | None = Field(description="The granting unit (none: an authority outside the province).")
    approver: str
    submitted_on: dt.date
    due_on: dt.date


class NominationRejected(Fact):
    nomination_id: str
    reason: str
    decision_no: str | None = None
    decision_date: dt.date | None = None


class AwardImported(Fact):
    """A past award entered from the office's records (not decided on the platform): it counts for the
    once-only and one-achievement checks and shows in histories, marked imported."""

    award_id: str
    nomination_id: str
    award_form: str
    nominee: NomineeFact
    year: int
    achievement: str
    decision_no: str
    decision_date: dt.date
    decided_by: str
    register_no: str | None = None


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
    ("nomination", "attached"): NominationAttached,
    ("nomination", "reviewed"): NominationReviewed,
    ("nomination", "overdue"): NominationOverdue,
    ("decision", "recorded"): DecisionRecorded,
    ("award", "imported"): AwardImported,
    ("award", "conferred"): AwardConferred,
    ("award", "revoked"): AwardRevoked,
    ("gift", "recorded"): GiftRecorded,
}
