"""Registry's public contract: command, event and query payloads (the `data` of the envelope).

Units (đơn vị), campaigns, festivals (Ngày hội) and movement models (mô hình)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import Field, StringConstraints, model_validator

from shared.contract.types import Code, Count, Day, Fact, Flag, Id, Model, Name, Text, Vnd, Year

SERVICE = "registry"

UnitKind = Literal[
    "province",
    "district",
    "commune",
    "ward",
    "special_zone",
    "township",
    "hamlet",
    "residential_group",
    "agency",
    "enterprise",
    "school",
]
# The kinds of each level of the tree (DESIGN §2), named once for every service and client.
COMMUNE_LEVEL: tuple[UnitKind, ...] = ("commune", "ward", "special_zone", "township")  # thị trấn: before 1 Jul 2025
HAMLET_LEVEL: tuple[UnitKind, ...] = ("hamlet", "residential_group")
ATTACHED: tuple[UnitKind, ...] = ("agency", "enterprise", "school")  # attached to a territorial unit
# Who holds a festival when a campaign's `expected_kinds` says nothing: every kind below district.
DEFAULT_EXPECTED_KINDS: frozenset[str] = frozenset(get_args(UnitKind)) - {"province", "district"}
PointLevel = Literal["ministry", "province", "commune"]
Flags = Annotated[list[Flag], Field(max_length=20, description="e.g. key_area (địa bàn trọng điểm), illustrative")]


# ---------------------------------------------------------------- commands


class NewUnit(Model):
    """A unit created by a command (register, or the result of a merge or split)."""

    unit_id: Id | None = Field(default=None, description="Client-chosen id; generated when omitted.")
    code: Code | None = None
    name: Name = Field(examples=["Phường Phú Xuân"])
    kind: UnitKind
    parent_id: Id | None = Field(default=None, description="Null only for a province.")
    flags: Flags = []


class RegisterUnit(NewUnit):
    valid_from: Day = Field(examples=["2025-07-01"])


class UpdateUnit(Model):
    """Rename, re-code, re-flag a unit, or change its kind between commune-level kinds (a commune
    becoming a ward), from an effective date; history is kept."""

    unit_id: Id
    effective_date: Day
    name: Name | None = None
    code: Code | None = None
    flags: Flags | None = None
    kind: UnitKind | None = Field(
        default=None, description="A new commune-level kind (commune, ward, special_zone, township) from the date."
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.name is None and self.code is None and self.flags is None and self.kind is None:
            raise ValueError("give at least one of name, code, flags, kind")
        return self


class MoveUnit(Model):
    unit_id: Id
    new_parent_id: Id
    effective_date: Day


class MergeUnits(Model):
    """Merge units (sáp nhập): sources close and their successor is an existing or a new unit."""

    source_unit_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    effective_date: Day
    target_unit_id: Id | None = Field(default=None, description="An existing unit absorbing the sources.")
    new_unit: NewUnit | None = Field(default=None, description="A new unit formed from the sources.")
    move_children: bool = Field(default=True, description="Move the sources' active children to the successor.")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.target_unit_id is None) == (self.new_unit is None):
            raise ValueError("give exactly one of target_unit_id or new_unit")
        if len(set(self.source_unit_ids)) != len(self.source_unit_ids):
            raise ValueError("source_unit_ids must not repeat")
        return self


class SplitPart(NewUnit):
    children: Annotated[list[Id], Field(max_length=1000)] = Field(
        default=[], description="Active children of the source that move to this part."
    )


class SplitUnit(Model):
    unit_id: Id
    effective_date: Day
    parts: Annotated[list[SplitPart], Field(min_length=1, max_length=50)]
    close_source: bool = True


class CloseUnit(Model):
    unit_id: Id
    effective_date: Day
    reason: Text


class WindowException(Model):
    """A unit kind allowed to hold its festival in another window (schools hold it earlier)."""

    kind: UnitKind
    window_start: Day
    window_end: Day


class OpenCampaign(Model):
    """Open the yearly campaign (đợt) of a scope. Under a campaign of an ancestor in the same year it
    inherits that campaign's window, exceptions and deadline, and may only narrow them."""

    campaign_id: Id | None = None
    year: Year
    scope_unit_id: Id
    window_start: Day | None = Field(
        default=None, description="Default: the upper campaign's window for the scope's kind, else 1 July."
    )
    window_end: Day | None = Field(default=None, description="Default: the upper campaign's, else 19 August.")
    report_deadline: Day | None = Field(
        default=None, description="Default: the upper campaign's, else window_end. Never later than the upper's."
    )
    exceptions: Annotated[list[WindowException], Field(max_length=10)] | None = Field(
        default=None, description="Unit kinds with their own window; default: the upper campaign's."
    )
    expected_kinds: Annotated[list[UnitKind], Field(max_length=12)] | None = Field(
        default=None,
        description="Unit kinds expected to hold a festival (reporting's coverage); default: every kind below "
        "district level.",
    )
    name: Name | None = None


class CloseCampaign(Model):
    """Close a campaign: the season review (sơ kết / tổng kết) begins; nothing more is planned or
    rescheduled in it, and reports still arrive (as reported late)."""

    campaign_id: Id
    closed_on: Day


class PartPlan(Model):
    """The plan of one part: phần lễ (ceremony) or phần hội (festival part)."""

    planned: bool = True
    items: Annotated[list[Text], Field(max_length=50)] = Field(default=[], description="Programme items or activities.")

    @model_validator(mode="before")
    @classmethod
    def _bool_shorthand(cls, value: Any) -> Any:
        return {"planned": value} if isinstance(value, bool) else value


class PlanFestival(Model):
    festival_id: Id | None = None
    unit_id: Id
    year: Year
    date: Day
    venue: Name
    ceremony: PartPlan = Field(description="Phần lễ: review, lessons, directions, commendations.")
    festival_part: PartPlan = Field(description="Phần hội: culture, sports, folk games.")
    point_level: PointLevel | None = Field(
        default=None,
        description="A 'point' (điểm) festival of this level, designated by an actor of that level: ministry "
        "(a platform admin: the ministry is outside the province's tree), province (an actor of the province) or "
        "commune (an actor of the commune-level unit above the host). It is the host unit's festival for the year.",
    )
    allow_additional: bool = Field(default=False, description="Explicitly allow another festival for the unit.")
    title: Name | None = None


class RescheduleFestival(Model):
    festival_id: Id
    date: Day
    venue: Name | None = None
    reason: Text | None = None


class Gifts(Model):
    recipients: Count = 0
    value_vnd: Vnd = 0


class ReportFestival(Model):
    """The festival was held: results for the upward review (sơ kết, tổng kết)."""

    festival_id: Id
    held_on: Day
    participants: Count
    ceremony_held: bool
    festival_part_held: bool
    cost_vnd: Vnd | None = None
    funding_source: Name | None = None
    activities: Annotated[list[Text], Field(max_length=100)] = []
    models_launched: Annotated[list[Id], Field(max_length=100)] = Field(
        default=[], description="Movement models of the unit or its subtree launched at the festival (they must exist)."
    )
    gifts: Gifts | None = None
    point_level: PointLevel | None = Field(
        default=None, description="Designate it a point festival now (by an actor of that level, as when planning)."
    )
    delegates: Annotated[list[Name], Field(max_length=200)] = []


class CancelFestival(Model):
    festival_id: Id
    reason: Text


class RegisterModel(Model):
    """A movement model (mô hình) or advanced example (điển hình tiên tiến)."""

    model_id: Id | None = None
    unit_id: Id
    name: Name
    category: Name | None = None
    description: Text | None = None
    launched_on: Day
    festival_id: Id | None = Field(default=None, description="A festival of the unit or of an ancestor.")


class ReplicateModel(Model):
    model_id: Id
    unit_id: Id
    replicated_on: Day
    festival_id: Id | None = None


COMMANDS: dict[str, type[Model]] = {
    "register-unit": RegisterUnit,
    "update-unit": UpdateUnit,
    "move-unit": MoveUnit,
    "merge-units": MergeUnits,
    "split-unit": SplitUnit,
    "close-unit": CloseUnit,
    "open-campaign": OpenCampaign,
    "close-campaign": CloseCampaign,
    "plan-festival": PlanFestival,
    "reschedule-festival": RescheduleFestival,
    "report-festival": ReportFestival,
    "cancel-festival": CancelFestival,
    "register-model": RegisterModel,
    "replicate-model": ReplicateModel,
}


# ---------------------------------------------------------------- events


class UnitRegistered(Fact):
    unit_id: str
    code: str | None
    name: str
    kind: UnitKind
    parent_id: str | None
    valid_from: dt.date
    flags: list[str] = []
    predecessor_ids: list[str] = []
    predecessor_relation: Literal["merged", "split"] | None = Field(
        default=None, description="How the unit was formed from its predecessors (a merge or a split)."
    )


class UnitUpdated(Fact):
    unit_id: str
    effective_date: dt.date
    name: str
    code: str | None
    flags: list[str]
    kind: UnitKind | None = Field(default=None, description="The unit's kind from the effective date.")


class UnitMoved(Fact):
    unit_id: str
    from_parent_id: str | None
    to_parent_id: str
    effective_date: dt.date


class UnitsMerged(Fact):
    target_unit_id: str
    source_unit_ids: list[str]
    effective_date: dt.date
    target_created: bool
    children_moved: list[str] = []


class UnitSplit(Fact):
    source_unit_id: str
    part_unit_ids: list[str]
    effective_date: dt.date
    source_closed: bool


class UnitClosed(Fact):
    unit_id: str
    effective_date: dt.date
    reason: str
    successor_ids: list[str] = []


class CampaignOpened(Fact):
    campaign_id: str
    year: int
    scope_unit_id: str
    window_start: dt.date
    window_end: dt.date
    report_deadline: dt.date
    exceptions: list[dict[str, Any]] = []
    name: str | None = None
    expected_kinds: list[UnitKind] | None = Field(
        default=None, description="Kinds expected to hold a festival; absent: every kind below district level."
    )
    upper_campaign_id: str | None = Field(default=None, description="The campaign above it in the year, if any.")


class CampaignClosed(Fact):
    """The campaign is closed: the trigger of the season review and of reporting's snapshot."""

    campaign_id: str
    year: int
    scope_unit_id: str
    closed_on: dt.date


class FestivalPlanned(Fact):
    festival_id: str
    campaign_id: str
    unit_id: str
    year: int
    date: dt.date
    venue: str
    ceremony: dict[str, Any]
    festival_part: dict[str, Any]
    point_level: PointLevel | None = None
    designated_by: str | None = Field(
        default=None, description="For a point festival: the unit whose actor designated it (none: the ministry)."
    )


class FestivalRescheduled(Fact):
    festival_id: str
    unit_id: str
    year: int
    from_date: dt.date
    date: dt.date
    venue: str
    reason: str | None = None


class FestivalHeld(Fact):
    festival_id: str
    campaign_id: str
    unit_id: str
    year: int
    held_on: dt.date
    on_time: bool = Field(description="Held inside the campaign's window (for the unit's kind).")
    reported_on: dt.date | None = Field(
        default=None, description="The day the report reached the platform, in the province's time zone."
    )
    reported_on_time: bool | None = Field(
        default=None,
        description="reported_on is on or before the campaign's report deadline, and the campaign was not closed.",
    )
    participants: int
    ceremony_held: bool
    festival_part_held: bool
    cost_vnd: int | None = None
    funding_source: str | None = None
    activities: list[str] = []
    models_launched: list[str] = []
    gifts: dict[str, int] | None = None
    point_level: PointLevel | None = None
    delegates: list[str] = []
    designated_by: str | None = None


class FestivalCancelled(Fact):
    festival_id: str
    unit_id: str
    year: int
    reason: str


class ModelRegistered(Fact):
    model_id: str
    unit_id: str
    name: str
    category: str | None = None
    launched_on: dt.date
    festival_id: str | None = None


class ModelReplicated(Fact):
    model_id: str
    unit_id: str
    origin_unit_id: str
    replicated_on: dt.date
    festival_id: str | None = None


# (aggregate, event) → payload model; the subject is antq.registry.<aggregate>.<event>.v1
# (every service also publishes the command outcomes of shared.contract.envelope.OUTCOME_EVENTS)
EVENTS: dict[tuple[str, str], type[Fact]] = {
    ("unit", "registered"): UnitRegistered,
    ("unit", "updated"): UnitUpdated,
    ("unit", "moved"): UnitMoved,
    ("unit", "merged"): UnitsMerged,
    ("unit", "split"): UnitSplit,
    ("unit", "closed"): UnitClosed,
    ("campaign", "opened"): CampaignOpened,
    ("campaign", "closed"): CampaignClosed,
    ("festival", "planned"): FestivalPlanned,
    ("festival", "rescheduled"): FestivalRescheduled,
    ("festival", "held"): FestivalHeld,
    ("festival", "cancelled"): FestivalCancelled,
    ("model", "registered"): ModelRegistered,
    ("model", "replicated"): ModelReplicated,
}


# ---------------------------------------------------------------- queries


class UnitQuery(Model):
    unit_id: Id
    date: Day | None = Field(default=None, description="As of this date; default today.")


class UnitsQuery(Model):
    """Children or the whole subtree of a unit (or the roots) as of a date."""

    parent_id: Id | None = Field(default=None, description="Omit for the roots (provinces).")
    date: Day | None = None
    depth: Literal["children", "subtree"] = "children"
    kinds: Annotated[list[UnitKind], Field(max_length=12)] = []
    name_contains: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="Units whose name contains this, ignoring case and diacritics: 'thuan hoa' finds 'Thuận Hóa'.",
    )
    limit: int = Field(default=1000, ge=1, le=10_000)
    after: Id | None = Field(default=None, description="Cursor: the last unit_id of the previous page.")


class FestivalQuery(Model):
    festival_id: Id


class FestivalsQuery(Model):
    unit_id: Id | None = None
    year: Year | None = None
    limit: int = Field(default=100, ge=1, le=10_000)
    after: Id | None = Field(default=None, description="Cursor: the last festival_id of the previous page.")


class CampaignQuery(Model):
    campaign_id: Id | None = None
    year: Year | None = None
    scope_unit_id: Id | None = None

    @model_validator(mode="after")
    def _either(self) -> Self:
        if self.campaign_id is None and (self.year is None or self.scope_unit_id is None):
            raise ValueError("give campaign_id, or year and scope_unit_id")
        return self


class ModelQuery(Model):
    """A model with a page of the units that replicated it."""

    model_id: Id
    limit: int = Field(default=100, ge=0, le=5000, description="Replications per page.")
    after: Id | None = Field(default=None, description="Cursor: the last unit_id of the previous page.")


QUERIES: dict[str, type[Model]] = {
    "unit": UnitQuery,
    "units": UnitsQuery,
    "festival": FestivalQuery,
    "festivals": FestivalsQuery,
    "campaign": CampaignQuery,
    "model": ModelQuery,
}
