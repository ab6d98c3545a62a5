"""The command pipeline every service's commands go through, as named steps:
parse (the actor from the token) → validate → execute in one transaction (the handler, which checks
the actor's role and scope in one step; the outbox; the record) → de-duplicate → reply.

Same id → same answer and one effect: the command log's record is written in the command's
transaction, and its unique key is what detects a repeat (the stored answer is read only then)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from shared.authz import Permission
from shared.contract.envelope import (
    Actor,
    CloudEvent,
    best_effort_id,
    parse_envelope,
    pydantic_details,
    validate_strict,
)
from shared.contract.errors import (
    SEND_AGAIN,
    ConcurrentChange,
    Conflict,
    DomainError,
    Unavailable,
    UnknownCommand,
    ValidationFailed,
    error_reply,
    internal_reply,
    ok_reply,
)
from shared.contract.events import DomainEvent
from shared.contract.ids import uuid7
from shared.contract.subjects import command_type
from shared.runtime import logs
from shared.runtime.auth import Presented, Verifier, reconcile
from shared.runtime.delivery import PoisonMessage
from shared.runtime.group_commit import GroupCommit, prefetcher
from shared.runtime.inbox import CommandLog, Processed, digest
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, RoundTrips, database_error, in_transaction, is_duplicate_key
from shared.runtime.outbox import Outbox
from shared.runtime.outcomes import domain_event, outcome_event, unreadable_cause
from shared.runtime.queries import QueryContext
from shared.runtime.tracing import NOOP_TRACING, Tracing
from shared.runtime.tracing import outcome as traced_outcome
from shared.runtime.writes import Support, Writes

log = logging.getLogger("antq.commands")

S = TypeVar("S")  # the service's store, bound to a session
D = TypeVar("D")  # the service's dependencies object
T = TypeVar("T")
Transport = Literal["request", "intake"]


class KeyTaken(Exception):
    """A unique key was taken when the transaction wrote: a repeat of this command, or a concurrent
    command that took the same key (resolved by `deduplicate`)."""


@dataclass(kw_only=True)
class Context(QueryContext[S, D]):
    """What a command handler may use besides its payload: who, with which permission (its spec's: the
    handler checks it together with the scope), when, new ids, the store, the service's dependencies."""

    command_id: str
    actor: Actor
    permission: Permission
    new_id: Callable[[], str] = uuid7


@dataclass
class Handled:
    """What a command handler returns: the reply's result and the events to publish."""

    result: dict[str, Any]
    events: list[DomainEvent] = field(default_factory=list)


CommandHandler = Callable[[Any, Context[Any, Any]], Awaitable[Handled]]


@dataclass(frozen=True)
class CommandSpec:
    action: str
    model: type[BaseModel]
    handler: CommandHandler
    description: str = ""
    permission: Permission = "operate"  # what the actor's role must grant in the target's scope (DESIGN §2)
    reads: Callable[[Any], list[str]] | None = None  # the keys its handler reads first: a group's go in one read


@dataclass(frozen=True)
class Request:
    """A command whose envelope could be read: from here on its id is trusted and its answer recorded."""

    spec: CommandSpec
    env: CloudEvent
    actor: Actor
    fingerprint: str
    transport: Transport


class CommandPipeline(Generic[S]):
    def __init__(
        self,
        service: str,
        mongo: AsyncMongoClient[Doc],
        log: CommandLog,
        outbox: Outbox,
        store_factory: Callable[[AsyncClientSession | None], S],
        commands: list[CommandSpec],
        metrics: Metrics,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        tz: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh"),
        max_payload_bytes: int = 256 * 1024,
        round_trips: RoundTrips | None = None,
        verifier: Verifier | None = None,
        deps: Any = None,
        tracing: Tracing = NOOP_TRACING,
        group: tuple[int, int] = (32, 2),  # most commands in one transaction, transactions at once
    ) -> None:
        self.service = service
        self.tracing = tracing
        self.verifier = verifier
        self.deps = deps
        self.mongo = mongo
        self.log = log
        self.outbox = outbox
        self.store_factory = store_factory
        self.commands = {c.action: c for c in commands}
        self.metrics = metrics
        self.clock = clock
        self.tz = tz
        self.max_payload_bytes = max_payload_bytes
        self.round_trips = round_trips or RoundTrips()
        self.source = f"antq/{service}"
        self.support = Support()  # whether the server takes the client-level bulkWrite (writes.py)
        on_group, trips = metrics.command_groups.labels(service).observe, self.round_trips.current
        deferred = lambda session: Writes(mongo, outbox.coll.database, session, self.support)  # noqa: E731
        self.commits: GroupCommit[dict[str, Any]] = GroupCommit(
            self.transact, outbox.insert, group[0], on_group, trips, group[1], deferred, outbox.coll.name
        )
        self.commits.prefetch = prefetcher(store_factory)

    async def handle(
        self, action: str, raw: bytes, transport: Transport = "request", presented: Presented | None = None
    ) -> dict[str, Any]:
        """Answer one command. On the intake, raises what is worth a redelivery (SEND_AGAIN, a bug)
        and PoisonMessage for what no redelivery can fix; by request/reply, always answers."""
        started = time.perf_counter()
        command_id = best_effort_id(raw)
        outcome, code = "error", "internal"
        span_of = self.tracing.command(self.service, action, command_id, transport == "request", presented)
        with span_of as span, self.round_trips.count() as trips:
            try:
                reply, outcome, code = await self._handle(action, raw, transport, presented, command_id)
                return reply
            except PoisonMessage:
                outcome, code = "rejected", "malformed"
                raise
            except SEND_AGAIN as exc:  # on the intake: redelivered later
                code = exc.code
                raise
            finally:
                traced_outcome(span, outcome, code)
                self.metrics.commands.labels(self.service, action, transport, outcome, code).inc()
                self.metrics.command_seconds.labels(self.service, action).observe(time.perf_counter() - started)
                self.metrics.command_round_trips.labels(self.service, action).observe(trips[0])

    async def _handle(
        self, action: str, raw: bytes, transport: Transport, presented: Presented | None, command_id: str | None
    ) -> tuple[dict[str, Any], str, str]:
        """`handle` without its span and metrics: the reply, its outcome and code."""
        with logs.ids(command_id):
            try:
                reply, outcome = await self._steps(action, raw, transport, presented)
                code = "ok" if reply["ok"] else reply["error"]["code"]
                return reply, outcome, code
            except SEND_AGAIN as exc:
                if transport == "intake":
                    raise  # redelivered later
                log.warning("command not processed", extra={"command": action, "code": exc.code, "reason": exc.message})
                return error_reply(command_id, exc), "error", exc.code
            except Exception as exc:  # a bug: logged, counted and answered with the id; nothing recorded
                if transport == "intake" or isinstance(exc, PoisonMessage):
                    raise
                log.exception("command failed", extra={"command": action})
                return internal_reply(command_id, exc), "error", "internal"

    async def _steps(
        self, action: str, raw: bytes, transport: Transport, presented: Presented | None = None
    ) -> tuple[dict[str, Any], str]:
        try:
            request = self.parse(action, raw, transport, presented)
        except DomainError as exc:  # refused before its id could be trusted: nothing is recorded
            return await self.refuse_unreadable(action, raw, exc, transport), "rejected"
        with logs.ids(request.env.id, request.env.correlationid or request.env.id):
            try:
                payload = self.validate(request)
                return await self.execute(request, payload)
            except DomainError as exc:
                if isinstance(exc, SEND_AGAIN):
                    if (answer := await self.previous_answer(request)) is not None:
                        return answer
                    raise
                return await self.refuse(request, exc)
            except Exception:
                if (answer := await self.previous_answer(request)) is not None:
                    return answer
                raise

    # ------------------------------------------------------------------------------- the steps

    def parse(self, action: str, raw: bytes, transport: Transport, presented: Presented | None = None) -> Request:
        env = parse_envelope(raw, self.max_payload_bytes)
        if self.verifier is not None:  # the actor is the token's; the envelope must agree with it
            claimed = self.verifier.actor(presented, f"command {env.id}")
            attrs = {"actorid": env.actorid, "actorunit": env.actorunit, "actorrole": env.actorrole}
            env = env.model_copy(update=reconcile(claimed, attrs, f"command {env.id}"))
        spec = self.commands.get(action)
        if spec is None:
            known = sorted(self.commands)
            raise UnknownCommand(
                f"{self.service} has no command {action!r}; known: {', '.join(known)}", [{"known": known}]
            )
        expected = command_type(self.service, action)
        if env.type != expected:
            raise ValidationFailed(
                f"type {env.type!r} does not match the subject; expected {expected!r}", [{"field": "type"}]
            )
        actor = env.actor()
        return Request(spec, env, actor, digest(env.type, env.data, actor.model_dump()), transport)

    def validate(self, request: Request) -> BaseModel:
        try:
            return validate_strict(request.spec.model, request.env.data)
        except ValidationError as exc:
            raise ValidationFailed(f"invalid {request.spec.action} data", pydantic_details(exc, "data.")) from None

    async def execute(self, request: Request, payload: BaseModel) -> tuple[dict[str, Any], str]:
        """The handler, its events and its record: one transaction (with others, under load), one effect."""
        outcome_id = uuid7()

        async def prepare(session: AsyncClientSession) -> tuple[dict[str, Any], list[Doc]]:
            ctx = Context(
                store=self.store_factory(session),
                now=self.clock(),
                tz=self.tz,
                deps=self.deps,
                command_id=request.env.id,
                actor=request.actor,
                permission=request.spec.permission,
            )
            outcome = await request.spec.handler(payload, ctx)
            reply = ok_reply(request.env.id, outcome.result)
            events = [self._envelope(e, request) for e in outcome.events]
            if request.transport == "intake":
                events.append(self._outcome_event(request.env, "accepted", {"result": outcome.result}, outcome_id))
            record = self.log.document(request.env.id, request.fingerprint, reply, "command", outcome_id)
            return reply, self.outbox.documents(events, record)  # the record's key taken means a repeat

        try:
            reply = await self.commits.run(prepare, request.spec.reads(payload) if request.spec.reads else [])
        except KeyTaken:
            return await self.deduplicate(request)
        self.outbox.notify()
        return reply, "accepted"

    async def refuse(self, request: Request, err: DomainError) -> tuple[dict[str, Any], str]:
        """A refusal is recorded like a success, so the same command gets the same answer later."""
        reply = error_reply(request.env.id, err)
        outcome_id = uuid7()
        events = []
        if request.transport == "intake":
            events.append(self._outcome_event(request.env, "rejected", {"error": reply["error"]}, outcome_id))

        async def work(session: AsyncClientSession) -> None:
            record = self.log.document(request.env.id, request.fingerprint, reply, "command", outcome_id)
            await self.outbox.add(events, session, record)  # one write: the record's key taken means a repeat

        try:
            await self.transact(work)
        except KeyTaken:
            return await self.deduplicate(request)
        self.outbox.notify()
        log.info("command refused", extra={"command": request.spec.action, "code": err.code, "reason": err.message})
        return reply, "rejected"

    async def deduplicate(self, request: Request) -> tuple[dict[str, Any], str]:
        """The record's key was taken: answer as before (or `conflict` for other content under the
        same id); with no record, another command took a key this one needs."""
        answer = await self.stored_answer(request)
        if answer is None:
            raise ConcurrentChange("a concurrent change took the same key; send the same command again")
        return answer

    async def previous_answer(self, request: Request) -> tuple[dict[str, Any], str] | None:
        """On an error path: a repeat of a command answered before still gets its first answer."""
        try:
            return await self.stored_answer(request)
        except Unavailable:
            return None

    async def stored_answer(self, request: Request) -> tuple[dict[str, Any], str] | None:
        stored = await self.reading(self.log.get(request.env.id))
        if stored is None:
            return None
        reply = self._replay(request, stored)
        if request.transport == "intake":
            await self._ensure_outcome(request.env, reply, stored.outcome_id if reply is stored.reply else None)
        return reply, "duplicate"

    # ------------------------------------------------------------------------------- database

    async def transact(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """One transaction; database errors come out the one way callers handle them."""
        try:
            return await in_transaction(self.mongo, work)
        except PyMongoError as exc:
            if is_duplicate_key(exc):
                raise KeyTaken from None
            raise database_error(exc) from None

    async def reading(self, read: Awaitable[T]) -> T:
        try:
            return await read
        except PyMongoError as exc:
            raise database_error(exc) from None

    # ------------------------------------------------------------------------------- replies and outcomes

    def _replay(self, request: Request, stored: Processed) -> dict[str, Any]:
        if stored.digest == request.fingerprint:
            return stored.reply
        used = Conflict(f"command id {request.env.id} was already used for a different command; use a new id")
        return error_reply(request.env.id, used)

    async def _ensure_outcome(self, env: CloudEvent, reply: dict[str, Any], outcome_id: str | None) -> None:
        """A command resent on the intake (perhaps first sent by request/reply) still gets its outcome
        event: the one recorded with it (same id; consumers and JetStream drop copies), or a new one."""
        verdict, body = (
            ("accepted", {"result": reply["result"]}) if reply["ok"] else ("rejected", {"error": reply["error"]})
        )
        event = self._outcome_event(env, verdict, body, outcome_id or uuid7())

        async def work(session: AsyncClientSession) -> None:
            if await self.outbox.coll.find_one({"_id": event.id}, {"_id": 1}, session=session) is None:
                await self.outbox.add([event], session)

        try:
            await self.transact(work)
        except KeyTaken:
            pass  # a concurrent redelivery wrote it
        self.outbox.notify()

    async def refuse_unreadable(self, action: str, raw: bytes, error: DomainError, transport: Transport) -> Any:
        """By request/reply the error is answered. On the intake, a message with a readable id still gets
        its `command.rejected` event (recorded once); one without an id is poison."""
        command_id = best_effort_id(raw)
        log.info("command refused", extra={"command": action, "code": error.code, "reason": error.message})
        if transport == "request":
            return error_reply(command_id, error)
        if command_id is None:
            raise PoisonMessage(f"{error.code}: {error.message}")
        cause = unreadable_cause(raw, command_id)
        reply = error_reply(command_id, error)
        event = self._outcome_event(cause, "rejected", {"error": error.to_error()}, uuid7())

        async def work(session: AsyncClientSession) -> None:
            await self.outbox.add(
                [event], session, self.log.document(command_id, "unparseable", reply, "command", event.id)
            )

        try:
            await self.transact(work)
        except KeyTaken:
            pass  # its outcome was recorded by an earlier delivery
        self.outbox.notify()
        return reply

    def _envelope(self, e: DomainEvent, request: Request) -> CloudEvent:
        return domain_event(self.source, self.service, e, request.env, request.actor, self.clock())

    def _outcome_event(self, cause: CloudEvent, verdict: str, body: dict[str, Any], event_id: str) -> CloudEvent:
        return outcome_event(self.source, self.service, cause, verdict, body, event_id, self.clock())
