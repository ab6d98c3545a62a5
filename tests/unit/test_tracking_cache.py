"""What a consumer remembers of what it applied (`shared/runtime/tracking.py`): enough to apply each
event once without a read, in memory that does not grow with every event of a season.

Issue 18 measured reporting's RSS at 256 MB for 30 000 units; its three consumers kept the id of
every event they applied (and each aggregate's version) in ordered dicts, about 190 bytes an event."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

from pymongo import AsyncMongoClient

from shared.runtime.consumers import plan
from shared.runtime.tracking import CACHE_LIMIT, RECENT_IDS, Tracking


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
    events = season(60_000)
    for i in range(0, len(events), 500):
        t.remember(events[i : i + 500])
    old, new = events[0], events[-1]
    del events  # what the cache keeps alive is all that stays: the events themselves are gone
    cache = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(t.versions) == 60_000 and t.complete
    assert len(t.recent) <= RECENT_IDS and not t.ids
    # the versions' dict under 16-byte digests of the keys, and the window of ids: 129 bytes an event,
    # where the versions under the key strings took 177 (and an ordered dict of versions and one of
    # every id, over 300)
    assert cache < 60_000 * 140, cache / 60_000

    # nothing applied is applied again, whichever copy comes back: a recent one is a duplicate by its id,
    # an older one is stale by its version; a new version applies
    versions, applied = await t.stored([old, new, Ev("ev-next", old.key, 2)], None)
    done = plan([old, new, Ev("ev-next", old.key, 2)], versions, applied)
    assert [e.id for e in done.duplicate] == [new.id]
    assert [e.id for e in done.stale] == [old.id]
    assert [e.id for e in done.apply] == ["ev-next"]


async def test_events_without_a_version_are_all_remembered_until_the_limit_then_read() -> None:
    t = tracking()
    unversioned = [Ev(f"cmd-{i}", None, None) for i in range(30_000)]
    t.remember(unversioned)
    assert len(t.ids) == 30_000 and t.complete  # their ids are what applies them once
    _, applied = await t.stored([unversioned[0]], None)
    assert applied == {"cmd-0"}
    t.remember(season(CACHE_LIMIT + 1 - len(t.versions)))
    assert not t.complete  # past the limit what was forgotten is read again
    assert len(t.versions) <= CACHE_LIMIT // 2
