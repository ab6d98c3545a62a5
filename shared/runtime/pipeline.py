"""Command and query processing shared by every service: parse, authorise, dedupe, run, answer.

A service supplies a table of handlers; this module owns the envelope rules, the idempotency
contract (same id → same answer, one effect) and the mapping of errors to replies."""

from __future__ import annotations

import datetime as dt
import json
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

from shared.contract.envelope import Actor, CloudEvent, best_effort_id, new_event, parse_envelope, pydantic_details
from shared.contract.errors import (
    ConcurrentChange,
    Conflict,
    DomainError,
    MalformedMessage,
    ReplyTooLarge,
    Unavailable,
    UnknownCommand,
    ValidationFailed,
    error_reply,
    ok_reply,
)
from shared.contract.events import DomainEvent
from shared.contract.ids import uuid7
from shared.contract.subjects import command_type, event_type
from shared.runtime import logs
from shared.runtime.inbox import Inbox, digest
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, in_transaction, is_duplicate_key, is_transient
from shared.runtime.outbox import Outbox

log = logging.getLogger("antq.commands")

S = TypeVar("S")  # the service's store, bound to a session
Transport = Literal["request", "intake"]


def unavailable(exc: PyMongoError) -> Exception:
    """A database error as the caller should see it: Unavailable (try again) when the server is
    unreachable or failing over, the error itself otherwise (a failure, retried a bounded number of times)."""
    return Unavailable(f"database unavailable: {exc}") if is_transient(exc) else exc


class PoisonMessage(Exception):
    """A durable message no redelivery can fix (no id to answer to): it goes to the dead letters."""


@dataclass
class QueryContext(Generic[S]):
    """What a query handler may use: the store and the clock."""

    store: S
    now: dt.datetime
    tz: ZoneInfo

    @property
    def today(self) -> dt.date:
        """Today in the province's calendar (Vietnam is UTC+7: UTC's date is yesterday until 07:00)."""
        return self.now.astimezone(self.tz).date()


@dataclass(kw_only=True)
class Context(QueryContext[S]):
    """What a command handler may use besides its payload: who, when, new ids, the store."""

    command_id: str
    actor: Actor
    new_id: Callable[[], str] = uuid7


@dataclass
class Outcome:
    result: dict[str, Any]
    events: list[DomainEvent] = field(default_factory=list)


CommandHandler = Callable[[Any, Context[Any]], Awaitable[Outcome]]
QueryHandler = Callable[[Any, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class CommandSpec:
    action: str
    model: type[BaseModel]
    handler: CommandHandler
    description: str = ""


@dataclass(frozen=True)
class QuerySpec:
    name: str
    model: type[BaseModel]
    handler: QueryHandler
    description: str = ""


class CommandProcessor(Generic[S]):
    def __init__(
        self,
        service: str,
        mongo: AsyncMongoClient[Doc],
        inbox: Inbox,
        outbox: Outbox,
        store_factory: Callable[[AsyncClientSession | None], S],
        commands: list[CommandSpec],
        queries: list[QuerySpec],
        metrics: Metrics,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        max_payload_bytes: int = 256 * 1024,
        tz: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh"),
        max_reply_bytes: int = 900_000,
    ) -> None:
        self.tz = tz
        self.max_reply_bytes = max_reply_bytes
        self.service = service
        self.mongo = mongo
        self.inbox = inbox
        self.outbox = outbox
        self.store_factory = store_factory
        self.commands = {c.action: c for c in commands}
        self.queries = {q.name: q for q in queries}
        self.metrics = metrics
        self.clock = clock
        self.max_payload_bytes = max_payload_bytes
        self.source = f"antq/{service}"

    # ----------------------------------------------------------------------------- commands

    async def handle(self, action: str, raw: bytes, transport: Transport = "request") -> dict[str, Any]:
        """Answer one command. Raises only for failures worth a redelivery (Unavailable)."""
        started = time.perf_counter()
        command_id: str | None = best_effort_id(raw)
        outcome, code = "rejected", "internal"
        token_e = logs.event_id.set(command_id)
        try:
            reply, outcome = await self._handle(action, raw, transport)
            code = "ok" if reply["ok"] else reply["error"]["code"]
            return reply
        except DomainError as exc:  # not recorded: refused before the id could be trusted, or not processed
            code = exc.code
            if isinstance(exc, Unavailable):  # nothing recorded: the same id may be sent again
                outcome = "error"
                if transport == "intake":
                    raise  # redelivered later, and dead-lettered if it never succeeds
                log.warning("command not processed", extra={"command": action, "code": exc.code, "reason": exc.message})
                return error_reply(command_id, exc)
            if transport == "intake" and not await self.reject_unparseable_intake(raw, exc):
                raise PoisonMessage(f"{exc.code}: {exc.message}") from None
            log.info(
                "command refused",
                extra={"command": action, "code": exc.code, "reason": exc.message, "command_id": command_id},
            )
            return error_reply(command_id, exc)
        finally:
            logs.event_id.reset(token_e)
            self.metrics.commands.labels(self.service, action, transport, outcome, code).inc()
            self.metrics.command_seconds.labels(self.service, action).observe(time.perf_counter() - started)

    async def _handle(self, action: str, raw: bytes, transport: Transport) -> tuple[dict[str, Any], str]:
        env = parse_envelope(raw, self.max_payload_bytes)
        token_c = logs.correlation_id.set(env.correlationid or env.id)
        token_e = logs.event_id.set(env.id)
        try:
            spec = self.commands.get(action)
            if spec is None:
                raise UnknownCommand(
                    f"{self.service} has no command {action!r}; known: {', '.join(sorted(self.commands))}"
                )
            expected = command_type(self.service, action)
            if env.type != expected:
                raise ValidationFailed(
                    f"type {env.type!r} does not match the subject; expected {expected!r}",
                    [{"field": "type"}],
                )
            actor = env.actor()
            fingerprint = digest(env.type, env.data, actor.model_dump())
            try:
                previous = await self.inbox.get(env.id)
            except PyMongoError as exc:
                raise unavailable(exc) from None
            if previous is not None:
                reply = self._replay(env, previous.digest, fingerprint, previous.reply)
                if transport == "intake":
                    await self._ensure_outcome(env, reply, previous.outcome_id if reply is previous.reply else None)
                return reply, "duplicate"
            try:
                cmd = spec.model.model_validate(env.data)
            except ValidationError as exc:
                err = ValidationFailed(f"invalid {action} data", pydantic_details(exc, "data."))
                return await self._store_rejection(env, fingerprint, err, transport), "rejected"
            return await self._execute(spec, cmd, env, actor, fingerprint, transport)
        finally:
            logs.correlation_id.reset(token_c)
            logs.event_id.reset(token_e)

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
            await in_transaction(self.mongo, work)
        except PyMongoError as exc:
            raise unavailable(exc) from None
        self.outbox.notify()

    def _replay(self, env: CloudEvent, stored_digest: str, fingerprint: str, reply: dict[str, Any]) -> dict[str, Any]:
        if stored_digest != fingerprint:
            return error_reply(
                env.id,
                Conflict(f"command id {env.id} was already used for a different command; use a new id"),
            )
        return reply

    async def _execute(
        self,
        spec: CommandSpec,
        cmd: BaseModel,
        env: CloudEvent,
        actor: Actor,
        fingerprint: str,
        transport: Transport,
    ) -> tuple[dict[str, Any], str]:
        outcome_id = uuid7()

        async def work(session: AsyncClientSession) -> dict[str, Any]:
            ctx = Context(
                store=self.store_factory(session), now=self.clock(), tz=self.tz, command_id=env.id, actor=actor
            )
            outcome = await spec.handler(cmd, ctx)
            reply = ok_reply(env.id, outcome.result)
            events = [self._envelope(e, env, actor) for e in outcome.events]
            if transport == "intake":
                events.append(self._outcome_event(env, "accepted", {"result": outcome.result}, outcome_id))
            await self.inbox.record(env.id, fingerprint, reply, "command", session, outcome_id)
            await self.outbox.add(events, session)
            return reply

        try:
            reply = await in_transaction(self.mongo, work)
        except DomainError as exc:
            if isinstance(exc, Unavailable):
                raise
            log.info("command refused", extra={"command": spec.action, "code": exc.code, "reason": exc.message})
            return await self._store_rejection(env, fingerprint, exc, transport), "rejected"
        except PyMongoError as exc:
            if is_duplicate_key(exc):
                stored = await self.inbox.get(env.id)
                if stored is not None:  # a concurrent delivery of the same command won the race
                    return self._replay(env, stored.digest, fingerprint, stored.reply), "duplicate"
                # another command took the same unique key concurrently: nothing is recorded, so
                # sending the command again re-evaluates it against the new state
                raise ConcurrentChange("a concurrent change took the same key; send the same command again") from None
            if is_transient(exc):
                raise Unavailable(f"database unavailable: {exc}") from None
            raise
        self.outbox.notify()
        log.debug("command accepted", extra={"command": spec.action})
        return reply, "accepted"

    async def _store_rejection(
        self, env: CloudEvent, fingerprint: str, err: DomainError, transport: Transport
    ) -> dict[str, Any]:
        """Record the refusal too, so the same command gets the same answer later."""
        reply = error_reply(env.id, err)
        outcome_id = uuid7()

        async def work(session: AsyncClientSession) -> None:
            await self.inbox.record(env.id, fingerprint, reply, "command", session, outcome_id)
            if transport == "intake":
                event = self._outcome_event(env, "rejected", {"error": reply["error"]}, outcome_id)
                await self.outbox.add([event], session)

        try:
            await in_transaction(self.mongo, work)
        except PyMongoError as exc:
            if is_duplicate_key(exc):
                stored = await self.inbox.get(env.id)
                return stored.reply if stored else reply
            if is_transient(exc):
                raise Unavailable(f"database unavailable: {exc}") from None
            raise
        self.outbox.notify()
        return reply

    def _envelope(self, e: DomainEvent, cause: CloudEvent, actor: Actor) -> CloudEvent:
        return new_event(
            source=self.source,
            type=event_type(self.service, e.aggregate, e.name, e.version),
            subject=e.subject,
            data=e.data.model_dump(mode="json"),
            correlationid=cause.correlationid or cause.id,
            causationid=cause.id,
            actor=actor,
            aggregateversion=e.aggregate_version,
            time=self.clock(),
        )

    def _outcome_event(
        self, cause: CloudEvent, verdict: str, body: dict[str, Any], event_id: str | None = None
    ) -> CloudEvent:
        event = new_event(
            id=event_id,
            source=self.source,
            type=event_type(self.service, "command", verdict),
            subject=cause.id,
            data={"command_id": cause.id, "command_type": cause.type, **body},
            correlationid=cause.correlationid or cause.id,
            causationid=cause.id,
            time=self.clock(),
        )
        # the sender's actor attributes are echoed as given, even when they were the problem
        return event.model_copy(
            update={"actorid": cause.actorid, "actorunit": cause.actorunit, "actorrole": cause.actorrole}
        )

    async def reject_unparseable_intake(self, raw: bytes, error: DomainError) -> bool:
        """An intake message with a readable id that fails envelope checks still gets an outcome."""
        command_id = best_effort_id(raw)
        if command_id is None:
            return False
        try:
            doc = json.loads(raw)
        except ValueError:
            return False
        cause = CloudEvent.model_construct(
            id=command_id,
            source="unparseable",
            type=str(doc.get("type", ""))[:200],
            correlationid=None,
            actorid=str(doc.get("actorid") or "")[:128] or None,
            actorunit=None,
            actorrole=None,
        )
        event = self._outcome_event(cause, "rejected", {"error": error.to_error()}, uuid7())

        async def work(session: AsyncClientSession) -> None:
            await self.inbox.record(
                command_id, "unparseable", error_reply(command_id, error), "command", session, event.id
            )
            await self.outbox.add([event], session)

        try:
            await in_transaction(self.mongo, work)
        except PyMongoError as exc:
            if not is_duplicate_key(exc):
                raise unavailable(exc) from None
        self.outbox.notify()
        return True

    # ----------------------------------------------------------------------------- queries

    async def query(self, name: str, raw: bytes) -> dict[str, Any]:
        """Queries take the plain parameters object, or a CloudEvent whose `data` holds them."""
        outcome = "error"
        try:
            spec = self.queries.get(name)
            if spec is None:
                raise UnknownCommand(f"{self.service} has no query {name!r}; known: {', '.join(sorted(self.queries))}")
            if len(raw) > self.max_payload_bytes:
                raise ValidationFailed(f"query is {len(raw)} bytes; the limit is {self.max_payload_bytes}")
            try:
                doc = json.loads(raw) if raw.strip() else {}
            except (ValueError, RecursionError) as exc:
                raise MalformedMessage(f"body is not valid JSON: {str(exc)[:200] or type(exc).__name__}") from None
            if not isinstance(doc, dict):
                raise MalformedMessage("query parameters must be a JSON object")
            params = doc.get("data", {}) if "specversion" in doc else doc
            try:
                q = spec.model.model_validate(params)
            except ValidationError as exc:
                raise ValidationFailed(f"invalid {name} query", pydantic_details(exc)) from None
            try:
                result = await spec.handler(q, QueryContext(self.store_factory(None), self.clock(), self.tz))
            except PyMongoError as exc:
                raise unavailable(exc) from None
            if len(json.dumps(result, default=str)) > self.max_reply_bytes:
                raise ReplyTooLarge(
                    f"the answer is larger than {self.max_reply_bytes} bytes; ask for a smaller page (limit)"
                )
            outcome = "ok"
            return {"ok": True, "result": result}
        except DomainError as exc:
            outcome = exc.code
            return {"ok": False, "error": exc.to_error()}
        finally:
            self.metrics.queries.labels(self.service, name, outcome).inc()
