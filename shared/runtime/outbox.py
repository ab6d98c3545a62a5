"""The transactional outbox and its relay: persist, then publish (DESIGN §4).

Events are inserted in the transaction that changes state; the relay publishes them to JetStream
with Nats-Msg-Id = event id and then marks them sent. A crash between the two re-publishes, and
JetStream's duplicate window drops the copy."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from nats.errors import MaxPayloadError
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.envelope import CloudEvent
from shared.contract.subjects import subject_of_type
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, update_ids
from shared.runtime.tracing import NOOP_TRACING, Carrier, SpanKind, Tracing, carrier

log = logging.getLogger("antq.outbox")
# Refusals no retry can fix (the event is too large). A missing stream, JetStream unavailable or an
# unreachable broker are retried forever instead, with the relay reported unhealthy meanwhile.
UNDELIVERABLE = (MaxPayloadError, BadRequestError)


class Outbox:
    COLLECTION = "outbox"

    def __init__(self, db: AsyncDatabase[Doc], traced: bool = False) -> None:
        self.coll = db[self.COLLECTION]
        self.wakeup = asyncio.Event()
        self.traced = traced  # tracing on: each entry keeps the context it was written in

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("sent", ASCENDING), ("_id", ASCENDING)])

    async def add(
        self,
        events: list[CloudEvent],
        session: AsyncClientSession,
        record: Doc | None = None,
        traces: Sequence[Carrier | None] | None = None,
    ) -> None:
        """Insert the events, and the command's record with them (`CommandLog.document`): one write."""
        await self.insert(self.documents(events, record, traces), session)

    def documents(
        self, events: list[CloudEvent], record: Doc | None = None, traces: Sequence[Carrier | None] | None = None
    ) -> list[Doc]:
        """The entries of the events (after the command's record, if any). With tracing on, each entry
        keeps the trace context it continues: the current span's, or the one given for it in `traces`
        (reporting's publisher: the context of the event that moved it)."""
        now = dt.datetime.now(dt.UTC)
        docs = [] if record is None else [record]
        docs += [
            {"_id": e.id, "subject": subject_of_type(e.type), "body": e.to_bytes(), "sent": False, "at": now}
            for e in events
        ]
        if self.traced:
            current = carrier()
            given = list(traces) if traces is not None else [None] * len(events)
            for doc, trace in zip(docs[len(docs) - len(events) :], given, strict=True):
                if trace or current:
                    doc["trace"] = trace or current
        return docs

    async def insert(self, docs: list[Doc], session: AsyncClientSession) -> None:
        """One write of entries (`documents`), in order: a record's key taken fails the whole write."""
        if docs:
            await self.coll.insert_many(docs, session=session, ordered=True)

    def notify(self) -> None:
        self.wakeup.set()

    async def pending(self) -> int:
        return await self.coll.count_documents({"sent": False})


class Relay:
    """Publishes unsent outbox entries in id (creation) order, then marks them sent."""

    def __init__(
        self,
        outbox: Outbox,
        js: JetStreamContext,
        metrics: Metrics,
        batch: int = 256,
        poll_seconds: float = 1.0,
        retention: dt.timedelta = dt.timedelta(days=7),
        tracing: Tracing = NOOP_TRACING,
    ) -> None:
        self.outbox = outbox
        self.tracing = tracing
        self.js = js
        self.metrics = metrics
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.healthy = True
        self._last_purge = dt.datetime.now(dt.UTC)
        self._strikes: dict[str, int] = {}
        self.max_strikes = 5
        self.linger_seconds = 0.025
        self._measured = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                n = await self.flush()
                self.healthy = True
                delay = 0.2
                await self.measure()
                if n >= self.batch:
                    continue
                await self._purge_if_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database unreachable: keep the events, retry later
                self.healthy = False
                self.metrics.relay_errors.labels(self.metrics.service).inc()
                log.warning("outbox relay failed; will retry", extra={"error": repr(exc)[:300], "retry_in": delay})
                await self.measure()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.outbox.wakeup.clear()
            try:
                await asyncio.wait_for(self.outbox.wakeup.wait(), self.poll_seconds)
                # linger a moment so that events of commands arriving together go out in one batch:
                # one read and one update for many events instead of for each (a stop cuts it short:
                # the shutdown flush sends what is there)
                await asyncio.wait_for(stop.wait(), self.linger_seconds)
            except TimeoutError:
                pass

    async def measure(self, every: float = 1.0) -> None:
        """Set the `antq_outbox_pending` gauge, at most once a second (a count on the `sent` index)."""
        now = asyncio.get_running_loop().time()
        if now - self._measured < every:
            return
        self._measured = now
        try:
            pending = await self.outbox.pending()
        except Exception as exc:  # the database is away: the gauge keeps its last value
            log.debug("outbox not measured", extra={"error": repr(exc)[:200]})
            return
        self.metrics.outbox_pending.labels(self.metrics.service).set(pending)

    async def flush(self) -> int:
        """Publish one batch; returns how many entries it sent."""
        docs = await self.outbox.coll.find({"sent": False}).sort("_id", ASCENDING).limit(self.batch).to_list()
        if not docs:
            return 0
        sent: list[Any] = []
        try:
            for doc in docs:
                try:
                    await self._publish(doc)
                except UNDELIVERABLE as exc:
                    if not await self._give_up_on(doc, exc):
                        raise
                    continue
                self._strikes.pop(doc["_id"], None)
                sent.append(doc["_id"])
        finally:
            if sent:
                await update_ids(self.outbox.coll, sent, {"$set": {"sent": True, "sent_at": dt.datetime.now(dt.UTC)}})
                self.metrics.published.labels(self.metrics.service).inc(len(sent))
        return len(sent)

    async def _publish(self, doc: Doc) -> None:
        headers = {"Nats-Msg-Id": doc["_id"], "content-type": "application/cloudevents+json"}
        trace = doc.get("trace")
        if not trace or not self.tracing.enabled:
            await self.js.publish(doc["subject"], bytes(doc["body"]), headers=headers)
            return
        attributes = {"messaging.system": "nats", "messaging.destination.name": doc["subject"], "event.id": doc["_id"]}
        with self.tracing.span(f"send {doc['subject']}", SpanKind.PRODUCER, parent=trace, attributes=attributes):
            await self.js.publish(doc["subject"], bytes(doc["body"]), headers={**headers, **carrier()})

    async def _give_up_on(self, doc: dict[str, Any], exc: Exception) -> bool:
        """An event the broker refuses again and again (no stream for its subject, too large) must not
        block every later one: after a few strikes it is set aside, logged and counted, not deleted."""
        strikes = self._strikes[doc["_id"]] = self._strikes.get(doc["_id"], 0) + 1
        if strikes < self.max_strikes:
            return False
        await self.outbox.coll.update_one({"_id": doc["_id"]}, {"$set": {"sent": "undeliverable", "error": repr(exc)}})
        self._strikes.pop(doc["_id"], None)
        self.metrics.undeliverable.labels(self.metrics.service).inc()
        log.error(
            "event set aside as undeliverable",
            extra={"event_id": doc["_id"], "subject": doc["subject"], "error": repr(exc)[:300]},
        )
        return True

    async def _purge_if_due(self) -> None:
        now = dt.datetime.now(dt.UTC)
        if now - self._last_purge < dt.timedelta(minutes=10):
            return
        self._last_purge = now
        await self.outbox.coll.delete_many({"sent": True, "sent_at": {"$lt": now - self.retention}})
