"""Registry rules without I/O: the effective-dated tree, the window, festivals, authorisation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry import domain as d
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, RuleViolation, ValidationFailed

D = dt.date


def unit(uid="u1", kind="commune", parent="p", start=D(2025, 1, 1), code=None):
    return d.Unit(
        unit_id=uid,
        kind=kind,
        versions=[d.UnitVersion(valid_from=start, parent_id=parent, name=uid, code=code)],
        version=1,
    )


def campaign(**kw):
    base = dict(
        campaign_id="cp",
        year=2025,
        scope_unit_id="p",
        window_start=D(2025, 7, 1),
        window_end=D(2025, 8, 19),
        report_deadline=D(2025, 8, 10),
    )
    return d.Campaign(**{**base, **kw})


def plan(date=D(2025, 8, 1), **kw):
    return c.PlanFestival(
        unit_id="u1", year=2025, date=date, venue="Sân", ceremony=c.PartPlan(), festival_part=c.PartPlan(), **kw
    )


@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12, unique=True))
def test_changes_keep_the_history_contiguous_and_every_day_answered_once(offsets):
    u = unit()
    for off in sorted(offsets):
        u = u.changed_from(D(2025, 1, 1) + dt.timedelta(days=off), name=f"n{off}")
    for a, b in zip(u.versions, u.versions[1:], strict=False):
        assert a.valid_to == b.valid_from
        assert a.valid_from < a.valid_to
    for probe in range(0, 420, 7):
        day = D(2025, 1, 1) + dt.timedelta(days=probe)
        assert sum(v.valid_from <= day < v.valid_to for v in u.versions) == 1


def test_a_change_before_a_later_change_is_refused():
    u = unit().changed_from(D(2025, 7, 1), name="mới")
    with pytest.raises(RuleViolation, match="on or after"):
        u.changed_from(D(2025, 3, 1), name="cũ")


def test_closing_ends_the_last_period_and_the_unit_is_gone_after():
    u = unit().closed_on(D(2025, 7, 1), "merged")
    assert u.at(D(2025, 6, 30)) is not None
    assert u.at(D(2025, 7, 1)) is None
    with pytest.raises(RuleViolation, match="does not exist"):
        u.require_active(D(2025, 7, 1))


@given(st.integers(min_value=-60, max_value=60))
def test_festival_date_is_accepted_exactly_inside_the_window(offset):
    day = D(2025, 7, 1) + dt.timedelta(days=offset)
    cp = campaign()
    if D(2025, 7, 1) <= day <= D(2025, 8, 19):
        cp.check_date("commune", day, "date")
    else:
        with pytest.raises(RuleViolation, match="outside the campaign window"):
            cp.check_date("commune", day, "date")


def test_a_kind_exception_gives_schools_their_own_window():
    cp = campaign(exceptions=[c.WindowException(kind="school", window_start=D(2025, 5, 15), window_end=D(2025, 8, 19))])
    cp.check_date("school", D(2025, 5, 20), "date")
    with pytest.raises(RuleViolation):
        cp.check_date("ward", D(2025, 5, 20), "date")


def test_one_festival_per_unit_per_campaign_unless_explicitly_allowed():
    with pytest.raises(Conflict, match="allow_additional"):
        d.plan_festival(plan(), "f2", unit(), campaign(), ["f1"])
    f, ev = d.plan_festival(plan(allow_additional=True), "f2", unit(), campaign(), ["f1"])
    assert f.additional
    assert ev.name == "planned"


def test_both_parts_must_be_planned():
    cmd = plan().model_copy(update={"ceremony": c.PartPlan(planned=False)})
    with pytest.raises(ValidationFailed, match="phần lễ"):
        d.plan_festival(cmd, "f", unit(), campaign(), [])


@pytest.mark.parametrize(("held", "on_time"), [(D(2025, 8, 10), True), (D(2025, 8, 11), False)])
def test_held_on_or_before_the_deadline_is_on_time(held, on_time):
    f, _ = d.plan_festival(plan(), "f", unit(), campaign(), [])
    report = c.ReportFestival(
        festival_id="f", held_on=held, participants=10, ceremony_held=True, festival_part_held=True
    )
    held_f, ev = d.report_festival(f, report, unit(), campaign(), today=D(2026, 1, 1))
    assert held_f.on_time is on_time
    assert ev.data.on_time is on_time  # type: ignore[attr-defined]


def test_a_festival_cannot_be_reported_held_in_the_future():
    f, _ = d.plan_festival(plan(), "f", unit(), campaign(), [])
    report = c.ReportFestival(
        festival_id="f", held_on=D(2025, 8, 1), participants=1, ceremony_held=True, festival_part_held=True
    )
    with pytest.raises(RuleViolation, match="future"):
        d.report_festival(f, report, unit(), campaign(), today=D(2025, 7, 31))


def test_codes_may_be_reused_only_after_the_holder_ends():
    old = unit("old", code="19753").closed_on(D(2025, 7, 1), "merged")
    holders = {"19753": [(old.unit_id, v.valid_from, v.valid_to) for v in old.versions]}
    d.check_codes([unit("new", start=D(2025, 7, 1), code="19753")], holders)
    with pytest.raises(Conflict, match="19753"):
        d.check_codes([unit("new", start=D(2025, 6, 30), code="19753")], holders)


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Actor(id="a", unit=None, role="admin"), True),
        (Actor(id="a", unit="u1", role="officer"), True),
        (Actor(id="a", unit="p", role="approver"), True),
        (Actor(id="a", unit="other", role="admin"), False),
        (Actor(id="a", unit="child", role="officer"), False),
    ],
)
def test_only_the_unit_or_an_ancestor_may_change_it(actor, allowed):
    if allowed:
        d.authorize(actor, ["u1", "p"], "change")
    else:
        with pytest.raises(Forbidden):
            d.authorize(actor, ["u1", "p"], "change")


def test_hamlets_hang_only_under_commune_level_units():
    with pytest.raises(RuleViolation):
        d.check_parent("hamlet", unit("p", kind="province", parent=None), D(2025, 8, 1))
    d.check_parent("hamlet", unit("w", kind="ward"), D(2025, 8, 1))


def test_merge_moves_children_and_links_both_ways():
    a, b = unit("a"), unit("b")
    target = d.new_unit(
        c.NewUnit(name="X", kind="commune", parent_id="p"),
        "t",
        D(2025, 7, 1),
        unit("p", kind="province", parent=None),
        ["a", "b"],
    )
    child = unit("h", kind="hamlet", parent="a")
    changed, events = d.merge_units([a, b], target, True, [child], D(2025, 7, 1))
    by_id = {u.unit_id: u for u in changed}
    assert by_id["h"].at(D(2025, 7, 1)).parent_id == "t"  # type: ignore[union-attr]
    assert by_id["a"].successors[0].unit_id == "t"
    assert [e.name for e in events] == ["registered", "moved", "merged", "closed", "closed"]
