"""What a consumer remembers of what it applied (`shared/runtime/tracking.py`): enough to apply each
event once without a read, in memory that does not grow with every event of a season.

Issue 18 measured reporting's RSS at 256 MB for 30 000 units; its three consumers kept the id of
every event they applied (and each aggregate's version) in ordered dicts, about 190 bytes an event."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

from pymongo import AsyncMongoClient

from shared.runtime.consumers import plan
from shared.runtime.tracking import CACHE_LIMIT, RECENT_IDS, Forgotten, Tracking, _k


@dataclass(frozen=True)
class Ev:
    id: str
    key: str | None
    version: int | None
    seq: int = 0


def tracking() -> Tracking:
    # the client connects lazily: nothing here reads the store (the cache is complete)
    t = Tracking(AsyncMongoClient("mongodb://127.0.0.1:9", connect=False).db, "track_test")
    t.complete = True
    return t


def season(n: int, start: int = 0) -> list[Ev]:
    # a festival's key as registry's events carry it: its id is a UUIDv7
    return [
        Ev(f"ev-{i:08d}-{'x' * 27}", f"registry.festival:0193a3b4-3333-7000-8000-{i:012d}", 1)
        for i in range(start, start + n)
    ]


async def test_a_long_season_of_versioned_events_keeps_their_versions_but_only_the_newest_ids() -> None:
    t = tracking()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    n = CACHE_LIMIT * 3 // 4
    events = season(n)
    for i in range(0, len(events), 500):
        t.remember(events[i : i + 500])
    old, new = events[0], events[-1]
    del events  # what the cache keeps alive is all that stays: the events themselves are gone
    cache = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(t.versions) == n and t.complete
    assert len(t.recent) <= RECENT_IDS and not t.ids
    # the versions' dict under 16-byte digests of the keys, and the window of ids: 129 bytes an event,
    # where the versions under the key strings took 177 (and an ordered dict of versions and one of
    # every id, over 300)
    assert cache < n * 140, cache / n

    # nothing applied is applied again, whichever copy comes back: a recent one is a duplicate by its id,
    # an older one is stale by its version; a new version applies
    versions, applied = await t.stored([old, new, Ev("ev-next", old.key, 2)], None)
    done = plan([old, new, Ev("ev-next", old.key, 2)], versions, applied)
    assert [e.id for e in done.duplicate] == [new.id]
    assert [e.id for e in done.stale] == [old.id]
    assert [e.id for e in done.apply] == ["ev-next"]


async def test_events_without_a_version_are_all_remembered_until_the_limit() -> None:
    t = tracking()
    unversioned = [Ev(f"cmd-{i}", None, None) for i in range(CACHE_LIMIT // 2)]
    t.remember(unversioned)
    assert len(t.ids) == CACHE_LIMIT // 2 and t.complete  # their ids are what applies them once
    _, applied = await t.stored([unversioned[0]], None)
    assert applied == {"cmd-0"}


def spied(t: Tracking) -> list[list[str]]:
    """The receipts each read of `t` asks for (found: none)."""
    reads: list[list[str]] = []

    async def read(wanted: list[str], session: object) -> dict[str, str]:
        reads.append(wanted)
        return {}

    t._read = read  # type: ignore[method-assign]
    return reads


async def test_a_full_cache_forgets_its_oldest_half_and_reads_only_what_it_forgot() -> None:
    """Issue 18: the three caches held 31 MB of reporting's RSS at 100 000 units; bounded, a full cache
    must not turn into a read for every aggregate it has never seen (a bulk import's new units)."""
    t = tracking()
    reads = spied(t)
    first = season(CACHE_LIMIT)
    t.remember(first)
    assert len(t.versions) == CACHE_LIMIT and t.forgotten is None
    t.remember(season(1, start=CACHE_LIMIT))  # one past the limit: the oldest half goes
    assert len(t.versions) == CACHE_LIMIT // 2 and t.complete
    assert t.forgotten is not None and all(_k(e.key) in t.forgotten for e in first[: CACHE_LIMIT // 2])

    # an aggregate never seen is still known without a read: version 0
    new = season(500, start=10 * CACHE_LIMIT)
    versions, _ = await t.stored(new, None)
    assert reads == [] and set(versions.values()) == {0}
    # one still cached: its version, no read
    versions, _ = await t.stored([Ev("again", first[-1].key, 2)], None)
    assert reads == [] and versions == {first[-1].key: 1}
    # one forgotten: its receipts are read (version 2 and its predecessor)
    old = first[0]
    await t.stored([Ev("back", old.key, 2)], None)
    assert reads == [[f"{old.key}@{1:010d}", f"{old.key}@{2:010d}"]]

    # unversioned events forgotten past the limit are read too, new ones are not
    reads.clear()
    ids = [Ev(f"cmd-{i}", None, None) for i in range(CACHE_LIMIT + 1)]
    t.remember(ids)
    _, applied = await t.stored([ids[0], Ev("cmd-new", None, None)], None)
    assert reads == [["id:cmd-0"]] and applied == set()


def test_the_forgotten_filter_answers_here_for_every_key_it_was_given_and_rarely_for_others() -> None:
    f = Forgotten()
    given = [_k(f"registry.unit:u{i}") for i in range(250_000)]
    f.update(given)
    assert all(d in f for d in given)
    others = sum(_k(f"registry.unit:v{i}") in f for i in range(20_000))
    assert others < 20_000 / 300, others  # about 1 in 1 300 at 250 000 forgotten
    # forgetting the whole cache (another writer moved the fence) drops the filter too
    t = tracking()
    t.forgotten = f
    t.forget()
    assert t.forgotten is None and not t.complete


def test_reporting_keeps_three_small_tracking_caches_beside_its_tree_and_year() -> None:
    """At 100 000 units reporting's three caches of 40 000 took 16 MB of its 200 (bench.reporting_memory),
    beside a tree and a year it must hold anyway: its consumers remember fewer, and read the rest."""
    import asyncio
    from types import SimpleNamespace

    from services.reporting.consumers import consumers

    specs = consumers(SimpleNamespace(changed=asyncio.Event()))  # type: ignore[arg-type]
    assert {s.name for s in specs} == {"units", "registry", "awards"}
    db = AsyncMongoClient("mongodb://127.0.0.1:9", connect=False).db
    peaks = []
    for spec in specs:
        t = Tracking(db, spec.tracking, spec.cache_limit)
        t.complete = True
        events = season(100_000)  # a province's aggregates, each seen once
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(0, len(events), 500):
            t.remember(events[i : i + 500])
            assert len(t.versions) <= spec.cache_limit
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
        tracemalloc.stop()
        # what it let go of is read again, not taken for never applied
        assert t.forgotten is not None and _k(events[0].key or "") in t.forgotten
        assert not t._never_seen(_k(events[0].key or ""))
    assert sum(peaks) < 9e6, [round(p / 1e6, 1) for p in peaks]
