"""Campaigns (đợt): one per year and scope unit, with its window and report deadline; campaigns of
sub-scopes nest inside the campaign above them; a closed campaign takes no more plans.

Pure: the window rules festivals are checked against."""

from __future__ import annotations

import datetime as dt

from services.registry.domain.common import State, fact
from services.registry.domain.units import Unit
from shared.contract import registry as c
from shared.contract.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from shared.contract.events import DomainEvent
from shared.replicas.campaigns import nearest as governing

Window = tuple[dt.date, dt.date]


class Campaign(State):
    """The yearly campaign (đợt) of a scope: its window, exceptions by unit kind, report deadline."""

    campaign_id: str
    year: int
    scope_unit_id: str
    scope_kind: str | None = None
    window_start: dt.date
    window_end: dt.date
    report_deadline: dt.date
    exceptions: list[c.WindowException] = []
    expected_kinds: list[c.UnitKind] | None = None
    name: str | None = None
    upper_campaign_id: str | None = None
    closed_on: dt.date | None = None
    version: int = 1

    def window_for(self, kind: str) -> Window:
        for e in self.exceptions:
            if e.kind == kind:
                return e.window_start, e.window_end
        return self.window_start, self.window_end

    def inside(self, kind: str, day: dt.date) -> bool:
        start, end = self.window_for(kind)
        return start <= day <= end

    def check_date(self, kind: str, day: dt.date, what: str) -> None:
        start, end = self.window_for(kind)
        if not start <= day <= end:
            special = " (the window for this unit kind)" if (start, end) != (self.window_start, self.window_end) else ""
            raise RuleViolation(
                f"{what} {day} is outside the campaign window {start} – {end}{special} of campaign {self.campaign_id}",
                [{"field": "date", "rule": "window", "window_start": start.isoformat(), "window_end": end.isoformat()}],
            )

    def require_open(self, what: str) -> None:
        if self.closed_on is not None:
            raise RuleViolation(
                f"campaign {self.campaign_id} was closed on {self.closed_on}: {what} is no longer accepted",
                [{"rule": "campaign_open", "campaign_id": self.campaign_id, "closed_on": self.closed_on.isoformat()}],
            )


def _within(inner: Window, outer: Window) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def open_campaign(
    cmd: c.OpenCampaign,
    campaign_id: str,
    scope: Unit,
    upper: Campaign | None,
    lower: list[Campaign],
) -> tuple[Campaign, DomainEvent]:
    """A campaign for `scope`. Under `upper` (the nearest campaign above it in the year) it inherits
    the window for the scope's kind, the exceptions and the deadline, and may only narrow them; over
    `lower` (campaigns already open below it) it must leave none of them wider than itself."""
    y = cmd.year
    day = cmd.window_start or (upper.window_for(scope.kind)[0] if upper else dt.date(y, 7, 1))
    scope_kind = scope.kind_at(day)
    if upper is not None:
        upper.require_open(f"opening campaign {campaign_id} under it")
        inherited = upper.window_for(scope_kind)
        start = cmd.window_start or inherited[0]
        end = cmd.window_end or inherited[1]
        deadline = cmd.report_deadline or upper.report_deadline
        exceptions = list(upper.exceptions) if cmd.exceptions is None else list(cmd.exceptions)
    else:
        start = cmd.window_start or dt.date(y, 7, 1)
        end = cmd.window_end or dt.date(y, 8, 19)
        deadline = cmd.report_deadline or end
        exceptions = list(cmd.exceptions or [])
    _check_dates(y, start, end, deadline, exceptions)
    scope.require_active(start)
    campaign = Campaign(
        campaign_id=campaign_id,
        year=y,
        scope_unit_id=scope.unit_id,
        scope_kind=scope_kind,
        window_start=start,
        window_end=end,
        report_deadline=deadline,
        exceptions=exceptions,
        expected_kinds=cmd.expected_kinds,
        name=cmd.name,
        upper_campaign_id=upper.campaign_id if upper else None,
    )
    if upper is not None:
        _nested(campaign, upper)
    for below in lower:
        _nested(below, campaign)
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
            exceptions=[e.model_dump(mode="json") for e in exceptions],
            name=cmd.name,
            expected_kinds=cmd.expected_kinds,
            upper_campaign_id=campaign.upper_campaign_id,
        ),
        1,
    )


def _check_dates(y: int, start: dt.date, end: dt.date, deadline: dt.date, exceptions: list[c.WindowException]) -> None:
    problems = []
    if start > end:
        problems.append({"field": "window_end", "message": "must not be before window_start"})
    for name, d in (("window_start", start), ("window_end", end)):
        if d.year != y:
            problems.append({"field": name, "message": f"must be in {y}"})
    if deadline < start:
        problems.append({"field": "report_deadline", "message": "must not be before window_start"})
    for i, e in enumerate(exceptions):
        if e.window_start > e.window_end or e.window_start.year != y or e.window_end.year != y:
            problems.append({"field": f"exceptions.{i}", "message": f"window must be ordered and in {y}"})
    if len({e.kind for e in exceptions}) != len(exceptions):
        problems.append({"field": "exceptions", "message": "one exception per unit kind"})
    if problems:
        raise ValidationFailed("the campaign window is not valid", problems)


def _nested(inner: Campaign, outer: Campaign) -> None:
    """`inner` (of a scope below `outer`'s) may only narrow `outer`: its window within outer's window
    for its scope's kind (an exception outer allows), each exception within outer's window for that
    kind, its deadline not after outer's."""
    kind = inner.scope_kind or ""
    problems = []
    allowed = outer.window_for(kind)
    if not _within((inner.window_start, inner.window_end), allowed):
        problems.append(f"window {inner.window_start} – {inner.window_end} is not within {allowed[0]} – {allowed[1]}")
    for e in inner.exceptions:
        allowed_e = outer.window_for(e.kind)
        if not _within((e.window_start, e.window_end), allowed_e):
            problems.append(
                f"the {e.kind} window {e.window_start} – {e.window_end} is not within {allowed_e[0]} – {allowed_e[1]}"
            )
    if inner.report_deadline > outer.report_deadline:
        problems.append(f"report deadline {inner.report_deadline} is after {outer.report_deadline}")
    if problems:
        raise RuleViolation(
            f"campaign {inner.campaign_id} (scope {inner.scope_unit_id}) may only narrow campaign "
            f"{outer.campaign_id} (scope {outer.scope_unit_id}) above it: " + "; ".join(problems),
            [{"rule": "nested_campaign", "inner": inner.campaign_id, "outer": outer.campaign_id}],
        )


def close_campaign(campaign: Campaign, cmd: c.CloseCampaign, today: dt.date) -> tuple[Campaign, DomainEvent]:
    """Kết thúc đợt: the season review begins; later plans and reschedules are refused."""
    if campaign.closed_on is not None:
        raise Conflict(
            f"campaign {campaign.campaign_id} was already closed on {campaign.closed_on}", [{"rule": "campaign_open"}]
        )
    if cmd.closed_on < campaign.window_start:
        raise RuleViolation(
            f"closed_on {cmd.closed_on} is before the window opens ({campaign.window_start})",
            [{"field": "closed_on", "rule": "close_after_window_opens"}],
        )
    if cmd.closed_on > today:
        raise RuleViolation(
            f"closed_on {cmd.closed_on} is in the future (today is {today})",
            [{"field": "closed_on", "rule": "not_in_future"}],
        )
    closed = campaign.model_copy(update={"closed_on": cmd.closed_on, "version": campaign.version + 1})
    return closed, fact(
        "campaign",
        "closed",
        campaign.campaign_id,
        c.CampaignClosed(
            campaign_id=campaign.campaign_id,
            year=campaign.year,
            scope_unit_id=campaign.scope_unit_id,
            closed_on=cmd.closed_on,
        ),
        closed.version,
    )


def nearest(campaigns: list[Campaign], ancestry: list[str], year: int) -> Campaign | None:
    """The campaign of the nearest scope among `ancestry` (the unit first), if any."""
    return governing({cp.scope_unit_id: cp for cp in campaigns if cp.year == year}, ancestry)


def covered(campaign: Campaign | None, year: int, unit_id: str) -> Campaign:
    """The campaign that covers a unit (the nearest at or above it): one must."""
    if campaign is None:
        raise NotFound(
            f"no campaign for {year} covers unit {unit_id}; open one for the unit or an ancestor first",
            [{"rule": "campaign_covers", "year": year, "unit_id": unit_id}],
        )
    return campaign
