"""Declared event consumers on the kit's delivery loop: parse, order, apply once, acknowledge.

One delivery (up to a batch of messages) at a time per consumer, in stream order:
- each event is parsed against the contract; one that cannot be read is dead-lettered at once;
- events are ordered per aggregate (`plan`): stale and repeated ones are skipped, one whose
  predecessor is missing is held back. It is first parked in memory, unacknowledged, and applied
  as soon as a later delivery brings its predecessor (the usual case: the predecessor was nacked
  while the database was busy, and the stream moved on). Parked too long, it becomes a `Gap`:
  nacked with a delay, dead-lettered as `gap` if the predecessor never comes — DESIGN §4: never
  applied out of order, never dropped silently;
- the handlers' writes and the tracking record go in one transaction (per event, or per batch);
- failures are settled by the kit's one decision (shared.runtime.delivery);
- in batch mode a failing batch is retried one event per transaction, so one bad event does
  not hold back the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.contract.envelope import parse_envelope, pydantic_details
from shared.contract.errors import DomainError, Unavailable
from shared.contract.services import upcast
from shared.contract.subjects import parse_event_type
from shared.runtime import logs
from shared.runtime.consumers import Consumer, Decoded, Delivery, EventMeta, NotAbsent, Plan, Tx, plan
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.delivery import Durable, Gap, Outage, PoisonMessage, Policy, PullConsumer
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, in_transaction, is_transient
from shared.runtime.settings import ServiceSettings
from shared.runtime.tracing import NOOP_TRACING, SpanKind, Tracing
from shared.runtime.tracking import FenceMoved, Tracking

log = logging.getLogger("antq.consumers")


class GapByCache(Exception):
    """The cache says an event's predecessor is missing: the receipts have the last word."""


PARK_LIMIT = 5000  # held events a consumer keeps in memory; past it they are nacked at once


def policy_of(settings: ServiceSettings) -> Policy:
    return Policy(settings.max_deliver, settings.nack_delay_seconds, settings.consumer_gap_deliveries)


class EventConsumer(PullConsumer):
    """Runs one declared consumer against one durable (the live one, or a rebuild's)."""

    def __init__(
        self,
        spec: Consumer[Any],
        service: str,
        durable: str,
        js: JetStreamContext,
        mongo: AsyncMongoClient[Doc],
        db: AsyncDatabase[Doc],
        dead_letters: DeadLetters,
        metrics: Metrics,
        settings: ServiceSettings,
        label: str | None = None,
        tracing: Tracing = NOOP_TRACING,
        gate: asyncio.Semaphore | None = None,  # the service's transactions open at once (Kit.consumer_gate)
    ) -> None:
        batch = spec.batch.max_messages if spec.batch else 64
        super().__init__(
            service,
            label or spec.name,
            Durable(
                name=durable,
                stream=spec.stream,
                subjects=spec.subjects,
                ack_wait=settings.consumer_ack_wait_seconds,
                max_ack_pending=max(1000, batch * 4),
                batch=batch,
                linger_ms=spec.batch.max_wait_ms if spec.batch else None,
            ),
            js,
            dead_letters,
            metrics,
            policy_of(settings),
        )
        self.spec: Consumer[Any] = spec
        self.tracing = tracing
        self.gate = gate or asyncio.Semaphore(settings.consumer_transactions)
        self.mongo = mongo
        self.db = db
        self.tracking = Tracking(db, spec.tracking, spec.cache_limit)
        self.max_payload_bytes = max(settings.max_payload_bytes, 1024 * 1024)
        self._acks: asyncio.Task[None] | None = None  # the last batch's acknowledgements, sent meanwhile
        # events held for a missing predecessor, waiting in memory for it: aggregate → stream seq →
        # (the delivery, when it was first parked); within the ack wait, so the broker does not resend them
        self.parked: dict[str, dict[int, tuple[Delivery, float]]] = {}
        self._since: dict[int, float] = {}  # stream seq → when a woken parked event was first parked
        self.park_seconds = min(settings.consumer_ack_wait_seconds / 2, settings.nack_delay_seconds * 5)

    async def started(self) -> None:
        try:
            await self.tracking.start()
        except PyMongoError as exc:  # unknown: it reads receipts, which is always safe
            log.warning("tracking not inspected", extra={"consumer": self.label, "error": repr(exc)[:200]})

    async def finished(self) -> None:
        await self.acked()
        for d in self.unpark(lambda _key, _since: True):  # back to the broker now: another replica may take them
            with logs.best_effort("returning a parked event", log):
                await d.msg.nak()

    async def stop(self) -> None:
        await super().stop()
        await self.acked()

    async def acked(self) -> None:
        """Wait until the acknowledgements of the last applied delivery are sent."""
        if self._acks is not None:
            await asyncio.gather(self._acks, return_exceptions=True)
            self._acks = None

    async def _ack_all(self, msgs: list[Msg]) -> None:
        try:
            for m in msgs:
                await m.ack()
        except Exception as exc:  # the connection went: the events come back and are skipped as applied
            log.warning("acknowledgements not sent", extra={"consumer": self.label, "error": repr(exc)[:300]})

    # ------------------------------------------------------------------------------- one delivery

    def prepare(self, msgs: list[Msg]) -> list[Msg]:
        """The fetch with its messages decoded (parsed and validated), in the reader: the CPU of it runs
        while the transaction of the delivery before waits on the database."""
        return Decoded(msgs, [self.decode(m) for m in msgs])

    async def handle(self, msgs: list[Msg]) -> None:
        readable = []
        for d in msgs.deliveries if isinstance(msgs, Decoded) else map(self.decode, msgs):
            if d.poison is not None:
                await self.settle(d, PoisonMessage(d.poison))
            elif d.twin:  # its twin in the major this consumer reads carries the same fact
                await self.settle(d, None)
                self.count("skipped_other_major", 1)
            else:
                readable.append(d)
        await self.expire_parked()
        if not readable:
            return
        keys = {d.key for d in readable if d.key is not None}
        woken = self.unpark(lambda key, _since: key in keys)  # their predecessor may be here
        seqs = {d.seq for d in readable}  # a parked event the broker resent (its ack wait ran out): the new copy
        readable = [*(d for d in woken if d.seq not in seqs), *readable]
        try:
            await self.apply_delivery(readable)
        finally:
            self._since.clear()  # what was woken is applied, parked again, or settled by now

    async def apply_delivery(self, readable: list[Delivery]) -> None:
        if self.spec.batch is not None:
            try:
                done = await self.apply(readable)
                await self.hold(done.held)
                return
            except Outage as exc:
                await self.wait_out(readable, exc)
                return
            except Exception as exc:  # find the event at fault: the others must not wait for it
                log.warning(
                    "batch failed; applying its events one by one",
                    extra={"consumer": self.label, "error": repr(exc)[:300]},
                )
        await self.one_by_one(readable)

    async def one_by_one(self, deliveries: list[Delivery]) -> None:
        """Each event in its own transaction, in stream order; an event held for a missing
        version is retried as soon as that version is applied."""
        queue = list(deliveries)
        held: list[Delivery] = []
        while queue:
            d = queue.pop(0)
            try:
                done = await self.apply([d])
            except Outage as exc:
                await self.wait_out([d, *queue, *held], exc)
                return
            except Exception as exc:
                await self.settle(d, exc)
                continue
            if done.apply and done.apply[0].key is not None:
                key = done.apply[0].key
                queue = [h for h in held if h.key == key] + queue  # its successor may be waiting
                held = [h for h in held if h.key != key]
            held += done.held
        await self.hold(held)

    async def apply(self, deliveries: list[Delivery]) -> Plan[Delivery]:
        """One transaction: find what is applied, order, run the handlers, write their bulk
        operations and the receipts; then acknowledge. Held events are the caller's."""
        started = time.perf_counter()
        force_read = False
        for _ in range(3):
            try:
                done = await self._apply(deliveries, force_read)
                break
            except (GapByCache, NotAbsent):  # a cache was wrong (a version missing, a document absent):
                force_read = True  # again, from the receipts, with upserts only
            except FenceMoved:  # another replica wrote: its cache no longer holds, take the fence again
                self.tracking.lost()
        else:
            done = await self._apply(deliveries, force_read=True)
        self.tracking.remember(done.apply)
        self.metrics.consumer_batch_seconds.labels(self.service, self.label).observe(time.perf_counter() - started)
        await self.applied(done)
        return done

    async def _apply(self, deliveries: list[Delivery], force_read: bool) -> Plan[Delivery]:
        if not self.tracing.enabled:
            return await self._transaction(deliveries, force_read)
        # the transaction's span links each event's trace; each handler runs in that event's trace
        with self.tracing.span(
            f"apply {self.service}/{self.label}",
            SpanKind.CONSUMER,
            links=[d.msg.headers for d in deliveries],
            attributes={"messaging.system": "nats", "messaging.batch.message_count": len(deliveries)},
        ):
            return await self._transaction(deliveries, force_read)

    async def _transaction(self, deliveries: list[Delivery], force_read: bool) -> Plan[Delivery]:
        async def work(session: AsyncClientSession) -> Plan[Delivery]:
            await self.tracking.hold_fence(session)
            versions, applied = await self.tracking.stored(deliveries, session, force_read)
            done = plan(deliveries, versions, applied)
            if done.held and not force_read:
                raise GapByCache
            store = self.spec.store(self.db, session)
            tx: Tx[Any] = Tx(store, self.db, session, self.tracking.proposed, inserts=not force_read)
            if self.spec.prefetch is not None:
                todo = [(d.payload, d.meta) for d in done.apply if d.meta and d.payload]
                if todo:
                    await self.spec.prefetch(tx, todo)
            for d in done.apply:
                if d.handler is not None and d.meta is not None:
                    label, headers = f"{self.service}/{self.label}", d.msg.headers
                    with (
                        logs.ids(d.id, d.meta.correlation_id),
                        self.tracing.handler(label, d.meta.type, d.id, d.seq, headers),
                    ):
                        await d.handler.fn(d.payload, d.meta, tx)
            await tx.flush()
            await self.tracking.record(done.apply, session)
            return done

        try:
            async with self.gate:  # a snapshot pinned by each open transaction slows every writer
                return await in_transaction(self.mongo, work)
        except PyMongoError as exc:
            if is_transient(exc) or exc.has_error_label("TransientTransactionError"):
                raise Outage(str(exc)[:300], busy=not is_transient(exc)) from None
            raise
        except Unavailable as exc:
            raise Outage(exc.message) from None

    async def applied(self, done: Plan[Delivery]) -> None:
        # counted as committed, before waiting on the previous delivery's acks: a reader that sees the
        # effects sees them counted
        handled = [d for d in done.apply if d.handler is not None]
        if handled and self.spec.committed is not None:
            self.spec.committed()
        self.count("processed", len(handled))
        self.count("ignored", len(done.apply) - len(handled))
        # the applied events' acks go out while the next delivery is applied (the commit made them
        # durable: an ack lost now only brings them back, to be skipped as applied)
        await self.acked()
        self._acks = asyncio.create_task(self._ack_all([d.msg for d in done.apply]))
        for d in done.apply:
            self.failures.pop(d.seq, None)
        for outcome, group in (("skipped_duplicate", done.duplicate), ("skipped_stale", done.stale)):
            for d in group:
                await self.settle(d, None)
            self.count(outcome, len(group))
        self.progressed(len(done.apply) + len(done.duplicate) + len(done.stale))

    # ------------------------------------------------------------------------------- held events

    async def hold(self, held: list[Delivery]) -> None:
        """Park events held for a missing predecessor (those parked before keep their time); past the
        limit, or parked too long already, they are nacked as a gap."""
        now, count = time.monotonic(), sum(map(len, self.parked.values()))
        for d in held:
            assert d.key is not None  # only versioned events are held
            since = self._since.pop(d.seq, now)
            if now - since < self.park_seconds and count < PARK_LIMIT:
                self.parked.setdefault(d.key, {})[d.seq] = (d, since)
                count += 1
                self.count("parked")
            else:
                await self.gap(d)

    def unpark(self, which: Callable[[str, float], bool]) -> list[Delivery]:
        """Take the parked events for which `which(key, parked_since)` holds, remembering when each was
        parked (a woken event held again keeps its first time)."""
        out = []
        for key in list(self.parked):
            taken = {seq: v for seq, v in self.parked[key].items() if which(key, v[1])}
            for seq, (d, since) in taken.items():
                del self.parked[key][seq]
                self._since[seq] = since
                out.append(d)
            if not self.parked[key]:
                del self.parked[key]
        return sorted(out, key=lambda d: d.seq)

    async def expire_parked(self) -> None:
        """Parked past `park_seconds`: the predecessor is not coming soon; the gap rule takes over."""
        if not self.parked:
            return
        deadline = time.monotonic() - self.park_seconds
        for d in self.unpark(lambda _key, since: since <= deadline):
            self._since.pop(d.seq, None)
            await self.gap(d)

    async def idle(self) -> None:
        await self.expire_parked()

    async def gap(self, d: Delivery) -> None:
        log.warning(
            "event held: an earlier version of its aggregate has not been applied",
            extra={"consumer": self.label, "key": d.key, "version": d.version, "delivered": d.delivered},
        )
        await self.settle(d, Gap(f"version {d.version} of {d.key} arrived, but an earlier version never did"))

    async def wait_out(self, deliveries: list[Delivery], exc: Outage) -> None:
        log.warning(
            "database unavailable or busy; events wait", extra={"consumer": self.label, "error": str(exc)[:300]}
        )
        for d in deliveries:
            await self.settle(d, exc)

    # ------------------------------------------------------------------------------- parsing

    def decode(self, msg: Msg) -> Delivery:
        seq, delivered = msg.metadata.sequence.stream, msg.metadata.num_delivered
        try:
            env = parse_envelope(msg.data, self.max_payload_bytes)
        except DomainError as exc:
            return Delivery(msg, seq, delivered, id=f"seq:{seq}", poison=f"{exc.code}: {exc.message}")
        handler = self.spec.handlers.get(env.type)
        data = env.data
        if handler is None and (other := self.spec.major_read(env.type)) is not None:
            handler, major, wanted = other
            if major > wanted or env.supersededby is not None:
                # a newer major (its producer still publishes the one read here), or an older one whose
                # newer twin was published too: the twin in the major read carries the fact
                return Delivery(msg, seq, delivered, id=env.id, env=env, twin=True)
            try:  # history from before the newer major: read through the upcasters
                service, aggregate, event, _ = parse_event_type(env.type) or ("", "", "", 0)
                data = upcast(service, aggregate, event, env.data, major, wanted)
            except Exception as exc:
                poison = f"validation_failed: {env.type} cannot be read as v{wanted}: {exc!r}"[:500]
                return Delivery(msg, seq, delivered, id=env.id, env=env, poison=poison)
        payload = None
        if handler is not None:
            try:
                payload = handler.model.model_validate(data)
            except ValidationError as exc:
                poison = f"validation_failed: {env.type} data: {pydantic_details(exc)[:5]}"
                return Delivery(msg, seq, delivered, id=env.id, env=env, poison=poison)
        key = None
        if env.aggregateversion is not None and env.subject:
            aggregate = env.type.removeprefix("vn.antq.").rsplit(".", 2)[0]  # <service>.<aggregate>
            key = f"{aggregate}:{env.subject}"
        version = env.aggregateversion if key is not None else None
        meta = EventMeta.of(env, seq, self.spec.envelope) if handler is not None else None
        return Delivery(
            msg, seq, delivered, id=env.id, key=key, version=version, meta=meta, handler=handler, payload=payload
        )


async def delete_durable(js: JetStreamContext, stream: str, durable: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(stream, durable)
