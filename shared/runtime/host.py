"""The service host: start-up order, waiting for dependencies, readiness, graceful shutdown.

Every service runs inside one: HTTP first (so /readyz can say red), then MongoDB and NATS with
backoff, streams, subscribers, the durable consumers (the intake among them) and the outbox relay;
SIGTERM drains within the grace period."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.contract.envelope import OUTCOME_EVENTS
from shared.runtime import asyncapi, logs, mongo
from shared.runtime.auth import verifier_of
from shared.runtime.bus import Endpoints, ensure_streams, make_broker
from shared.runtime.consumers import Consumer
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.delivery import PullConsumer
from shared.runtime.event_consumer import EventConsumer
from shared.runtime.health import HealthServer
from shared.runtime.inbox import CommandLog
from shared.runtime.intake import IntakeConsumer
from shared.runtime.kit import Clock, Kit
from shared.runtime.mongo import Doc
from shared.runtime.ops import Operations
from shared.runtime.outbox import Outbox, Relay
from shared.runtime.pipeline import CommandPipeline, CommandSpec
from shared.runtime.queries import QueryProcessor, QuerySpec
from shared.runtime.settings import ServiceSettings
from shared.runtime.web import WebApp, WebContext

log = logging.getLogger("antq.runtime")


@dataclass
class ServiceDefinition:
    """What a service plugs into the host: its handler tables, its events, its store and its
    dependencies object (handed to every command and query handler as `ctx.deps`)."""

    name: str
    commands: list[CommandSpec]
    queries: list[QuerySpec]
    events: Mapping[tuple[str, str], type[BaseModel]]  # (aggregate, event) → payload of major 1
    store_factory: Callable[[AsyncDatabase[Doc], AsyncClientSession | None], Any]
    ensure_indexes: Callable[[AsyncDatabase[Doc]], Awaitable[None]]
    description: str = ""
    extra_readiness: dict[str, Callable[[], bool]] = field(default_factory=dict)
    consumers: list[Consumer[Any]] = field(default_factory=list)
    # long-running tasks of the service (a publisher of coalesced topics, a sender), written over its
    # dependencies object: started once the consumers run, cancelled at shutdown
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    deps: Any = None
    newer_events: Mapping[tuple[str, str, int], type[BaseModel]] = field(default_factory=dict)  # + major
    # pages served beside the health endpoints (reporting's season board), made from what they may use
    web: Callable[[WebContext], WebApp] | None = None
    # subjects beyond its own that the service requests (other services' queries) or listens to (its
    # own topics, by core subscription): its NATS user is granted exactly these (deploy/nats/render.py)
    asks: tuple[str, ...] = ()
    listens: tuple[str, ...] = ()


class ServiceHost:
    def __init__(
        self,
        definition: ServiceDefinition,
        settings: ServiceSettings | None = None,
        clock: Clock | None = None,
        kit: Kit | None = None,
    ) -> None:
        if kit is None:
            if settings is None:
                raise ValueError("a host needs its settings or its kit")
            kit = Kit.create(definition.name, settings, clock)
        self.kit = kit
        self.definition = definition
        self.name = definition.name
        self.metrics = kit.metrics
        self.clock = kit.clock
        self.stopping = kit.stopping
        self.round_trips = kit.round_trips
        self.broker: NatsBroker | None = None
        self.relay: Relay | None = None
        self.runners: dict[str, EventConsumer] = {}  # the event consumers, by name (rebuildable)
        self.intake: IntakeConsumer | None = None
        self.http: HealthServer | None = None
        self._mongo_ok = False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def settings(self) -> ServiceSettings:
        return self.kit.settings

    @settings.setter
    def settings(self, value: ServiceSettings) -> None:
        """Before the start (a test on its own servers, the docs on a fixed URL): the kit's clients are
        made on first use, from these."""
        self.kit.settings = value

    @property
    def mongo(self) -> AsyncMongoClient[Doc]:
        return self.kit.mongo

    @property
    def db(self) -> AsyncDatabase[Doc]:
        return self.kit.db

    @property
    def outbox(self) -> Outbox:
        return self.kit.outbox

    # ------------------------------------------------------------------------------- wiring

    def build(self) -> NatsBroker:
        """Create the client objects and register subscribers; connects nothing."""
        s, db = self.settings, self.db
        self.commands_log = CommandLog(db)
        self.verifier = verifier_of(s)
        self.pipeline = CommandPipeline(
            self.name,
            self.mongo,
            self.commands_log,
            self.outbox,
            lambda session: self.definition.store_factory(db, session),
            self.definition.commands,
            self.metrics,
            self.clock,
            self.kit.tz,
            s.max_payload_bytes,
            self.round_trips,
            self.verifier,
            self.definition.deps,
            self.kit.tracing,
            (s.command_group_limit, s.command_transactions),
        )
        self.queries = QueryProcessor(
            self.name,
            self.definition.queries,
            lambda: self.definition.store_factory(db, None),
            self.metrics,
            self.clock,
            self.kit.tz,
            s.max_payload_bytes,
            s.max_reply_bytes,
            self.verifier,
            self.definition.deps,
        )
        self.broker = make_broker(s, self.name, self.metrics, self.kit.tracing)
        self.operations = Operations(self)
        self.endpoints = Endpoints(
            self.broker, self.pipeline, self.queries, s, self.name, self.metrics, self.operations.answer
        )
        events = {(a, e, 1): m for (a, e), m in {**self.definition.events, **OUTCOME_EVENTS}.items()}
        self.endpoints.register({**events, **self.definition.newer_events})
        return self.broker

    def asyncapi(self) -> dict[str, Any]:
        broker = self.broker or self.build()
        return asyncapi.document(broker, self.name, self.definition.description, self.definition.consumers)

    def consumers(self) -> list[PullConsumer]:
        """Every durable consumer of the service: the intake and the event consumers."""
        return [*([self.intake] if self.intake else []), *self.runners.values()]

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
        if self.settings.unsigned_accepted:
            log.warning(
                "DEVELOPMENT MODE: commands without a token are accepted and their envelope's actor is taken at its "
                "word; production (ANTQ_ENV=production) requires a signed JWT on every command and query",
                extra={"issuer": self.settings.auth_issuer},
            )
        docs = {
            "/asyncapi.json": ("application/json", lambda: json.dumps(self.asyncapi(), indent=2).encode()),
            "/asyncapi.yaml": ("application/yaml", lambda: yaml.safe_dump(self.asyncapi(), sort_keys=False).encode()),
        }
        self.http = HealthServer(
            self.settings.http_host, self.settings.http_port, self.metrics.registry, self.readiness, docs,
            self.definition.web(WebContext.of(self)) if self.definition.web is not None else None,
        )  # fmt: skip
        await self.http.start()
        await mongo.wait_until_up(self.mongo, self.stopping)
        self._mongo_ok = True
        self._tasks.append(asyncio.create_task(self._watch_mongo(), name="mongo-watch"))
        await self._with_backoff("indexes", self._ensure_indexes)
        log.info("connecting to nats", extra={"url": self.settings.nats_url})
        await broker.connect()
        js = broker.connection.jetstream()
        self.kit.js = js
        if self.settings.declare_streams:
            await self._with_backoff("streams", lambda: ensure_streams(js, self.settings))
        self.dead_letters = DeadLetters(js, self.name, self.metrics)
        await broker.start()
        await self.endpoints.answer_unknown(broker.connection, self.definition.commands, self.definition.queries)
        await self._start_consumers(js)
        for task in self.definition.background:
            self._tasks.append(asyncio.create_task(task(), name=getattr(task, "__name__", "background")))
        self.relay = Relay(
            self.outbox,
            js,
            self.metrics,
            self.settings.relay_batch,
            self.settings.relay_poll_seconds,
            tracing=self.kit.tracing,
        )
        self._relay_stop = asyncio.Event()
        self._tasks.append(asyncio.create_task(self.relay.run(self._relay_stop), name="outbox-relay"))
        log.info("service started", extra={"http_port": self.http.port})

    def jetstream(self) -> JetStreamContext:
        assert self.broker is not None
        js: JetStreamContext = self.broker.connection.jetstream()
        return js

    def runner(self, consumer: Consumer[Any], db: AsyncDatabase[Doc], durable: str, label: str) -> EventConsumer:
        return EventConsumer(
            consumer, self.name, durable, self.jetstream(), self.mongo, db, self.dead_letters, self.metrics,
            self.settings, label, self.kit.tracing, self.kit.consumer_gate,
        )  # fmt: skip

    async def _start_consumers(self, js: JetStreamContext) -> None:
        self.intake = IntakeConsumer(
            self.name, self.pipeline, self.endpoints.gate, js, self.dead_letters, self.metrics, self.settings
        )
        runners: list[PullConsumer] = [self.intake]
        for consumer in self.definition.consumers:
            live = self.runner(consumer, self.db, f"{self.name}-{consumer.name}", consumer.name)
            self.runners[consumer.name] = live
            runners.append(live)
        for runner in runners:  # a consumer's durable is the service's own to configure, where ops own the streams
            await self._with_backoff(f"consumer {runner.label}", runner.ensure)
            self._tasks.append(asyncio.create_task(runner.run(), name=f"consumer-{runner.label}"))
        self._tasks.append(asyncio.create_task(self._watch_consumers(), name="consumer-watch"))

    async def _watch_consumers(self) -> None:
        while not self.stopping.is_set():
            for runner in self.consumers():
                try:
                    await runner.refresh()
                except Exception as exc:  # the broker is away: readiness says so through "nats"
                    log.debug("consumer status not read", extra={"consumer": runner.label, "error": repr(exc)[:200]})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.consumer_status_seconds)

    async def _ensure_indexes(self) -> None:
        await self.definition.ensure_indexes(self.db)
        for consumer in self.definition.consumers:
            if consumer.indexes is not None:
                await consumer.indexes(self.db)
        await self.commands_log.ensure_indexes()
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
                if isinstance(subscription, NatsSubscription):
                    try:
                        await asyncio.wait_for(subscription.drain(), left(4))  # type: ignore[no-untyped-call]
                    except Exception as exc:
                        log.warning("subscription not drained", extra={"error": repr(exc)[:300]})
                    sub.subscription = None  # type: ignore[attr-defined]  # FastStream must not unsubscribe it again
            # 2. in-flight handlers and consumer deliveries finish while the connection is still up
            self.operations.cancel()
            try:
                await asyncio.wait_for(asyncio.gather(*(r.stop() for r in self.consumers())), left(3))
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
        # bounded: a task that swallowed its cancellation held the stop forever
        if self._tasks and (pending := (await asyncio.wait(self._tasks, timeout=left()))[1]):
            log.warning("tasks did not end at shutdown", extra={"tasks": sorted(t.get_name() for t in pending)})
        if self.broker is not None:
            try:
                await asyncio.wait_for(self.broker.stop(), left())
            except Exception as exc:
                log.warning("broker did not close cleanly", extra={"error": repr(exc)[:300]})
        with logs.best_effort("closing the database client", log):
            await asyncio.wait_for(self.mongo.close(), max(1.0, left()))
        if self.http is not None:
            with logs.best_effort("stopping the http endpoint", log):
                await asyncio.wait_for(self.http.stop(), max(1.0, left()))
        with logs.best_effort("flushing spans", log):  # the exporters send what they hold
            await asyncio.to_thread(self.kit.tracing.shutdown)
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
