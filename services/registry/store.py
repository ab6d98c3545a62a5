"""Registry's MongoDB adapter: collections, indexes and the reads the handlers and queries need.

Aggregates are stored whole (one document each) with an optimistic `version`; all writes of one
command share the session of its transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain import END, Campaign, Festival, MovementModel, Replication, Unit
from shared.contract.errors import Conflict
from shared.replicas.units import unit_id_of
from shared.replicas.walk import ParentHints, arun, down, up
from shared.runtime import slots
from shared.runtime.aggregates import AggregateStore
from shared.runtime.mongo import IN_CHUNK, Doc

LOCK_STRIPES = 64  # above any service's worker slots, so one process's slots never share a stripe


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    await db.units.create_index([("versions.parent_id", ASCENDING)])
    await db.units.create_index([("versions.code", ASCENDING)])
    await db.campaigns.create_index([("year", ASCENDING), ("scope_unit_id", ASCENDING)], unique=True)
    await db.festivals.create_index([("unit_id", ASCENDING), ("year", ASCENDING)])
    await db.festivals.create_index([("campaign_id", ASCENDING), ("unit_id", ASCENDING)])
    await db.festivals.create_index([("date", ASCENDING), ("_id", ASCENDING)])
    await db.models.create_index([("unit_id", ASCENDING)])
    await db.unit_codes.create_index([("unit_id", ASCENDING)])
    await db.replications.create_index([("model_id", ASCENDING), ("_id", ASCENDING)])


class RegistryStore(AggregateStore):
    DEFERS = True  # a unit's insert, its code's key and the tree's locks go with the transaction's records

    def __init__(
        self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None, hints: ParentHints | None = None
    ) -> None:
        super().__init__(db, session)
        # Units read in this transaction: walking up the tree rereads the same few documents. A group's
        # commands share them (each saves through here, so the next sees its writes).
        self._units: dict[str, Unit | None] = {} if self.writes is None else self.writes.shared.setdefault("units", {})
        self.hints = hints if hints is not None else ParentHints()

    # ------------------------------------------------------------------------------- units

    async def unit(self, unit_id: str) -> Unit | None:
        if unit_id not in self._units:
            await self.load_units([unit_id])
        return self._units[unit_id]

    async def load_units(self, unit_ids: list[str]) -> None:
        """Read these units and, in the same query, every ancestor the hints expect them to have."""
        wanted = [u for u in self.hints.chain(unit_ids) if u not in self._units]
        for i in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[i : i + IN_CHUNK]
            docs = await self.db.units.find({"_id": {"$in": chunk}}, session=self.s).to_list()
            found = {d["_id"]: Unit.model_validate(d) for d in docs}
            for unit_id in chunk:  # asked for and not there: none in this transaction's snapshot
                unit = found.get(unit_id)
                self._units[unit_id] = unit
                if unit is not None:
                    self.hints.learn(unit.unit_id, [v.parent_id for v in unit.versions])

    async def prefetch(self, keys: list[str]) -> None:
        await self.load_units(keys)

    def new_unit_id(self, unit_id: str) -> str:
        """A generated id: known to be free without a read (its unit is inserted, not replaced)."""
        self._units[unit_id] = None
        return unit_id

    def _remember(self, units: list[Unit]) -> list[Unit]:
        for u in units:
            self._units.setdefault(u.unit_id, u)
        return units

    async def save_unit(self, unit: Unit) -> None:
        """Save against the version this transaction read (a unit may change several times in one command)."""
        if unit.unit_id in self._units:
            loaded = self._units[unit.unit_id]
            await self._save("units", "unit_id", unit, loaded.version if loaded else None)
        else:
            await self._save("units", "unit_id", unit, unit.version - 1 if unit.version > 1 else None)
        before = self._units.get(unit.unit_id, unit)  # what the codes' keys follow (unknown: assume codes)
        self._units[unit.unit_id] = unit
        self.hints.learn(unit.unit_id, [v.parent_id for v in unit.versions])
        # Guard against two concurrent commands giving one code to two units from the same day: the
        # unique _id makes the second transaction fail even if both passed the overlap check. The
        # keys follow the unit's versions (a replaced version frees its key). Nothing is caught
        # here: an error inside a transaction aborts it.
        keys = {f"{v.code}|{v.valid_from.isoformat()}" for v in unit.versions if v.code}
        had_codes = before is not None and (before is unit or any(v.code for v in before.versions))
        if unit.version > 1 and (keys or had_codes):  # a unit that never had a code holds no key
            await self.db.unit_codes.delete_many(
                {"unit_id": unit.unit_id, "_id": {"$nin": sorted(keys)}}, session=self.s
            )
        for key in sorted(keys):
            held = await self.db.unit_codes.find_one({"_id": key}, session=self.s)
            if held is None:
                await self._insert("unit_codes", {"_id": key, "unit_id": unit.unit_id})
            elif held["unit_id"] != unit.unit_id:
                raise Conflict(
                    f"official code {key.split('|')[0]} from {key.split('|')[1]} belongs to unit {held['unit_id']}"
                )

    async def lock(self, closing: Sequence[str] = (), parents: Sequence[str] = ()) -> None:
        """The tree's locks, in one write. A command that hangs a unit under a parent takes a shared lock:
        it writes the parent's lock stripe of its worker slot, so concurrent siblings never collide with
        each other; a command that closes a unit takes an exclusive one: it writes every stripe, so it
        conflicts with any concurrent attach, and one of the two transactions is retried on the other's
        result. (Transactions on snapshots do not see each other's reads: only a shared write makes them
        collide.)"""
        stripe = slots.current.get() % LOCK_STRIPES
        # stripe id → the key a transaction writes it once for: one stripe of a parent holds its
        # siblings' attach for every command of a group; a closing takes every stripe
        keys = {f"{u}#{n}": f"{u}#{n}" for u in closing for n in range(LOCK_STRIPES)}
        keys.update({f"{p}#{stripe}": f"{p}#shared" for p in parents})
        if self.writes is not None:
            for stripe_id, key in keys.items():
                self.writes.touch("unit_locks", stripe_id, key)
        elif keys:
            writes = [UpdateOne({"_id": i}, {"$inc": {"n": 1}}, upsert=True) for i in keys]
            await self.db.unit_locks.bulk_write(writes, ordered=True, session=self.s)

    async def lock_children(self, parent_id: str) -> None:
        await self.lock(parents=[parent_id])

    async def lock_unit(self, unit_id: str) -> None:
        await self.lock(closing=[unit_id])

    async def ancestry(self, unit_id: str, day: dt.date) -> list[str]:
        """The unit and its ancestors as of `day` (nearest first); just the unit when it does not exist
        that day (the domain then refuses the date, for an actor of the unit itself)."""
        return await arun(up(unit_id, day), self.unit) or [unit_id]

    async def children(
        self, parent_ids: list[str], day: dt.date, after: str | None = None, limit: int = 0
    ) -> list[Unit]:
        # The index finds every unit that was ever under these parents; which period is in force on
        # `day` is decided here. (An $elemMatch on the dates does the same in the database, but
        # costs SecantusDB twice the time, and the histories to read are short.)
        query: Doc = {"versions.parent_id": {"$in": parent_ids}}
        if after:
            query["_id"] = {"$gt": after}
        docs = await self.db.units.find(query, session=self.s).sort("_id", ASCENDING).to_list()
        wanted = set(parent_ids)
        found = []
        for doc in docs:
            unit = Unit.model_validate(doc)
            version = unit.at(day)
            if version is not None and version.parent_id in wanted:
                found.append(unit)
                if limit and len(found) >= limit:
                    break
        return self._remember(found)

    async def roots(self, day: dt.date, after: str | None, limit: int) -> list[Unit]:
        return await self.children([None], day, after, limit)  # type: ignore[list-item]

    async def children_from(self, parent_id: str, day: dt.date) -> list[str]:
        """Units that are under `parent_id` on or after `day` (they block closing it)."""
        docs = (
            await self.db.units.find(
                {"versions": {"$elemMatch": {"parent_id": parent_id, "valid_to": {"$gt": day.isoformat()}}}},
                {"_id": 1},
                session=self.s,
            )
            .sort("_id", ASCENDING)
            .to_list()
        )
        return [d["_id"] for d in docs]

    async def subtree(self, root_id: str, day: dt.date) -> list[Unit]:
        return await arun(down(root_id, unit_id_of), lambda parents: self.children(parents, day))

    async def code_holders(self, codes: list[str], exclude: list[str]) -> dict[str, list[tuple[str, dt.date, dt.date]]]:
        if not codes:
            return {}
        docs = await self.db.units.find(
            {"versions.code": {"$in": codes}, "_id": {"$nin": exclude}}, session=self.s
        ).to_list()
        out: dict[str, list[tuple[str, dt.date, dt.date]]] = {}
        for d in docs:
            u = Unit.model_validate(d)
            for v in u.versions:
                if v.code in codes:
                    out.setdefault(v.code, []).append((u.unit_id, v.valid_from, v.valid_to))
        return out

    # ------------------------------------------------------------------------------- campaigns

    async def campaign(self, campaign_id: str) -> Campaign | None:
        return await self._get("campaigns", campaign_id, Campaign)

    async def campaign_by_scope(self, year: int, scope_unit_id: str) -> Campaign | None:
        doc = await self.db.campaigns.find_one({"year": year, "scope_unit_id": scope_unit_id}, session=self.s)
        return Campaign.model_validate(doc) if doc else None

    async def campaigns_for(self, year: int, scope_ids: list[str]) -> list[Campaign]:
        docs = await self.db.campaigns.find(
            {"year": year, "scope_unit_id": {"$in": scope_ids}}, session=self.s
        ).to_list()
        return [Campaign.model_validate(d) for d in docs]

    async def campaigns_of_year(self, year: int) -> list[Campaign]:
        docs = await self.db.campaigns.find({"year": year}, session=self.s).to_list()
        return [Campaign.model_validate(d) for d in docs]

    async def save_campaign(self, campaign: Campaign) -> None:
        await self._save("campaigns", "campaign_id", campaign, campaign.version - 1 or None)

    # ------------------------------------------------------------------------------- festivals

    async def festival(self, festival_id: str) -> Festival | None:
        return await self._get("festivals", festival_id, Festival)

    async def festivals(self, unit_id: str | None, year: int | None, after: str | None, limit: int) -> list[Festival]:
        query: Doc = {"_id": {"$gt": after}} if after else {}
        if unit_id:
            query["unit_id"] = unit_id
        if year:
            query["year"] = year
        docs = await self.db.festivals.find(query, session=self.s).sort("_id", ASCENDING).limit(limit).to_list()
        return [Festival.model_validate(d) for d in docs]

    async def calendar(self, from_date: dt.date | None, to_date: dt.date | None, year: int | None) -> list[Festival]:
        """Festivals dated between the two days (either open), of `year` if given, by date then id."""
        query: Doc = {}
        if from_date or to_date:
            query["date"] = {
                **({"$gte": from_date.isoformat()} if from_date else {}),
                **({"$lte": to_date.isoformat()} if to_date else {}),
            }
        if year:
            query["year"] = year
        docs = self.db.festivals.find(query, session=self.s).sort([("date", ASCENDING), ("_id", ASCENDING)])
        return [Festival.model_validate(d) for d in await docs.to_list()]

    async def active_festivals(self, year: int, unit_id: str) -> list[str]:
        """One festival per unit and year, whichever campaign (of the unit or an ancestor) covers it."""
        docs = await self.db.festivals.find(
            {"year": year, "unit_id": unit_id, "status": {"$in": ["planned", "held"]}},
            {"_id": 1},
            session=self.s,
        ).to_list()
        return [d["_id"] for d in docs]

    async def save_festival(self, festival: Festival) -> None:
        await self._save("festivals", "festival_id", festival, festival.version - 1 or None)
        # One slot per unit and year: two concurrent plans collide here, not just in the check.
        slot = f"{festival.year}|{festival.unit_id}"
        if festival.additional:
            return
        if festival.status == "cancelled":
            await self.db.festival_slots.delete_one({"_id": slot, "festival_id": festival.festival_id}, session=self.s)
        elif festival.version == 1:
            # the domain refused a second festival already; a duplicate key here is a concurrent plan,
            # answered `concurrent_change` and, when sent again, refused by the domain
            await self.db.festival_slots.insert_one({"_id": slot, "festival_id": festival.festival_id}, session=self.s)

    # ------------------------------------------------------------------------------- models

    async def model(self, model_id: str) -> MovementModel | None:
        return await self._get("models", model_id, MovementModel)

    async def save_model(self, model: MovementModel) -> None:
        await self._save("models", "model_id", model, model.version - 1 or None)

    async def models_of(self, unit_ids: list[str] | None) -> list[MovementModel]:
        """The models of these units (None: every model), by id."""
        if unit_ids is None:
            docs = await self.db.models.find({}, session=self.s).to_list()
        else:
            docs = []
            for i in range(0, len(unit_ids), IN_CHUNK):
                chunk = unit_ids[i : i + IN_CHUNK]
                docs += await self.db.models.find({"unit_id": {"$in": chunk}}, session=self.s).to_list()
        return sorted((MovementModel.model_validate(d) for d in docs), key=lambda m: m.model_id)

    async def replication_counts(self, model_ids: list[str], day: dt.date) -> dict[str, int]:
        """How many units had taken up each model by `day`."""
        out: dict[str, int] = {}
        for i in range(0, len(model_ids), IN_CHUNK):
            flt = {"model_id": {"$in": model_ids[i : i + IN_CHUNK]}, "replicated_on": {"$lte": day.isoformat()}}
            for doc in await self.db.replications.find(flt, {"model_id": 1}, session=self.s).to_list():
                out[doc["model_id"]] = out.get(doc["model_id"], 0) + 1
        return out

    async def replication(self, model_id: str, unit_id: str) -> Replication | None:
        doc = await self.db.replications.find_one({"_id": f"{model_id}|{unit_id}"}, session=self.s)
        return Replication.model_validate(doc) if doc else None

    async def add_replication(self, rep: Replication) -> None:
        doc = rep.model_dump(mode="json")
        doc["_id"] = f"{rep.model_id}|{rep.unit_id}"  # one per model and unit, even under a race
        await self.db.replications.insert_one(doc, session=self.s)

    async def replications(self, model_id: str, after: str | None, limit: int) -> list[Replication]:
        query: Doc = {"model_id": model_id}
        if after:
            query["_id"] = {"$gt": f"{model_id}|{after}"}
        docs = await self.db.replications.find(query, session=self.s).sort("_id", ASCENDING).limit(limit).to_list()
        return [Replication.model_validate(d) for d in docs]


def valid_to_out(day: str) -> str | None:
    return None if day == END.isoformat() else day
