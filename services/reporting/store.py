"""Reporting's MongoDB adapter: the projections its consumers write (from registry's and awards'
events only) and the reads its queries make.

Collections (each owned by one consumer, so a rebuild replays it alone):
- `units`: the shared units replica (consumer `units`);
- `campaigns`, `festivals`, `unit_year` (festival summary and models per year and unit) — consumer
  `registry`;
- `nominations`, `awards`, `unit_awards` (nominations and awards by form and status, gifts) — consumer
  `awards`;
- `dirty` (which (year, unit)s changed since the last coverage.updated: one document per consumer
  transaction, listing them) and `snapshot_requests` (from
  `campaign.closed`) are work lists for the publisher, written by the consumers into the live
  collections; `published` is the publisher's own record of what went out."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.compact import Summary, with_field
from services.reporting.projection import YearSummaries
from shared.contract.ids import uuid7
from shared.replicas.records import Interner, SlimRecord, slim
from shared.replicas.units import Record
from shared.replicas.units_store import CHANGED, UnitsStore, units_indexes
from shared.runtime.mongo import IN_CHUNK, Doc
from shared.runtime.tracing import carrier

UNITS = "units"
KEYS_ARE_DATA = frozenset({"report_gifts"})  # a summary's field keyed by festival ids
REGISTRY_COLLECTIONS = ("campaigns", "festivals", "unit_year", "models")
Summaries = Mapping[str, Mapping[str, Any]]
MODEL_DATES = (("registered", "launched_on"), ("recognised", "recognised_on"), ("retired", "retired_on"))
AWARDS_COLLECTIONS = ("nominations", "awards", "unit_awards")
Fence = tuple[Any, Any, Any]  # a consumer's fence: writer, count, epoch


KEY_SEP = "|"
WHOLE_YEAR = 2_000  # units of a scope above which its awards documents are read in one cursor of the year


def key(year: int, unit_id: str) -> str:
    return f"{year}{KEY_SEP}{unit_id}"


def field_key(text: str) -> str:
    """A free-text value used as a document field name (a funding source): no '.' or leading '$'."""
    return text.replace(".", "\uff0e").replace("$", "\uff04")


def text_of(field: str) -> str:
    return field.replace("\uff0e", ".").replace("\uff04", "$")


async def registry_indexes(db: AsyncDatabase[Doc]) -> None:
    await db.festivals.create_index([("unit_id", ASCENDING), ("year", ASCENDING)])
    await db.campaigns.create_index([("year", ASCENDING)])
    # a year's documents, and what changed in it since a count: one index (each index is written on
    # every upsert of the projection's batches; a `year` index beside it served nothing this one does not)
    await db.unit_year.create_index([("year", ASCENDING), (CHANGED, ASCENDING)])
    for field in ("launched_on", "recognised_on", "retired_on"):
        await db.models.create_index([(field, ASCENDING)])
    await drop_unused(db, "unit_year")


async def awards_indexes(db: AsyncDatabase[Doc]) -> None:
    # `unit_awards` is read by its keys (year|unit) only: no secondary index
    await drop_unused(db, "unit_awards")


UNUSED_INDEXES = ("year_1",)  # created by earlier versions on unit_year and unit_awards


async def drop_unused(db: AsyncDatabase[Doc], collection: str) -> None:
    """Drop the indexes earlier versions created that no query uses (each one slowed every write)."""
    present = {ix["name"] async for ix in await db[collection].list_indexes()}
    for name in UNUSED_INDEXES:
        if name in present:
            await db[collection].drop_index(name)


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    await units_indexes(db, UNITS, changes=True)
    await registry_indexes(db)
    await awards_indexes(db)


def traced() -> Doc:
    """With tracing on, a mark keeps the context of the handler that made it: the coverage.updated it
    leads to continues that event's trace (shared.runtime.tracing)."""
    trace = carrier()
    return {"trace": trace} if trace else {}


class ReportingStore:
    """Reads and batch-local caches of the projections: what a handler read or wrote earlier in the
    same batch is seen by the next handler (writes are queued on the Tx and sent at the end)."""

    def __init__(self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None, pinned: bool = False) -> None:
        self.db = db
        self.s = session
        # `pinned`: one point in time (a query, a publisher's round) reads each fence and each year's
        # campaigns once, however many scopes it computes (a batch's store reads them as it writes them)
        self._pins: dict[tuple[str, Any], Any] | None = {} if pinned else None
        self.units = UnitsStore(db, session, UNITS)
        self._docs: dict[tuple[str, str], Doc | None] = {}
        self._festivals_of: dict[str, dict[str, Doc]] = {}
        self._marks: Doc | None = None  # this transaction's document in `dirty`
        self._marked: set[tuple[int, str, bool]] = set()

    def marks(
        self, year: int, unit_id: str, subtree: bool = False, cause: str | None = None, correlation: str | None = None
    ) -> Doc | None:
        """Add (year, unit) to this transaction's marks for the publisher, with the event that changed
        it (`cause`, in `correlation`: the newest, when several did). Returns the marks document to write
        (the same one each time: the Tx's coalesced replace sends its last state)."""
        if self._marks is None:
            self._marks = {"_id": uuid7(), "at": dt.datetime.now(dt.UTC), "marks": []}
        entries: list[Doc] = self._marks["marks"]
        if (year, unit_id, subtree) in self._marked:
            entry = next(m for m in entries if (m["year"], m["unit_id"], m["subtree"]) == (year, unit_id, subtree))
            if cause is None or entry.get("cause") == cause:
                return None
            entry.update(cause=cause, correlation=correlation, **traced())
            return self._marks
        self._marked.add((year, unit_id, subtree))
        entries.append(
            {
                "year": year,
                "unit_id": unit_id,
                "subtree": subtree,
                "cause": cause,
                "correlation": correlation,
                **traced(),
            }
        )
        return self._marks

    async def load(self, coll: str, ids: set[str]) -> None:
        wanted = sorted(i for i in ids if (coll, i) not in self._docs)
        for i in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[i : i + IN_CHUNK]
            found = {d["_id"]: d for d in await self.db[coll].find({"_id": {"$in": chunk}}, session=self.s).to_list()}
            for doc_id in chunk:
                self._docs[(coll, doc_id)] = found.get(doc_id)

    async def get(self, coll: str, doc_id: str) -> Doc | None:
        if (coll, doc_id) not in self._docs:
            await self.load(coll, {doc_id})
        return self._docs[(coll, doc_id)]

    def remember(self, coll: str, doc: Doc) -> None:
        self._docs[(coll, doc["_id"])] = doc
        if coll == "festivals":
            self._festivals_of.setdefault(key(doc["year"], doc["unit_id"]), {})[doc["_id"]] = doc

    async def load_festivals_of(self, pairs: set[tuple[int, str]]) -> None:
        """Read every festival of these (year, unit)s in one query per chunk."""
        wanted = sorted(p for p in pairs if key(*p) not in self._festivals_of)
        for i in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[i : i + IN_CHUNK]
            flt = {"unit_id": {"$in": sorted({u for _, u in chunk})}, "year": {"$in": sorted({y for y, _ in chunk})}}
            found = await self.db.festivals.find(flt, session=self.s).to_list()
            for year, unit_id in chunk:
                self._festivals_of.setdefault(key(year, unit_id), {})
            for doc in found:
                mine = self._festivals_of.get(key(doc["year"], doc["unit_id"]))
                if mine is not None:
                    mine.setdefault(doc["_id"], self._docs.get(("festivals", doc["_id"])) or doc)
                    self._docs.setdefault(("festivals", doc["_id"]), mine[doc["_id"]])

    def known_absent(self, coll: str, ids: set[str]) -> set[str]:
        """These documents were looked for (by a wider read) and, unless that read found them, are not
        stored: no read for them. Returns those not found."""
        for doc_id in ids:
            self._docs.setdefault((coll, doc_id), None)
        return {doc_id for doc_id in ids if self._docs[(coll, doc_id)] is None}

    async def festivals_of(self, year: int, unit_id: str) -> list[Doc]:
        """Every festival of the unit in the year, as this batch leaves them."""
        k = key(year, unit_id)
        if k not in self._festivals_of:
            stored = await self.db.festivals.find({"unit_id": unit_id, "year": year}, session=self.s).to_list()
            mine = self._festivals_of.setdefault(k, {})
            for doc in stored:
                mine.setdefault(doc["_id"], self._docs.get(("festivals", doc["_id"])) or doc)
        return list(self._festivals_of[k].values())

    # ------------------------------------------------------------------------------- queries

    async def campaigns(self, year: int) -> list[Doc]:
        if self._pins is not None and ("campaigns", year) in self._pins:
            return list(self._pins[("campaigns", year)])
        found = await self.db.campaigns.find({"year": year}, session=self.s).to_list()
        if self._pins is not None:
            self._pins[("campaigns", year)] = found
        return found

    async def fence(self, consumer: str) -> Fence:
        """The consumer's fence: (writer, count, epoch). Each of its transactions moves the count by one
        and stamps what it writes with it (CHANGED); counts compare only under the same epoch."""
        if self._pins is not None and ("fence", consumer) in self._pins:
            return self._pins[("fence", consumer)]  # type: ignore[no-any-return]
        doc = await self.db[f"track_{consumer}"].find_one({"_id": "fence"}, session=self.s) or {}
        value = doc.get("writer"), doc.get("n"), doc.get("epoch")
        if self._pins is not None:
            self._pins[("fence", consumer)] = value
        return value

    async def all_units_slim(
        self, previous: Mapping[str, object] | None = None, after: int | None = None
    ) -> list[SlimRecord]:
        """The whole tree as compact records (reporting's in-memory tree: about 370 bytes a unit instead
        of 2 KB as pydantic models), read in batches. A unit at the version of its record in `previous`
        (the tree loaded before) keeps that record: the old tree and the new share every unit that did
        not change, instead of two copies of a province while the publisher compares them. `after`: only
        the units written after that count of the units consumer's fence (their CHANGED stamp)."""
        share = Interner()
        out: list[SlimRecord] = []
        flt = {} if after is None else {CHANGED: {"$gt": after}}
        # replies of 1 000 units: one of 5 000 decoded was 10 MB at once
        async for doc in self.db[UNITS].find(flt, session=self.s, batch_size=1000):
            old = previous.get(doc["unit_id"]) if previous else None
            if isinstance(old, SlimRecord) and old.version and old.version == int(doc.get("version") or 0):
                out.append(old)
            else:
                out.append(slim(doc, share))
        return out

    async def causes(self, unit_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """Each unit's last event and its correlation (what a change of the tree traces to), for the few
        units a publisher round takes: the in-memory tree does not keep them."""
        out: dict[str, tuple[str | None, str | None]] = {}
        fields = {"last_event": 1, "last_correlation": 1}
        for i in range(0, len(unit_ids), IN_CHUNK):
            flt = {"_id": {"$in": unit_ids[i : i + IN_CHUNK]}}
            for d in await self.db[UNITS].find(flt, fields, session=self.s).to_list():
                out[d["_id"]] = (d.get("last_event"), d.get("last_correlation"))
        return out

    async def summaries(
        self, year: int, tree: Mapping[str, Record] | None = None, since: tuple[YearSummaries, int] | None = None
    ) -> YearSummaries:
        """Each unit's year: its festival summary, and `models` (registered, recognised, retired and
        launched at a festival that year, from `models`; replicated there, from `unit_year`). Read
        through a cursor, each summary kept as a `Summary` (compact.py): the year of a province of
        30 000 units held as a list of documents and then copied peaked at over 300 MB, and a summary
        with funding lines and a report's gifts took 2.1 KB as dicts. A unit of the `tree` loaded is keyed
        by its record's id string, one string where there were two (5 MB of a province).
        `since`: (the summaries read before, the registry fence's count they were read at): only the
        units whose year was written after that count are read again; the others keep their summary
        (a province's year was read whole on every publisher round while its festivals came in)."""
        fields = {"_id": 0, "unit_id": 1, "festival": 1, "models_replicated": 1}
        before = since[0] if since else YearSummaries()
        out = YearSummaries(before)  # the units not written since: the same summaries, not copies
        counts: dict[str, dict[str, int]] = {
            u: {"replicated": m["replicated"]} for u, m in before.models.items() if m.get("replicated")
        }
        changed: set[str] = set()
        flt: Doc = {"year": year} if since is None else {"year": year, CHANGED: {"$gt": since[1]}}
        async for d in self.db.unit_year.find(flt, fields, session=self.s, batch_size=1000):
            record = tree.get(d["unit_id"]) if tree else None
            unit_id = record.unit_id if record else d["unit_id"]
            out[unit_id] = Summary(d.get("festival") or {}, KEYS_ARE_DATA)
            changed.add(unit_id)
            counts.pop(unit_id, None)
            if d.get("models_replicated"):
                counts[unit_id] = {"replicated": int(d["models_replicated"])}
        first, last = f"{year}-01-01", f"{year}-12-31"
        within = {"$gte": first, "$lte": last}
        flt = {"$or": [{"launched_on": within}, {"recognised_on": within}, {"retired_on": within}]}
        for m in await self.db.models.find(flt, session=self.s).to_list():  # a few: read whole each time
            if not m.get("unit_id"):
                continue  # a festival's report named it before its registration arrived
            mine = counts.setdefault(m["unit_id"], {})
            for what, field in MODEL_DATES:
                if first <= str(m.get(field) or "") <= last:
                    mine[what] = mine.get(what, 0) + 1
            if m.get("at_festival") and first <= str(m["launched_on"]) <= last:
                mine["at_festival"] = mine.get("at_festival", 0) + 1
        for unit_id in {*counts, *before.models}:
            models = counts.get(unit_id)
            if unit_id not in changed and models == before.models.get(unit_id):
                continue
            summary = out.get(unit_id) or {}
            if unit_id not in changed:  # its models changed, not its festivals: its summary without them
                summary = {k: v for k, v in summary.items() if k != "models"}
            if models:
                out[unit_id] = with_field(summary, "models", models)
            elif summary:
                out[unit_id] = Summary(summary, KEYS_ARE_DATA)
            else:
                out.pop(unit_id, None)
        out.models = {u: m for u, m in counts.items() if m}  # the models come only from `counts`: no scan
        return out

    async def unit_year(self, year: int, unit_id: str) -> Doc | None:
        return await self.db.unit_year.find_one({"_id": key(year, unit_id)}, session=self.s)

    async def unit_awards(self, year: int, unit_ids: list[str]) -> AsyncIterator[Doc]:
        """These units' awards documents of the year, one at a time. A few units are asked by id (a
        `$in` of IN_CHUNK ids at a time); a scope of more than WHOLE_YEAR units reads the year's
        documents in one cursor, in the range of their keys, and keeps the scope's: at 100 000 units,
        one query instead of 1 000, and never the province's documents in one list."""
        if len(unit_ids) > WHOLE_YEAR:
            # the scope's ids sorted, each document's unit looked up by bisection: 8 bytes a unit, where
            # a key string per unit in a set took 14 MB at 100 000 units (a set of the ids alone, 4 MB)
            wanted = sorted(unit_ids)
            flt: Doc = {"_id": {"$gte": key(year, ""), "$lt": f"{year}{chr(ord(KEY_SEP) + 1)}"}}
            async for doc in self.db.unit_awards.find(flt, session=self.s).batch_size(1000):
                unit_id = doc["_id"].partition(KEY_SEP)[2]
                i = bisect_left(wanted, unit_id)
                if i < len(wanted) and wanted[i] == unit_id:
                    yield doc
            return
        for i in range(0, len(unit_ids), IN_CHUNK):
            flt = {"_id": {"$in": [key(year, u) for u in unit_ids[i : i + IN_CHUNK]]}}
            for doc in await self.db.unit_awards.find(flt, session=self.s).to_list():
                yield doc

    async def point_festivals(self, year: int) -> list[Doc]:
        """The year's point festivals (a few per province), not cancelled."""
        flt = {"year": year, "point_level": {"$ne": None}, "status": {"$ne": "cancelled"}}
        return await self.db.festivals.find(flt, session=self.s).sort("_id", 1).to_list()

    async def festivals(self, year: int, unit_id: str) -> list[Doc]:
        return await self.db.festivals.find({"unit_id": unit_id, "year": year}, session=self.s).to_list()
