"""Reporting's public contract: its command, its topics (events in ANTQ_REPORTING) and its queries.

Reporting reads registry's and awards' events only, and answers from its projections: coverage of a
scope along the tree of a date (DESIGN §3), one unit's status, the units still missing, summaries of
awards and gifts, and the season report (sơ kết / tổng kết)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from shared.contract.registry import UnitKind
from shared.contract.types import Day, Fact, Id, Model, Year

SERVICE = "reporting"
SEASON_TREE = (
    "Default: the season's tree (DESIGN §3): the day the governing campaign closed, else its report deadline "
    "(without a campaign, the year's last day); never after today."
)


# ---------------------------------------------------------------- commands


class PublishSnapshot(Model):
    """Publish the figures of a scope for a year now (also done on `campaign.closed`)."""

    year: Year
    scope_unit_id: Id
    tree_date: Day | None = Field(default=None, description=SEASON_TREE)


COMMANDS: dict[str, type[Model]] = {"publish-snapshot": PublishSnapshot}


# ---------------------------------------------------------------- figures and topics


class Figures(Fact):
    """Coverage of a scope (DESIGN §3): the expected units are the scope's subtree (the scope included)
    active on the tree date whose kind is expected to hold a festival."""

    units_total: int
    units_planned: int = Field(description="Expected units with a festival not cancelled.")
    units_held: int
    units_held_on_time: int
    units_reported_on_time: int
    coverage: float = Field(description="units_held ÷ units_total (0 when there are none).")
    units_held_both_parts: int = Field(
        default=0,
        description="Units that held both parts, the ceremony (phần lễ) and the festival (phần hội), as the seed "
        "plan requires: the compliance count.",
    )
    ceremony_compliance: float = Field(description="units_held_both_parts ÷ units_held (0 when none held).")
    units_accepted: int = Field(
        default=0, description="Units whose festival report the level above accepted (domain facts §3.2)."
    )
    participants: int
    cost_vnd: int
    models_registered: int = Field(default=0, description="Models (mô hình) launched in the year, in the subtree.")
    models_recognised: int = Field(default=0, description="Models recognised (công nhận) in the year.")
    models_replicated: int = Field(default=0, description="Replications (nhân rộng) made in the year.")
    models_at_festival: int = Field(default=0, description="Models of the year launched at a festival.")


class Breakdown(Figures):
    unit_id: str
    name: str
    kind: str


CAUSES_KEPT = 100


class CoverageUpdated(Fact):
    """Coalesced: at most once per interval (default 5 s) for each (year, scope) whose figures changed."""

    year: int
    scope_unit_id: str
    tree_date: dt.date
    figures: Figures
    caused_by: list[str] = Field(
        default=[],
        description="The ids of the events whose effects this update is the first to include (the newest "
        f"{CAUSES_KEPT}); the envelope's causationid is the newest of them, its correlationid that event's.",
    )


class SnapshotPublished(Fact):
    snapshot_id: str
    year: int
    scope_unit_id: str
    tree_date: dt.date
    reason: Literal["command", "campaign.closed"]
    campaign_id: str | None = None
    figures: Figures
    breakdown: list[Breakdown]


EVENTS: dict[tuple[str, str], type[Fact]] = {
    ("coverage", "updated"): CoverageUpdated,
    ("snapshot", "published"): SnapshotPublished,
}


# ---------------------------------------------------------------- queries


class CoverageQuery(Model):
    year: Year
    scope_unit_id: Id
    tree_date: Day | None = Field(default=None, description=SEASON_TREE)
    level: Annotated[list[UnitKind], Field(max_length=12)] | None = Field(
        default=None, description="Count only these kinds (default: the campaign's expected kinds)."
    )
    year_on_year: bool = Field(
        default=False,
        description="Also give `previous_year`: the year before's figures on this year's tree, through the lineage.",
    )
    breakdown_limit: int | None = Field(
        default=None,
        ge=1,
        le=5000,
        description="Page the breakdown: at most this many children, by unit id, with `breakdown_next` "
        "(unset: every child; a scope of thousands of children may then be `reply_too_large`).",
    )
    breakdown_after: Id | None = Field(
        default=None,
        description="Page the breakdown: the children after this one (`breakdown_next` of the page before).",
    )


class UnitStatusQuery(Model):
    year: Year
    unit_id: Id


class UnitsMissingQuery(Model):
    """Expected units of the scope the commune officer chases, each with its `reason`: `nothing_planned`
    (nothing planned or held), `one_part_only` (held without both the ceremony and the festival part) or
    `report_returned` (the level above returned its report, not reported again)."""

    year: Year
    scope_unit_id: Id
    tree_date: Day | None = None
    limit: int = Field(default=500, ge=1, le=5000)
    after: Id | None = Field(default=None, description="Cursor: the last unit_id of the previous page.")


class UnitsReportQuery(Model):
    """Every expected unit of the scope with its figures, for the season report; paged by unit id."""

    year: Year
    scope_unit_id: Id
    tree_date: Day | None = None
    limit: int = Field(default=1000, ge=1, le=5000)
    after: Id | None = None


class SummaryQuery(Model):
    year: Year
    scope_unit_id: Id
    tree_date: Day | None = None


class PointFestivalsQuery(Model):
    """Point (điểm) festivals of the scope's subtree on the tree date, rolled up by the level that chose
    them (ministry, province, district before 1 Jul 2025, commune), with their delegates."""

    year: Year
    scope_unit_id: Id
    tree_date: Day | None = Field(default=None, description=SEASON_TREE)


class SeasonsQuery(Model):
    """The year's campaigns (seasons) as reporting knows them: scope, name, window, report deadline, and
    whether it is closed; and the tree's top-level units today (`roots`). Where a board or a dashboard
    starts."""

    year: Year


QUERIES: dict[str, type[Model]] = {
    "seasons": SeasonsQuery,
    "coverage": CoverageQuery,
    "unit-status": UnitStatusQuery,
    "units-missing": UnitsMissingQuery,
    "units-report": UnitsReportQuery,
    "awards-summary": SummaryQuery,
    "gifts-summary": SummaryQuery,
    "point-festivals": PointFestivalsQuery,
}
