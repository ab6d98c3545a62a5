"""Campaign rules without I/O: the window and its edges, exceptions by kind, nesting (a campaign
below may only narrow the one above, and one above may not be narrower than those below), closing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry import domain as d
from shared.contract import registry as c
from shared.contract.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from tests.unit.registry.helpers import D, campaign, open_cmd, province, unit

SCHOOLS = c.WindowException(kind="school", window_start=D(2025, 5, 15), window_end=D(2025, 6, 30))


@pytest.mark.parametrize(
    ("day", "inside"),
    [(D(2025, 6, 30), False), (D(2025, 7, 1), True), (D(2025, 8, 19), True), (D(2025, 8, 20), False)],
)
def test_the_default_window_is_1_july_to_19_august_both_included(day, inside):
    cp, _ = d.open_campaign(open_cmd(), "cp", province(), None, [])
    assert (cp.window_start, cp.window_end, cp.report_deadline) == (D(2025, 7, 1), D(2025, 8, 19), D(2025, 8, 19))
    assert cp.inside("commune", day) is inside
    if inside:
        cp.check_date("commune", day, "date")
    else:
        with pytest.raises(RuleViolation, match="outside the campaign window 2025-07-01 – 2025-08-19"):
            cp.check_date("commune", day, "date")


@given(st.integers(min_value=-60, max_value=60))
def test_a_date_is_accepted_exactly_inside_the_window(offset):
    day = D(2025, 7, 1) + dt.timedelta(days=offset)
    assert campaign().inside("commune", day) is (D(2025, 7, 1) <= day <= D(2025, 8, 19))


def test_a_kind_exception_gives_schools_their_own_window():
    cp = campaign(exceptions=[SCHOOLS])
    cp.check_date("school", D(2025, 5, 20), "date")
    with pytest.raises(RuleViolation, match="the window for this unit kind"):
        cp.check_date("school", D(2025, 7, 2), "date")
    with pytest.raises(RuleViolation):
        cp.check_date("ward", D(2025, 5, 20), "date")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"window_start": D(2025, 8, 1), "window_end": D(2025, 7, 1)}, "window_end"),
        ({"window_start": D(2024, 7, 1)}, "window_start"),
        ({"window_end": D(2026, 1, 1)}, "window_end"),
        ({"report_deadline": D(2025, 6, 1)}, "report_deadline"),
        (
            {"exceptions": [c.WindowException(kind="school", window_start=D(2025, 6, 1), window_end=D(2025, 5, 1))]},
            "exceptions.0",
        ),
        ({"exceptions": [SCHOOLS, SCHOOLS]}, "exceptions"),
    ],
)
def test_a_window_that_does_not_make_sense_is_refused(fields, problem):
    with pytest.raises(ValidationFailed) as err:
        d.open_campaign(open_cmd(**fields), "cp", province(), None, [])
    assert problem in [p["field"] for p in err.value.details]


def test_a_campaign_needs_its_scope_to_exist_when_the_window_opens():
    with pytest.raises(RuleViolation, match="does not exist"):
        d.open_campaign(open_cmd(), "cp", province(start=D(2025, 7, 2)), None, [])


def test_a_campaign_below_inherits_the_window_exceptions_and_deadline_above():
    upper = campaign(exceptions=[SCHOOLS], report_deadline=D(2025, 8, 25), window_start=D(2025, 7, 5))
    cp, ev = d.open_campaign(open_cmd(scope_unit_id="w"), "w-cp", unit("w", kind="ward"), upper, [])
    assert (cp.window_start, cp.window_end, cp.report_deadline) == (D(2025, 7, 5), D(2025, 8, 19), D(2025, 8, 25))
    assert cp.exceptions == [SCHOOLS]
    assert (cp.upper_campaign_id, ev.data.upper_campaign_id) == ("cp", "cp")  # type: ignore[attr-defined]


def test_a_school_campaign_follows_the_schools_exception_above():
    upper = campaign(exceptions=[SCHOOLS])
    cp, _ = d.open_campaign(open_cmd(scope_unit_id="s"), "s-cp", unit("s", kind="school"), upper, [])
    assert (cp.window_start, cp.window_end) == (D(2025, 5, 15), D(2025, 6, 30))


@pytest.mark.parametrize(
    "fields",
    [
        {"window_start": D(2025, 6, 30)},
        {"window_end": D(2025, 8, 20)},
        {"report_deadline": D(2025, 8, 26)},
        {"exceptions": [c.WindowException(kind="school", window_start=D(2025, 5, 14), window_end=D(2025, 6, 30))]},
    ],
)
def test_a_campaign_below_may_not_be_wider_and_the_refusal_names_the_campaign_above(fields):
    with pytest.raises(RuleViolation, match="may only narrow campaign cp"):
        d.open_campaign(
            open_cmd(scope_unit_id="w", **fields), "w-cp", unit("w", kind="ward"), campaign(exceptions=[SCHOOLS]), []
        )


def test_a_campaign_below_may_narrow():
    cmd = open_cmd(
        scope_unit_id="w", window_start=D(2025, 7, 10), window_end=D(2025, 8, 10), report_deadline=D(2025, 8, 15)
    )
    cp, _ = d.open_campaign(cmd, "w-cp", unit("w", kind="ward"), campaign(), [])
    assert (cp.window_start, cp.window_end) == (D(2025, 7, 10), D(2025, 8, 10))


def test_a_campaign_above_may_not_leave_one_below_wider_than_itself():
    below = campaign(campaign_id="w-cp", scope_unit_id="w", scope_kind="ward", window_start=D(2025, 7, 1))
    with pytest.raises(RuleViolation, match=r"campaign w-cp .* may only narrow campaign top"):
        d.open_campaign(open_cmd(window_start=D(2025, 7, 5)), "top", province(), None, [below])
    d.open_campaign(open_cmd(report_deadline=D(2025, 8, 25)), "top", province(), None, [below])


def test_no_campaign_opens_under_a_closed_one():
    with pytest.raises(RuleViolation, match="closed on 2025-09-01"):
        d.open_campaign(
            open_cmd(scope_unit_id="w"), "w-cp", unit("w", kind="ward"), campaign(closed_on=D(2025, 9, 1)), []
        )


def test_closing_is_dated_once_and_not_in_the_future():
    cp = campaign()
    cmd = c.CloseCampaign(campaign_id="cp", closed_on=D(2025, 9, 1))
    closed, ev = d.close_campaign(cp, cmd, today=D(2025, 9, 1))
    assert (closed.closed_on, closed.version, ev.name, ev.aggregate_version) == (D(2025, 9, 1), 2, "closed", 2)
    with pytest.raises(Conflict, match="already closed"):
        d.close_campaign(closed, cmd, today=D(2025, 9, 2))
    with pytest.raises(RuleViolation, match="future"):
        d.close_campaign(cp, cmd, today=D(2025, 8, 31))
    with pytest.raises(RuleViolation, match="before the window opens"):
        d.close_campaign(cp, c.CloseCampaign(campaign_id="cp", closed_on=D(2025, 6, 30)), today=D(2025, 9, 1))


def test_a_closed_campaign_refuses_by_name_what_it_no_longer_takes():
    campaign().require_open("planning")
    with pytest.raises(RuleViolation, match="closed on 2025-09-01: planning"):
        campaign(closed_on=D(2025, 9, 1)).require_open("planning")


def test_the_nearest_campaign_among_the_unit_and_its_ancestors_covers_it():
    top, ward = campaign(), campaign(campaign_id="w-cp", scope_unit_id="w")
    assert d.nearest([top, ward], ["h", "w", "p"], 2025) is ward
    assert d.nearest([top], ["h", "w", "p"], 2025) is top
    assert d.nearest([top], ["h", "w", "p"], 2026) is None
    with pytest.raises(NotFound, match="no campaign for 2026"):
        d.covered(d.nearest([top], ["h", "w", "p"], 2026), 2026, "h")
