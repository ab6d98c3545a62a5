"""Awards' MongoDB adapter: nominations, awards, gifts, the keys that hold "one achievement, one
award" and once-only forms, and the replicas of registry's units and festivals (written by the
consumers in services/awards/replica.py, read here).

Aggregates are stored whole with an optimistic `version`; a command's writes share its session."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.awards.domain import Ancestor, Award, Decision, Gift, KnownFestival, Nomination
from shared.contract.errors import NotFound
from shared.contract.text import fold
from shared.replicas.units import carriers, predecessors
from shared.replicas.units_store import UnitsStore, units_indexes
from shared.replicas.walk import ParentHints, arun
from shared.runtime.aggregates import AggregateStore
from shared.runtime.mongo import Doc

FESTIVALS = "festivals"
UNITS = "units"


def name_tokens(n: Nomination) -> list[str]:
    """An individual nominee's name as words without diacritics ("Nguyễn Văn A" → nguyen, van, a): what a
    search without diacritics matches."""
    return fold(n.nominee.person.name).split() if n.nominee.person else []


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    await db.nominations.create_index([("nominee.unit_id", ASCENDING), ("sort_key", DESCENDING)])
    await db.nominations.create_index([("nominee_key", ASCENDING), ("sort_key", DESCENDING)])
    await db.nominations.create_index([("name_tokens", ASCENDING)])
    await db.nominations.create_index([("status", ASCENDING), ("due_on", ASCENDING)])  # the overdue loop's
    # nominations stored before the search: their words, filled in once (a marker spares later starts the scan)
    if await db.migrations.find_one({"_id": "name_tokens"}) is None:
        async for doc in db.nominations.find({"name_tokens": {"$exists": False}}, {"nominee": 1}):
            person = (doc.get("nominee") or {}).get("person")
            words = fold(person["name"]).split() if person else []
            await db.nominations.update_one({"_id": doc["_id"]}, {"$set": {"name_tokens": words}})
        await db.migrations.update_one({"_id": "name_tokens"}, {"$set": {"done": True}}, upsert=True)
    await db.awards.create_index([("festival_id", ASCENDING), ("sort_key", DESCENDING)])
    await db.awards.create_index([("unit_id", ASCENDING), ("sort_key", DESCENDING)])
    await db.awards.create_index([("nominee_key", ASCENDING), ("sort_key", DESCENDING)])
    await db.awards.create_index([("decision_id", ASCENDING)], sparse=True)
    await db.gifts.create_index([("unit_id", ASCENDING), ("sort_key", DESCENDING)])
    await db.gifts.create_index([("festival_id", ASCENDING), ("sort_key", DESCENDING)])
    await festivals_indexes(db)
    await units_indexes(db, UNITS)


async def festivals_indexes(db: AsyncDatabase[Doc], collection: str = FESTIVALS) -> None:
    await db[collection].create_index([("unit_id", ASCENDING)])


class AwardsStore(AggregateStore):
    def __init__(
        self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None, hints: ParentHints | None = None
    ) -> None:
        super().__init__(db, session)
        self.units = UnitsStore(db, session, UNITS, hints)

    # ------------------------------------------------------------------------------- aggregates

    async def nomination(self, nomination_id: str) -> Nomination | None:
        return await self._get("nominations", nomination_id, Nomination)

    async def save_nomination(self, n: Nomination, loaded_version: int | None) -> None:
        await self._save("nominations", "nomination_id", n, loaded_version, {"name_tokens": name_tokens(n)})

    async def award(self, award_id: str) -> Award | None:
        return await self._get("awards", award_id, Award)

    async def save_award(self, a: Award, loaded_version: int | None) -> None:
        await self._save("awards", "award_id", a, loaded_version)

    async def decision(self, decision_id: str) -> Decision | None:
        return await self._get("decisions", decision_id, Decision)

    async def add_decision(self, d: Decision) -> None:
        await self._save("decisions", "decision_id", d, None)

    async def decision_number(self, key: str) -> Doc | None:
        """How a decision number of an authority and year was used: {date, via: decision|single}."""
        return await self.db.decision_numbers.find_one({"_id": key}, session=self.s)

    async def take_decision_number(self, key: str, day: dt.date, via: str) -> None:
        """Insert: a concurrent command taking the same number fails its transaction."""
        await self.db.decision_numbers.insert_one({"_id": key, "date": day.isoformat(), "via": via}, session=self.s)

    async def gift(self, gift_id: str) -> Gift | None:
        return await self._get("gifts", gift_id, Gift)

    async def add_gift(self, g: Gift) -> None:
        await self._save("gifts", "gift_id", g, None)

    # ------------------------------------------------------------------------------- keys

    async def holder(self, key: str) -> Nomination | None:
        """The nomination holding `key` (an achievement, a once-only form for a person), if any."""
        doc = await self.db.award_keys.find_one({"_id": key}, session=self.s)
        return await self.nomination(doc["nomination_id"]) if doc else None

    async def take_key(self, key: str, nomination_id: str) -> None:
        """Insert: a concurrent nomination taking the same key fails its transaction (the handler
        checked `holder` first, so this only catches races)."""
        await self.db.award_keys.insert_one({"_id": key, "nomination_id": nomination_id}, session=self.s)

    async def release_key(self, key: str, nomination_id: str) -> None:
        await self.db.award_keys.delete_one({"_id": key, "nomination_id": nomination_id}, session=self.s)

    # ------------------------------------------------------------------------------- replicas

    async def festival(self, festival_id: str) -> KnownFestival | None:
        doc = await self.db[FESTIVALS].find_one({"_id": festival_id}, session=self.s)
        if doc is None:
            return None
        day = doc.get("held_on") or doc["date"]
        return KnownFestival(festival_id, doc["unit_id"], dt.date.fromisoformat(day), doc["status"], doc["year"])

    async def chain(self, unit_id: str, day: dt.date) -> list[Ancestor] | None:
        """The unit and its ancestors on `day`, nearest first; None when awards has never seen the
        unit; empty when it does not exist on `day`."""
        if await self.units.get(unit_id) is None:
            return None
        out = []
        for uid in await self.units.ancestry(unit_id, day):
            record = await self.units.get(uid)
            period = record.at(day) if record else None
            if record is None or period is None:
                break
            out.append(Ancestor(uid, period.kind or record.kind, period.name, tuple(period.flags)))
        return out

    async def lineage_chain(self, unit_id: str, day: dt.date) -> tuple[list[Ancestor] | None, list[str]]:
        """The chain a dossier of `unit_id` is read on `day`, through the lineage (DESIGN §2): the unit's
        own while it exists; once it is closed, its successor's (for several parts, the ancestors they
        share), with the successors named. (None, []) for a unit awards has never seen; ([], []) when
        nothing carries it that day."""
        own = await self.chain(unit_id, day)
        if own is None or own:
            return own, []
        carrying = await arun(carriers(unit_id, day), self.units.get)
        if not carrying:
            return [], []
        chains = [await self.chain(u, day) or [] for u in carrying]
        shared = chains[0]
        for other in chains[1:]:  # the longest common tail: the ancestors every part shares
            n = 0
            while n < min(len(shared), len(other)) and shared[-1 - n] == other[-1 - n]:
                n += 1
            shared = shared[len(shared) - n :]
        return shared, carrying

    async def readers(self, unit_id: str, day: dt.date) -> list[str]:
        """The units whose actors read `unit_id`'s records on `day`: its ancestry, or, once it is
        closed, the ancestries of the units that carry it through the lineage."""
        own = await self.units.ancestry(unit_id, day)
        if own:
            return own
        out: list[str] = []
        for u in await arun(carriers(unit_id, day), self.units.get):
            out += [a for a in await self.units.ancestry(u, day) if a not in out]
        return out

    async def existed_in(self, unit_id: str, year: int) -> bool:
        """Whether the unit existed on some day of `year`."""
        record = await self.units.get(unit_id)
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        return record is not None and record.valid_from <= last and record.valid_to > first

    async def predecessors(self, unit_id: str) -> list[str]:
        return await arun(predecessors(unit_id), self.units.get)

    async def name_of(self, unit_id: str, day: dt.date) -> str | None:
        """The unit's name on `day`, else as it was last (a closed collective as it was)."""
        record = await self.units.get(unit_id)
        return record.shown(day).name if record else None

    async def units_under(self, parent_id: str, day: dt.date) -> list[Ancestor]:
        """The units directly under `parent_id` on `day` (the domain picks the province's police among them)."""
        out = []
        for record in await self.units.children([parent_id], day):
            period = record.at(day)
            if period is not None:
                out.append(Ancestor(record.unit_id, period.kind or record.kind, period.name, tuple(period.flags)))
        return out

    async def subtree_ids(self, unit_id: str, day: dt.date) -> list[str]:
        return [unit_id, *(r.unit_id for r in await self.units.subtree(unit_id, day))]

    # ------------------------------------------------------------------------------- reads for queries

    async def cursor_key(self, coll: str, after: str, filters: list[dict[str, Any]]) -> str:
        """The sort key of the page cursor `after`, which must be one of the list's own items (one of
        `filters` matches it): a cursor naming anything else, whether it exists or not, reads the same."""
        for flt in filters:
            doc = await self.db[coll].find_one({**flt, "_id": after}, {"sort_key": 1}, session=self.s)
            if doc is not None:
                return str(doc["sort_key"])
        raise NotFound(
            f"the cursor {after} is not an item of this list", [{"field": "after", "value": after, "rule": "cursor"}]
        )

    async def find(self, coll: str, flt: dict[str, Any], limit: int, after_key: str | None = None) -> list[Doc]:
        """Newest first (by `sort_key`), up to `limit`, after the item whose sort key is `after_key`."""
        if after_key is not None:
            flt = {**flt, "sort_key": {"$lt": after_key}}
        cursor = self.db[coll].find(flt, session=self.s).sort("sort_key", DESCENDING).limit(limit)
        return [{k: v for k, v in d.items() if k != "_id"} for d in await cursor.to_list()]

    async def totals(self, coll: str, flt: dict[str, Any]) -> Doc:
        pipeline: list[Doc] = [
            {"$match": flt},
            {
                "$group": {
                    "_id": None,
                    "entries": {"$sum": 1},
                    "recipients": {"$sum": "$recipients"},
                    "value_vnd": {"$sum": "$value_vnd"},
                }
            },
        ]
        rows = await (await self.db[coll].aggregate(pipeline, session=self.s)).to_list()
        row = rows[0] if rows else {"entries": 0, "recipients": 0, "value_vnd": 0}
        return {k: row[k] for k in ("entries", "recipients", "value_vnd")}
