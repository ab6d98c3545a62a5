"""Queries: read the parameters (a plain object, or a CloudEvent whose `data` holds them), know who
asks (the actor), validate, answer from the service's store, and refuse answers too large for one
message. Each handler authorises the read like a command (shared.authz.require_read).

Queries change nothing, so they need no transaction, inbox or outbox."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from pymongo.errors import PyMongoError

from shared.contract.envelope import Actor, CloudEvent, pydantic_details, read_json, validate_strict
from shared.contract.errors import DomainError, MalformedMessage, ReplyTooLarge, UnknownCommand, ValidationFailed
from shared.runtime.auth import Presented, Verifier, reconcile
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import database_error

log = logging.getLogger("antq.queries")
S = TypeVar("S")  # the service's store
D = TypeVar("D")  # the service's dependencies object


# Who asks a query in development when neither a token nor the envelope names an actor: the platform
# operator (development takes every actor at its word; production requires a token on every query).
DEVELOPMENT_READER = Actor(id="development", unit=None, role="admin")


@dataclass
class QueryContext(Generic[S, D]):
    """What a query handler may use: the store, the clock, the service's dependencies, who asks."""

    store: S
    now: dt.datetime
    tz: ZoneInfo
    deps: D
    actor: Actor = DEVELOPMENT_READER

    @property
    def today(self) -> dt.date:
        """Today in the province's calendar (Vietnam is UTC+7: UTC's date is yesterday until 07:00)."""
        return self.now.astimezone(self.tz).date()


QueryHandler = Callable[[Any, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class QuerySpec:
    name: str
    model: type[BaseModel]
    handler: QueryHandler
    description: str = ""


class QueryProcessor(Generic[S]):
    def __init__(
        self,
        service: str,
        queries: list[QuerySpec],
        store: Callable[[], S],
        metrics: Metrics,
        clock: Callable[[], dt.datetime],
        tz: ZoneInfo,
        max_payload_bytes: int,
        max_reply_bytes: int,
        verifier: Verifier | None = None,
        deps: Any = None,
    ) -> None:
        self.service = service
        self.verifier = verifier
        self.deps = deps
        self.queries = {q.name: q for q in queries}
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.tz = tz
        self.max_payload_bytes = max_payload_bytes
        self.max_reply_bytes = max_reply_bytes

    async def answer(self, name: str, raw: bytes, presented: Presented | None = None) -> dict[str, Any]:
        outcome = "error"
        try:
            # queries reveal unit data: a token, where one is required (before anything else is read)
            claimed = self.verifier.actor(presented, f"query {name}") if self.verifier is not None else None
            spec = self.queries.get(name)
            if spec is None:
                known = sorted(self.queries)
                raise UnknownCommand(
                    f"{self.service} has no query {name!r}; known: {', '.join(known)}", [{"known": known}]
                )
            if not raw.strip():
                raise MalformedMessage("the body is empty: send the parameters as a JSON object ({} for none)")
            doc = read_json(raw, self.max_payload_bytes)
            enveloped = "specversion" in doc
            actor = self.actor_of(doc if enveloped else {}, claimed, name)
            params = doc.get("data", {}) if enveloped else doc
            try:
                q = validate_strict(spec.model, params)
            except ValidationError as exc:
                raise ValidationFailed(f"invalid {name} query", pydantic_details(exc)) from None
            try:
                ctx = QueryContext(self.store(), self.clock(), self.tz, self.deps, actor)
                result = await spec.handler(q, ctx)
            except PyMongoError as exc:
                raise database_error(exc) from None
            if len(json.dumps(result, default=str)) > self.max_reply_bytes:
                raise ReplyTooLarge(
                    f"the answer is larger than {self.max_reply_bytes} bytes; ask for a smaller page (limit)"
                )
            outcome = "ok"
            return {"ok": True, "result": result}
        except DomainError as exc:
            outcome = exc.code
            return {"ok": False, "error": exc.to_error()}
        except Exception as exc:  # a bug: answered, logged and counted, never a silent drop
            log.exception("query failed", extra={"query": name})
            outcome = "internal"
            return {"ok": False, "error": {"code": "internal", "message": type(exc).__name__, "details": []}}
        finally:
            self.metrics.queries.labels(self.service, name, outcome).inc()

    def actor_of(self, envelope: dict[str, Any], claimed: Actor | None, name: str) -> Actor:
        """The token's actor (an envelope that names another is refused); without a token (development
        only), the envelope's, as for commands; with neither, the development reader."""
        attrs: dict[str, Any] = {k: envelope.get(k) for k in ("actorid", "actorunit", "actorrole") if k in envelope}
        if claimed is not None:
            reconcile(claimed, attrs, f"query {name}")
            return claimed
        if not attrs:
            return DEVELOPMENT_READER
        try:
            env = CloudEvent.model_validate(envelope)
        except ValidationError as exc:
            raise ValidationFailed("the envelope is not a valid CloudEvent", pydantic_details(exc)) from None
        return env.actor()
