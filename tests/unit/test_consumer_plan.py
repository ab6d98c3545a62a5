"""The ordering rule of the consumer kit (`plan`): per aggregate, versions apply in order from the
stored one; older ones are skipped; one beyond a missing version is held; ids apply once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.runtime.consumers import Keyed, plan


def ev(key: str | None, version: int | None, id: str | None = None) -> Keyed:
    return Keyed(id=id or f"{key}@{version}", key=key, version=version)


def test_versions_in_order_apply_in_order():
    p = plan([ev("a", 1), ev("a", 2), ev("b", 1)], {}, set())
    assert [e.id for e in p.apply] == ["a@1", "a@2", "b@1"]
    assert p.versions == {"a": 2, "b": 1}


def test_a_later_version_waits_for_an_earlier_one_in_the_same_delivery():
    p = plan([ev("a", 3), ev("a", 2), ev("b", 1), ev("a", 1)], {}, set())
    assert [e.id for e in p.apply] == ["b@1", "a@1", "a@2", "a@3"]
    assert p.held == []


def test_a_missing_version_holds_what_comes_after_it():
    p = plan([ev("a", 1), ev("a", 3), ev("a", 4)], {}, set())
    assert [e.id for e in p.apply] == ["a@1"]
    assert sorted(e.id for e in p.held) == ["a@3", "a@4"]
    assert p.versions == {"a": 1}


def test_older_versions_are_stale_and_known_ids_are_duplicates():
    p = plan([ev("a", 2), ev("a", 5, id="x"), ev("a", 6)], {"a": 5}, {"x"})
    assert [e.id for e in p.stale] == ["a@2"]
    assert [e.id for e in p.duplicate] == ["x"]
    assert [e.id for e in p.apply] == ["a@6"]


def test_events_without_a_version_apply_once_by_id():
    p = plan([ev(None, None, "e1"), ev(None, None, "e1"), ev(None, None, "e2")], {}, {"e2"})
    assert [e.id for e in p.apply] == ["e1"]
    assert [e.id for e in p.duplicate] == ["e1", "e2"]


@given(
    st.dictionaries(st.sampled_from("abcd"), st.integers(min_value=1, max_value=6), min_size=1),
    st.dictionaries(st.sampled_from("abcd"), st.integers(min_value=0, max_value=3)),
    st.randoms(use_true_random=False),
    st.booleans(),
)
def test_any_order_of_a_complete_history_applies_every_new_version_in_order(lengths, stored, rnd, copies):
    events = [ev(k, v) for k, n in lengths.items() for v in range(1, n + 1)]
    if copies:
        events += [ev(e.key, e.version, e.id) for e in events]  # redelivered copies, same ids
    rnd.shuffle(events)
    p = plan(events, stored, set())
    for key, n in lengths.items():
        applied = [e.version for e in p.apply if e.key == key]
        assert applied == list(range(stored.get(key, 0) + 1, n + 1))
    assert p.held == []
    assert len(p.apply) + len(p.stale) + len(p.duplicate) == len(events)
