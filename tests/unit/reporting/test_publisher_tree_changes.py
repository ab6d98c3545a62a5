"""A province's import changed 100 000 units between two publisher rounds, and one round took them
all: the scopes above each with their causes, and the marks carried to later rounds for all but 500 of
them, were reporting's peak of memory (54 MB of a 30 000-unit replay's transient peak). A round now
takes at most `limit` of the changed units and the next rounds the rest, against the same old tree."""

from __future__ import annotations

from services.reporting.deps import Seen
from services.reporting.topics import tree_changes
from shared.replicas.records import Interner, slim
from shared.replicas.units import UnitsView


def unit(uid: str, parent: str | None, version: int = 1):  # type: ignore[no-untyped-def]
    doc = {
        "unit_id": uid,
        "kind": "hamlet" if parent else "province",
        "versions": [{"valid_from": "2024-01-01", "parent_id": parent, "name": uid}],
        "version": version,
    }
    return slim(doc, Interner())


def test_the_first_round_remembers_the_tree_and_publishes_none_of_it():
    view = UnitsView([unit("p", None)])
    found, seen = tree_changes(None, view, limit=3)
    assert found == [] and seen.view is view and seen.done == {}


def test_a_large_change_is_taken_a_bounded_part_per_round_each_unit_once():
    old = UnitsView([unit("p", None)])
    new = old.updated([unit(f"h{i}", "p") for i in range(10)])
    seen = Seen(old, {})
    rounds = []
    while True:
        found, seen = tree_changes(seen, new, limit=4)
        if not found:
            break
        rounds.append([r.unit_id for r in found])
        assert len(rounds) < 10
    assert [len(r) for r in rounds] == [4, 4, 2]
    assert sorted(u for r in rounds for u in r) == sorted(f"h{i}" for i in range(10))
    assert seen.view is new and seen.done == {}  # all taken: the new tree is the one compared from now


def test_the_rounds_compare_against_the_old_tree_until_every_change_is_taken():
    old = UnitsView([unit("p", None), unit("h0", "p")])
    new = old.updated([unit("h0", "p", version=2), *(unit(f"h{i}", "p") for i in range(1, 6))])
    found, seen = tree_changes(Seen(old, {}), new, limit=2)
    assert seen.view is old  # the old ancestry of a moved unit is still the old tree's
    newer = new.updated([unit("h0", "p", version=3)])  # a unit taken already changes again
    later, seen = tree_changes(seen, newer, limit=10)
    assert {r.unit_id for r in found} | {r.unit_id for r in later} == {f"h{i}" for i in range(6)}
    assert "h0" in {r.unit_id for r in later} and seen.view is newer


def test_a_tree_read_whole_again_at_the_same_versions_has_no_change():
    old = UnitsView([unit("p", None), unit("h0", "p")])
    again = UnitsView([unit("p", None), unit("h0", "p")])  # other objects, the same versions
    found, seen = tree_changes(Seen(old, {}), again, limit=10)
    assert found == [] and seen.view is again
