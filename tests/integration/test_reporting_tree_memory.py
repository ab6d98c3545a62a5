"""Reporting's tree in memory, reloaded while a province is loaded (issue 18: reporting's RSS reached
256 MB at 30 000 units). A reload keeps the records of the units that did not change, so the tree the
publisher compares against and the new one share them, and a query and the publisher that ask at once
wait for one load instead of each reading the province."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

from pymongo import AsyncMongoClient

from services.reporting.cache import TreeCache


def unit(unit_id: str, parent: str | None, name: str, version: int, kind: str = "hamlet", stamp: int = 1) -> dict:
    """A unit as the units consumer writes it, stamped with the fence's count of its transaction."""
    period = {"valid_from": "2025-07-01", "valid_to": None, "parent_id": parent, "name": name, "kind": kind}
    return {"_id": unit_id, "unit_id": unit_id, "kind": kind, "versions": [period], "version": version, "_f": stamp}


async def bump(db, n: int, epoch: str = "e1", consumer: str = "units") -> None:
    fence = {"writer": "w", "n": n, "epoch": epoch}
    await db[f"track_{consumer}"].update_one({"_id": "fence"}, {"$set": fence}, upsert=True)


async def province_of_fifty_hamlets(db) -> None:
    await db.units.insert_many(
        [unit("p", None, "Tỉnh", 1, "province")] + [unit(f"h{i}", "p", f"Thôn {i}", 1) for i in range(50)]
    )
    await bump(db, 1)


async def test_a_reload_keeps_the_records_of_unchanged_units_and_concurrent_askers_share_one_load(servers):
    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"tree_memory_{uuid.uuid4().hex[:8]}"]
    try:
        await province_of_fifty_hamlets(db)
        store, cache = ReportingStore(db), TreeCache()
        first = await cache.tree(store)
        assert len(first.records) == 51

        await db.units.update_one({"_id": "h7"}, {"$set": {"version": 2, "versions.0.name": "Thôn Bảy"}})
        await db.units.insert_one(unit("h50", "p", "Thôn 50", 1))
        await bump(db, 2, epoch="e2")  # another fence (a rebuild's): the whole tree is read again
        loads = 0
        load = store.all_units_slim

        async def counted(previous=None, after=None):  # the store's own read, counted
            nonlocal loads
            loads += 1
            await asyncio.sleep(0.05)  # long enough for the second asker to arrive during the load
            return await load(previous, after)

        store.all_units_slim = counted  # type: ignore[method-assign]
        one, two = await asyncio.gather(cache.tree(store), cache.tree(store))
        assert loads == 1 and one is two
        assert len(one.records) == 52
        assert one.records["h3"] is first.records["h3"]  # unchanged: the same record, not a copy
        assert one.records["h7"] is not first.records["h7"] and one.records["h7"].versions[0].name == "Thôn Bảy"
        assert first.records["h7"].versions[0].name == "Thôn 7"  # the old tree is left as it was
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_publisher_round_reads_the_oldest_mark_lists_up_to_its_bound(servers, monkeypatch):
    """A backlog of a province's festival marks was read whole by one round (up to 500 lists of 500
    marks, decoded at once); a round now takes whole lists, oldest first, until MAX_MARKS."""
    from services.reporting import topics

    monkeypatch.setattr(topics, "MAX_MARKS", 10)
    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"marks_{uuid.uuid4().hex[:8]}"]
    try:
        lists = [
            {"_id": f"b{i}", "marks": [{"year": 2026, "unit_id": f"u{i}-{j}"} for j in range(4)]} for i in range(6)
        ]
        await db.dirty.insert_many(lists)
        assert [b["_id"] for b in await topics.read_marks(db)] == ["b0", "b1", "b2"]  # 12 marks: the third ends it
        monkeypatch.setattr(topics, "MAX_MARKS", 2)
        assert [b["_id"] for b in await topics.read_marks(db)] == ["b0"]  # one list, however long
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_large_years_summaries_are_read_again_at_most_every_few_load_times_but_at_once_when_fresh(servers):
    """At 30 000 units every committed batch moved the registry fence and every query (a dashboard
    polling every 2 s) read the year's 27 000 summaries again. A year that loads slowly is now read
    again at most every RELOAD_SHARE × its load time; the publisher asks for it fresh, so the
    figures it sends are never older than the marks it takes."""
    import time

    from services.reporting.cache import RELOAD_SHARE
    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"year_reload_{uuid.uuid4().hex[:8]}"]

    async def held(unit_id: str, n: int) -> None:
        year = {"year": 2026, "unit_id": unit_id, "festival": {"planned": True, "held": True}, "_f": n}
        await db.unit_year.replace_one({"_id": f"2026|{unit_id}"}, year, upsert=True)
        await bump(db, n, consumer="registry")

    try:
        await held("h1", 1)
        store, cache = ReportingStore(db), TreeCache()
        assert set(await cache.summaries(store, 2026)) == {"h1"}
        await held("h2", 2)
        assert set(await cache.summaries(store, 2026)) == {"h1", "h2"}  # a quick load: read again at once

        slow = 2.0  # as if the year took 2 s to load, just now
        cache.year_loads[2026] = (time.monotonic(), slow)
        await held("h3", 3)
        assert set(await cache.summaries(store, 2026)) == {"h1", "h2"}  # not yet: a bounded share of the time
        assert set(await cache.summaries(store, 2026, fresh=True)) == {"h1", "h2", "h3"}
        cache.year_loads[2026] = (time.monotonic() - RELOAD_SHARE * slow, slow)
        await held("h4", 4)
        assert set(await cache.summaries(store, 2026)) == {"h1", "h2", "h3", "h4"}  # its time has come
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_the_cache_keeps_a_few_days_and_projections_not_one_per_date_asked(servers):
    """A day's index of a 100 000-unit tree is 14 MB and a year's packed rows on a day 12 MB; the cache
    kept 8 days and 16 projections (up to 300 MB). Asked for many dates, it keeps the newest few."""
    import datetime as dt

    from services.reporting.cache import MAX_DAYS, MAX_PROJECTIONS
    from services.reporting.projection import unpack
    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"days_{uuid.uuid4().hex[:8]}"]
    try:
        await db.units.insert_many([unit("p", None, "Tỉnh", 1, "province"), unit("h1", "p", "Thôn 1", 1)])
        await bump(db, 1)
        await db.unit_year.insert_one({"year": 2026, "unit_id": "h1", "festival": {"planned": True, "held": True}})
        await db.track_registry.insert_one({"_id": "fence", "writer": "w", "n": 1})
        store, cache = ReportingStore(db), TreeCache()
        days = [dt.date(2026, 8, d) for d in range(1, 11)]
        for day in days:
            for year in (2025, 2026):
                _, packed = await cache.packed_on(store, year, day)
        # at most 3 × 14 MB of day indexes and 6 × 12 MB of packed rows at 100 000 units
        assert MAX_DAYS <= 3 and MAX_PROJECTIONS <= 6
        assert list(cache.days) == days[-MAX_DAYS:]
        assert len(cache.projected) == MAX_PROJECTIONS and (2026, days[-1]) in cache.projected
        assert {u: unpack(row) for u, row in packed.items()} == {"h1": [1, 1, 0, 0, 0, 0, 0, 0]}
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_large_scope_folds_its_awards_from_one_cursor_of_the_year(servers, monkeypatch):
    """`awards-summary` of a 100 000-unit province asked a `$in` of 100 ids a thousand times and held
    every document at once (31.6 s in the national bench). Above WHOLE_YEAR units the year's documents
    are read in one cursor and folded one at a time; the sums are those of the scope's documents only
    (not another year's, not a unit outside the scope)."""
    from services.reporting import store as store_module
    from services.reporting.queries import _folded
    from services.reporting.store import ReportingStore
    from shared.runtime.mongo import RoundTrips

    trips = RoundTrips()
    client = AsyncMongoClient(servers.mongodb_url, event_listeners=[trips])
    db = client[f"awards_fold_{uuid.uuid4().hex[:8]}"]

    def doc(year: int, unit_id: str, n: int) -> dict:
        return {
            "_id": f"{year}|{unit_id}",
            "year": year,
            "unit_id": unit_id,
            "nominations": {"bang_khen": {"approved": n, "submitted": 1}},
            "awards": {"bang_khen": {"conferred": n}},
            "amount_vnd": 1000 * n,
            "split": {"kind": {"individual": {"awards": n, "amount_vnd": 1000 * n}}},
        }

    try:
        scope = [f"h{i}" for i in range(300)]
        docs = [doc(2026, u, i % 4) for i, u in enumerate(scope) if i % 3]  # a third have no document
        docs += [doc(2026, "outside", 50), doc(2025, "h1", 70)]  # another unit's, another year's
        del docs[1]["year"]  # h2's: a document upserted by an amount alone has no year field
        await db.unit_awards.insert_many(docs)
        ctx = type("Ctx", (), {"store": ReportingStore(db)})()

        by_id = await _folded(ctx, 2026, scope)
        with trips.count() as by_id_trips:
            await _folded(ctx, 2026, scope)
        monkeypatch.setattr(store_module, "WHOLE_YEAR", 100)
        with trips.count() as cursor_trips:
            in_one = await _folded(ctx, 2026, scope)

        assert by_id_trips[0] == 3  # 300 ids, 100 at a time
        assert cursor_trips[0] == 1  # one cursor of the year (its 200 documents in one batch)
        assert in_one.view() == by_id.view()
        expected = sum(i % 4 for i, _ in enumerate(scope) if i % 3)
        assert in_one.view()["awards"] == {"bang_khen": {"conferred": expected}}
        assert in_one.view()["awards_amount_vnd"] == 1000 * expected
        assert in_one.view()["standing"]["by_nominee_kind"] == {
            "individual": {"awards": expected, "amount_vnd": 1000 * expected}
        }
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_large_scope_folds_its_awards_without_a_new_string_per_unit(servers, monkeypatch):
    """`awards-summary` of a 100 000-unit province built the key `year|unit` of each unit of the scope to
    keep the scope's documents: 100 000 new strings beside the tree's, 14 MB on top of reporting's
    steady state at the moment the national bench asked it (its peak RSS, 194–200 MB against < 200).
    The scope's own id strings are matched instead: what the fold allocates does not grow with them."""
    import tracemalloc

    from services.reporting import store as store_module
    from services.reporting.queries import _folded
    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"awards_keys_{uuid.uuid4().hex[:8]}"]
    try:
        await db.unit_awards.insert_many([{"_id": f"2026|{u}", "unit_id": u, "amount_vnd": 1} for u in ("a", "b")])
        ctx = type("Ctx", (), {"store": ReportingStore(db)})()
        monkeypatch.setattr(store_module, "WHOLE_YEAR", 100)
        peaks = []
        for n in (1_000, 20_000):
            scope = ["a", *(f"unit-of-a-large-province-{i:08d}" for i in range(n))]
            await _folded(ctx, 2026, scope)  # warm: the cursor's and the driver's own first allocations
            tracemalloc.start()
            fold = await _folded(ctx, 2026, scope)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            assert fold.view()["awards_amount_vnd"] == 1  # "a" only: "b" is outside the scope
        # 19 000 more units: a set's table grows by 19 000 × 32 bytes at most; a key each, by 19 000 × 90
        assert peaks[1] - peaks[0] < 19_000 * 50, peaks
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_the_years_summaries_key_each_unit_by_the_trees_own_id_string(servers):
    """A province's 100 000 unit ids were held twice: once by the tree's records and once as the keys
    of the year's summaries (5 MB). The tree is loaded first and the summaries take its strings; a unit
    the tree does not know keeps its own."""
    import datetime as dt

    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"keys_{uuid.uuid4().hex[:8]}"]
    try:
        await db.units.insert_many([unit("p", None, "Tỉnh", 1, "province"), unit("h1", "p", "Thôn 1", 1)])
        await bump(db, 1)
        festival = {"planned": True, "held": True}
        await db.unit_year.insert_many([{"year": 2026, "unit_id": u, "festival": festival} for u in ("h1", "gone")])
        await db.track_registry.insert_one({"_id": "fence", "writer": "w", "n": 1})
        store, cache = ReportingStore(db), TreeCache()
        await cache.packed_on(store, 2026, dt.date(2026, 8, 19))
        keys = {k: k for k in cache.years[2026][1]}
        assert keys.keys() == {"h1", "gone"}
        assert keys["h1"] is cache.view.records["h1"].unit_id
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_tree_whose_fence_moved_on_reads_only_the_units_written_since_its_count(servers):
    """At 100 000 units reporting read the whole tree again each time the units fence moved (every few
    seconds while a province loaded): 100 000 documents decoded for a few changed, and 307 MB of RSS.
    Under the same fence (its epoch), it now reads the units stamped after the count it last read and
    lays them over the tree it has; another epoch (a rebuild swapped the collections) reads the whole."""
    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"tree_changes_{uuid.uuid4().hex[:8]}"]
    try:
        await province_of_fifty_hamlets(db)
        store, cache = ReportingStore(db), TreeCache()
        first = await cache.tree(store)
        reads: list[tuple[int | None, int]] = []
        load = store.all_units_slim

        async def counted(previous=None, after=None):
            out = await load(previous, after)
            reads.append((after, len(out)))
            return out

        store.all_units_slim = counted  # type: ignore[method-assign]
        await db.units.replace_one({"_id": "h7"}, unit("h7", "p", "Thôn Bảy", 2, stamp=2))
        await db.units.insert_one(unit("h50", "p", "Thôn 50", 1, stamp=2))
        await bump(db, 2)
        second = await cache.tree(store)
        assert reads == [(1, 2)]  # the two units written after count 1, not the 52
        assert len(second.records) == 52 and second.records["h3"] is first.records["h3"]
        assert second.records["h7"].versions[0].name == "Thôn Bảy"
        assert [r.unit_id for r in second.children("p", dt.date(2026, 8, 1))][-1] == "h9"  # the index is new
        assert "h50" in {r.unit_id for r in second.children("p", dt.date(2026, 8, 1))}
        assert len(first.records) == 51 and first.records["h7"].versions[0].name == "Thôn 7"  # left as it was

        await db.units.insert_one(unit("h51", "p", "Thôn 51", 1, stamp=3))
        await bump(db, 3)
        assert "h51" in (await cache.tree(store)).records and reads[-1] == (2, 1)

        await db.units.insert_one(unit("h52", "p", "Thôn 52", 1, stamp=1))  # a rebuilt collection's count
        await bump(db, 4, epoch="e2")
        assert "h52" in (await cache.tree(store)).records and reads[-1] == (None, 54)
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_a_year_whose_fence_moved_on_reads_only_the_units_written_since_its_count(servers):
    """The publisher read a province's year whole on every round while festivals came in. Under the
    same fence it now reads the units whose year was written after the count it last read; the other
    units keep their summaries (the same objects), a unit whose models changed gets them, and the result
    is what a whole read gives."""
    from services.reporting.store import ReportingStore

    client = AsyncMongoClient(servers.mongodb_url)
    db = client[f"year_changes_{uuid.uuid4().hex[:8]}"]

    async def year(unit_id: str, stamp: int, **fields) -> None:
        doc = {"year": 2026, "unit_id": unit_id, "festival": {"planned": True, **fields}, "_f": stamp}
        await db.unit_year.update_one({"_id": f"2026|{unit_id}"}, {"$set": doc}, upsert=True)

    async def same_as_a_whole_read(summaries) -> None:
        whole = await ReportingStore(db).summaries(2026)
        assert {u: dict(s) for u, s in summaries.items()} == {u: dict(s) for u, s in whole.items()}
        assert summaries.models == whole.models

    try:
        for u in ("h1", "h2", "h3"):
            await year(u, 1, held=False, report_gifts={"f-" + u: {"recipients": 1, "value_vnd": 5}})
        await bump(db, 1, consumer="registry")
        store, cache = ReportingStore(db), TreeCache()
        first = dict(await cache.summaries(store, 2026))

        await year("h2", 2, held=True)
        await year("h4", 2, held=True)
        model = {"_id": "m1", "unit_id": "h1", "launched_on": "2026-07-20", "at_festival": True}
        await db.models.insert_one(model)
        await bump(db, 2, consumer="registry")
        second = await cache.summaries(store, 2026)
        assert second["h3"] is first["h3"]  # not read again
        assert second["h2"] is not first["h2"] and second["h2"]["held"] is True
        assert second["h1"]["models"] == {"registered": 1, "at_festival": 1}
        assert second["h1"]["report_gifts"] == {"f-h1": {"recipients": 1, "value_vnd": 5}}  # kept beside them
        await same_as_a_whole_read(second)

        await db.unit_year.update_one({"_id": "2026|h3"}, {"$inc": {"models_replicated": 2}, "$set": {"_f": 3}})
        await db.models.update_one({"_id": "m1"}, {"$set": {"launched_on": "2025-12-31"}})  # another year now
        await bump(db, 3, consumer="registry")
        third = await cache.summaries(store, 2026)
        assert third["h3"]["models"] == {"replicated": 2} and "models" not in third["h1"]
        assert third["h4"] is second["h4"]
        await same_as_a_whole_read(third)

        await bump(db, 4, epoch="e2", consumer="registry")  # another fence: the whole year again
        assert (await cache.summaries(store, 2026))["h4"] is not third["h4"]
    finally:
        await client.drop_database(db.name)
        await client.close()
