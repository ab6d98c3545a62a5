"""Bus wiring: the broker, stream provisioning, and the request and intake subscribers.

Every JetStream subscriber here states its ack policy (MANUAL: we ack, nack with a delay, or
dead-letter and ack), a bounded max_deliver, and hands raw bytes to the processor so that bad
input gets an answer instead of an exception inside FastStream."""

# No `from __future__ import annotations`: FastStream reads the handlers' annotations at runtime.

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from faststream.nats.prometheus import NatsPrometheusMiddleware
from faststream.security import BaseSecurity, SASLPlaintext
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from pydantic import BaseModel, SkipValidation

from shared.contract.envelope import CloudEvent, best_effort_id
from shared.contract.errors import DomainError, Unavailable
from shared.contract.subjects import (
    DLQ,
    INTAKE,
    STREAMS,
    StreamSpec,
    command_subject,
    event_subject,
    intake_subject,
    ops_subject,
    query_subject,
)
from shared.runtime.auth import Presented
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.metrics import Metrics
from shared.runtime.pipeline import CommandPipeline, PoisonMessage
from shared.runtime.queries import QueryProcessor
from shared.runtime.settings import ServiceSettings
from shared.runtime.slots import SlotPool

log = logging.getLogger("antq.bus")
# Deliveries after which a message is dead-lettered whatever the cause (with backoff capped at a
# minute: most of a day of database outage), so that nothing is redelivered forever.
STUCK_AFTER = 1000
OpsHandler = Callable[[str, bytes], Awaitable[dict[str, Any]]]


class Reply(BaseModel):
    """The reply to every command and query (DESIGN §3)."""

    ok: bool
    id: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


async def raw_body(msg: NatsMessage) -> bytes:
    """Decoder that leaves the bytes alone: the processor parses and answers bad JSON itself."""
    body: bytes = msg.body
    return body


def inbox_of(settings: ServiceSettings) -> str:
    """The reply-inbox prefix of the service's NATS user: its own, so no other user can read its replies
    and pull deliveries (deploy/nats/render.py gives each user `_INBOX_<user>.>` only)."""
    return f"_INBOX_{settings.nats_user}" if settings.nats_user else "_INBOX"


def make_broker(settings: ServiceSettings, service: str, metrics: Metrics) -> NatsBroker:
    auth: dict[str, Any] = {}
    tls = settings.nats_tls()
    if settings.nats_creds_file:
        auth["user_credentials"] = settings.nats_creds_file
    if settings.nats_user and not settings.nats_creds_file:  # FastStream: a security object (not user=…)
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        auth["security"] = SASLPlaintext(username=settings.nats_user, password=password, ssl_context=tls)
    elif tls is not None:
        auth["security"] = BaseSecurity(ssl_context=tls)
    return NatsBroker(
        settings.nats_url,
        name=f"antq-{service}",
        # replies and pull deliveries on an inbox of this user's own: no other user may read them
        inbox_prefix=inbox_of(settings),
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        graceful_timeout=settings.shutdown_grace_seconds,
        log_level=logging.DEBUG,  # per-message access logs off; errors still log
        middlewares=[NatsPrometheusMiddleware(registry=metrics.registry, app_name=f"antq-{service}")],
        **auth,
    )


def stream_config(spec: StreamSpec, settings: ServiceSettings) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        num_replicas=settings.stream_replicas,
        duplicate_window=settings.duplicate_window_seconds,
        max_msg_size=max(settings.max_payload_bytes * 2, 1024 * 1024),
    )


async def ensure_streams(
    js: JetStreamContext, settings: ServiceSettings, specs: tuple[StreamSpec, ...] = STREAMS
) -> None:
    """Create the platform's streams, or bring their settings up to date (idempotent)."""
    for spec in specs:
        config = stream_config(spec, settings)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                continue
            except BadRequestError:  # created concurrently by another service
                pass
        await js.update_stream(config)


@dataclass(frozen=True)
class DurableSpec:
    """A durable JetStream consumer of a service: `handler` raises PoisonMessage for a message no
    retry can fix, any other exception for one worth retrying."""

    consumer: str  # short name: durable `<service>-<consumer>`, dead letters `antq.dlq.<service>.<consumer>`
    stream: str
    subject: str
    handler: Callable[[NatsMessage], Awaitable[None]]
    payload: type[BaseModel]  # what the AsyncAPI document shows
    description: str


def internal_error(raw: bytes, exc: Exception) -> dict[str, Any]:
    return {
        "ok": False,
        "id": best_effort_id(raw),
        "error": {"code": "internal", "message": f"internal error: {type(exc).__name__}", "details": []},
    }


class Endpoints:
    """Registers a service's command, query, intake and operations subscribers (one place)."""

    def __init__(
        self,
        broker: NatsBroker,
        commands: CommandPipeline[Any],
        queries: QueryProcessor[Any],
        settings: ServiceSettings,
        service: str,
        metrics: Metrics,
        ops: OpsHandler,
    ) -> None:
        self.broker = broker
        self.commands = commands
        self.queries = queries
        self.settings = settings
        self.service = service
        self.metrics = metrics
        self.ops = ops
        self.dead_letters: DeadLetters | None = None  # needs the JetStream context: set after connect
        # one bound for the whole service (each subscriber has its own workers: this caps their sum),
        # plus a slot for the durable consumers
        self.gate = SlotPool(settings.max_concurrency + 1)
        self.durables: list[DurableSpec] = []

    def register(self, events: Mapping[tuple[str, str], type[BaseModel]]) -> None:
        for spec in self.commands.commands.values():
            self._request(
                command_subject(self.service, spec.action),
                spec.model,
                (spec.description or spec.model.__doc__ or spec.action)
                + " Send a CloudEvent whose `data` is this payload; the reply is "
                '{"ok": true, "id", "result"} or {"ok": false, "id", "error": {"code", "message", "details"}}.',
                functools.partial(self._command, spec.action),
            )
        for q in self.queries.queries.values():
            self._request(
                query_subject(self.service, q.name),
                q.model,
                q.description or q.model.__doc__ or q.name,
                functools.partial(self.queries.answer, q.name),
            )
        for action, doc in OPS.items():
            self._request(
                ops_subject(self.service, action),
                CloudEvent,
                doc + " Operations: a platform admin only (actorrole admin, no actorunit).",
                functools.partial(self.ops, action),
            )
        self._intake()
        for (aggregate, name), model in events.items():
            self.broker.publisher(
                event_subject(self.service, aggregate, name),
                schema=model,
                title=event_subject(self.service, aggregate, name),
                description=(model.__doc__ or f"{aggregate} {name}") + " (CloudEvent `data`; stream "
                f"ANTQ_{self.service.upper()})",
            )

    async def _command(self, action: str, raw: bytes, presented: Presented | None = None) -> dict[str, Any]:
        return await self.commands.handle(action, raw, "request", presented)

    def _request(
        self,
        subject: str,
        model: type[BaseModel],
        doc: str,
        answer: Callable[[bytes, Presented], Awaitable[dict[str, Any]]],
    ) -> None:
        gate = self.gate

        async def handle(body: Any, msg: NatsMessage) -> dict[str, Any]:
            try:
                async with gate.slot():
                    return await answer(msg.body, Presented(msg.headers))
            except Exception as exc:  # the processors answer every refusal themselves: this is a bug
                log.exception("request failed", extra={"subject": subject})
                return internal_error(msg.body, exc)

        handle.__annotations__ = {"body": SkipValidation[model], "msg": NatsMessage, "return": dict}  # type: ignore[misc,valid-type]
        handle.__doc__ = doc
        self.broker.subscriber(
            subject,
            queue=self.service,
            max_workers=self.settings.max_concurrency,
            decoder=raw_body,
            title=subject,
        )(handle)

    def _intake(self) -> None:
        commands = self.commands

        async def run(msg: NatsMessage) -> None:
            action = msg.raw_message.subject.rsplit(".", 1)[-1]
            # a token is judged at the time the stream took the command, not when it is processed
            received = msg.raw_message.metadata.timestamp
            at = received.astimezone(dt.UTC) if received.tzinfo else received.replace(tzinfo=dt.UTC)
            await commands.handle(action, msg.body, "intake", Presented(msg.headers, at))

        self.durable(
            DurableSpec(
                consumer="intake",
                stream=INTAKE.name,
                subject=intake_subject(self.service, "*"),
                handler=run,
                payload=CloudEvent,
                description="Durable command intake: the same CloudEvent commands as antq.cmd.<service>.<action>; "
                f"the outcome is published as antq.{self.service}.command.accepted.v1 or ...rejected.v1.",
            )
        )

    def durable(self, spec: DurableSpec) -> None:
        """A durable pull consumer with the platform's delivery rules: explicit acks; a failure is
        nacked with a growing delay and dead-lettered after `max_deliver` tries; a PoisonMessage is
        dead-lettered at once; the consumer always moves on."""
        settings, metrics, endpoints = self.settings, self.metrics, self
        self.durables.append(spec)
        # failures per stream sequence, counted apart from deliveries (an outage redelivers without
        # failing); kept in memory: a restart gives a message a fresh count, bounded by STUCK_AFTER
        failures: dict[int, int] = {}

        async def handle(body: Any, msg: NatsMessage) -> None:
            raw = msg.raw_message
            if raw.metadata.num_delivered > 1:  # it may have waited in a fetched batch: renew its ack deadline
                await msg.in_progress()
            seq = raw.metadata.sequence.stream
            delivered = raw.metadata.num_delivered
            try:
                async with endpoints.gate.slot():
                    await spec.handler(msg)
            except PoisonMessage as exc:
                await endpoints._dead_letter(spec.consumer, msg, "poison", str(exc))
                failures.pop(seq, None)
                return
            except Exception as exc:
                outage = isinstance(exc, Unavailable)
                if outage and delivered < STUCK_AFTER:
                    # The database is down: not the message's fault, so it waits (backing off up to a
                    # minute) however long the outage lasts, and the wait does not count as a failure.
                    metrics.redeliveries.labels(endpoints.service, spec.consumer).inc()
                    await msg.nack(delay=min(settings.nack_delay_seconds * 2 ** min(delivered - 1, 10), 60.0))
                    return
                failures[seq] = failures.get(seq, 0) + 1
                if failures[seq] >= settings.max_deliver or delivered >= STUCK_AFTER:
                    reason = "stuck" if outage else "failed"
                    await endpoints._dead_letter(spec.consumer, msg, reason, repr(exc))
                    failures.pop(seq, None)
                    return
                if not isinstance(exc, DomainError):
                    log.exception("message failed; will retry", extra={"subject": raw.subject})
                metrics.redeliveries.labels(endpoints.service, spec.consumer).inc()
                await msg.nack(delay=settings.nack_delay_seconds * failures[seq])
                return
            failures.pop(seq, None)
            await msg.ack()

        handle.__annotations__ = {"body": SkipValidation[spec.payload], "msg": NatsMessage, "return": None}  # type: ignore[misc,name-defined]
        handle.__doc__ = spec.description
        self.broker.subscriber(
            spec.subject,
            stream=JStream(spec.stream, declare=False),
            durable=f"{self.service}-{spec.consumer}",
            # small batches and a long ack_wait: during a database outage each message may wait
            # seconds for server selection, and the rest of the batch must not time out meanwhile
            pull_sub=PullSub(batch_size=8, timeout=1.0),
            inbox_prefix=inbox_of(self.settings).encode() + b".",  # FastStream's default is the shared _INBOX.
            config=self.consumer_config(spec),
            ack_policy=AckPolicy.MANUAL,
            decoder=raw_body,
            title=spec.subject,
        )(handle)

    def consumer_config(self, spec: DurableSpec) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=f"{self.service}-{spec.consumer}",
            name=f"{self.service}-{spec.consumer}",  # created as $JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>
            filter_subject=spec.subject,
            ack_policy=JsAckPolicy.EXPLICIT,
            # unbounded on the server: our handler bounds failures (then dead-letters), while an
            # outage of the database or a failed dead-letter publish must keep the message
            max_deliver=-1,
            ack_wait=60,
            max_ack_pending=256,
        )

    async def ensure_consumers(self, js: JetStreamContext) -> None:
        """Create or update the durable consumers, so a changed setting reaches an existing consumer
        (binding to an existing durable would otherwise keep its old configuration)."""
        for spec in self.durables:
            await js.add_consumer(spec.stream, config=self.consumer_config(spec))

    async def _dead_letter(self, consumer: str, msg: NatsMessage, reason: str, error: str) -> None:
        if self.dead_letters is None:
            raise RuntimeError("dead letters used before the broker connected")
        try:
            await self.dead_letters.send(consumer, msg.raw_message, reason, error)
        except Exception as exc:  # keep the message: it comes back and is dead-lettered again
            log.error(
                "dead-letter publish failed; message kept for redelivery",
                extra={"consumer": consumer, "error": repr(exc)[:300]},
            )
            await msg.nack(delay=self.settings.nack_delay_seconds)
            return
        await msg.ack()


# Operations requests (antq.ops.<service>.<action>), answered by the service host.
OPS: dict[str, str] = {
    "consumers": "The service's event consumers: pending, lag, progress, paused or stalled.",
    "rebuild": "Rebuild a consumer's collections from its stream's start, then swap them in; data: {\"consumer\"}.",
    "rebuild-status": 'Progress of the latest rebuild of a consumer; data: {"consumer"}.',
}


__all__ = ["DLQ", "DeadLetters", "Endpoints", "PoisonMessage", "Reply", "ensure_streams", "make_broker"]
