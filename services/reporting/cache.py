"""Reporting's tree and years in memory (`TreeCache`): a coverage query of a whole province walks
memory, not the store. Kept up to date from what changed: each consumer transaction stamps what it
writes with its fence's count (`Tx.stamp`), and the cache reads the units, or a year's units, stamped
after the count it last read. The whole tree or year is read only at the start, or when the fence is
another one (a rebuild swapped its collections in)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from services.reporting.projection import Packed, YearSummaries, onto, pack
from services.reporting.store import Fence, ReportingStore, Summaries
from shared.replicas.day_index import DayIndex
from shared.replicas.units import UnitsView, carriers
from shared.replicas.walk import run


def follows(before: Fence | None, now: Fence) -> int | None:
    """The count to read the changes after, when the fence `now` continues the one read `before`
    (same epoch, a count as high); None: read the whole."""
    if before is None or before[1] is None or now[1] is None or before[2] != now[2] or now[1] < before[1]:
        return None
    return int(before[1])


# what the cache keeps besides the tree and the years: at 100 000 units a day's index was 14 MB and a
# year's packed rows on a day 12 MB (8 MB as ints now), so 8 days and 16 projections could hold 300 MB.
# A season needs its campaign's tree, today's and one more asked for; this year and the year before on each.
MAX_DAYS = 3
MAX_PROJECTIONS = 6
RELOAD_SHARE = 3  # while a large tree keeps changing, at most a third of the time goes to reloading it
THROTTLED_FROM = 0.5  # seconds: a tree that loads faster is always read fresh


def reload_due(now: float, loaded_at: float, load_seconds: float) -> bool:
    """Whether a tree whose fence moved is read again now. A small tree (loaded in under half a second)
    is, at once; a large one that
    keeps changing (a bulk import) at most every RELOAD_SHARE × its load time: the time spent reloading
    stays a bounded share however large the tree (reloading it on every batch made a bulk load
    quadratic), and a read sees the tree at most that old (seconds, at 100 000 units)."""
    return load_seconds < THROTTLED_FROM or now - loaded_at >= RELOAD_SHARE * load_seconds


class TreeCache:
    """The tree and a year's festival summaries in memory, brought up to date when their consumer's
    fence moves (each committed batch moves it) from what was written since (`follows`): a coverage
    query of a whole province walks memory, not the store."""

    def __init__(self) -> None:
        self.units_version: Fence | None = None
        self.view = UnitsView([])
        self.loaded_at, self.load_seconds = float("-inf"), 0.0
        self.years: dict[int, tuple[Fence, YearSummaries]] = {}
        self.year_loads: dict[int, tuple[float, float]] = {}  # year → (loaded at, seconds the load took)
        self.days: dict[dt.date, DayIndex] = {}  # of the current tree; a few, the most recent
        self.projected: dict[tuple[int, dt.date], tuple[object, object, Summaries, Packed]] = {}
        # one load at a time: a query and the publisher asking at once wait for the same load (two
        # loads side by side held two copies of a province)
        self._tree_lock, self._year_lock = asyncio.Lock(), asyncio.Lock()

    async def tree(self, store: ReportingStore) -> UnitsView:
        async with self._tree_lock:
            return await self._tree(store)

    async def _tree(self, store: ReportingStore) -> UnitsView:
        version = await store.fence("units")
        moved = version != self.units_version or version[1] is None
        if moved and reload_due(time.monotonic(), self.loaded_at, self.load_seconds):
            started = time.monotonic()
            # the old tree's day indexes and projections go before the new tree is read (not beside it)
            self.days = {}
            self.projected = {}
            after = follows(self.units_version, version)
            if after is None:
                self.view = UnitsView(await store.all_units_slim(self.view.records))
            else:  # the units written since: a new tree sharing every other record with the old one
                self.view = self.view.updated(await store.all_units_slim(self.view.records, after))
            self.units_version = version
            self.loaded_at, self.load_seconds = time.monotonic(), time.monotonic() - started
        return self.view

    async def day(self, store: ReportingStore, day: dt.date) -> DayIndex:
        view = await self.tree(store)
        if day not in self.days:
            if len(self.days) >= MAX_DAYS:
                self.days.pop(next(iter(self.days)))
            self.days[day] = DayIndex(view.records.values(), day)
        return self.days[day]

    async def summaries(self, store: ReportingStore, year: int, fresh: bool = False) -> dict[str, Mapping[str, Any]]:
        """The year's summaries, brought up to date when the registry consumer's fence moved (the units
        written since, or the whole under a new epoch): at once for a small year, and for a large one
        (a province being loaded) at most every RELOAD_SHARE × its load time (`reload_due`), as the
        tree. `fresh`: at once whatever the size (the publisher, which must not send figures older
        than the marks it takes)."""
        async with self._year_lock:
            return await self._summaries(store, year, fresh)

    async def _summaries(self, store: ReportingStore, year: int, fresh: bool) -> dict[str, Mapping[str, Any]]:
        version = await store.fence("registry")
        cached = self.years.get(year)
        moved = cached is None or cached[0] != version or version[1] is None
        loaded_at, seconds = self.year_loads.get(year, (float("-inf"), 0.0))
        if moved and (cached is None or fresh or reload_due(time.monotonic(), loaded_at, seconds)):
            # the year's old summaries and their projections go before the new are read (not beside them)
            after = follows(cached[0], version) if cached is not None else None
            since = (cached[1], after) if cached is not None and after is not None else None
            self.years.pop(year, None)
            for memo in [k for k in self.projected if k[0] == year]:
                del self.projected[memo]
            started = time.monotonic()
            self.years[year] = (version, await store.summaries(year, self.view.records, since))
            self.year_loads[year] = (time.monotonic(), time.monotonic() - started)
        return self.years[year][1]

    async def summaries_on(self, store: ReportingStore, year: int, day: dt.date) -> Summaries:
        """A year's summaries on the tree of `day`, through the lineage (`projection.onto`); kept while
        neither the tree nor the year's summaries change."""
        return (await self.packed_on(store, year, day))[0]

    async def packed_on(self, store: ReportingStore, year: int, day: dt.date) -> tuple[Summaries, Packed]:
        """The projected summaries and their packed rows (`projection.pack`), kept together."""
        index = await self.day(store, day)  # the tree first: the year's summaries key units by its ids
        summaries = await self.summaries(store, year)
        memo = self.projected.get((year, day))
        if memo is not None and memo[0] is summaries and memo[1] is index:
            return memo[2], memo[3]
        out = project(self.view, index, summaries)
        packed = pack(out)
        if len(self.projected) >= MAX_PROJECTIONS:
            self.projected.pop(next(iter(self.projected)))
        self.projected[(year, day)] = (summaries, index, out, packed)
        return out, packed


def project(
    view: UnitsView, index: DayIndex, summaries: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Mapping[str, Any]]:
    """`summaries` onto the tree of the index's day: a closed unit's under the unit carrying it."""
    return onto(summaries, index.kind, lambda unit_id: run(carriers(unit_id, index.day), view.unit))
