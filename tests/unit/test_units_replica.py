"""The units replica is a pure fold of what registry published: it ends in the state each event
describes, including events today's registry would refuse (an owner that relaxes a rule and is
deployed first must not break its readers)."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest

from services.registry.domain import Unit
from shared.contract import registry as c
from shared.contract.errors import RuleViolation
from shared.replicas.records import Interner, slim
from shared.replicas.units import LineageLink, UnitRecord, UnitsView, apply, carriers, predecessors
from shared.replicas.walk import run

D = dt.date


def registered(uid: str, parent: str | None, kind: str = "hamlet", start: dt.date = D(2025, 1, 1)) -> UnitRecord:
    event = c.UnitRegistered(unit_id=uid, code=None, name=uid, kind=kind, parent_id=parent, valid_from=start)
    return apply(None, "registered", event, 1)


def test_a_move_effective_before_the_last_change_is_recorded_as_described():
    h = apply(
        registered("h", "w1"),
        "updated",
        c.UnitUpdated(unit_id="h", effective_date=D(2025, 6, 1), name="Thôn Mới", code=None, flags=[]),
        2,
    )
    # registry refuses a change dated before the unit's last one …
    with pytest.raises(RuleViolation):
        Unit.model_validate(h.model_dump()).changed_from(D(2025, 3, 1), parent_id="w2")
    # … a registry with a relaxed rule publishes it, and the replica takes it as the fact it is
    moved = apply(
        h, "moved", c.UnitMoved(unit_id="h", from_parent_id="w1", to_parent_id="w2", effective_date=D(2025, 3, 1)), 3
    )
    assert [(v.valid_from, v.parent_id, v.name) for v in moved.versions] == [
        (D(2025, 1, 1), "w1", "h"),
        (D(2025, 3, 1), "w2", "h"),
        (D(2025, 6, 1), "w2", "Thôn Mới"),
    ]
    assert moved.version == 3


def test_a_later_change_of_the_same_field_stands():
    h = apply(
        registered("h", "w1"),
        "moved",
        c.UnitMoved(unit_id="h", from_parent_id="w1", to_parent_id="w3", effective_date=D(2025, 6, 1)),
        2,
    )
    earlier = apply(
        h, "moved", c.UnitMoved(unit_id="h", from_parent_id="w1", to_parent_id="w2", effective_date=D(2025, 3, 1)), 3
    )
    assert [(v.valid_from, v.parent_id) for v in earlier.versions] == [
        (D(2025, 1, 1), "w1"),
        (D(2025, 3, 1), "w2"),
        (D(2025, 6, 1), "w3"),
    ]


def test_a_close_on_the_first_day_leaves_a_unit_that_never_exists():
    h = registered("h", "w1")
    with pytest.raises(RuleViolation):  # registry: a unit closes only after it began
        Unit.model_validate(h.model_dump()).closed_on(D(2025, 1, 1), "giải thể")
    closed = apply(h, "closed", c.UnitClosed(unit_id="h", effective_date=D(2025, 1, 1), reason="giải thể"), 2)
    assert closed.at(D(2025, 1, 1)) is None and closed.status(D(2024, 12, 31)) == "not_yet_valid"
    assert closed.closed_reason == "giải thể"


def test_a_close_before_a_later_change_ends_the_unit_there():
    h = apply(
        registered("h", "w1"),
        "updated",
        c.UnitUpdated(unit_id="h", effective_date=D(2025, 6, 1), name="Thôn Mới", code=None, flags=[]),
        2,
    )
    closed = apply(
        h, "closed", c.UnitClosed(unit_id="h", effective_date=D(2025, 4, 1), reason="sáp nhập", successor_ids=["g"]), 3
    )
    assert closed.valid_to == D(2025, 4, 1) and [s.unit_id for s in closed.successors] == ["g"]
    assert closed.at(D(2025, 3, 31)) is not None and closed.at(D(2025, 4, 1)) is None


def test_the_replica_folds_what_registry_decides_into_the_same_state():
    """Registry's own transition and the replica's fold of the event it publishes give one record."""
    unit = Unit.model_validate(registered("h", "w1").model_dump())
    decided = unit.changed_from(D(2025, 5, 1), parent_id="w2")
    folded = apply(
        registered("h", "w1"),
        "moved",
        c.UnitMoved(unit_id="h", from_parent_id="w1", to_parent_id="w2", effective_date=D(2025, 5, 1)),
        2,
    )
    assert folded.versions == decided.versions
    view = UnitsView([registered("p", None, "province"), registered("w2", "p", "ward"), folded])
    assert view.ancestry("h", D(2025, 5, 1)) == ["h", "w2", "p"]


def test_a_closed_unit_is_carried_by_its_successors_through_the_lineage():
    """A commune merged into N on 1 Jul 2025, N split later into N1 and N2: each day names who carries it."""
    c1 = registered("c1", "p", "commune", D(2024, 1, 1)).closed_from(
        D(2025, 7, 1), "merged", [LineageLink(unit_id="n", relation="merged", date=D(2025, 7, 1))]
    )
    n = registered("n", "p", "commune", D(2025, 7, 1))
    n = n.model_copy(update={"predecessors": [LineageLink(unit_id="c1", relation="merged", date=D(2025, 7, 1))]})
    parts = [LineageLink(unit_id=u, relation="split", date=D(2026, 1, 1)) for u in ("n1", "n2")]
    n = n.closed_from(D(2026, 1, 1), "split", parts)
    n1, n2 = (registered(u, "p", "commune", D(2026, 1, 1)) for u in ("n1", "n2"))
    n1 = n1.model_copy(update={"predecessors": [LineageLink(unit_id="n", relation="split", date=D(2026, 1, 1))]})
    view = UnitsView([c1, n, n1, n2])
    assert run(carriers("c1", D(2025, 6, 30)), view.unit) == ["c1"]
    assert run(carriers("c1", D(2025, 8, 5)), view.unit) == ["n"]
    assert run(carriers("c1", D(2026, 3, 1)), view.unit) == ["n1", "n2"]
    assert run(carriers("c1", D(2023, 3, 1)), view.unit) == []  # not yet valid: nothing carries it
    assert run(carriers("zz", D(2025, 8, 5)), view.unit) == []
    assert run(predecessors("n1"), view.unit) == ["n", "c1"]
    assert run(predecessors("c1"), view.unit) == []


def test_a_compact_record_keeps_its_dates_but_not_the_last_event_that_changed_it():
    """Issue 18: reporting holds 100 000 compact records. The last event's id and correlation (what a
    tree change's coverage.updated names as its cause) took 73 bytes of each (7 MB of a province), for
    the few units a publisher round takes; it reads those from the store (`ReportingStore.causes`). A
    unit's one period was kept in a tuple of its own (48 bytes, 5 MB)."""
    docs = [
        {
            "unit_id": f"h{i}",
            "kind": "hamlet",
            "version": 3,
            "versions": [{"valid_from": "2025-07-01", "parent_id": "c1", "name": f"Thôn {i}"}],
            "last_event": f"0193a3b4-1111-7000-8000-{i:012d}",
            "last_correlation": f"0193a3b4-2222-7000-8000-{i:012d}",
        }
        for i in range(10_000)
    ]
    share = Interner()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    records = [slim(d, share) for d in docs]
    del share  # a load's own (`all_units_slim`)
    each = (tracemalloc.get_traced_memory()[0] - before) / len(records)
    tracemalloc.stop()
    # the record (80) and its one period (88, not in a tuple of its own), with the list's pointer (8)
    assert each <= 192, each
    assert (records[7].unit_id, records[7].version, records[7].at(D(2026, 8, 1)).name) == ("h7", 3, "Thôn 7")
    assert "0193a3b4" not in repr(records[7])
    assert records[7].versions == (records[7].periods,) and records[7].at(D(2025, 6, 30)) is None
    # a unit with two periods (moved on 1 Sep 2026) keeps them in a tuple and answers for each day
    moved = {"valid_from": "2026-09-01", "parent_id": "c2", "name": "Thôn 7"}
    two = slim({**docs[7], "versions": [{**docs[7]["versions"][0], "valid_to": "2026-09-01"}, moved]}, Interner())
    assert [v.parent_id for v in two.versions] == ["c1", "c2"]
    assert (two.at(D(2026, 8, 31)).parent_id, two.at(D(2026, 9, 1)).parent_id) == ("c1", "c2")
    assert two.status(D(2025, 6, 1)) == "not_yet_valid" and two.current.parent_id == "c2"


def test_the_children_index_of_a_province_is_built_without_a_set_per_parent():
    """The first walk of a changed tree indexes every unit under each parent it ever had. A set per
    parent took 2 KB for a commune's 24 hamlets: 10 MB at once for a province, on every changed tree."""
    docs = [
        {
            "unit_id": f"h{i:05d}",
            "kind": "hamlet",
            "version": 1,
            "versions": [{"valid_from": "2025-07-01", "parent_id": f"c{i % 800:03d}", "name": f"Thôn {i}"}],
        }
        for i in range(20_000)
    ]
    # h00007 moved to c001 on 1 Sep 2026 and back to c007 on 1 Oct: under c007 once, and under c001
    docs[7]["versions"] = [
        {"valid_from": "2025-07-01", "valid_to": "2026-09-01", "parent_id": "c007", "name": "Thôn 7"},
        {"valid_from": "2026-09-01", "valid_to": "2026-10-01", "parent_id": "c001", "name": "Thôn 7"},
        {"valid_from": "2026-10-01", "parent_id": "c007", "name": "Thôn 7"},
    ]
    share = Interner()
    view = UnitsView(reversed([slim(d, share) for d in docs]))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    hamlets = view.children("c007", D(2026, 8, 1))
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the index kept (800 tuples of 25 ids) and what building it took beyond that
    assert peak - kept <= 600_000, (peak - kept, kept - before)
    assert [r.unit_id for r in hamlets] == [f"h{i:05d}" for i in range(7, 20_000, 800)]
    assert [r.unit_id for r in view.children("c001", D(2026, 9, 15))][:2] == ["h00001", "h00007"]
    assert "h00007" not in [r.unit_id for r in view.children("c007", D(2026, 9, 15))]
    assert [r.unit_id for r in view.children("c007", D(2026, 10, 1))].count("h00007") == 1
