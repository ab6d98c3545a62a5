"""The one building block behind every durable pull consumer of a service (the command intake and
the event consumers): fetch, hand the messages to an applier, and settle each message by one pure
decision (`decide`): acknowledge it, nack it with a delay, or dead-letter it with the reason.

The failure policy, once for both:
- a message no retry can fix (`PoisonMessage`) is dead-lettered at once;
- the database away or documents held (`Outage`, `Unavailable`) is waited out with a growing delay
  (up to 30 s; 5 s while documents are held) and does not count as a failure;
- an event whose predecessor is missing (`Gap`) waits `consumer_gap_deliveries` deliveries;
- any other failure is retried with a delay and dead-lettered after `max_deliver` failures;
- whatever the cause, a message delivered `STUCK_AFTER` times is dead-lettered, so nothing is
  redelivered forever. The server's own `max_deliver` stays unbounded: the decision bounds it, and a
  dead-letter publish that fails must keep the message.
The consumer always moves on."""

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

from shared.contract.errors import DomainError, Unavailable
from shared.runtime import logs
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.metrics import Metrics

log = logging.getLogger("antq.delivery")
STUCK_AFTER = 1000  # deliveries after which a message is dead-lettered whatever the cause
OUTAGE_CAP = 30.0  # the longest wait between deliveries while the database is away
BUSY_CAP = 5.0  # … while another transaction holds the documents (a lock ends within the minute)


class PoisonMessage(Exception):
    """A message no redelivery can fix (unreadable, or a fact the consumer cannot make sense of): it
    goes to the dead letters with the reason."""


class Outage(Exception):
    """The database is unreachable, or (`busy`) another transaction holds the same documents (a
    writer that crashed mid-transaction holds them until the server aborts it, a minute on MongoDB):
    the message waits, and the wait is not a failure."""

    def __init__(self, message: str, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


class Gap(Exception):
    """An event whose predecessor (an earlier version of its aggregate) has not been applied."""


# ------------------------------------------------------------------------------------ the decision


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class Nak:
    delay: float
    failure: bool  # the message's failure count grows (an outage or a gap is no failure)


@dataclass(frozen=True)
class DeadLetter:
    reason: str  # poison | gap | stuck | failed


Verdict = Ack | Nak | DeadLetter


@dataclass(frozen=True)
class Policy:
    max_failures: int  # ANTQ_MAX_DELIVER
    nack_delay: float  # ANTQ_NACK_DELAY_SECONDS
    gap_deliveries: int  # ANTQ_CONSUMER_GAP_DELIVERIES


def backoff(nack_delay: float, deliveries: int, cap: float) -> float:
    return float(min(nack_delay * 2 ** min(max(deliveries, 1) - 1, 10), cap))


def is_outage(error: BaseException) -> bool:
    return isinstance(error, Outage | Unavailable)


def decide(error: BaseException | None, deliveries: int, failures: int, policy: Policy) -> Verdict:
    """What to do with a message after handling it: `error` is what handling raised (None: done),
    `deliveries` how often the broker has delivered it, `failures` how often it failed before."""
    if error is None:
        return Ack()
    if isinstance(error, PoisonMessage):
        return DeadLetter("poison")
    if isinstance(error, Gap):
        if deliveries >= policy.gap_deliveries:
            return DeadLetter("gap")
        return Nak(backoff(policy.nack_delay, deliveries, OUTAGE_CAP), failure=False)
    if is_outage(error):
        if deliveries >= STUCK_AFTER:
            return DeadLetter("stuck")
        busy = isinstance(error, Outage) and error.busy
        return Nak(backoff(policy.nack_delay, deliveries, BUSY_CAP if busy else OUTAGE_CAP), failure=False)
    n = failures + 1
    if n >= policy.max_failures or deliveries >= STUCK_AFTER:
        return DeadLetter("failed")
    return Nak(policy.nack_delay * n, failure=True)


# ------------------------------------------------------------------------------------ the loop


@dataclass(frozen=True, slots=True)
class Received:
    """A message as the loop hands it on: its stream sequence and how often it was delivered."""

    msg: Msg
    seq: int
    delivered: int

    @classmethod
    def of(cls, msg: Msg) -> Received:
        return cls(msg, msg.metadata.sequence.stream, msg.metadata.num_delivered)


@dataclass
class Progress:
    processed: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    ack_floor: int = 0
    pending: int = 0
    lag: int = 0
    stream_last: int = 0


@dataclass(frozen=True)
class Durable:
    """What the server keeps of a pull consumer, and how the loop takes its messages."""

    name: str  # the durable's name on the server
    stream: str
    subjects: list[str]
    ack_wait: float
    max_ack_pending: int
    batch: int  # messages per fetch
    linger_ms: int | None = None  # wait this long after the first for a fuller batch (None: take what is there)
    # one filter, sent in the create request's subject, where the server's permissions check it (the intake)
    filter_in_subject: bool = False


class PullConsumer:
    """Runs one durable: fetches while the previous delivery is applied, hands each delivery to
    `handle`, and settles messages through `settle` (the decision above). Subclasses apply."""

    def __init__(
        self,
        service: str,
        label: str,
        durable: Durable,
        js: JetStreamContext,
        dead_letters: DeadLetters,
        metrics: Metrics,
        policy: Policy,
    ) -> None:
        self.service = service
        self.label = label  # the consumer as metrics and dead letters name it
        self.source = durable
        self.durable = durable.name
        self.js = js
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.policy = policy
        self.failures: dict[int, int] = {}  # stream seq → failures (an outage does not count)
        self.progress = Progress()
        self.busy = asyncio.Lock()  # held while a delivery is being applied
        self.paused = False
        self.stopping = asyncio.Event()

    async def handle(self, msgs: list[Msg]) -> None:
        raise NotImplementedError

    def prepare(self, msgs: list[Msg]) -> list[Msg]:
        """What can be done with a fetch before its turn (in the reader, while the delivery before it is
        applied): nothing here; a subclass may return the list with its messages decoded."""
        return msgs

    async def started(self) -> None:
        """Called once before the first fetch."""

    async def idle(self) -> None:
        """Called when no delivery came for half a second."""

    async def finished(self) -> None:
        """Called once after the last delivery (and on every way out of `run`)."""

    # ------------------------------------------------------------------------------- durable

    def config(self, deliver_all: bool = True) -> ConsumerConfig:
        single = self.source.filter_in_subject and len(self.source.subjects) == 1
        return ConsumerConfig(
            durable_name=self.durable,
            name=self.durable,  # created as $JS.API.CONSUMER.CREATE.<stream>.<name>[.<filter>]: a permission each
            filter_subject=self.source.subjects[0] if single else None,
            filter_subjects=None if single else self.source.subjects,
            deliver_policy=DeliverPolicy.ALL if deliver_all else DeliverPolicy.NEW,  # catch up with history
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=-1,  # unbounded on the server: `decide` bounds it, then dead-letters
            ack_wait=self.source.ack_wait,
            max_ack_pending=self.source.max_ack_pending,
        )

    async def ensure(self) -> None:
        """Create the durable, or bring its filter and limits up to date (it keeps its position)."""
        await self.js.add_consumer(self.source.stream, config=self.config())

    # ------------------------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Apply deliveries one after the other, while the next one is fetched."""
        await self.started()
        sub = await self.js.pull_subscribe_bind(self.durable, stream=self.source.stream)
        ready: asyncio.Queue[list[Msg]] = asyncio.Queue(maxsize=1)
        taken = asyncio.Event()  # the reader fetches the next delivery only once the last one is taken
        reader = asyncio.create_task(self.read(sub, ready, taken), name=f"read-{self.label}")
        try:
            while not self.stopping.is_set():
                try:
                    msgs = await asyncio.wait_for(ready.get(), 0.5)
                    taken.set()
                except TimeoutError:
                    async with self.busy:
                        try:
                            await self.idle()
                        except Exception as exc:  # a nack lost with the connection: the message comes back
                            log.warning("idle work failed", extra={"consumer": self.label, "error": repr(exc)[:300]})
                    continue
                async with self.busy:
                    try:
                        await self.handle(msgs)
                    except Exception as exc:  # an ack lost with the connection: the messages come back
                        log.warning("delivery not settled", extra={"consumer": self.label, "error": repr(exc)[:300]})
                        await self.sleep(1.0)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            while not ready.empty():  # fetched, never applied: back to the broker now, not after ack_wait
                for m in ready.get_nowait():
                    with logs.best_effort("returning a message", log):
                        await m.nak()
            await self.finished()
            with logs.best_effort("unsubscribing", log):
                await sub.unsubscribe()

    async def read(
        self, sub: JetStreamContext.PullSubscription, ready: asyncio.Queue[list[Msg]], taken: asyncio.Event
    ) -> None:
        """Fetch and prepare the next delivery while the one before it is applied: one ahead, no more."""
        while not self.stopping.is_set():
            if self.paused:
                await asyncio.sleep(0.05)
                continue
            try:
                msgs = await self.fetch(sub)
            except Exception as exc:  # broker away: wait for the reconnect
                log.warning("consumer fetch failed", extra={"consumer": self.label, "error": repr(exc)[:200]})
                await self.sleep(1.0)
                continue
            if msgs:
                await ready.put(self.prepare(msgs))
                await taken.wait()
                taken.clear()

    async def fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """Up to a batch of messages: what is there now, then what arrives within `linger_ms`."""
        size = self.source.batch
        try:
            msgs = await sub.fetch(size, timeout=1.0)
        except TimeoutError:
            return []
        if self.source.linger_ms is None:
            return msgs
        deadline = time.monotonic() + self.source.linger_ms / 1000
        while len(msgs) < size and (left := deadline - time.monotonic()) > 0.005:
            try:
                msgs += await sub.fetch(size - len(msgs), timeout=left)
            except TimeoutError:
                break
        return msgs

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    async def stop(self) -> None:
        """Finish the delivery being applied (and settle it), then stop taking more."""
        self.stopping.set()
        async with self.busy:
            pass

    # ------------------------------------------------------------------------------- settling

    async def settle(self, m: Received, error: BaseException | None) -> Verdict:
        """Acknowledge, nack or dead-letter one message, as `decide` says."""
        failures = self.failures.get(m.seq, 0)
        verdict = decide(error, m.delivered, failures, self.policy)
        if isinstance(verdict, Ack):
            self.failures.pop(m.seq, None)
            await m.msg.ack()
        elif isinstance(verdict, Nak):
            if verdict.failure:
                self.failures[m.seq] = failures + 1
                log.warning(
                    "message failed; will retry",
                    extra={"consumer": self.label, "subject": m.msg.subject, "attempt": failures + 1},
                    exc_info=None if isinstance(error, DomainError) else error,
                )
            self.count("retried")
            self.metrics.redeliveries.labels(self.service, self.label).inc()
            await m.msg.nak(delay=verdict.delay)
        else:
            text = str(error) if isinstance(error, PoisonMessage | Gap) else repr(error)
            await self.dead_letter(m, verdict.reason, text)
        return verdict

    async def dead_letter(self, m: Received, reason: str, error: str) -> None:
        try:
            await self.dead_letters.send(self.label, m.msg, reason, error)
        except Exception as exc:  # keep the message: it comes back and is dead-lettered again
            log.error(
                "dead-letter publish failed; message kept for redelivery",
                extra={"consumer": self.label, "error": repr(exc)[:300]},
            )
            await m.msg.nak(delay=self.policy.nack_delay)
            return
        self.failures.pop(m.seq, None)
        self.count("dead_lettered")
        await m.msg.ack()

    def count(self, outcome: str, n: int = 1) -> None:
        if n:
            self.metrics.consumer_events.labels(self.service, self.label, outcome).inc(n)

    def progressed(self, n: int) -> None:
        self.progress.processed += n
        self.progress.last_progress = time.monotonic()

    # ------------------------------------------------------------------------------- status

    async def refresh(self) -> Progress:
        """Lag (the stream's last sequence minus the ack floor; 0 when nothing of the consumer's
        subjects is pending) and pending counts, from the server."""
        info = await self.js.consumer_info(self.source.stream, self.durable)
        stream = await self.js.stream_info(self.source.stream)
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
            "stream": self.source.stream,
            "subjects": self.source.subjects,
            "batch": self.source.batch if self.source.linger_ms is not None else None,
            "pending": p.pending,
            "lag": p.lag,
            "ack_floor": p.ack_floor,
            "stream_last_seq": p.stream_last,
            "processed": p.processed,
            "seconds_since_progress": round(time.monotonic() - p.last_progress, 1),
            "paused": self.paused,
            "stalled": self.stalled(threshold),
        }


def utc_in(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
