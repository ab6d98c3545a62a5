"""What registry's rules record, pinned where mutation testing (`make mutate`) found nothing
checking it: the facts events carry (flags, reasons, successors, children moved, subjects, versions,
point levels), the kind a campaign reads its scope with, and the edges of date checks (one-day
windows, a deadline on the first day, exception windows across the new year)."""

from __future__ import annotations

import pytest

from services.registry import domain as d
from shared.contract import registry as c
from shared.contract.errors import ValidationFailed
from tests.unit.registry.helpers import D, campaign, open_cmd, plan, province, report, unit


def planned(**kw):
    f, _ = d.plan_festival(plan(**kw), "f", unit(), campaign(), [])
    return f


def test_a_registered_unit_event_carries_its_flags():
    cmd = c.RegisterUnit(name="Thôn A", kind="hamlet", parent_id="c", valid_from=D(2025, 1, 1), flags=["key_area"])
    _, [ev] = d.register_unit(cmd, "h", unit("c", start=D(2020, 1, 1)))
    assert ev.data.flags == ["key_area"]


def test_flags_are_updated_from_the_date_once_each():
    new, [ev] = d.update_unit(
        unit(), c.UpdateUnit(unit_id="u1", effective_date=D(2025, 7, 1), flags=["key_area", "key_area"])
    )
    assert new.current.flags == ["key_area"] and ev.data.flags == ["key_area"]
    assert new.at(D(2025, 6, 30)).flags == []


def test_a_closing_unit_may_move_under_a_parent_that_closes_the_same_day():
    h = unit("h", kind="hamlet", parent="c1").closed_on(D(2026, 1, 1), "x")
    c2 = unit("c2").closed_on(D(2026, 1, 1), "x")
    moved, _ = d.move_unit(h, c2, D(2025, 7, 1), ["c2", "p"])
    assert moved.at(D(2025, 7, 1)).parent_id == "c2"


def test_a_merge_records_its_reason_and_the_children_it_moved():
    changed, events = d.merge_units(
        [unit("a")], unit("t"), False, [unit("h", kind="hamlet", parent="a")], D(2025, 7, 1)
    )
    a = next(u for u in changed if u.unit_id == "a")
    closed = next(e for e in events if e.name == "closed")
    merged = next(e for e in events if e.name == "merged")
    assert a.closed_reason == "merged into t" and closed.data.reason == "merged into t"
    assert merged.data.children_moved == ["h"]


def test_a_split_that_closes_its_source_records_the_reason_and_successors():
    part = d.new_unit(c.NewUnit(name="P", kind="commune", parent_id="p"), "pt", D(2025, 7, 1), province(), [])
    changed, events = d.split_unit(unit("s"), [part], {}, [], D(2025, 7, 1), True)
    s = next(u for u in changed if u.unit_id == "s")
    closed = next(e for e in events if e.name == "closed")
    assert s.closed_reason == "split" and closed.data.reason == "split" and closed.data.successor_ids == ["pt"]


UPPER_WARD_EXCEPTION = [c.WindowException(kind="ward", window_start=D(2025, 8, 5), window_end=D(2025, 8, 19))]


@pytest.mark.parametrize(
    ("becomes_ward_on", "expected"),
    [
        (D(2025, 8, 1), ("ward", D(2025, 8, 5), D(2025, 8, 19))),  # a ward when the upper window opens
        (D(2025, 8, 10), ("commune", D(2025, 7, 1), D(2025, 8, 19))),  # still a commune then
    ],
)
def test_a_campaign_below_reads_its_scopes_kind_when_the_upper_window_opens(becomes_ward_on, expected):
    scope = unit("w", start=D(2020, 1, 1)).changed_from(becomes_ward_on, kind="ward")
    upper = campaign(exceptions=UPPER_WARD_EXCEPTION)
    cp, _ = d.open_campaign(open_cmd(scope_unit_id="w"), "w-cp", scope, upper, [])
    assert (cp.scope_kind, cp.window_start, cp.window_end) == expected


def test_a_campaign_without_one_above_reads_its_scopes_kind_on_1_july():
    scope = unit("w", start=D(2020, 1, 1)).changed_from(D(2025, 7, 2), kind="ward")
    cp, _ = d.open_campaign(open_cmd(scope_unit_id="w"), "w-cp", scope, None, [])
    assert cp.scope_kind == "commune"


def test_a_one_day_window_and_a_deadline_on_the_first_day_are_valid():
    cp, _ = d.open_campaign(open_cmd(window_start=D(2025, 8, 1), window_end=D(2025, 8, 1)), "cp", province(), None, [])
    assert (cp.window_start, cp.window_end, cp.report_deadline) == (D(2025, 8, 1),) * 3
    cp, _ = d.open_campaign(open_cmd(report_deadline=D(2025, 7, 1)), "cp", province(), None, [])
    assert cp.report_deadline == D(2025, 7, 1)


@pytest.mark.parametrize(("start", "end"), [(D(2024, 12, 20), D(2025, 1, 10)), (D(2025, 12, 20), D(2026, 1, 10))])
def test_an_exception_window_stays_inside_the_year(start, end):
    exceptions = [c.WindowException(kind="school", window_start=start, window_end=end)]
    with pytest.raises(ValidationFailed) as e:
        d.open_campaign(open_cmd(exceptions=exceptions), "cp", province(), None, [])
    assert [p["field"] for p in e.value.details] == ["exceptions.0"]


def test_a_one_day_exception_window_is_valid():
    exceptions = [c.WindowException(kind="school", window_start=D(2025, 6, 1), window_end=D(2025, 6, 1))]
    cp, _ = d.open_campaign(open_cmd(exceptions=exceptions), "cp", province(), None, [])
    assert cp.window_for("school") == (D(2025, 6, 1), D(2025, 6, 1))


def test_the_held_event_carries_its_version_and_point_level():
    _, [ev, _v2] = d.report_festival(
        planned(), report(point_level="province"), unit(), campaign(), today=D(2025, 8, 2), designated_by="p"
    )
    assert ev.aggregate_version == 2 and ev.data.point_level == "province"
    _, [ev, _v2] = d.report_festival(planned(point_level="commune"), report(), unit(), campaign(), today=D(2025, 8, 2))
    assert ev.data.point_level == "commune"


def test_model_events_name_their_model():
    m, ev = d.register_model(c.RegisterModel(unit_id="u1", name="M", launched_on=D(2025, 7, 2)), "m", unit())
    _, _, ev2 = d.replicate_model(
        m, c.ReplicateModel(model_id="m", unit_id="u2", replicated_on=D(2025, 7, 2)), unit("u2"), None
    )
    assert ev.subject == "m" and ev2.subject == "m"
