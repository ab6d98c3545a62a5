"""Registry's tree rules without I/O: periods, parents by kind, kinds that change, moves and cycles,
merges, splits, closes, codes held by one unit at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.registry import domain as d
from shared.contract import registry as c
from shared.contract.errors import Conflict, RuleViolation, ValidationFailed
from tests.unit.registry.helpers import D, province, unit


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
    assert u.version == 1 + len(offsets)


def test_a_change_on_the_first_day_of_a_period_replaces_it():
    u = unit().changed_from(D(2025, 1, 1), name="mới")
    assert [(v.valid_from, v.name) for v in u.versions] == [(D(2025, 1, 1), "mới")]


def test_a_change_before_a_later_change_is_refused():
    u = unit().changed_from(D(2025, 7, 1), name="mới")
    with pytest.raises(RuleViolation, match="on or after"):
        u.changed_from(D(2025, 3, 1), name="cũ")


def test_a_change_after_the_unit_closed_is_refused():
    u = unit().closed_on(D(2025, 7, 1), "gộp")
    with pytest.raises(RuleViolation, match="closed from 2025-07-01"):
        u.changed_from(D(2025, 8, 1), name="x")


def test_closing_ends_the_last_period_and_the_unit_is_gone_after():
    u = unit().closed_on(D(2025, 7, 1), "merged")
    assert u.at(D(2025, 6, 30)) is not None
    assert u.at(D(2025, 7, 1)) is None
    assert (u.status(D(2024, 12, 31)), u.status(D(2025, 6, 30)), u.status(D(2025, 7, 1))) == (
        "not_yet_valid",
        "active",
        "closed",
    )
    with pytest.raises(RuleViolation, match="does not exist"):
        u.require_active(D(2025, 7, 1))


@pytest.mark.parametrize("day", [D(2025, 1, 1), D(2024, 12, 31)])
def test_a_unit_cannot_close_on_or_before_its_first_day(day):
    with pytest.raises(RuleViolation):
        unit().closed_on(day, "x")


def test_a_unit_cannot_close_before_a_later_change():
    u = unit().changed_from(D(2025, 7, 1), name="mới")
    with pytest.raises(RuleViolation, match="has a change effective 2025-07-01"):
        u.closed_on(D(2025, 3, 1), "x")


def test_hamlets_hang_only_under_commune_level_units_including_townships():
    with pytest.raises(RuleViolation, match="cannot be placed under a province"):
        d.check_parent("hamlet", province(), D(2025, 8, 1))
    for kind in ("commune", "ward", "special_zone", "township"):
        d.check_parent("hamlet", unit("w", kind=kind), D(2025, 8, 1))


def test_a_province_has_no_parent_and_others_need_one():
    with pytest.raises(ValidationFailed, match="has no parent"):
        d.check_parent("province", province("q"), D(2025, 8, 1))
    d.check_parent("province", None, D(2025, 8, 1))
    with pytest.raises(ValidationFailed, match="needs a parent_id"):
        d.check_parent("commune", None, D(2025, 8, 1))


def test_a_parent_must_exist_for_the_childs_whole_period():
    parent = unit("w").closed_on(D(2025, 9, 1), "x")
    with pytest.raises(RuleViolation, match="closes on 2025-09-01"):
        d.check_parent("hamlet", parent, D(2025, 8, 1))
    d.check_parent("hamlet", parent, D(2025, 8, 1), until=D(2025, 9, 1))
    with pytest.raises(RuleViolation, match="does not exist"):
        d.check_parent("hamlet", unit("w", start=D(2025, 9, 1)), D(2025, 8, 1))


def test_registering_records_the_kind_in_the_period_and_the_event():
    u, [ev] = d.register_unit(
        c.RegisterUnit(name="Thị trấn Sịa", kind="township", parent_id="d", valid_from=D(2020, 1, 1)),
        "t1",
        unit("d", kind="district", parent="p", start=D(2020, 1, 1)),
    )
    assert u.kind_at(D(2024, 1, 1)) == "township"
    assert ev.data.kind == "township"  # type: ignore[attr-defined]
    assert ev.aggregate_version == 1


def test_a_commune_becomes_a_ward_from_a_date_and_keeps_its_history():
    cmd = c.UpdateUnit(unit_id="u1", effective_date=D(2025, 7, 1), kind="ward")
    u, [ev] = d.update_unit(unit(), cmd)
    assert (u.kind_at(D(2025, 6, 30)), u.kind_at(D(2025, 7, 1)), u.kind) == ("commune", "ward", "ward")
    assert ev.data.kind == "ward"  # type: ignore[attr-defined]
    assert ev.aggregate_version == 2


@pytest.mark.parametrize(("was", "to"), [("hamlet", "residential_group"), ("commune", "district"), ("school", "ward")])
def test_a_kind_changes_only_between_commune_level_kinds(was, to):
    with pytest.raises(RuleViolation, match="commune-level"):
        d.update_unit(unit(kind=was), c.UpdateUnit(unit_id="u1", effective_date=D(2025, 7, 1), kind=to))


def test_an_update_keeps_what_it_does_not_name():
    u = unit(code="19753").changed_from(D(2025, 2, 1), flags=["key_area"])
    new, _ = d.update_unit(u, c.UpdateUnit(unit_id="u1", effective_date=D(2025, 3, 1), name="Tên mới"))
    assert (new.current.name, new.current.code, new.current.flags) == ("Tên mới", "19753", ["key_area"])


def test_moving_a_unit_under_its_own_descendant_is_a_cycle():
    district = unit("dist", kind="district", parent="p")
    commune = unit("c", kind="commune", parent="dist")
    with pytest.raises(RuleViolation, match="would make a cycle"):
        d.move_unit(district, commune, D(2025, 7, 1), ["c", "dist", "p"])


def test_moving_to_the_same_parent_is_refused_and_a_move_is_dated():
    hamlet = unit("h", kind="hamlet", parent="c1")
    with pytest.raises(RuleViolation, match="already under c1"):
        d.move_unit(hamlet, unit("c1"), D(2025, 7, 1), ["c1", "p"])
    moved, ev = d.move_unit(hamlet, unit("c2"), D(2025, 7, 1), ["c2", "p"])
    assert moved.at(D(2025, 6, 30)).parent_id == "c1"  # type: ignore[union-attr]
    assert moved.at(D(2025, 7, 1)).parent_id == "c2"  # type: ignore[union-attr]
    assert (ev.data.from_parent_id, ev.aggregate_version) == ("c1", 2)  # type: ignore[attr-defined]


def test_merge_moves_children_and_links_both_ways():
    a, b = unit("a"), unit("b")
    target = d.new_unit(c.NewUnit(name="X", kind="commune", parent_id="p"), "t", D(2025, 7, 1), province(), ["a", "b"])
    child = unit("h", kind="hamlet", parent="a")
    changed, events = d.merge_units([a, b], target, True, [child], D(2025, 7, 1))
    by_id = {u.unit_id: u for u in changed}
    assert by_id["h"].at(D(2025, 7, 1)).parent_id == "t"  # type: ignore[union-attr]
    assert [s.unit_id for s in by_id["a"].successors] == ["t"]
    assert [p.unit_id for p in by_id["t"].predecessors] == ["a", "b"]
    assert [e.name for e in events] == ["registered", "moved", "merged", "closed", "closed"]
    assert [(e.subject, e.aggregate_version) for e in events] == [("t", 1), ("h", 2), ("t", 2), ("a", 2), ("b", 2)]
    assert events[0].data.predecessor_relation == "merged"  # type: ignore[attr-defined]


def test_merge_into_an_existing_unit_links_its_predecessors():
    changed, events = d.merge_units([unit("a")], unit("t"), False, [], D(2025, 7, 1))
    target = next(u for u in changed if u.unit_id == "t")
    assert [(p.unit_id, p.relation) for p in target.predecessors] == [("a", "merged")]
    assert [e.name for e in events] == ["merged", "closed"]


def test_a_merge_target_cannot_be_a_source_and_sources_cannot_nest():
    with pytest.raises(RuleViolation, match="cannot be one of its sources"):
        d.merge_units([unit("a"), unit("b")], unit("a"), False, [], D(2025, 7, 1))
    with pytest.raises(RuleViolation, match="nested"):
        d.merge_units(
            [unit("d", kind="district"), unit("c", parent="d")],
            unit("t"),
            False,
            [unit("c", parent="d")],
            D(2025, 7, 1),
        )


def test_split_moves_assigned_children_and_closes_the_source():
    source = unit("s")
    part = d.new_unit(c.NewUnit(name="P", kind="commune", parent_id="p"), "pt", D(2025, 7, 1), province(), [])
    child = unit("h", kind="hamlet", parent="s")
    changed, events = d.split_unit(source, [part], {"h": "pt"}, [child], D(2025, 7, 1), True)
    by_id = {u.unit_id: u for u in changed}
    assert by_id["s"].at(D(2025, 7, 1)) is None
    assert [(s.unit_id, s.relation) for s in by_id["s"].successors] == [("pt", "split")]
    assert [(p.unit_id, p.relation) for p in by_id["pt"].predecessors] == [("s", "split")]
    assert [e.name for e in events] == ["registered", "split", "closed", "moved"]
    assert [(e.subject, e.aggregate_version) for e in events] == [("pt", 1), ("s", 2), ("s", 3), ("h", 2)]
    assert events[0].data.predecessor_relation == "split"  # type: ignore[attr-defined]


def test_a_split_that_closes_its_source_must_place_every_active_child():
    part = d.new_unit(c.NewUnit(name="P", kind="commune", parent_id="p"), "pt", D(2025, 7, 1), province(), [])
    children = [unit("h1", kind="hamlet", parent="s"), unit("h2", kind="hamlet", parent="s")]
    with pytest.raises(RuleViolation, match="unassigned: h2"):
        d.split_unit(unit("s"), [part], {"h1": "pt"}, children, D(2025, 7, 1), True)
    with pytest.raises(RuleViolation, match="not active children"):
        d.split_unit(unit("s"), [part], {"zz": "pt"}, children, D(2025, 7, 1), False)
    kept, _ = d.split_unit(unit("s"), [part], {"h1": "pt"}, children, D(2025, 7, 1), False)
    assert next(u for u in kept if u.unit_id == "s").at(D(2025, 7, 1)) is not None


def test_a_unit_with_children_on_or_after_the_date_cannot_close():
    cmd = c.CloseUnit(unit_id="u1", effective_date=D(2025, 7, 1), reason="giải thể")
    with pytest.raises(RuleViolation, match="still has children"):
        d.close_unit(unit(), cmd, ["h1"])
    closed, ev = d.close_unit(unit(), cmd, [])
    assert (closed.closed_reason, ev.aggregate_version) == ("giải thể", 2)


def test_codes_may_be_reused_only_after_the_holder_ends():
    old = unit("old", code="19753").closed_on(D(2025, 7, 1), "merged")
    holders = {"19753": [(old.unit_id, v.valid_from, v.valid_to) for v in old.versions]}
    d.check_codes([unit("new", start=D(2025, 7, 1), code="19753")], holders)
    with pytest.raises(Conflict, match="19753"):
        d.check_codes([unit("new", start=D(2025, 6, 30), code="19753")], holders)
    d.check_codes([unit("x", code="1").changed_from(D(2025, 3, 1), code="2")], {})  # one unit, two codes in turn
