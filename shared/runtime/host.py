"""The service host: start-up order, waiting for dependencies, readiness, graceful shutdown.

Every service runs inside one: HTTP first (so /readyz can say red), then MongoDB and NATS with
backoff, streams, subscribers and the outbox relay; SIGTERM drains within the grace period."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from nats.aio.subscription import Subscription as NatsSubscription
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.contract.envelope import OUTCOME_EVENTS, best_effort_id, parse_envelope
from shared.contract.errors import (
    DomainError,
    Forbidden,
    NotFound,
    UnknownCommand,
    ValidationFailed,
    error_reply,
    ok_reply,
)
from shared.replicas.authz import is_platform_admin
from shared.runtime import logs, mongo
from shared.runtime.auth import Presented, reconcile, verifier_of
from shared.runtime.bus import Endpoints, Reply, ensure_streams, make_broker
from shared.runtime.consumer_runner import ConsumerRunner
from shared.runtime.consumers import Consumer
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.health import HealthServer
from shared.runtime.inbox import Inbox
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, RoundTrips
from shared.runtime.outbox import Outbox, Relay
from shared.runtime.pipeline import CommandPipeline, CommandSpec
from shared.runtime.queries import QueryProcessor, QuerySpec
from shared.runtime.rebuild import Rebuild, rebuild_status
from shared.runtime.settings import ServiceSettings

log = logging.getLogger("antq.runtime")
CONTRACT_VERSION = "1.0.0"


@dataclass
class ServiceDefinition:
    """What a service plugs into the host: its handler tables, its events and its store."""

    name: str
    commands: list[CommandSpec]
    queries: list[QuerySpec]
    events: Mapping[tuple[str, str], type[BaseModel]]
    store_factory: Callable[[AsyncDatabase[Doc], AsyncClientSession | None], Any]
    ensure_indexes: Callable[[AsyncDatabase[Doc]], Awaitable[None]]
    description: str = ""
    extra_readiness: dict[str, Callable[[], bool]] = field(default_factory=dict)
    consumers: list[Consumer[Any]] = field(default_factory=list)
    # long-running tasks of the service (e.g. a publisher of coalesced topics), each given the host,
    # started once the consumers run and cancelled at shutdown
    background: list[Callable[[Any], Coroutine[Any, Any, None]]] = field(default_factory=list)


def with_replies(doc: dict[str, Any]) -> dict[str, Any]:
    """FastStream does not document request/reply answers: add the reply to every command and
    query operation (AsyncAPI 3 `operation.reply`, to the requester's NATS inbox)."""
    components = doc.setdefault("components", {})
    schema = Reply.model_json_schema(ref_template="#/components/schemas/{model}")
    components.setdefault("schemas", {})["Reply"] = schema
    components.setdefault("messages", {})["Reply"] = {
        "name": "Reply",
        "title": "Reply to a command or query",
        "contentType": "application/json",
        "payload": {"$ref": "#/components/schemas/Reply"},
    }
    doc["channels"]["reply"] = {
        "address": None,
        "description": "The requester's inbox: the NATS reply subject of the request.",
        "messages": {"Reply": {"$ref": "#/components/messages/Reply"}},
    }
    for name, op in doc.get("operations", {}).items():
        if name.startswith(("antq.cmd.", "antq.query.", "antq.ops.")):
            op["reply"] = {
                "channel": {"$ref": "#/channels/reply"},
                "messages": [{"$ref": "#/channels/reply/messages/Reply"}],
            }
    return doc


def with_consumers(doc: dict[str, Any], consumers: list[Consumer[Any]]) -> dict[str, Any]:
    """Document what the service listens to: a `receive` operation per consumed event type (the
    consumers run on their own pull loop, which FastStream's generator does not see)."""
    components = doc.setdefault("components", {})
    for consumer in consumers:
        for t, handler in sorted(consumer.handlers.items()):
            subject = "antq." + t.removeprefix("vn.antq.")
            name = handler.model.__name__
            components.setdefault("schemas", {})[name] = handler.model.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components.setdefault("messages", {})[name] = {
                "name": name,
                "title": t,
                "contentType": "application/cloudevents+json",
                "payload": {"$ref": f"#/components/schemas/{name}"},
            }
            channel = f"{subject}:{consumer.name}"
            doc["channels"][channel] = {
                "address": subject,
                "description": f"Consumed by {consumer.name} (durable, stream {consumer.stream}): CloudEvent `data`.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            doc.setdefault("operations", {})[f"{channel}:receive"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": consumer.description or f"{consumer.name} applies {t}",
            }
    return doc


class ServiceHost:
    def __init__(
        self,
        definition: ServiceDefinition,
        settings: ServiceSettings,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.definition = definition
        self.settings = settings
        self.name = definition.name
        self.metrics = Metrics(self.name)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.stopping = asyncio.Event()
        self.mongo: AsyncMongoClient[Doc] | None = None
        self.broker: NatsBroker | None = None
        self.relay: Relay | None = None
        self.runners: dict[str, ConsumerRunner] = {}
        self.rebuilds: dict[str, asyncio.Task[None]] = {}
        self.http: HealthServer | None = None
        self._mongo_ok = False
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------------------- wiring

    def build(self) -> NatsBroker:
        """Create the client objects and register subscribers; connects nothing."""
        s = self.settings
        self.round_trips = RoundTrips()
        self.mongo = mongo.client(s.mongodb_url, f"antq-{self.name}", self.round_trips)
        db = self.mongo[s.database_name(self.name)]
        self.db = db
        self.outbox = Outbox(db)
        self.inbox = Inbox(db, "commands")
        tz = ZoneInfo(s.timezone)
        self.verifier = verifier_of(s)
        self.pipeline = CommandPipeline(
            self.name,
            self.mongo,
            self.inbox,
            self.outbox,
            lambda session: self.definition.store_factory(db, session),
            self.definition.commands,
            self.metrics,
            self.clock,
            tz,
            s.max_payload_bytes,
            self.round_trips,
            self.verifier,
        )
        self.queries = QueryProcessor(
            self.name,
            self.definition.queries,
            lambda: self.definition.store_factory(db, None),
            self.metrics,
            self.clock,
            tz,
            s.max_payload_bytes,
            s.max_reply_bytes,
            self.verifier,
        )
        self.broker = make_broker(s, self.name, self.metrics)
        self.endpoints = Endpoints(self.broker, self.pipeline, self.queries, s, self.name, self.metrics, self.ops)
        self.endpoints.register({**self.definition.events, **OUTCOME_EVENTS})
        return self.broker

    def asyncapi(self) -> dict[str, Any]:
        broker = self.broker or self.build()
        spec = AsyncAPI(
            broker,
            title=f"ANTQ {self.name}",
            version=CONTRACT_VERSION,
            description=self.definition.description,
            schema_version="3.0.0",
        ).to_specification()
        doc: dict[str, Any] = spec.to_jsonable()
        return with_consumers(with_replies(doc), self.definition.consumers)

    # ------------------------------------------------------------------------------- readiness

    def readiness(self) -> dict[str, bool]:
        try:
            conn = self.broker.connection if self.broker is not None else None
        except IncorrectState:  # asked before the broker connected (start-up): not ready, not an error
            conn = None
        checks = {
            "mongodb": self._mongo_ok,
            "nats": bool(conn is not None and conn.is_connected),
            "relay": bool(self.relay is not None and self.relay.healthy),
            "accepting": not self.stopping.is_set(),
        }
        if self.runners:
            checks["consumers"] = not any(
                r.stalled(self.settings.consumer_stall_seconds) for r in self.runners.values()
            )
        for name, check in self.definition.extra_readiness.items():
            checks[name] = check()
        self.metrics.ready.labels(self.name, "mongodb").set(int(checks["mongodb"]))
        self.metrics.ready.labels(self.name, "nats").set(int(checks["nats"]))
        self.metrics.service_ready.labels(self.name).set(int(all(checks.values())))
        return checks

    async def _watch_mongo(self) -> None:
        assert self.mongo is not None
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(self.mongo.admin.command("ping"), 2.5)
                self._mongo_ok = True
            except (PyMongoError, TimeoutError):
                self._mongo_ok = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), 1.0)

    # ------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        broker = self.broker or self.build()
        assert self.mongo is not None
        if self.settings.unsigned_accepted:
            log.warning(
                "DEVELOPMENT MODE: commands without a token are accepted and their envelope's actor is taken at its "
                "word; production (ANTQ_ENV=production) requires a signed JWT on every command and query",
                extra={"issuer": self.settings.auth_issuer},
            )
        docs = {
            "/asyncapi.json": ("application/json", lambda: json.dumps(self.asyncapi(), indent=2).encode()),
            "/asyncapi.yaml": (
                "application/yaml",
                lambda: yaml.safe_dump(self.asyncapi(), sort_keys=False).encode(),
            ),
        }
        self.http = HealthServer(
            self.settings.http_host, self.settings.http_port, self.metrics.registry, self.readiness, docs
        )
        await self.http.start()
        await mongo.wait_until_up(self.mongo, self.stopping)
        self._mongo_ok = True
        self._tasks.append(asyncio.create_task(self._watch_mongo(), name="mongo-watch"))
        await self._with_backoff("indexes", self._ensure_indexes)
        log.info("connecting to nats", extra={"url": self.settings.nats_url})
        await broker.connect()
        js = broker.connection.jetstream()
        if self.settings.declare_streams:
            await self._with_backoff("streams", lambda: ensure_streams(js, self.settings))
        # the service's own durable consumers are its own to configure, even where ops own the streams
        await self._with_backoff("consumers", lambda: self.endpoints.ensure_consumers(js))
        self.dead_letters = self.endpoints.dead_letters = DeadLetters(js, self.name, self.metrics)
        await broker.start()
        await self._answer_unknown(broker.connection)
        await self._start_consumers(js)
        for task in self.definition.background:
            self._tasks.append(asyncio.create_task(task(self), name=getattr(task, "__name__", "background")))
        self.relay = Relay(self.outbox, js, self.metrics, self.settings.relay_batch, self.settings.relay_poll_seconds)
        self._relay_stop = asyncio.Event()
        self._tasks.append(asyncio.create_task(self.relay.run(self._relay_stop), name="outbox-relay"))
        log.info("service started", extra={"http_port": self.http.port})

    async def _answer_unknown(self, nc: Any) -> None:
        """Each command and query has its own subscription, so a request for one that does not exist
        would find no responder. A catch-all (its own queue group) answers those with `unknown_command`
        and stays silent for the known ones."""
        commands = {c.action for c in self.definition.commands}
        queries = {q.name for q in self.definition.queries}

        async def answer(msg: Any) -> None:
            kind, _, action = msg.subject.split(".", 3)[1:4]
            known, what = (commands, "command") if kind == "cmd" else (queries, "query")
            if action in known or not msg.reply:
                return
            command_id = best_effort_id(msg.data) if kind == "cmd" else None
            error = UnknownCommand(f"{self.name} has no {what} {action!r}; known: {', '.join(sorted(known))}")
            self.metrics.commands.labels(self.name, "unknown", "request", "rejected", error.code).inc()
            with contextlib.suppress(Exception):  # the requester may be gone
                await msg.respond(json.dumps(error_reply(command_id, error)).encode())

        for prefix in ("antq.cmd", "antq.query"):
            await nc.subscribe(f"{prefix}.{self.name}.*", queue=f"{self.name}-unknown", cb=answer)

    def runner(self, consumer: Consumer[Any], db: AsyncDatabase[Doc], durable: str, label: str) -> ConsumerRunner:
        assert self.mongo is not None
        js = self.broker.connection.jetstream() if self.broker is not None else None
        assert js is not None
        return ConsumerRunner(
            consumer, self.name, durable, js, self.mongo, db, self.dead_letters, self.metrics, self.settings, label
        )

    async def _start_consumers(self, js: Any) -> None:
        for consumer in self.definition.consumers:
            runner = self.runner(consumer, self.db, f"{self.name}-{consumer.name}", consumer.name)
            await self._with_backoff(f"consumer {consumer.name}", runner.ensure)
            self.runners[consumer.name] = runner
            self._tasks.append(asyncio.create_task(runner.run(), name=f"consumer-{consumer.name}"))
        if self.runners:
            self._tasks.append(asyncio.create_task(self._watch_consumers(), name="consumer-watch"))

    async def _watch_consumers(self) -> None:
        while not self.stopping.is_set():
            for runner in self.runners.values():
                try:
                    await runner.refresh()
                except Exception as exc:  # the broker is away: readiness says so through "nats"
                    log.debug("consumer status not read", extra={"consumer": runner.label, "error": repr(exc)[:200]})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.consumer_status_seconds)

    # ------------------------------------------------------------------------------- operations

    async def ops(self, action: str, raw: bytes, presented: Presented | None = None) -> dict[str, Any]:
        """antq.ops.<service>.<action>: consumer status and rebuilds, for a platform admin."""
        env = None
        try:
            env = parse_envelope(raw, self.settings.max_payload_bytes)
            if self.verifier is not None:
                claimed = self.verifier.actor(presented, f"operation {action}")
                attrs = {"actorid": env.actorid, "actorunit": env.actorunit, "actorrole": env.actorrole}
                env = env.model_copy(update=reconcile(claimed, attrs, f"operation {action}"))
            actor = env.actor()
            if not is_platform_admin(actor):
                raise Forbidden("rule: operations need a platform admin (actorrole admin without actorunit)")
            if action == "consumers":
                threshold = self.settings.consumer_stall_seconds
                return ok_reply(env.id, {"consumers": [r.status(threshold) for r in self.runners.values()]})
            name = env.data.get("consumer")
            if name not in self.runners:
                raise NotFound(
                    f"{self.name} has no consumer {name!r}; it has {', '.join(self.runners) or 'none'}",
                    [{"field": "data.consumer"}],
                )
            if action == "rebuild":
                return ok_reply(env.id, await self.start_rebuild(str(name)))
            if action == "rebuild-status":
                return ok_reply(env.id, {"consumer": name, **((await rebuild_status(self.db, str(name))) or {})})
            raise ValidationFailed(f"unknown operation {action!r}")
        except DomainError as exc:
            return error_reply(env.id if env is not None else None, exc)

    async def start_rebuild(self, name: str) -> dict[str, Any]:
        running = self.rebuilds.get(name)
        if running is not None and not running.done():
            return {"consumer": name, "started": False, **((await rebuild_status(self.db, name)) or {})}
        live = self.runners[name]
        assert self.mongo is not None and self.broker is not None
        rebuild = Rebuild(
            live,
            lambda db, durable, label: self.runner(live.spec, db, durable, label),
            self.mongo,
            self.db,
            self.broker.connection.jetstream(),
        )
        await rebuild.note(state="starting", processed=0)
        task = asyncio.create_task(rebuild.run(), name=f"rebuild-{name}")
        self.rebuilds[name] = task
        return {"consumer": name, "started": True, "rebuild_id": rebuild.rebuild_id, "state": "starting"}

    async def _ensure_indexes(self) -> None:
        await self.definition.ensure_indexes(self.db)
        for consumer in self.definition.consumers:
            if consumer.indexes is not None:
                await consumer.indexes(self.db)
        await self.inbox.ensure_indexes()
        await self.outbox.ensure_indexes()

    async def _with_backoff(self, what: str, fn: Callable[[], Awaitable[None]]) -> None:
        delay = 0.2
        while True:
            try:
                await fn()
                return
            except Exception as exc:
                if self.stopping.is_set():
                    raise
                log.warning(f"{what} not ready; retrying", extra={"error": repr(exc)[:300], "retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        """Stop taking work, let in-flight handlers finish, flush the outbox, close: all within
        ANTQ_SHUTDOWN_GRACE_SECONDS (the container's stop timeout must be longer)."""
        self.stopping.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_grace_seconds

        def left(reserve: float = 0.0) -> float:
            return max(0.1, deadline - loop.time() - reserve)

        if self.broker is not None and self.broker.connection is not None:
            # 1. no new work: core subscriptions are drained, so the queue group sends new requests
            #    to the other replicas and what was already delivered is still handled
            for sub in self.broker.subscribers:
                subscription = getattr(sub, "subscription", None)
                if isinstance(subscription, NatsSubscription):  # core only: pull subscriptions are another type
                    try:
                        await asyncio.wait_for(subscription.drain(), left(4))  # type: ignore[no-untyped-call]
                    except Exception as exc:
                        log.warning("subscription not drained", extra={"error": repr(exc)[:300]})
                    sub.subscription = None  # type: ignore[attr-defined]  # FastStream must not unsubscribe it again
            # 2. in-flight handlers and consumer deliveries finish while the connection is still up
            for task in self.rebuilds.values():
                task.cancel()
            try:
                await asyncio.wait_for(asyncio.gather(*(r.stop() for r in self.runners.values())), left(3))
            except Exception as exc:
                log.warning("consumers did not stop in time", extra={"error": repr(exc)[:300]})
            try:
                await asyncio.wait_for(asyncio.gather(*(s.stop() for s in self.broker.subscribers)), left(3))
            except Exception as exc:
                log.warning("subscribers did not stop in time", extra={"error": repr(exc)[:300]})
        # 3. the relay stops, then what the handlers wrote goes out now rather than at the next start
        if self.relay is not None:
            self._relay_stop.set()
            self.outbox.notify()
            relay_task = [t for t in self._tasks if t.get_name() == "outbox-relay"]
            if relay_task:  # let its current batch finish first, so the two never publish side by side
                await asyncio.wait(relay_task, timeout=left(2))
            try:
                while await asyncio.wait_for(self.relay.flush(), left(1)):
                    pass
            except Exception as exc:
                log.warning(
                    "outbox not flushed at shutdown; it goes out at the next start", extra={"error": repr(exc)[:300]}
                )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.broker is not None:
            try:
                await asyncio.wait_for(self.broker.stop(), left())
            except Exception as exc:
                log.warning("broker did not close cleanly", extra={"error": repr(exc)[:300]})
        if self.mongo is not None:
            await self.mongo.close()
        if self.http is not None:
            await self.http.stop()
        log.info("service stopped")

    async def run(self) -> None:
        """Run until SIGTERM or SIGINT."""
        logs.configure(self.name, self.settings.log_level)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        starter = asyncio.create_task(self.start())
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({starter, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if starter.done() and starter.exception() is not None:
            raise starter.exception()  # type: ignore[misc]
        await stop.wait()
        log.info("stopping: draining in-flight work")
        if not starter.done():
            self.stopping.set()
            starter.cancel()
        await self.stop()
