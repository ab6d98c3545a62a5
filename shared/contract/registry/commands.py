"""Registry's commands: the `data` of `antq.cmd.registry.<action>` and `antq.intake.registry.<action>`."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from shared.contract.registry.kinds import Flags, ModelLevel, PointLevel, UnitKind
from shared.contract.types import Code, Count, Day, Id, Model, Name, Text, Vnd, Year

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


class FundingPart(Model):
    source: Name
    amount_vnd: Vnd


class ReportFestival(Model):
    """The festival was held: results for the upward review (sơ kết, tổng kết)."""

    festival_id: Id
    held_on: Day
    participants: Count
    ceremony_held: bool
    festival_part_held: bool
    cost_vnd: Vnd | None = None
    funding_source: Name | None = Field(default=None, description="One funding source (or give `funding`).")
    funding: Annotated[list[FundingPart], Field(max_length=20)] | None = Field(
        default=None,
        description="The cost by funding source; the amounts must add up to cost_vnd (which, if left out, is "
        "their sum). Published in festival.held v2; v1 names the sources in funding_source.",
    )
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


class AcceptFestivalReport(Model):
    """An officer of an ancestor of the festival's unit accepts its report (domain facts §3.2: held →
    reported → accepted)."""

    festival_id: Id
    note: Text | None = None


class ReturnFestivalReport(Model):
    """An officer of an ancestor returns the report with a reason; the unit reports again
    (report-festival), and reminders chase it until it does."""

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


class RecogniseModel(Model):
    """A model proposed (registered) is recognised (công nhận) by a decision of a level: an approver of
    the model's unit or above records it."""

    model_id: Id
    level: ModelLevel
    decision_no: Name = Field(examples=["125/QĐ-UBND"])
    recognised_on: Day


class RetireModel(Model):
    """A model no longer run (it is kept, with its history)."""

    model_id: Id
    retired_on: Day
    reason: Text


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
    "accept-festival-report": AcceptFestivalReport,
    "return-festival-report": ReturnFestivalReport,
    "register-model": RegisterModel,
    "replicate-model": ReplicateModel,
    "recognise-model": RecogniseModel,
    "retire-model": RetireModel,
}
