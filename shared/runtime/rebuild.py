"""Rebuild a consumer: replay its stream from the start into fresh collections, then swap them in.

1. A second durable reads the stream from sequence 1 into `rebuild_<consumer>__<collection>`
   copies (its own tracking included) while the live consumer keeps serving the old collections.
2. Caught up, the live durable is paused on the server (every replica stops receiving) and here;
   the rebuild catches up with the stream's head, which holds everything the live one could have
   applied.
3. The copies are renamed over the live collections, tracking first: a replica's transaction that
   retries across the swap finds its event already applied in the new tracking and skips it.
4. The live durable resumes from its own position; what it meets again is skipped as applied.

Progress is kept in the `consumer_rebuilds` collection, so any replica can answer for it."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime import logs
from shared.runtime.delivery import utc_in
from shared.runtime.event_consumer import EventConsumer, delete_durable
from shared.runtime.mongo import Doc

log = logging.getLogger("antq.rebuild")
PAUSE_SECONDS = 120.0  # the server-side pause, renewed while the swap is prepared


class RenamedDatabase(AsyncDatabase[Doc]):
    """A database whose collections `names` maps are other collections: handlers and stores written
    for the live names write the rebuild's copies instead."""

    def __init__(self, db: AsyncDatabase[Doc], names: dict[str, str]) -> None:
        super().__init__(db.client, db.name, db.codec_options, db.read_preference, db.write_concern, db.read_concern)
        self._names = names

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return super().get_collection(self._names.get(name, name), *args, **kwargs)

    def __getitem__(self, name: str) -> Any:
        return super().__getitem__(self._names.get(name, name))


def copy_names(consumer: str, collections: tuple[str, ...]) -> dict[str, str]:
    return {c: f"rebuild_{consumer}__{c}" for c in collections}


class Rebuild:
    def __init__(
        self,
        live: EventConsumer,
        make_runner: Callable[[AsyncDatabase[Doc], str, str], EventConsumer],
        mongo: AsyncMongoClient[Doc],
        db: AsyncDatabase[Doc],
        js: JetStreamContext,
        poll_seconds: float = 0.2,
    ) -> None:
        self.live = live
        self.spec = live.spec
        self.make_runner = make_runner
        self.mongo = mongo
        self.db = db
        self.js = js
        self.poll = poll_seconds
        self.durable = f"{live.durable}-rebuild"
        self.names = copy_names(self.spec.name, self.spec.owned())
        self.status = db["consumer_rebuilds"]
        self.rebuild_id = f"{self.spec.name}-{int(time.time() * 1000)}"

    async def note(self, **fields: Any) -> None:
        await self.status.update_one(
            {"_id": self.spec.name},
            {"$set": {**fields, "rebuild_id": self.rebuild_id, "updated_at": dt.datetime.now(dt.UTC)}},
            upsert=True,
        )

    async def run(self) -> None:
        started = time.monotonic()
        try:
            await self._run(started)
        except Exception as exc:
            log.exception("rebuild failed", extra={"consumer": self.spec.name})
            await self.note(state="failed", error=repr(exc)[:500])
        finally:
            self.live.paused = False
            with logs.best_effort("resuming the live consumer", log):
                await self.js.resume_consumer(self.spec.stream, self.live.durable)
            with logs.best_effort("deleting the rebuild's durable", log):
                await delete_durable(self.js, self.spec.stream, self.durable)

    async def _run(self, started: float) -> None:
        await self.note(state="replaying", processed=0, error=None, started_at=dt.datetime.now(dt.UTC))
        for name in self.names.values():  # a copy left by an interrupted rebuild
            await self.db.drop_collection(name)
        copy = RenamedDatabase(self.db, self.names)
        if self.spec.indexes is not None:
            await self.spec.indexes(copy)
        await delete_durable(self.js, self.spec.stream, self.durable)
        runner = self.make_runner(copy, self.durable, f"{self.spec.name}-rebuild")
        await runner.ensure()
        task = asyncio.create_task(runner.run(), name=f"rebuild-{self.spec.name}")
        try:
            await self.caught_up(runner, "replaying")
            await self.note(state="pausing")
            await self.js.pause_consumer(self.spec.stream, self.live.durable, utc_in(PAUSE_SECONDS))
            self.live.paused = True
            await self.caught_up(runner, "catching_up")
            await runner.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self.note(state="swapping")
            async with self.live.busy:  # no live delivery is applied here while the names change
                await self.swap()
                self.live.tracking.forget()  # what it knew was of the old collections
                await self.live.tracking.start()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.note(state="done", processed=runner.progress.processed, seconds=round(time.monotonic() - started, 2))
        log.info("rebuild done", extra={"consumer": self.spec.name, "processed": runner.progress.processed})

    async def caught_up(self, runner: EventConsumer, state: str) -> None:
        """Wait until the rebuild's durable has nothing pending or in flight."""
        while True:
            info = await self.js.consumer_info(self.spec.stream, self.durable)
            await self.note(state=state, processed=runner.progress.processed, pending=info.num_pending)
            if not info.num_pending and not info.num_ack_pending:
                return
            if self.live.paused:  # keep the server-side pause alive while the copy catches up
                await self.js.pause_consumer(self.spec.stream, self.live.durable, utc_in(PAUSE_SECONDS))
            await asyncio.sleep(self.poll)

    async def swap(self) -> None:
        existing = set(await self.db.list_collection_names())
        for live, copy in self.names.items():  # tracking first (see the module's note)
            if copy in existing:
                await self.mongo.admin.command(
                    "renameCollection", f"{self.db.name}.{copy}", to=f"{self.db.name}.{live}", dropTarget=True
                )
            else:  # the replay wrote nothing there: the rebuilt state of that collection is empty
                await self.db.drop_collection(live)


async def rebuild_status(db: AsyncDatabase[Doc], consumer: str) -> dict[str, Any] | None:
    doc = await db["consumer_rebuilds"].find_one({"_id": consumer})
    if doc is None:
        return None
    doc.pop("_id")
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in doc.items()}
