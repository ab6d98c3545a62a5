"""Campaigns (đợt): one per year and scope unit, with its window and report deadline.

Pure: the window rules festivals are checked against."""

from __future__ import annotations

import datetime as dt

from services.registry.domain.common import State, fact
from services.registry.domain.units import Unit
from shared.contract import registry as c
from shared.contract.errors import NotFound, RuleViolation, ValidationFailed
from shared.contract.events import DomainEvent


class Campaign(State):
    """The yearly campaign (đợt) of a scope: its window and report deadline."""

    campaign_id: str
    year: int
    scope_unit_id: str
    window_start: dt.date
    window_end: dt.date
    report_deadline: dt.date
    exceptions: list[c.WindowException] = []
    name: str | None = None
    version: int = 1

    def window_for(self, kind: str) -> tuple[dt.date, dt.date]:
        for e in self.exceptions:
            if e.kind == kind:
                return e.window_start, e.window_end
        return self.window_start, self.window_end

    def check_date(self, kind: str, day: dt.date, what: str) -> None:
        start, end = self.window_for(kind)
        if not start <= day <= end:
            special = " (the window for this unit kind)" if (start, end) != (self.window_start, self.window_end) else ""
            raise RuleViolation(
                f"{what} {day} is outside the campaign window {start} – {end}{special} of campaign {self.campaign_id}",
                [{"field": "date", "window_start": start.isoformat(), "window_end": end.isoformat()}],
            )


def open_campaign(cmd: c.OpenCampaign, campaign_id: str, scope: Unit) -> tuple[Campaign, DomainEvent]:
    y = cmd.year
    start = cmd.window_start or dt.date(y, 7, 1)
    end = cmd.window_end or dt.date(y, 8, 19)
    deadline = cmd.report_deadline or end
    problems = []
    if start > end:
        problems.append({"field": "window_end", "message": "must not be before window_start"})
    for name, d in (("window_start", start), ("window_end", end)):
        if d.year != y:
            problems.append({"field": name, "message": f"must be in {y}"})
    if deadline < start:
        problems.append({"field": "report_deadline", "message": "must not be before window_start"})
    for i, e in enumerate(cmd.exceptions):
        if e.window_start > e.window_end or e.window_start.year != y or e.window_end.year != y:
            problems.append({"field": f"exceptions.{i}", "message": f"window must be ordered and in {y}"})
    if len({e.kind for e in cmd.exceptions}) != len(cmd.exceptions):
        problems.append({"field": "exceptions", "message": "one exception per unit kind"})
    if problems:
        raise ValidationFailed("the campaign window is not valid", problems)
    scope.require_active(start)
    campaign = Campaign(
        campaign_id=campaign_id,
        year=y,
        scope_unit_id=scope.unit_id,
        window_start=start,
        window_end=end,
        report_deadline=deadline,
        exceptions=list(cmd.exceptions),
        name=cmd.name,
    )
    return campaign, fact(
        "campaign",
        "opened",
        campaign_id,
        c.CampaignOpened(
            campaign_id=campaign_id,
            year=y,
            scope_unit_id=scope.unit_id,
            window_start=start,
            window_end=end,
            report_deadline=deadline,
            exceptions=[e.model_dump(mode="json") for e in cmd.exceptions],
            name=cmd.name,
        ),
        1,
    )


def campaign_for(campaigns: list[Campaign], ancestry: list[str], year: int, unit_id: str) -> Campaign:
    """The campaign of the nearest scope among the unit and its ancestors."""
    by_scope = {cp.scope_unit_id: cp for cp in campaigns if cp.year == year}
    for uid in ancestry:
        if uid in by_scope:
            return by_scope[uid]
    raise NotFound(f"no campaign for {year} covers unit {unit_id}; open one for the unit or an ancestor first")
