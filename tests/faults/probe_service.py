"""A service that only listens, run as its own process by the fault tests (`python -m
tests.faults.probe_service`): registry's units replica, and a counter of registrations per tag
(an $inc: an event applied twice would show there). PROBE_BATCH=1 runs both in batch mode."""

from __future__ import annotations

import asyncio
import os

from shared.contract import registry as c
from shared.replicas.units_store import units_consumer
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.settings import ServiceSettings


def counter(batch: Batch | None) -> Consumer[None]:
    consumer: Consumer[None] = Consumer(name="counts", store=lambda db, s: None, collections=("counts",), batch=batch)

    @consumer.on(c.UnitRegistered)
    async def registered(event: c.UnitRegistered, meta: EventMeta, tx: Tx[None]) -> None:
        tx.upsert("counts", event.unit_id.split("-")[0], {"$inc": {"n": 1}})

    return consumer


async def no_indexes(db: object) -> None:
    return None


def main() -> None:
    batch = Batch(max_messages=100, max_wait_ms=100) if os.environ.get("PROBE_BATCH") else None
    definition = ServiceDefinition(
        name="probe",
        commands=[],
        queries=[],
        events={},
        store_factory=lambda db, session: None,
        ensure_indexes=no_indexes,
        consumers=[units_consumer(batch=batch), counter(batch)],
    )
    asyncio.run(ServiceHost(definition, ServiceSettings()).run())


if __name__ == "__main__":
    main()
