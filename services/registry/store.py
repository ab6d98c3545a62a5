"""Registry's MongoDB adapter: collections, indexes and the reads the handlers and queries need.

Aggregates are stored whole (one document each) with an optimistic `version`; all writes of one
command share the session of its transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain import END, Campaign, Festival, MovementModel, Unit
from shared.errors import Conflict
from shared.mongo import Doc

A = TypeVar("A", bound=BaseModel)
MAX_DEPTH = 8  # province → district → commune → hamlet, with room for agencies and old trees


def _doc(agg: BaseModel, key: str) -> Doc:
    doc = agg.model_dump(mode="json")
    doc["_id"] = doc[key]
    return doc


async def ensure_indexes(db: AsyncDatabase[Doc]) -> None:
    await db.units.create_index([("versions.parent_id", ASCENDING)])
    await db.units.create_index([("versions.code", ASCENDING)])
    await db.campaigns.create_index([("year", ASCENDING), ("scope_unit_id", ASCENDING)], unique=True)
    await db.festivals.create_index([("unit_id", ASCENDING), ("year", ASCENDING)])
    await db.festivals.create_index([("campaign_id", ASCENDING), ("unit_id", ASCENDING)])
    await db.models.create_index([("unit_id", ASCENDING)])


class RegistryStore:
    def __init__(self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None) -> None:
        self.db = db
        self.s = session
        # Units read in this transaction: walking up the tree rereads the same few documents.
        self._units: dict[str, Unit | None] = {}

    # ------------------------------------------------------------------------------- generic

    async def _get(self, coll: str, key: str, model: type[A]) -> A | None:
        doc = await self.db[coll].find_one({"_id": key}, session=self.s)
        return model.model_validate(doc) if doc else None

    async def _save(self, coll: str, key: str, agg: BaseModel, version: int) -> None:
        """Insert (version 1 of a new aggregate) or replace if nobody changed it meanwhile."""
        doc = _doc(agg, key)
        if version == 1:  # handlers check that the id is free; a racing insert fails the transaction
            await self.db[coll].insert_one(doc, session=self.s)
            return
        res = await self.db[coll].replace_one({"_id": doc["_id"], "version": version - 1}, doc, session=self.s)
        if res.matched_count != 1:
            raise Conflict(f"{coll[:-1]} {doc['_id']} was changed concurrently; send the command again")

    # ------------------------------------------------------------------------------- units

    async def unit(self, unit_id: str) -> Unit | None:
        if unit_id not in self._units:
            self._units[unit_id] = await self._get("units", unit_id, Unit)
        return self._units[unit_id]

    async def units(self, unit_ids: list[str]) -> dict[str, Unit]:
        docs = await self.db.units.find({"_id": {"$in": unit_ids}}, session=self.s).to_list()
        return {d["_id"]: Unit.model_validate(d) for d in docs}

    async def save_unit(self, unit: Unit) -> None:
        await self._save("units", "unit_id", unit, unit.version)
        self._units[unit.unit_id] = unit
        # Guard against two concurrent commands giving one code to two units from the same day: the
        # unique _id makes the second transaction fail even if both passed the overlap check.
        # (Checked before inserting: an error inside a transaction aborts it, so none is caught here.)
        for v in unit.versions:
            if not v.code:
                continue
            key = f"{v.code}|{v.valid_from.isoformat()}"
            held = await self.db.unit_codes.find_one({"_id": key}, session=self.s)
            if held is None:
                await self.db.unit_codes.insert_one({"_id": key, "unit_id": unit.unit_id}, session=self.s)
            elif held["unit_id"] != unit.unit_id:
                raise Conflict(f"official code {v.code} from {v.valid_from} belongs to unit {held['unit_id']}")

    async def ancestry(self, unit_id: str, day: dt.date) -> list[str]:
        """The unit and its ancestors as of `day` (nearest first)."""
        chain = [unit_id]
        current = await self.unit(unit_id)
        while current is not None and len(chain) <= MAX_DEPTH:
            v = current.at(day)
            if v is None or v.parent_id is None:
                break
            chain.append(v.parent_id)
            current = await self.unit(v.parent_id)
        return chain

    def _active(self, day: dt.date, **match: Any) -> Doc:
        d = day.isoformat()
        return {"versions": {"$elemMatch": {**match, "valid_from": {"$lte": d}, "valid_to": {"$gt": d}}}}

    async def children(
        self, parent_ids: list[str], day: dt.date, after: str | None = None, limit: int = 0
    ) -> list[Unit]:
        query = self._active(day, parent_id={"$in": parent_ids})
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.db.units.find(query, session=self.s).sort("_id", ASCENDING)
        if limit:
            cursor = cursor.limit(limit)
        return [Unit.model_validate(d) for d in await cursor.to_list()]

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
        out: list[Unit] = []
        frontier = [root_id]
        for _ in range(MAX_DEPTH):
            if not frontier:
                break
            level = await self.children(frontier, day)
            out.extend(level)
            frontier = [u.unit_id for u in level]
        return out

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

    async def save_campaign(self, campaign: Campaign) -> None:
        await self._save("campaigns", "campaign_id", campaign, campaign.version)

    # ------------------------------------------------------------------------------- festivals

    async def festival(self, festival_id: str) -> Festival | None:
        return await self._get("festivals", festival_id, Festival)

    async def festivals(self, unit_id: str | None, year: int | None, limit: int) -> list[Festival]:
        query: Doc = {}
        if unit_id:
            query["unit_id"] = unit_id
        if year:
            query["year"] = year
        docs = await self.db.festivals.find(query, session=self.s).sort("_id", ASCENDING).limit(limit).to_list()
        return [Festival.model_validate(d) for d in docs]

    async def active_festivals(self, campaign_id: str, unit_id: str) -> list[str]:
        docs = await self.db.festivals.find(
            {"campaign_id": campaign_id, "unit_id": unit_id, "status": {"$in": ["planned", "held"]}},
            {"_id": 1},
            session=self.s,
        ).to_list()
        return [d["_id"] for d in docs]

    async def save_festival(self, festival: Festival) -> None:
        await self._save("festivals", "festival_id", festival, festival.version)
        # One slot per unit and campaign: two concurrent plans collide here, not just in the check.
        slot = f"{festival.campaign_id}|{festival.unit_id}"
        if festival.additional:
            return
        if festival.status == "cancelled":
            await self.db.festival_slots.delete_one({"_id": slot, "festival_id": festival.festival_id}, session=self.s)
        elif festival.version == 1:
            held = await self.db.festival_slots.find_one({"_id": slot}, session=self.s)
            if held is not None:
                raise Conflict(
                    f"unit {festival.unit_id} already has festival {held['festival_id']} in campaign "
                    f"{festival.campaign_id}"
                )
            await self.db.festival_slots.insert_one({"_id": slot, "festival_id": festival.festival_id}, session=self.s)

    # ------------------------------------------------------------------------------- models

    async def model(self, model_id: str) -> MovementModel | None:
        return await self._get("models", model_id, MovementModel)

    async def save_model(self, model: MovementModel) -> None:
        await self._save("models", "model_id", model, model.version)


def valid_to_out(day: str) -> str | None:
    return None if day == END.isoformat() else day
