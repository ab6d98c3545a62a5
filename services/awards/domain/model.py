"""Awards' aggregates and the keys that compare them: nominations, awards, gifts; "one achievement,
one award" and once-only forms as keys a nomination holds while it stands.

Pure: no I/O."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from shared.contract import awards as c
from shared.contract.text import nfc


def achievement_key(text: str) -> str:
    """The achievement as compared for "one achievement, one award": compatibility-normalised (NFKC:
    fullwidth letters, ligatures), invisible format characters dropped (zero-width spaces, joiners,
    BOM), case-folded, runs of any space made one."""
    folded = unicodedata.normalize("NFKC", nfc(text)).casefold()
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", visible).strip())


def nominee_key(kind: str, unit_id: str | None, person_id: str | None) -> str:
    """Collectives are their unit; individuals their person_id (the unit's stable id for them)."""
    return f"person:{person_id}" if kind == "individual" else f"unit:{unit_id}"


def sort_key(day: dt.date, now: dt.datetime, key: str) -> str:
    """Orders a list newest first by its date, then by arrival, then by id (ids a client chose are
    not time-ordered)."""
    return f"{day.isoformat()}|{now.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%S.%f')}|{key}"


class Step(BaseModel):
    """One step of a nomination's history."""

    event: str
    on: dt.date
    actor_id: str
    reason: str | None = None
    note: str | None = None


Attachment = c.AttachmentFact  # a file of the dossier: what it is and its digest; `files` keeps its content


@dataclass(frozen=True)
class FileLimits:
    file_bytes: int
    dossier_bytes: int
    files: int


class CouncilReview(BaseModel):
    meeting_date: dt.date
    recommended: bool
    minutes_attachment_id: str
    note: str | None = None
    recorded_by: str


class Nomination(BaseModel):
    nomination_id: str
    nominee: c.NomineeFact
    nominee_key: str
    award_form: str
    year: int
    achievement: str
    achievement_key: str
    festival_id: str | None = None
    grantor: c.Authority
    forwarded: bool
    status: c.NominationStatus = "submitted"
    submitted_on: dt.date
    submitted_by: str
    steps: list[Step] = []
    decision_no: str | None = None
    decision_date: dt.date | None = None
    award_id: str | None = None
    imported: bool = False  # a past award's record, entered with import-award (never decided here)
    eligibility: c.Eligibility | None = None  # the facts declared for the form's written conditions
    eligibility_unverified: list[str] = []  # what of them the reference does not confirm or the platform cannot check
    attachments: list[Attachment] = []
    due_on: dt.date | None = None  # by when the granting authority decides (processing time, working days)
    due_unconfirmed: bool = False  # that processing time is not confirmed by the reference
    overdue_on: dt.date | None = None  # when its being overdue was announced (nomination.overdue)
    council: CouncilReview | None = None  # the emulation council's review, where the form needs one
    created_at: dt.datetime
    sort_key: str = Field(description="Newest first: submitted_on, then arrival, then id.")
    version: int = 1


class Revocation(BaseModel):
    reason: str
    decision_no: str
    decision_date: dt.date
    actor_id: str


class Award(BaseModel):
    award_id: str
    nomination_id: str
    award_form: str
    nominee: c.NomineeFact
    nominee_key: str
    unit_id: str = Field(description="The nominee's unit, as it earned the award (kept after a merger).")
    unit_name: str | None = Field(default=None, description="Its name then (a closed collective as it was).")
    successor_unit_ids: list[str] = Field(
        default=[], description="The units carrying the nominee's unit on the decision date, when it was closed."
    )
    year: int
    achievement: str
    decision_no: str
    decision_date: dt.date
    decided_by: c.Authority
    recorded_by: str
    signer: str | None = None  # who signed the decision, when recorded with record-decision
    imported: bool = False  # from the office's records (import-award), not decided here
    register_no: str | None = None  # its number in the golden register (sổ vàng), where the office keeps one
    decision_id: str | None = None  # the decision (record-decision) that approved it with others
    amount_vnd: int | None
    amount_unconfirmed: bool
    amount_at_most: bool = False  # the data gives a cap for the form (≤ the multiple), not the amount
    status: c.AwardStatus = "approved"
    conferred_on: dt.date | None = None
    festival_id: str | None = None
    presented_by: str | None = None
    revocation: Revocation | None = None
    created_at: dt.datetime
    sort_key: str = Field(description="Newest first: decision_date, then arrival, then id.")
    version: int = 0  # the award aggregate's events: conferred, revoked


class Decision(BaseModel):
    """One decision approving many nominations (record-decision); its awards name it."""

    decision_id: str
    decision_no: str
    decision_date: dt.date
    signer: str
    title: str | None = None
    decided_by: c.Authority
    recorded_by: str
    nominations: list[c.DecidedNomination]
    created_at: dt.datetime
    sort_key: str


def slug(text: str) -> str:
    """Text spelled as an id: diacritics dropped (Đ → D), any run of other characters one '-'."""
    plain = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    ascii_ = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_).strip("-._") or "x"


def decision_key(unit_id: str | None, authority_name: str, year: int, decision_no: str) -> str:
    """A decision's id: its granting unit (or, outside the province, the authority's name), its year
    (numbers start again each year) and its number, spelled as an id ("1234/QĐ-UBND" of unit hue-p1 in
    2026 → "hue-p1:2026:1234-QD-UBND")."""
    who = unit_id if unit_id else "outside-" + slug(authority_name)
    return f"{who}:{year}:{slug(decision_no)}"[:128]


def decision_id(authority: c.Authority, decision_no: str, day: dt.date) -> str:
    return decision_key(authority.unit_id, authority.name, day.year, decision_no)


class Gift(BaseModel):
    gift_id: str
    unit_id: str
    beneficiary_kind: c.BeneficiaryKind
    recipients: int
    value_vnd: int
    funding_source: str
    festival_id: str | None = None
    given_on: dt.date
    year: int
    note: str | None = None
    recorded_by: str
    created_at: dt.datetime
    sort_key: str = Field(description="Newest first: given_on, then arrival, then id.")


@dataclass(frozen=True)
class Ancestor:
    """One unit of a nominee's ancestry on a date, nearest first."""

    unit_id: str
    kind: str
    name: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownFestival:
    festival_id: str
    unit_id: str
    date: dt.date  # held_on when held, else the planned date
    status: Literal["planned", "held", "cancelled"]
    year: int


def keys_for(
    nominee: str, year: int, achievement: str, award_form: str, person_id: str | None, once_only: bool
) -> list[str]:
    """The keys a standing nomination holds: its achievement (one achievement earns one award: the
    nominee's key, the year and the achievement's key) and, for a once-only form, the person's form."""
    out = [f"achievement:{nominee}|{year}|{achievement}"]
    if once_only and person_id is not None:
        out.append(f"once:{award_form}|{person_id}")
    return out


def keys(n: Nomination, once_only: bool) -> list[str]:
    person_id = n.nominee.person.person_id if n.nominee.person else None
    return keys_for(n.nominee_key, n.year, n.achievement_key, n.award_form, person_id, once_only)
