"""What awards knows of registry, built from registry's events only (never its database, never a
synchronous call): the unit tree (the shared units replica) and the festivals (unit, date, status).

With registry down, awards keeps answering from these."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.awards.store import FESTIVALS, UNITS, AwardsStore, festivals_indexes
from shared.contract import registry as r
from shared.replicas.units_store import units_consumer
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from shared.runtime.mongo import Doc


def festivals_consumer(name: str = "festivals") -> Consumer[AwardsStore]:
    def store(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> AwardsStore:
        return AwardsStore(db, session)

    consumer: Consumer[AwardsStore] = Consumer(
        name=name,
        store=store,
        collections=(FESTIVALS,),
        indexes=festivals_indexes,
        batch=Batch(max_messages=200, max_wait_ms=100),
        envelope=False,  # its handlers read the envelope's attributes only
        description="Keeps awards' replica of registry's festivals (unit, date, status).",
    )

    @consumer.on(r.FestivalPlanned)
    async def planned(e: r.FestivalPlanned, meta: EventMeta, tx: Tx[AwardsStore]) -> None:
        tx.upsert(
            FESTIVALS,
            e.festival_id,
            {
                "$set": {
                    "unit_id": e.unit_id,
                    "year": e.year,
                    "date": e.date.isoformat(),
                    "status": "planned",
                    "held_on": None,
                    "point_level": e.point_level,
                }
            },
        )

    @consumer.on(r.FestivalRescheduled)
    async def rescheduled(e: r.FestivalRescheduled, meta: EventMeta, tx: Tx[AwardsStore]) -> None:
        tx.upsert(
            FESTIVALS, e.festival_id, {"$set": {"unit_id": e.unit_id, "year": e.year, "date": e.date.isoformat()}}
        )

    @consumer.on(r.FestivalHeld)
    async def held(e: r.FestivalHeld, meta: EventMeta, tx: Tx[AwardsStore]) -> None:
        tx.upsert(
            FESTIVALS,
            e.festival_id,
            {
                "$set": {"unit_id": e.unit_id, "year": e.year, "status": "held", "held_on": e.held_on.isoformat()},
                "$setOnInsert": {"date": e.held_on.isoformat()},
            },
        )

    @consumer.on(r.FestivalCancelled)
    async def cancelled(e: r.FestivalCancelled, meta: EventMeta, tx: Tx[AwardsStore]) -> None:
        tx.upsert(
            FESTIVALS,
            e.festival_id,
            {
                "$set": {"unit_id": e.unit_id, "year": e.year, "status": "cancelled"},
                "$setOnInsert": {"date": f"{e.year}-01-01"},
            },
        )

    return consumer


def consumers() -> list[Consumer[object]]:
    return [units_consumer("units", UNITS, batch=Batch(max_messages=200, max_wait_ms=100)), festivals_consumer()]  # type: ignore[list-item]
