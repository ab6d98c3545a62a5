"""Reporting's rules, pure: a unit's year from its festivals, the expected units and kinds, the
figures (through the day's index, as production answers), and the tree date that decides where a
moved unit counts."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from services.reporting import projection as p
from shared.contract.registry import DEFAULT_EXPECTED_KINDS as DEFAULT
from shared.replicas.campaigns import expected_kinds
from shared.replicas.day_index import DayIndex
from shared.replicas.units import Period, UnitRecord, UnitsView

D = dt.date


def unit(uid: str, kind: str, parent: str | None, start: dt.date = D(2024, 1, 1)) -> UnitRecord:
    return UnitRecord(
        unit_id=uid, kind=kind, versions=[Period(valid_from=start, parent_id=parent, name=uid, kind=kind)]
    )


def tree() -> UnitsView:
    moved = unit("g2", "residential_group", "w1").with_change(D(2026, 9, 1), parent_id="w2")
    return UnitsView(
        [
            unit("p", "province", None),
            unit("w1", "ward", "p"),
            unit("w2", "ward", "p"),
            unit("g1", "residential_group", "w1"),
            moved,
            unit("s", "school", "w2"),
            unit("late", "hamlet", "w2", start=D(2026, 10, 1)),
        ]
    )


def test_a_units_year_from_its_festivals():
    assert p.unit_summary([])["planned"] is False
    cancelled = {"status": "cancelled", "date": "2026-08-01"}
    planned = {"status": "planned", "date": "2026-08-02"}
    held = {
        "status": "held",
        "date": "2026-08-03",
        "held_on": "2026-08-03",
        "on_time": True,
        "reported_on_time": False,
        "ceremony_held": True,
        "festival_part_held": False,
        "participants": 50,
        "cost_vnd": 1000,
    }
    assert p.unit_summary([cancelled])["planned"] is False
    s = p.unit_summary([cancelled, planned, held])
    assert (s["festivals"], s["planned"], s["held"], s["held_on_time"], s["reported_on_time"], s["both_parts"]) == (
        2,
        True,
        True,
        True,
        False,
        False,
    )
    assert (s["participants"], s["cost_vnd"], s["held_on"], s["planned_date"]) == (50, 1000, "2026-08-03", "2026-08-02")
    late = {**held, "on_time": False, "ceremony_held": True, "festival_part_held": True}
    assert p.unit_summary([late])["held_on_time"] is False and p.unit_summary([late])["both_parts"] is True


def test_the_nearest_campaign_says_which_kinds_are_expected():
    campaigns = [
        {"scope_unit_id": "p", "expected_kinds": ["ward", "commune"]},
        {"scope_unit_id": "w2", "expected_kinds": None},
    ]
    assert expected_kinds(campaigns, ["w1", "p"]) == {"ward", "commune"}
    assert expected_kinds(campaigns, ["w2", "p"]) == DEFAULT  # none given: every kind below district
    assert expected_kinds([], ["g1", "w1", "p"]) == DEFAULT
    assert "province" not in DEFAULT and "district" not in DEFAULT
    assert {"commune", "ward", "special_zone", "township", "hamlet", "residential_group", "school"} <= DEFAULT


def index(day: dt.date) -> DayIndex:
    return DayIndex(tree().records.values(), day)


def test_a_moved_unit_counts_under_the_tree_of_the_date_asked():
    summaries = {"g2": {"planned": True, "held": True, "held_on_time": True, "both_parts": True, "participants": 10}}
    aug = {b.unit_id: b for b in p.coverage_of(index(D(2026, 8, 15)), "p", DEFAULT, summaries)[1]}
    sep = {b.unit_id: b for b in p.coverage_of(index(D(2026, 9, 15)), "p", DEFAULT, summaries)[1]}
    assert (aug["w1"].units_total, aug["w1"].units_held, aug["w2"].units_held) == (3, 1, 0)
    assert (sep["w1"].units_total, sep["w1"].units_held, sep["w2"].units_held) == (2, 0, 1)
    # a unit that does not exist yet on the tree date is not expected
    assert "late" not in index(D(2026, 9, 15)).expected("p", DEFAULT)
    assert "late" in index(D(2026, 10, 15)).expected("p", DEFAULT)
    assert "p" not in index(D(2026, 9, 15)).expected("p", DEFAULT)  # a province is not expected
    assert index(D(2026, 8, 15)).expected("w1", DEFAULT)[0] == "w1"  # the scope itself counts


def test_figures_and_their_ratios():
    f = p.from_tally(
        p.tally(
            ["a", "b", "c", "d"],
            {
                "a": {"planned": True, "held": True, "both_parts": True, "participants": 5},
                "b": {"planned": True, "held": True},
                "c": {"planned": True},
            },
        )
    )
    assert (f.units_total, f.units_planned, f.units_held, f.coverage, f.ceremony_compliance, f.participants) == (
        4,
        3,
        2,
        0.5,
        0.5,
        5,
    )
    empty = p.from_tally(p.tally([], {}))
    assert (empty.coverage, empty.ceremony_compliance) == (0.0, 0.0)


def test_the_default_tree_date_is_the_years_last_day_or_today():
    assert p.default_tree_date(2025, D(2026, 11, 29)) == D(2025, 12, 31)
    assert p.default_tree_date(2026, D(2026, 11, 29)) == D(2026, 11, 29)


def test_a_season_is_read_on_its_campaigns_close_date_else_its_report_deadline():
    view = tree()
    on = lambda d: view.ancestry("g1", d)  # noqa: E731
    opened = {"scope_unit_id": "p", "report_deadline": "2025-08-31", "closed_on": None}
    closed = {**opened, "closed_on": "2025-09-30"}
    ward = {"scope_unit_id": "w1", "report_deadline": "2025-08-25", "closed_on": None}
    assert p.season_tree_date(2025, D(2026, 11, 29), [opened], on) == D(2025, 8, 31)
    assert p.season_tree_date(2025, D(2026, 11, 29), [closed], on) == D(2025, 9, 30)
    assert p.season_tree_date(2025, D(2026, 11, 29), [closed, ward], on) == D(2025, 8, 25)  # the nearest governs
    assert p.season_tree_date(2025, D(2026, 11, 29), [], on) == D(2025, 12, 31)
    assert p.season_tree_date(2026, D(2026, 8, 1), [{**opened, "report_deadline": "2026-08-31"}], on) == D(2026, 8, 1)
    elsewhere = {"scope_unit_id": "other", "report_deadline": "2025-08-31", "closed_on": None}
    assert p.season_tree_date(2025, D(2026, 11, 29), [elsewhere], on) == D(2025, 12, 31)


def test_a_closed_units_year_counts_under_the_unit_carrying_it():
    a = {"planned": True, "held": True, "both_parts": True, "participants": 40, "cost_vnd": 5, "held_on": "2025-07-20"}
    b = {"planned": True, "held": False, "participants": 0, "planned_date": "2025-08-01"}
    carriers = {"h": ["k"], "gone": []}
    out = p.onto({"h": a, "k": b, "gone": a, "w": b}, {"k", "w"}, lambda u: carriers[u])
    assert set(out) == {"k", "w"}  # nothing carries "gone": it counts nowhere, as before
    k = out["k"]
    assert k["held"] and k["both_parts"] and k["participants"] == 40 and k["cost_vnd"] == 5
    assert (k["held_on"], k["planned_date"], k["carried"]) == ("2025-07-20", "2025-08-01", ["h"])
    assert out["w"] is b
    alone = p.onto({"h": a}, {"k"}, lambda u: ["k"])
    assert alone["k"]["carried"] == ["h"] and "carried_self" not in alone["k"]
    same = {"k": a}
    assert p.onto(same, {"k"}, lambda u: []) is same


held = st.fixed_dictionaries(
    {"planned": st.booleans(), "held": st.booleans(), "both_parts": st.booleans(), "participants": st.integers(0, 1000)}
)


@given(
    summaries=st.dictionaries(st.sampled_from(["w1", "w2", "g1", "g2", "s", "late"]), held),
    day=st.dates(D(2026, 7, 1), D(2026, 12, 31)),
)
def test_a_scope_is_the_sum_of_its_children(summaries, day):
    """Property: on any tree date, the province's totals are the sums of its children's (the province
    itself is not expected)."""
    total, rows = p.coverage_of(index(day), "p", DEFAULT, summaries)
    for field in ("units_total", "units_planned", "units_held", "participants"):
        assert getattr(total, field) == sum(getattr(r, field) for r in rows)


@given(
    summaries=st.dictionaries(st.sampled_from(["w1", "w2", "g1", "g2", "s", "late"]), held),
    day=st.dates(D(2026, 7, 1), D(2026, 12, 31)),
    scope=st.sampled_from(["p", "w1", "w2"]),
)
def test_the_days_index_answers_as_the_dated_tree_does(summaries, day, scope):
    """Property: the flattened index of a day expects the units a walk of the dated tree finds: the scope
    and its subtree on that day, of an expected kind."""
    view = tree()
    walked = [u for u in [view.unit(scope), *view.subtree(scope, day)] if u is not None and u.at(day)]
    assert sorted(index(day).expected(scope, DEFAULT)) == sorted(u.unit_id for u in walked if u.kind_at(day) in DEFAULT)


def test_reported_on_time_and_held_on_time_are_two_counts():
    summaries = {
        "a": {"planned": True, "held": True, "held_on_time": True, "reported_on_time": False},
        "b": {"planned": True, "held": True, "held_on_time": False, "reported_on_time": True},
        "c": {"planned": True, "held": True, "held_on_time": True, "reported_on_time": True},
    }
    t = p.tally(["a", "b", "c"], summaries)
    assert (t["units_held_on_time"], t["units_reported_on_time"]) == (2, 2)
    assert p.tally(["a"], summaries)["units_reported_on_time"] == 0
    assert p.tally(["b"], summaries)["units_held_on_time"] == 0


def test_costs_and_participants_add_up_and_a_missing_figure_counts_as_nothing():
    summaries = {
        "a": {"planned": True, "held": True, "participants": 40, "cost_vnd": 3_000_000},
        "b": {"planned": True, "held": True, "participants": None, "cost_vnd": None},
        "c": {"planned": True, "held": True, "participants": 10, "cost_vnd": 2_000_000},
    }
    t = p.tally(["a", "b", "c"], summaries)
    assert (t["participants"], t["cost_vnd"]) == (50, 5_000_000)
    reported = {"status": "held", "reported_on_time": True, "participants": None, "cost_vnd": None}
    s = p.unit_summary([reported, {"status": "held", "reported_on_time": False}])
    assert (s["reported_on_time"], s["participants"], s["cost_vnd"]) == (True, 0, 0)


def test_ratios_are_given_to_four_places_and_every_count_reaches_the_figures():
    f = p.from_tally(p.tally(["a", "b", "c"], {"a": {"held": True, "both_parts": True}, "b": {"held": True}}))
    assert (f.coverage, f.ceremony_compliance) == (0.6667, 0.5)
    assert "both_parts" not in f.model_dump()
    three = {u: {"held": True, "both_parts": u != "c"} for u in "abc"}
    assert p.from_tally(p.tally(["a", "b", "c"], three)).ceremony_compliance == 0.6667


def test_a_scope_of_an_expected_kind_counts_itself_and_a_leaf_has_no_rows():
    summaries = {"g1": {"planned": True, "held": True}}
    total, rows = p.coverage_of(index(D(2026, 8, 15)), "g1", DEFAULT, summaries)
    assert (total.units_total, total.units_held, rows) == (1, 1, [])
    total, _ = p.coverage_of(index(D(2026, 8, 15)), "w1", DEFAULT, {"w1": {"planned": True, "held": True}})
    assert (total.units_total, total.units_held) == (3, 1)  # the ward itself, and its two groups


def test_the_cost_by_funding_source_adds_the_festivals_held_lines():
    held = {"status": "held", "funding": [{"source": "B", "amount_vnd": 2}, {"source": "A", "amount_vnd": 3}]}
    again = {"status": "held", "funding": [{"source": "A", "amount_vnd": 4}, {"source": "C", "amount_vnd": None}]}
    cancelled = {"status": "cancelled", "funding": [{"source": "Z", "amount_vnd": 9}]}
    assert p.unit_summary([held, again, cancelled])["funding"] == [
        {"source": "A", "amount_vnd": 7},
        {"source": "B", "amount_vnd": 2},
        {"source": "C", "amount_vnd": 0},
    ]
    assert p.unit_summary([{"status": "planned"}])["funding"] == []


def test_a_festival_reports_gifts_count_unless_the_ledger_details_that_festival():
    ledger = {
        "entries": 1,
        "recipients": 2,
        "value_vnd": 10,
        "festivals": {"f2": 1},
        "by_funding": {"Q": 10},
        "by_kind": {"other": {"entries": 1, "recipients": 2, "value_vnd": 10}},
    }
    out = p.gifts_counted(
        ledger, [("f1", {"recipients": 3, "value_vnd": 6}), ("f2", {"recipients": 2, "value_vnd": 10})]
    )
    assert (out["entries"], out["recipients"], out["value_vnd"]) == (2, 5, 16)
    assert out["by_kind"]["unspecified"] == {"entries": 1, "recipients": 3, "value_vnd": 6}
    assert out["by_funding"] == {"Q": 10, "unspecified": 6}
    empty = p.gifts_counted({}, [("f3", {"recipients": 0, "value_vnd": 0})])
    assert (empty["entries"], empty["by_kind"]) == (0, {})


def _naive(units, summaries):
    out = dict.fromkeys(p.TALLY, 0)
    for u in units:
        out["units_total"] += 1
        s = summaries.get(u) or {}
        out["units_planned"] += bool(s.get("planned"))
        if s.get("held"):
            out["units_held"] += 1
            out["units_held_on_time"] += bool(s.get("held_on_time"))
            out["units_reported_on_time"] += bool(s.get("reported_on_time"))
            out["both_parts"] += bool(s.get("both_parts"))
            out["units_accepted"] += bool(s.get("accepted"))
            out["participants"] += int(s.get("participants") or 0)
            out["cost_vnd"] += int(s.get("cost_vnd") or 0)
    return out


summary = st.fixed_dictionaries(
    {},
    optional={
        k: st.booleans() for k in ("planned", "held", "held_on_time", "reported_on_time", "both_parts", "accepted")
    }
    | {"participants": st.integers(0, 10_000), "cost_vnd": st.none() | st.integers(0, 10**9)},
)


@given(summaries=st.dictionaries(st.sampled_from("abcdefgh"), summary), units=st.lists(st.sampled_from("abcdefghij")))
def test_the_packed_tally_counts_what_the_summaries_say(summaries, units):
    """The packed rows (kept between questions) give the counts a plain reading of the summaries gives."""
    assert p.tally(units, summaries, p.pack(summaries)) == p.tally(units, summaries) == _naive(units, summaries)


@given(summaries=st.dictionaries(st.sampled_from("abcdefgh"), summary), units=st.lists(st.sampled_from("abcdefghij")))
def test_a_tally_of_more_rows_than_a_field_sums_decodes_each_row(summaries, units):
    """Past SUMMED rows a field's sum could spill into the next: each row is decoded instead."""
    real = p.SUMMED
    try:
        p.SUMMED = 2
        assert p.tally(units, summaries, p.pack(summaries)) == _naive(units, summaries)
    finally:
        p.SUMMED = real


def test_rows_beyond_the_contracts_limits_are_kept_as_tuples_and_still_count():
    """A unit's participants or cost past what a packed field holds (no contract allows it) must not spill
    into another count: the rows are kept as tuples."""
    summaries = {"a": {"held": True, "planned": True, "participants": 1 << 50, "cost_vnd": 3}, "b": {"planned": True}}
    packed = p.pack(summaries)
    assert not packed.ints
    assert p.tally(["a", "b"], summaries, packed) == _naive(["a", "b"], summaries)
    assert p.tally(["a", "b"], summaries, packed)["participants"] == 1 << 50


def test_a_packed_row_is_one_int_of_64_bytes():
    """Issue 18: reporting keeps a row per unit of a province; eight counts in a tuple took 104 bytes,
    and each count above 256 another int (a province of 100 000 units: 12-17 MB)."""
    import tracemalloc

    summaries = {
        f"u{i}": {
            "held": True,
            "planned": True,
            "both_parts": True,
            "participants": 150 + i % 300,
            "cost_vnd": 10**6 * i,
        }
        for i in range(10_000)
    }
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    packed = p.pack(summaries)
    each = (tracemalloc.get_traced_memory()[0] - before) / len(packed)
    tracemalloc.stop()
    assert packed.ints and each < 110, each  # the int (64) and its dict entry
    assert p.tally(list(summaries), summaries, packed) == _naive(list(summaries), summaries)


def test_a_days_index_keeps_the_lists_of_large_scopes_only():
    """The publisher asks for every scope above a change: a province of 100 000 units kept a subtree and
    an expected list for each of its units, about 8 MB a day's index. Small scopes are walked again
    when asked, with the same answers; the province's lists are kept."""
    import gc
    import tracemalloc

    from shared.replicas.records import Interner, slim

    share = Interner()
    docs = [{"unit_id": "P", "kind": "province", "version": 1, "versions": [_period(None)]}]
    for c in range(400):
        docs.append({"unit_id": f"c{c}", "kind": "commune", "version": 1, "versions": [_period("P")]})
        docs += [
            {"unit_id": f"c{c}-h{h}", "kind": "hamlet", "version": 1, "versions": [_period(f"c{c}")]} for h in range(24)
        ]
    index = DayIndex([slim(d, share) for d in docs], D(2026, 8, 19))
    kinds = frozenset({"commune", "hamlet"})
    every = [d["unit_id"] for d in docs]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for u in every:  # the publisher's round over every scope
        index.subtree(u)
        index.expected(u, kinds)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    first = {u: (list(index.subtree(u)), list(index.expected(u, kinds))) for u in every}
    assert {u: (index.subtree(u), index.expected(u, kinds)) for u in every} == first  # asked again: the same
    assert len(first["P"][0]) == len(docs) and len(first["c7"][1]) == 25 and first["c7-h3"] == (["c7-h3"],) * 2
    assert first["c7"][0] == ["c7", *(f"c7-h{h}" for h in sorted(range(24), key=str))]
    # the province's two lists (10 001 ids each: 160 KB) and nothing per commune or hamlet
    assert kept < 0.3e6, kept
    assert "c7" not in index._subtrees and "P" in index._subtrees


def _period(parent: str | None) -> dict:
    return {"valid_from": "2025-07-01", "valid_to": None, "parent_id": parent, "name": "Đơn vị", "code": None}
