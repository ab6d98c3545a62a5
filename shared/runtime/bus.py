"""Bus wiring: the broker, stream provisioning, and the request/reply subscribers (commands, queries,
operations), each handing raw bytes to its processor so that bad input gets an answer instead of an
exception inside FastStream. The durable consumers (the intake, the event consumers) run on the
kit's own delivery loop (shared.runtime.delivery), which states its acks explicitly."""

# No `from __future__ import annotations`: FastStream reads the handlers' annotations at runtime.

import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faststream.nats import NatsBroker, NatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from faststream.security import BaseSecurity, SASLPlaintext
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, ObjectStoreConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from pydantic import BaseModel, SkipValidation

from shared.contract.envelope import CloudEvent, best_effort_id
from shared.contract.errors import UnknownCommand, error_reply, internal_reply
from shared.contract.services import STREAMS
from shared.contract.subjects import (
    UPLOADS_BUCKET,
    StreamSpec,
    command_subject,
    event_subject,
    ops_subject,
    query_subject,
)
from shared.runtime.auth import Presented
from shared.runtime.metrics import Metrics
from shared.runtime.ops import OPS
from shared.runtime.pipeline import CommandPipeline, CommandSpec
from shared.runtime.queries import QueryProcessor, QuerySpec
from shared.runtime.settings import ServiceSettings
from shared.runtime.slots import SlotPool
from shared.runtime.tracing import NOOP_TRACING, Tracing

log = logging.getLogger("antq.bus")
OpsHandler = Callable[[str, bytes], Awaitable[dict[str, Any]]]


class Reply(BaseModel):
    """The reply to every command and query (DESIGN §3)."""

    ok: bool
    id: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """A request's bytes and headers, as the decoder hands them to the handler: the processor parses and
    answers bad JSON itself. (A handler parameter of type `NatsMessage` would be resolved by FastStream's
    dependency injection in a worker thread for every message: 8% of registry's CPU under load.)"""

    body: bytes
    headers: Mapping[str, str]


async def raw_request(msg: NatsMessage) -> Request:
    """Decoder that leaves the bytes alone, with the headers beside them."""
    return Request(msg.body, msg.headers)


def inbox_of(settings: ServiceSettings) -> str:
    """The reply-inbox prefix of the service's NATS user: its own, so no other user can read its replies
    and pull deliveries (deploy/nats/render.py gives each user `_INBOX_<user>.>` only)."""
    return f"_INBOX_{settings.nats_user}" if settings.nats_user else "_INBOX"


def make_broker(
    settings: ServiceSettings, service: str, metrics: Metrics, tracing: Tracing = NOOP_TRACING
) -> NatsBroker:
    auth: dict[str, Any] = {}
    tls = settings.nats_tls()
    if settings.nats_creds_file:
        auth["user_credentials"] = settings.nats_creds_file
    if settings.nats_user and not settings.nats_creds_file:  # FastStream: a security object (not user=…)
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        auth["security"] = SASLPlaintext(username=settings.nats_user, password=password, ssl_context=tls)
    elif tls is not None:
        auth["security"] = BaseSecurity(ssl_context=tls)
    middlewares: list[Any] = [NatsPrometheusMiddleware(registry=metrics.registry, app_name=f"antq-{service}")]
    if tracing.provider is not None:  # FastStream's own spans around each request it answers
        middlewares.append(NatsTelemetryMiddleware(tracer_provider=tracing.provider, include_messages_counters=False))
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
        middlewares=middlewares,
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
    await ensure_uploads(js, settings)


def uploads_config(settings: ServiceSettings) -> ObjectStoreConfig:
    return ObjectStoreConfig(
        bucket=UPLOADS_BUCKET,
        description="Files put by clients before they attach them (awards' attach-file); expire unattached",
        ttl=settings.upload_ttl_seconds,
        max_bytes=settings.uploads_max_bytes,
        storage=StorageType.FILE,
        replicas=settings.stream_replicas,
    )


async def ensure_uploads(js: JetStreamContext, settings: ServiceSettings) -> None:
    """The object store of uploads (its stream, OBJ_antq-uploads), created once; its limits kept current."""
    try:
        await js.stream_info(f"OBJ_{UPLOADS_BUCKET}")
    except NotFoundError:
        with contextlib.suppress(BadRequestError):  # created concurrently by another service
            await js.create_object_store(UPLOADS_BUCKET, config=uploads_config(settings))
        return
    info = await js.stream_info(f"OBJ_{UPLOADS_BUCKET}")
    config = info.config
    config.max_age, config.max_bytes = settings.upload_ttl_seconds, settings.uploads_max_bytes
    await js.update_stream(config)


def internal_error(raw: bytes, exc: Exception) -> dict[str, Any]:
    return internal_reply(best_effort_id(raw), exc)


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
        # one bound for the whole service (each subscriber has its own workers: this caps their sum),
        # plus a slot for the durable intake
        self.gate = SlotPool(settings.max_concurrency + 1)

    def register(self, events: Mapping[tuple[str, str, int], type[BaseModel]]) -> None:
        """Every command, query and ops subject, and a publisher per event (aggregate, event, major)."""
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
        for (aggregate, name, major), model in events.items():
            self.broker.publisher(
                event_subject(self.service, aggregate, name, major),
                schema=model,
                title=event_subject(self.service, aggregate, name, major),
                description=(model.__doc__ or f"{aggregate} {name}") + " (CloudEvent `data`; stream "
                f"ANTQ_{self.service.upper()})",
            )

    async def answer_unknown(self, nc: Any, commands: list[CommandSpec], queries: list[QuerySpec]) -> None:
        """Each command and query has its own subscription, so a request for one that does not exist
        would find no responder. A catch-all (its own queue group) answers those with `unknown_command`
        and stays silent for the known ones."""
        known_commands = {c.action for c in commands}
        known_queries = {q.name for q in queries}

        async def answer(msg: Any) -> None:
            kind, _, action = msg.subject.split(".", 3)[1:4]
            known, what = (known_commands, "command") if kind == "cmd" else (known_queries, "query")
            if action in known or not msg.reply:
                return
            command_id = best_effort_id(msg.data) if kind == "cmd" else None
            listed = sorted(known)
            error = UnknownCommand(
                f"{self.service} has no {what} {action!r}; known: {', '.join(listed)}", [{"known": listed}]
            )
            self.metrics.commands.labels(self.service, "unknown", "request", "rejected", error.code).inc()
            with contextlib.suppress(Exception):  # the requester may be gone
                await msg.respond(json.dumps(error_reply(command_id, error)).encode())

        for prefix in ("antq.cmd", "antq.query"):
            await nc.subscribe(f"{prefix}.{self.service}.*", queue=f"{self.service}-unknown", cb=answer)

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

        async def handle(body: Request) -> dict[str, Any]:
            try:
                async with gate.slot():
                    return await answer(body.body, Presented(body.headers))
            except Exception as exc:  # the processors answer every refusal themselves: this is a bug
                log.exception("request failed", extra={"subject": subject})
                return internal_error(body.body, exc)

        # the payload's schema in the AsyncAPI document; the decoder's `Request` passes unvalidated
        handle.__annotations__ = {"body": SkipValidation[model], "return": dict}  # type: ignore[misc,valid-type]
        handle.__doc__ = doc
        self.broker.subscriber(
            subject,
            queue=self.service,
            max_workers=self.settings.max_concurrency,
            decoder=raw_request,
            title=subject,
        )(handle)


__all__ = ["Endpoints", "Reply", "ensure_streams", "make_broker"]
