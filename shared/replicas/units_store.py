"""The units replica kept in a service's own database: registry's `unit.*` events applied by a
consumer of the kit (`units_consumer`), and the tree at a date read back (`UnitsStore`).

A service that needs the tree adds `units_consumer()` to its consumers and reads with `UnitsStore`;
the fold is the pure module's (shared.replicas.units)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract import registry as c
from shared.replicas.units import NeverRegistered, UnitRecord, unit_id_of
from shared.replicas.units import apply as apply_event
from shared.replicas.walk import ParentHints, arun, down, up
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from shared.runtime.delivery import PoisonMessage
from shared.runtime.mongo import IN_CHUNK, Doc

CHANGED = "_f"  # a written document's stamp: its consumer's fence count at the commit (Tx.stamp)


class UnitsStore:
    """Reads (and, for the consumer, writes) the replica; records read once are kept for the
    lifetime of the store (one transaction, or one query)."""

    def __init__(
        self,
        db: AsyncDatabase[Doc],
        session: AsyncClientSession | None = None,
        collection: str = "units",
        hints: ParentHints | None = None,
    ):
        self.coll = db[collection]
        self.collection = collection
        self.s = session
        self._cache: dict[str, UnitRecord | None] = {}
        self.hints = hints if hints is not None else ParentHints()  # a service's own: walks in one read

    async def get(self, unit_id: str) -> UnitRecord | None:
        if unit_id not in self._cache:
            await self.load({unit_id}, ancestors=True)
        return self._cache[unit_id]

    async def load(self, unit_ids: set[str], ancestors: bool = False) -> None:
        """Read the records of `unit_ids` not read yet, in a few queries (with the ancestors the hints
        expect them to have, when `ancestors`)."""
        asked = self.hints.chain(sorted(unit_ids)) if ancestors else sorted(unit_ids)
        wanted = [u for u in asked if u not in self._cache]
        for i in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[i : i + IN_CHUNK]
            found = {d["_id"]: d for d in await self.coll.find({"_id": {"$in": chunk}}, session=self.s).to_list()}
            for uid in chunk:
                record = UnitRecord.model_validate(found[uid]) if uid in found else None
                self._cache[uid] = record
                if record is not None:
                    self.hints.learn(uid, [v.parent_id for v in record.versions])

    def put(self, record: UnitRecord, stamp: int | None = None) -> ReplaceOne[Doc]:
        """Remember `record` and return the write that stores it (sent with the batch), with the
        consumer's `stamp` (`Tx.stamp`) under CHANGED."""
        self._cache[record.unit_id] = record
        doc = record.model_dump(mode="json")
        doc["_id"] = record.unit_id
        if stamp is not None:
            doc[CHANGED] = stamp
        return ReplaceOne({"_id": record.unit_id}, doc, upsert=True)

    async def ancestry(self, unit_id: str, day: dt.date) -> list[str]:
        """The unit and its ancestors on `day`, nearest first (empty if it does not exist that day)."""
        return await arun(up(unit_id, day), self.get)

    async def children(self, parent_ids: list[str], day: dt.date) -> list[UnitRecord]:
        docs = await self.coll.find({"versions.parent_id": {"$in": parent_ids}}, session=self.s).to_list()
        wanted = set(parent_ids)
        out = []
        for doc in docs:
            record = UnitRecord.model_validate(doc)
            self._cache.setdefault(record.unit_id, record)
            period = record.at(day)
            if period is not None and period.parent_id in wanted:
                out.append(record)
        return sorted(out, key=lambda r: r.unit_id)

    async def subtree(self, root_id: str, day: dt.date) -> list[UnitRecord]:
        """Every unit below `root_id` on `day`, level by level (one query per level)."""
        return await arun(down(root_id, unit_id_of), lambda parents: self.children(parents, day))


async def units_indexes(db: AsyncDatabase[Doc], collection: str = "units", changes: bool = False) -> None:
    """`changes`: also an index of the stamps, for a reader that asks what changed after a fence count."""
    await db[collection].create_index([("versions.parent_id", ASCENDING)])
    if changes:
        await db[collection].create_index([(CHANGED, ASCENDING)])


def units_consumer(
    name: str = "units", collection: str = "units", batch: Batch | None = None, changes: bool = False
) -> Consumer[UnitsStore]:
    """A consumer that keeps the replica of registry's tree in `collection` of the service's database.
    Each unit written carries the transaction's stamp (CHANGED); `changes`: indexed, for a service that
    reads the units changed since it last looked (reporting's in-memory tree)."""

    async def indexes(db: AsyncDatabase[Doc]) -> None:
        await units_indexes(db, collection, changes)

    async def prefetch(tx: Tx[UnitsStore], events: list[tuple[BaseModel, EventMeta]]) -> None:
        await tx.store.load({meta.subject for _, meta in events if meta.subject})

    consumer: Consumer[UnitsStore] = Consumer(
        name=name,
        store=lambda db, session: UnitsStore(db, session, collection),
        collections=(collection,),
        indexes=indexes,
        batch=batch,
        envelope=False,  # its handlers read the envelope's attributes only
        prefetch=prefetch,
        description="Keeps the replica of registry's unit tree (shared.replicas.units).",
    )

    async def on_unit_event(event: BaseModel, meta: EventMeta, tx: Tx[UnitsStore]) -> None:
        if meta.subject is None:
            raise PoisonMessage(f"{meta.type} {meta.id} names no unit (its `subject`)")
        name = meta.type.rsplit(".", 2)[-2]
        try:
            record = apply_event(await tx.store.get(meta.subject), name, event, meta.aggregate_version)
        except NeverRegistered as exc:
            raise PoisonMessage(str(exc)) from None
        if record.version == meta.aggregate_version:  # applied (not a stale repeat): remember what changed it
            record = record.model_copy(
                update={"last_event": meta.id, "last_correlation": meta.correlation_id or meta.id}
            )
        tx.write(tx.store.collection, tx.store.put(record, tx.stamp))

    for model in (c.UnitRegistered, c.UnitUpdated, c.UnitMoved, c.UnitsMerged, c.UnitSplit, c.UnitClosed):
        consumer.on(model)(on_unit_event)
    return consumer
