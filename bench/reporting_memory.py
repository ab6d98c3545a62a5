"""Where reporting's memory goes for a province of N units (default 100 000): each structure it keeps,
built as reporting builds it and measured with tracemalloc (Python objects only: the process's RSS
adds the interpreter and libraries, about 75 MB, and what transient work leaves fragmented).

`python -m bench.reporting_memory [UNITS]`: the tree with its children index, one day's index, the
year's summaries (as `make bench-national` makes them, and with funding lines and a report's gifts),
their packed rows, the publisher's units taken of a tree change in progress, and the three consumers'
tracking caches."""

from __future__ import annotations

import datetime as dt
import gc
import sys
import tracemalloc
from dataclasses import dataclass

import bson
from pymongo import AsyncMongoClient

from services.reporting.compact import Summary
from services.reporting.projection import pack, unit_summary
from services.reporting.store import KEYS_ARE_DATA
from shared.replicas.day_index import DayIndex
from shared.replicas.records import Interner, slim
from shared.replicas.units import UnitsView
from shared.runtime.tracking import Tracking


@dataclass(frozen=True)
class Event:
    id: str
    key: str
    version: int
    seq: int = 0


def traced() -> float:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 1e6


def unit_doc(i: int, communes: int) -> dict:
    """A unit as reporting's replica stores it (as `bench.national` generates them: 24 units a commune)."""
    if i == 0:
        uid, parent, kind = "P", None, "province"
    elif i <= communes:
        uid, parent, kind = f"P-c{i:04d}", "P", "commune"
    else:
        uid, parent, kind = f"P-c{i % communes + 1:04d}-h{i // communes:02d}", f"P-c{i % communes + 1:04d}", "hamlet"
    period = {"valid_from": dt.datetime(2025, 7, 1), "valid_to": None, "parent_id": parent, "name": f"Thôn {i}"}
    return {
        "_id": uid, "unit_id": uid, "kind": kind, "version": 1, "versions": [{**period, "code": None, "flags": []}],
        "last_event": f"0193a3b4-1111-7000-8000-{i:012d}", "last_correlation": f"0193a3b4-2222-7000-8000-{i:012d}",
    }  # fmt: skip


def festival(i: int, rich: bool) -> dict:
    f = {"_id": f"f{i}", "status": "held" if i % 10 != 8 else "planned", "on_time": True, "participants": 100,
         "ceremony_held": True, "festival_part_held": True, "held_on": "2026-08-01", "date": "2026-08-01"}  # fmt: skip
    if rich:
        public = {"source": "Ngân sách phường", "amount_vnd": 3_000_000}
        sponsors = {"source": "Xã hội hóa", "amount_vnd": 2_000_000 + i}
        f |= {
            "cost_vnd": 5_000_000 + i,
            "gifts": {"recipients": 3, "value_vnd": 1_500_000},
            "funding": [public, sponsors],
        }
    return f


def summaries(view: UnitsView, rich: bool) -> dict[str, Summary]:
    """Keyed as `ReportingStore.summaries` keys them: by the tree's own id strings."""
    out = {}
    for i, record in enumerate(view.records.values()):
        if i % 10 != 9:  # 9 units in 10 plan a festival
            doc = bson.decode(bson.encode({"festival": unit_summary([festival(i, rich)])}))
            out[record.unit_id] = Summary(doc["festival"], KEYS_ARE_DATA)
    return out


def main(units: int) -> None:
    communes = max(1, round(units / 24))
    tracemalloc.start()
    rows: list[tuple[str, float]] = []
    base = traced()
    share = Interner()
    view = UnitsView([slim(bson.decode(bson.encode(unit_doc(i, communes))), share) for i in range(units)])
    del share  # the load's interner goes with the load (`all_units_slim`)
    view.children("P", dt.date(2026, 8, 19))
    rows.append(("the tree (records and children index)", traced() - base))
    mark = traced()
    index = DayIndex(view.records.values(), dt.date(2026, 8, 19))
    index.expected("P", frozenset({"commune", "hamlet"}))
    rows.append(("one day's index", traced() - mark))
    mark = traced()
    light = summaries(view, rich=False)
    rows.append(("the year's summaries, as bench-national's festivals", traced() - mark))
    mark = traced()
    packed = pack(light)
    rows.append(("their packed rows", traced() - mark))
    mark = traced()
    # while an import of the whole tree is taken a thousand units per round (none once it is all taken)
    seen = {r.unit_id: r.version for r in view.records.values()}
    rows.append(("the publisher's units taken of a tree change in progress", traced() - mark))
    mark = traced()
    caches = []
    for n, key, versions in (
        (units, "registry.unit", 1),
        (units * 9 // 10, "registry.festival", 2),
        (units // 2, "awards.nomination", 2),
    ):
        t = Tracking(AsyncMongoClient("mongodb://127.0.0.1:9", connect=False).db, "bench")
        t.complete = True
        events = [
            Event(f"0193a3b4-3333-7000-8{v}00-{i:012d}", f"{key}:P-c{i:06d}", v)
            for i in range(n)
            for v in range(1, versions + 1)
        ]
        for k in range(0, len(events), 500):
            t.remember(events[k : k + 500])
        del events
        caches.append(t)
    rows.append(("three consumers' tracking caches", traced() - mark))
    total = sum(mb for _, mb in rows)
    del light, packed
    mark = traced()
    rich = summaries(view, rich=True)
    rich_mb = traced() - mark
    print(f"reporting's memory for a province of {units:,} units ({communes:,} communes), Python objects:")
    for name, mb in rows:
        print(f"  {name:<52} {mb:7.1f} MB")
    print(f"  {'total':<52} {total:7.1f} MB")
    print(f"  {'(summaries with funding lines and a report’s gifts)':<52} {rich_mb:7.1f} MB")
    assert view and index and seen and caches and rich  # kept alive until measured


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
