"""Pages a service serves beside its health endpoints: a request, a response (whole, or a stream of
server-sent events), and what a page may use of its service (its own queries, authorised as on the
bus, and the bus itself for other services' queries and for topics)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from zoneinfo import ZoneInfo

from nats.aio.client import Client as NATS

from shared.contract.envelope import Actor
from shared.runtime.auth import Presented
from shared.runtime.queries import DEVELOPMENT_READER

MAX_BODY = 64 * 1024  # a page's form (a pasted token); anything larger is refused


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @classmethod
    def parse(cls, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Request:
        split = urllib.parse.urlsplit(target)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        return cls(method.upper(), urllib.parse.unquote(split.path) or "/", query, headers, body)

    def cookie(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie", ""))
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None

    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in self.headers.get("content-type", ""):
            return {}
        pairs = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in pairs.items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    stream: AsyncIterator[bytes] | None = None  # server-sent events: written chunk by chunk until it ends

    @classmethod
    def redirect(cls, location: str, **headers: str) -> Response:
        return cls(303, b"", "text/plain", {"Location": location, **headers})


WebApp = Callable[[Request], Awaitable[Response | None]]  # None: not one of its pages (404)


@dataclass(frozen=True)
class WebContext:
    """What a service's pages may use: its own queries (`ask`, authorised exactly as a query on the bus:
    the presented token's actor, or the development reader), the bus connection, the clock, and whether
    a token is required (production)."""

    ask: Callable[[str, dict[str, Any], Presented | None], Awaitable[dict[str, Any]]]
    actor: Callable[[Presented | None], Actor]  # who presents this (raises Forbidden for a bad token)
    connection: Callable[[], NATS]
    clock: Callable[[], dt.datetime]
    tz: ZoneInfo
    token_required: bool
    stopping: Any  # asyncio.Event set at shutdown: streams end

    @property
    def today(self) -> dt.date:
        return self.clock().astimezone(self.tz).date()

    @classmethod
    def of(cls, host: Any) -> WebContext:
        """What a host's pages may use of it (its queries, its verifier, its connection, its clock).
        `host` is a started `ServiceHost` (not imported here: the host imports this module)."""

        async def ask(name: str, params: dict[str, Any], presented: Presented | None) -> dict[str, Any]:
            answer: dict[str, Any] = await host.queries.answer(name, json.dumps(params).encode(), presented)
            return answer

        def actor(presented: Presented | None) -> Actor:
            claimed = host.verifier.actor(presented, "the page") if host.verifier is not None else None
            return claimed or DEVELOPMENT_READER

        def connection() -> NATS:
            assert host.broker is not None
            conn: NATS = host.broker.connection
            return conn

        token_required = not host.settings.unsigned_accepted
        return cls(ask, actor, connection, host.clock, host.kit.tz, token_required, host.stopping)
