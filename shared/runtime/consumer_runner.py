"""The loop behind every declared consumer: fetch, parse, order, apply once, acknowledge.

One delivery (up to a batch of messages) at a time per consumer, in stream order:
- each event is parsed against the contract; one that cannot be read is dead-lettered at once;
- events are ordered per aggregate (`plan`): stale and repeated ones are skipped, one whose
  predecessor is missing is held back (nacked with a delay) and dead-lettered as `gap` if the
  predecessor never comes (DESIGN §4: never applied out of order, never dropped silently);
- the handlers' writes and the tracking record go in one transaction (per event, or per batch);
- a database outage nacks the delivery with a growing delay and does not count as a failure;
- any other failure is retried with a delay and dead-lettered after `max_deliver` failures;
- in batch mode a failing batch is retried one event per transaction, so one bad event does
  not hold back the others."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.contract.envelope import CloudEvent, parse_envelope, pydantic_details
from shared.contract.errors import DomainError, Unavailable
from shared.runtime import logs
from shared.runtime.consumers import Consumer, EventMeta, HandlerSpec, Keyed, Plan, Tx, plan
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, in_transaction, is_transient
from shared.runtime.settings import ServiceSettings
from shared.runtime.tracking import FenceMoved, Tracking

log = logging.getLogger("antq.consumers")
STUCK_AFTER = 1000  # deliveries after which a message is dead-lettered whatever the cause


class PoisonEvent(Exception):
    """Raised by a handler for an event no retry can fix: it is dead-lettered with the reason."""


class GapByCache(Exception):
    """The cache says an event's predecessor is missing: the receipts have the last word."""


class Outage(Exception):
    """The database is unreachable, or (`busy`) another transaction holds the same documents (a
    writer that crashed mid-transaction holds them until the server aborts it, a minute on MongoDB):
    the delivery waits, and the wait is not a failure."""

    def __init__(self, message: str, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


@dataclass(frozen=True)
class Delivery(Keyed):
    msg: Msg
    seq: int
    delivered: int
    env: CloudEvent | None = None
    handler: HandlerSpec | None = None
    payload: BaseModel | None = None
    poison: str | None = None


@dataclass
class Progress:
    processed: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    ack_floor: int = 0
    pending: int = 0
    lag: int = 0
    stream_last: int = 0


class ConsumerRunner:
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
    ) -> None:
        self.spec = spec
        self.service = service
        self.durable = durable
        self.js = js
        self.mongo = mongo
        self.db = db
        self.tracking = Tracking(db, spec.tracking)
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.settings = settings
        self.label = label or spec.name  # the consumer as metrics and dead letters name it
        self.failures: dict[int, int] = {}  # stream seq → failures (an outage does not count)
        self.progress = Progress()
        self.busy = asyncio.Lock()  # held while a delivery is being applied
        self._acks: asyncio.Task[None] | None = None  # the last batch's acknowledgements, sent meanwhile
        self.paused = False
        self.stopping = asyncio.Event()

    # ------------------------------------------------------------------------------- durable

    def config(self, deliver_all: bool = True) -> ConsumerConfig:
        batch = self.spec.batch.max_messages if self.spec.batch else 64
        return ConsumerConfig(
            durable_name=self.durable,
            name=self.durable,  # created as $JS.API.CONSUMER.CREATE.<stream>.<name>: a permission per durable
            filter_subjects=self.spec.subjects,
            deliver_policy=DeliverPolicy.ALL if deliver_all else DeliverPolicy.NEW,  # catch up with history
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=-1,  # unbounded on the server: the runner bounds failures, then dead-letters
            ack_wait=self.settings.consumer_ack_wait_seconds,
            max_ack_pending=max(1000, batch * 4),
        )

    async def ensure(self) -> None:
        """Create the durable, or bring its filter and limits up to date (it keeps its position)."""
        await self.js.add_consumer(self.spec.stream, config=self.config())

    # ------------------------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Apply deliveries one after the other, while the next one is fetched and parsed (the
        database works on one while this process parses the other)."""
        try:
            await self.tracking.start()
        except PyMongoError as exc:  # unknown: it reads receipts, which is always safe
            log.warning("tracking not inspected", extra={"consumer": self.label, "error": repr(exc)[:200]})
        sub = await self.js.pull_subscribe_bind(self.durable, stream=self.spec.stream)
        ready: asyncio.Queue[list[Delivery]] = asyncio.Queue(maxsize=1)
        reader = asyncio.create_task(self.read(sub, ready), name=f"read-{self.label}")
        try:
            while not self.stopping.is_set():
                deliveries = await self._next(ready)
                if deliveries is None:
                    continue
                async with self.busy:
                    try:
                        await self.handle(deliveries)
                    except Exception as exc:  # an ack lost with the connection: the messages come back
                        log.warning("delivery not settled", extra={"consumer": self.label, "error": repr(exc)[:300]})
                        await self._sleep(1.0)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self.acked()
            with logs.best_effort("unsubscribing", log):
                await sub.unsubscribe()

    async def _next(self, ready: asyncio.Queue[list[Delivery]]) -> list[Delivery] | None:
        try:
            return await asyncio.wait_for(ready.get(), 0.5)
        except TimeoutError:
            return None

    async def read(self, sub: JetStreamContext.PullSubscription, ready: asyncio.Queue[list[Delivery]]) -> None:
        while not self.stopping.is_set():
            if self.paused:
                await asyncio.sleep(0.05)
                continue
            try:
                msgs = await self.fetch(sub)
            except Exception as exc:  # broker away: wait for the reconnect
                log.warning("consumer fetch failed", extra={"consumer": self.label, "error": repr(exc)[:200]})
                await self._sleep(1.0)
                continue
            if msgs:
                await ready.put([self.decode(m) for m in msgs])

    async def fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Up to a batch of messages: what is there now, then what arrives within `max_wait_ms`."""
        size = self.spec.batch.max_messages if self.spec.batch else 64
        try:
            msgs = await sub.fetch(size, timeout=1.0)
        except TimeoutError:
            return []
        if self.spec.batch is None:
            return msgs
        deadline = time.monotonic() + self.spec.batch.max_wait_ms / 1000
        while len(msgs) < size and (left := deadline - time.monotonic()) > 0.005:
            try:
                msgs += await sub.fetch(size - len(msgs), timeout=left)
            except TimeoutError:
                break
        return msgs

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def stop(self) -> None:
        """Finish the delivery being applied (and acknowledge it), then stop taking more."""
        self.stopping.set()
        async with self.busy:
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

    async def handle(self, deliveries: list[Delivery]) -> None:
        readable = []
        for d in deliveries:
            if d.poison is not None:
                await self.dead_letter(d, "poison", d.poison)
            else:
                readable.append(d)
        if not readable:
            return
        if self.spec.batch is not None:
            try:
                done = await self.apply(readable)
                for d in done.held:
                    await self.gap(d)
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
            except PoisonEvent as exc:
                await self.dead_letter(d, "poison", str(exc))
                continue
            except Exception as exc:
                await self.failed(d, exc)
                continue
            if done.apply and done.apply[0].key is not None:
                key = done.apply[0].key
                queue = [h for h in held if h.key == key] + queue  # its successor may be waiting
                held = [h for h in held if h.key != key]
            held += done.held
        for d in held:
            await self.gap(d)

    async def apply(self, deliveries: list[Delivery]) -> Plan[Delivery]:
        """One transaction: find what is applied, order, run the handlers, write their bulk
        operations and the receipts; then acknowledge. Held events are the caller's."""
        started = time.perf_counter()
        force_read = False
        for _ in range(3):
            try:
                done = await self._apply(deliveries, force_read)
                break
            except GapByCache:  # the cache says a version is missing: make sure, from the receipts
                force_read = True
            except FenceMoved:  # another replica wrote: its cache no longer holds, take the fence again
                self.tracking.lost()
        else:
            done = await self._apply(deliveries, force_read=True)
        self.tracking.remember(done.apply)
        self.metrics.consumer_batch_seconds.labels(self.service, self.label).observe(time.perf_counter() - started)
        await self.settle(done)
        return done

    async def _apply(self, deliveries: list[Delivery], force_read: bool) -> Plan[Delivery]:
        async def work(session: AsyncClientSession) -> Plan[Delivery]:
            await self.tracking.hold_fence(session)
            versions, applied = await self.tracking.stored(deliveries, session, force_read)
            done = plan(deliveries, versions, applied)
            if done.held and not force_read:
                raise GapByCache
            tx: Tx[Any] = Tx(self.spec.store(self.db, session), self.db, session)
            if self.spec.prefetch is not None:
                todo = [(d.payload, EventMeta.of(d.env, d.seq)) for d in done.apply if d.env and d.payload]
                if todo:
                    await self.spec.prefetch(tx, todo)
            for d in done.apply:
                if d.handler is not None and d.env is not None:
                    with logs.ids(d.id, d.env.correlationid):
                        await d.handler.fn(d.payload, EventMeta.of(d.env, d.seq), tx)
            await tx.flush()
            await self.tracking.record(done.apply, session)
            return done

        try:
            return await in_transaction(self.mongo, work)
        except PyMongoError as exc:
            if is_transient(exc) or exc.has_error_label("TransientTransactionError"):
                raise Outage(str(exc)[:300], busy=not is_transient(exc)) from None
            raise
        except Unavailable as exc:
            raise Outage(exc.message) from None

    async def settle(self, done: Plan[Delivery]) -> None:
        # the applied events' acks go out while the next delivery is applied (the commit made them
        # durable: an ack lost now only brings them back, to be skipped as applied)
        await self.acked()
        self._acks = asyncio.create_task(self._ack_all([d.msg for d in done.apply]))
        for d in done.apply:
            self.failures.pop(d.seq, None)
        for outcome, group in (("skipped_duplicate", done.duplicate), ("skipped_stale", done.stale)):
            for d in group:
                await d.msg.ack()
                self.failures.pop(d.seq, None)
            if group:
                self.count(outcome, len(group))
        applied = [d for d in done.apply if d.handler is not None]
        self.count("processed", len(applied))
        self.count("ignored", len(done.apply) - len(applied))
        self.progress.processed += len(done.apply) + len(done.duplicate) + len(done.stale)
        self.progress.last_progress = time.monotonic()

    # ------------------------------------------------------------------------------- outcomes

    def count(self, outcome: str, n: int = 1) -> None:
        if n:
            self.metrics.consumer_events.labels(self.service, self.label, outcome).inc(n)

    def decode(self, msg: Msg) -> Delivery:
        md = msg.metadata
        seq, delivered = md.sequence.stream, md.num_delivered
        try:
            env = parse_envelope(msg.data, max(self.settings.max_payload_bytes, 1024 * 1024))
        except DomainError as exc:
            return Delivery(
                id=f"seq:{seq}",
                key=None,
                version=None,
                msg=msg,
                seq=seq,
                delivered=delivered,
                poison=f"{exc.code}: {exc.message}",
            )
        handler = self.spec.handlers.get(env.type)
        payload = None
        if handler is not None:
            try:
                payload = handler.model.model_validate(env.data)
            except ValidationError as exc:
                return Delivery(
                    id=env.id,
                    key=None,
                    version=None,
                    msg=msg,
                    seq=seq,
                    delivered=delivered,
                    env=env,
                    poison=f"validation_failed: {env.type} data: {pydantic_details(exc)[:5]}",
                )
        key = None
        if env.aggregateversion is not None and env.subject:
            aggregate = env.type.removeprefix("vn.antq.").rsplit(".", 2)[0]  # <service>.<aggregate>
            key = f"{aggregate}:{env.subject}"
        version = env.aggregateversion if key is not None else None
        return Delivery(
            id=env.id,
            key=key,
            version=version,
            msg=msg,
            seq=seq,
            delivered=delivered,
            env=env,
            handler=handler,
            payload=payload,
        )

    def backoff(self, delivered: int, cap: float = 30.0) -> float:
        return float(min(self.settings.nack_delay_seconds * 2 ** min(delivered - 1, 10), cap))

    async def gap(self, d: Delivery) -> None:
        """The gap rule: an event whose predecessor is missing waits (nacked with a growing delay)
        for `consumer_gap_deliveries` deliveries, then goes to the dead letters as `gap`."""
        if d.delivered >= self.settings.consumer_gap_deliveries:
            await self.dead_letter(
                d, "gap", f"version {d.version} of {d.key} arrived, but an earlier version never did"
            )
            return
        self.count("retried")
        await d.msg.nak(delay=self.backoff(d.delivered))

    async def wait_out(self, deliveries: list[Delivery], exc: Outage) -> None:
        """Nack with a growing delay: up to 30 s while the database is away, 5 s while documents are
        held (a lock ends within the minute; the events should follow soon after)."""
        log.warning(
            "database unavailable or busy; events wait", extra={"consumer": self.label, "error": str(exc)[:300]}
        )
        for d in deliveries:
            if d.delivered >= STUCK_AFTER:
                await self.dead_letter(d, "stuck", repr(exc))
                continue
            self.count("retried")
            await d.msg.nak(delay=self.backoff(d.delivered, cap=5.0 if exc.busy else 30.0))

    async def failed(self, d: Delivery, exc: Exception) -> None:
        n = self.failures[d.seq] = self.failures.get(d.seq, 0) + 1
        if n >= self.settings.max_deliver or d.delivered >= STUCK_AFTER:
            await self.dead_letter(d, "failed", repr(exc))
            return
        log.warning(
            "event failed; will retry",
            extra={"consumer": self.label, "event_id": d.id, "attempt": n, "error": repr(exc)[:300]},
        )
        self.count("retried")
        await d.msg.nak(delay=self.settings.nack_delay_seconds * n)

    async def dead_letter(self, d: Delivery, reason: str, error: str) -> None:
        try:
            await self.dead_letters.send(self.label, d.msg, reason, error)
        except Exception as exc:  # keep the message: it comes back and is dead-lettered again
            log.error(
                "dead-letter publish failed; message kept for redelivery",
                extra={"consumer": self.label, "error": repr(exc)[:300]},
            )
            await d.msg.nak(delay=self.settings.nack_delay_seconds)
            return
        self.failures.pop(d.seq, None)
        self.count("dead_lettered")
        await d.msg.ack()

    # ------------------------------------------------------------------------------- status

    async def refresh(self) -> Progress:
        """Lag (the stream's last sequence minus the ack floor; 0 when nothing of the consumer's
        subjects is pending) and pending counts, from the server."""
        info = await self.js.consumer_info(self.spec.stream, self.durable)
        stream = await self.js.stream_info(self.spec.stream)
        p = self.progress
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        if floor != p.ack_floor:
            p.ack_floor = floor
            p.last_progress = time.monotonic()
        p.pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
        p.stream_last = stream.state.last_seq
        # messages after the last one of its subjects are not the consumer's to process
        p.lag = max(0, p.stream_last - floor) if p.pending else 0
        self.metrics.consumer_lag.labels(self.service, self.label).set(p.lag)
        self.metrics.consumer_pending.labels(self.service, self.label).set(p.pending)
        return p

    def stalled(self, threshold: float) -> bool:
        """Pending messages and no progress for longer than `threshold` seconds."""
        return self.progress.pending > 0 and time.monotonic() - self.progress.last_progress > threshold

    def status(self, threshold: float) -> dict[str, Any]:
        p = self.progress
        return {
            "consumer": self.label,
            "durable": self.durable,
            "stream": self.spec.stream,
            "subjects": self.spec.subjects,
            "batch": self.spec.batch.max_messages if self.spec.batch else None,
            "pending": p.pending,
            "lag": p.lag,
            "ack_floor": p.ack_floor,
            "stream_last_seq": p.stream_last,
            "processed": p.processed,
            "seconds_since_progress": round(time.monotonic() - p.last_progress, 1),
            "paused": self.paused,
            "stalled": self.stalled(threshold),
        }


async def delete_durable(js: JetStreamContext, stream: str, durable: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(stream, durable)


def utc_in(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
