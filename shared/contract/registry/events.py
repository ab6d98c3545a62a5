"""Registry's events: the `data` of `antq.registry.<aggregate>.<event>.v<N>` (stream ANTQ_REGISTRY).

A new major version of an event gets a subject of its own (`NEWER_EVENTS`) and an upcaster from the
one before (`UPCASTERS`): the producer publishes both while consumers move (the older one marked
`supersededby`), a consumer written for the older one keeps reading it, and a consumer written for
the newer one reads history from before it through the upcaster (README: events that evolve)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from shared.contract.registry.kinds import ModelLevel, PointLevel, UnitKind
from shared.contract.types import Fact

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


class FundingLine(Fact):
    source: str = Field(description="Who paid: the state budget, a business, the residents' contributions…")
    amount_vnd: int | None = Field(
        default=None, description="How much, in đồng (unknown for a v1 report without cost)."
    )


class FestivalHeldV2(Fact):
    """festival.held, major 2: the cost broken down by funding source (`funding`), where v1 had one
    `funding_source` string. Otherwise the same facts as v1."""

    festival_id: str
    campaign_id: str
    unit_id: str
    year: int
    held_on: dt.date
    on_time: bool = Field(description="Held inside the campaign's window (for the unit's kind).")
    reported_on: dt.date | None = None
    reported_on_time: bool | None = None
    participants: int
    ceremony_held: bool
    festival_part_held: bool
    cost_vnd: int | None = None
    funding: list[FundingLine] = Field(
        default=[], description="The cost by funding source; the amounts add up to cost_vnd when both are given."
    )
    activities: list[str] = []
    models_launched: list[str] = []
    gifts: dict[str, int] | None = None
    point_level: PointLevel | None = None
    delegates: list[str] = []
    designated_by: str | None = None


def held_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A v1 festival.held read as v2: its one funding source becomes one line carrying the whole cost."""
    out = {k: v for k, v in data.items() if k != "funding_source"}
    source = data.get("funding_source")
    out["funding"] = [{"source": source, "amount_vnd": data.get("cost_vnd")}] if source else []
    return out


class FestivalCancelled(Fact):
    festival_id: str
    unit_id: str
    year: int
    reason: str


class FestivalReportAccepted(Fact):
    festival_id: str
    unit_id: str
    year: int
    accepted_on: dt.date
    accepted_by: str | None = Field(description="The unit whose officer accepted it (none: a platform operator).")
    note: str | None = None


class FestivalReportReturned(Fact):
    festival_id: str
    unit_id: str
    year: int
    returned_on: dt.date
    returned_by: str | None = Field(description="The unit whose officer returned it (none: a platform operator).")
    reason: str


class ModelRegistered(Fact):
    model_id: str
    unit_id: str
    name: str
    category: str | None = None
    launched_on: dt.date
    festival_id: str | None = None


class ModelRecognised(Fact):
    model_id: str
    unit_id: str
    level: ModelLevel
    decision_no: str
    recognised_on: dt.date
    recognised_by: str | None = Field(description="The unit whose approver recorded it (none: a platform operator).")


class ModelRetired(Fact):
    model_id: str
    unit_id: str
    retired_on: dt.date
    reason: str


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
    ("festival", "report-accepted"): FestivalReportAccepted,
    ("festival", "report-returned"): FestivalReportReturned,
    ("model", "registered"): ModelRegistered,
    ("model", "replicated"): ModelReplicated,
    ("model", "recognised"): ModelRecognised,
    ("model", "retired"): ModelRetired,
}

# Newer major versions: (aggregate, event, major) → payload; subject antq.registry.<aggregate>.<event>.v<major>
NEWER_EVENTS: dict[tuple[str, str, int], type[Fact]] = {
    ("festival", "held", 2): FestivalHeldV2,
}

# (aggregate, event, major) → reads that major's data as the next major's
UPCASTERS: dict[tuple[str, str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("festival", "held", 1): held_v1_to_v2,
}
