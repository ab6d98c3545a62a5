"""Reporting's summaries in memory (`services/reporting/compact.py`): read like the stored documents,
in less than half their memory. Issue 18: a summary with its funding lines and a report's gifts took
2.1 KB as the driver's dicts, 190 MB for a province of 100 000 units."""

from __future__ import annotations

import gc
import tracemalloc

import bson

from services.reporting.compact import Summary, with_field
from services.reporting.projection import merged_summary, pack, unit_summary
from services.reporting.store import KEYS_ARE_DATA


def festival(i: int) -> dict:
    return {
        "_id": f"fest-{i:06d}",
        "status": "held",
        "on_time": True,
        "reported_on_time": i % 2 == 0,
        "ceremony_held": True,
        "festival_part_held": True,
        "review": "accepted",
        "participants": 100 + i % 300,
        "cost_vnd": 5_000_000 + i,
        "funding": [
            {"source": "Ngân sách phường", "amount_vnd": 3_000_000},
            {"source": "Xã hội hóa", "amount_vnd": 2_000_000 + i},
        ],
        "gifts": {"recipients": 3, "value_vnd": 1_500_000},
        "held_on": "2026-08-10",
        "date": "2026-08-10",
    }


def stored(i: int) -> dict:
    """A unit's summary as the driver decodes it from `unit_year`."""
    return bson.decode(bson.encode({"festival": unit_summary([festival(i)])}))["festival"]


def measured(make) -> float:
    gc.collect()
    tracemalloc.start()
    kept = [make(i) for i in range(5_000)]
    size = tracemalloc.get_traced_memory()[0] / len(kept)
    tracemalloc.stop()
    del kept
    return size


def test_a_summary_reads_as_the_document_it_was_made_from() -> None:
    doc = stored(7)
    s = Summary(doc, KEYS_ARE_DATA)
    assert dict(s) == doc and s == doc
    assert s.get("held") is True and s.get("nope", 5) == 5 and "funding" in s and "nope" not in s
    assert len(s) == len(doc) and list(s) == list(doc)
    assert s["report_gifts"] == {"fest-000007": {"recipients": 3, "value_vnd": 1_500_000}}
    # what a reader gets is its own: changing it changes nothing stored
    s["funding"].append({"source": "x", "amount_vnd": 1})
    s["funding"][0]["amount_vnd"] = 0
    assert s["funding"] == doc["funding"]
    # the rules read it as they read a dict
    assert pack({"u": s}) == pack({"u": doc})
    assert merged_summary(s, {**s, "carried_self": ["v"]}) == merged_summary(doc, {**doc, "carried_self": ["v"]})
    # lists and mappings of other shapes read back as they were too
    odd = {
        "funding": [{"source": "a", "amount_vnd": 1}, {"amount_vnd": 2, "source": "b"}, {"source": "c"}],
        "carried": ["h1", "h2"],
        "report_gifts": {"f1": {"recipients": 1}, "f2": {"value_vnd": 5, "recipients": 2}, "f3": {}},
        "nested": [{"lines": [{"x": 1}, {"x": 2}]}, {"lines": []}],
        "empty_rows": [{}, {}],
    }
    assert dict(Summary(odd, KEYS_ARE_DATA)) == odd
    more = with_field(s, "models", {"registered": 2})
    assert more["models"] == {"registered": 2} and more["held"] is True and "models" not in s


def test_a_summary_takes_less_than_a_quarter_of_the_memory_of_the_dicts() -> None:
    """Funding lines and a report's gifts by festival are dicts of one shape: stored flat, with their
    keys once (`_Table`, `_Keyed`), a summary takes 670 bytes here, where a summary per line took 1 010
    (a province's year with funding lines: 75 MB at 100 000 units)."""
    as_dicts = measured(stored)
    compact = measured(lambda i: Summary(stored(i), KEYS_ARE_DATA))
    assert as_dicts > 1_800  # 2.1 KB on CPython 3.11 (3.0 KB measured here)
    assert compact < as_dicts / 4, (compact, as_dicts)


def test_a_summary_without_funding_lines_or_report_gifts_holds_no_empty_list_or_mapping_of_its_own() -> None:
    """Most units of a season report no funding lines and no gifts: an empty tuple and an empty pairs
    of their own took 112 bytes a summary (9 MB of a province's year)."""
    plain = [
        Summary(
            bson.decode(bson.encode({"f": {**unit_summary([festival(i)]), "funding": [], "report_gifts": {}}}))["f"],
            KEYS_ARE_DATA,
        )
        for i in range(2)
    ]
    a, b = (dict(zip(s, s._values, strict=True)) for s in plain)
    assert a["funding"] is b["funding"] and a["report_gifts"] is b["report_gifts"]
    assert plain[0]["funding"] == [] and plain[0]["report_gifts"] == {}
    plain[0]["funding"].append({"source": "x", "amount_vnd": 1})  # a reader's copy: the shared one stays empty
    assert plain[1]["funding"] == []


def test_a_scopes_models_walk_up_from_the_units_that_have_them_without_asking_every_summary() -> None:
    """At 100 000 units the publisher asked every summary for its models once per scope, 500 scopes a
    round: with summaries read through a Python `get`, a round took minutes and held reporting's loop.
    A year's summaries list the units that have models; the roll-up reads those."""
    import datetime as dt

    from services.reporting.projection import YearSummaries, models_of
    from shared.replicas.day_index import DayIndex
    from shared.replicas.records import SlimPeriod, SlimRecord

    day, start, end = dt.date(2026, 8, 1), dt.date(2025, 7, 1), dt.date(9999, 12, 31)

    def record(unit_id: str, parent: str | None, kind: str) -> SlimRecord:
        return SlimRecord(unit_id, kind, (SlimPeriod(start, end, parent, unit_id, None, (), kind),), version=1)

    records = [record("p", None, "province"), record("c", "p", "commune")]
    records += [record(f"h{i}", "c", "hamlet") for i in range(2_000)]
    index = DayIndex(records, day)

    asked = 0

    class Counted(Summary):
        __slots__ = ()

        def get(self, key: str, default=None):
            nonlocal asked
            asked += 1
            return super().get(key, default)

    plain = {f"h{i}": Counted({"held": True}) for i in range(2_000)}
    plain["h7"] = Counted({"held": True, "models": {"registered": 2}})
    plain["c"] = Counted({"models": {"recognised": 1}})
    year = YearSummaries.of(plain)
    asked = 0
    assert models_of(index, "p", year) == models_of(index, "p", plain)  # the same roll-up…
    asked = 0
    whole, per_child = models_of(index, "p", year)
    assert asked == 0  # …without asking a summary
    assert whole["registered"] == 2 and whole["recognised"] == 1 and per_child["c"]["registered"] == 2
