"""Aggregates stored whole, one document each, with an optimistic `version`: the reads and writes
every service's store shares (registry's and awards' stores build on it)."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from pydantic import BaseModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.errors import ConcurrentChange
from shared.runtime.mongo import Doc
from shared.runtime.writes import CURRENT, deferring

A = TypeVar("A", bound=BaseModel)


def as_doc(agg: BaseModel, key: str) -> Doc:
    """The aggregate as a document whose `_id` is its `key` field."""
    doc = agg.model_dump(mode="json")
    doc["_id"] = doc[key]
    return doc


class AggregateStore:
    """A store bound to a session: all writes of one command share its transaction.

    A store that `DEFERS` inserts its new aggregates with the transaction's other deferred writes
    (shared.runtime.writes) and reads through `deferring`, so it never reads past them."""

    DEFERS: ClassVar[bool] = False

    def __init__(self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None) -> None:
        writes = CURRENT.get() if self.DEFERS and session is not None else None
        self.writes = writes if writes is not None and writes.session is session else None
        self.db = deferring(db, self.writes)
        self.s = session

    async def prefetch(self, keys: list[str]) -> None:
        """Read what a group's commands name (their specs' `reads`) before their handlers run, where the
        handlers will find it: a store that shares its reads through its transaction's `Writes` does."""

    async def _insert(self, coll: str, doc: Doc) -> None:
        """Insert a document whose insert nobody reads the result of: deferred when the store `DEFERS`."""
        if self.writes is not None:
            self.writes.insert(coll, doc)
        else:
            await self.db[coll].insert_one(doc, session=self.s)

    async def _get(self, coll: str, key: str, model: type[A]) -> A | None:
        doc = await self.db[coll].find_one({"_id": key}, session=self.s)
        return model.model_validate(doc) if doc else None

    async def _save(
        self, coll: str, key: str, agg: BaseModel, loaded_version: int | None, extra: Doc | None = None
    ) -> None:
        """Insert a new aggregate (`loaded_version` None) or replace it if nobody changed it meanwhile;
        `extra`: fields stored beside it for the store's own queries (search keys), not part of it."""
        doc = {**as_doc(agg, key), **(extra or {})}
        if loaded_version is None:  # handlers check that the id is free; a racing insert fails the transaction
            await self._insert(coll, doc)
            return
        res = await self.db[coll].replace_one({"_id": doc["_id"], "version": loaded_version}, doc, session=self.s)
        if res.matched_count != 1:
            raise ConcurrentChange(f"{coll[:-1]} {doc['_id']} was changed concurrently; send the same command again")
