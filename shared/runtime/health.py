"""The /healthz, /readyz, /metrics (and /asyncapi.json|yaml) HTTP endpoint of a service.

A tiny asyncio server: no web framework is needed for a few GET routes, a login form and a stream of
server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.runtime.web import MAX_BODY, Request, Response, WebApp

READ_SECONDS = 10.0  # a whole request (line, headers, body) arrives within this, or the connection closes
MAX_LINE = 8 * 1024
MAX_HEADERS = 100
MAX_HEADER_BYTES = 32 * 1024
MAX_STREAMS = 500  # open event streams (the season board's live pages) per process

log = logging.getLogger("antq.health")

Readiness = Callable[[], dict[str, bool]]


class HealthServer:
    """Health, readiness, metrics and contract documents; and, when the service has pages (`web`),
    those, served from the same port (reporting's season board)."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        readiness: Readiness,
        documents: dict[str, tuple[str, Callable[[], bytes]]] | None = None,
        web: WebApp | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.registry = registry
        self.readiness = readiness
        self.documents = documents or {}
        self.web = web
        self._server: asyncio.Server | None = None
        self._streams: set[asyncio.Task[Any]] = set()  # open event streams: cancelled at stop

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_HEADER_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("http endpoint listening", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._streams):
                task.cancel()
            await self._server.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> Request | Response | None:
        """The request, or the response that refuses it (too long a line, too many or too large
        headers, a bad or too large body); all of it within READ_SECONDS."""
        async with asyncio.timeout(READ_SECONDS):
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.LimitOverrunError:
                return Response(414, b"the request line is too long\n", "text/plain")
            parts = line.decode("latin-1").split()
            if len(parts) < 2:
                return None
            if len(line) > MAX_LINE:
                return Response(414, b"the request line is too long\n", "text/plain")
            headers: dict[str, str] = {}
            size = 0
            while True:
                try:
                    raw = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    return Response(431, b"a header is too large\n", "text/plain")
                if raw in (b"\r\n", b"\n"):
                    break
                size += len(raw)
                if len(headers) >= MAX_HEADERS or size > MAX_HEADER_BYTES:
                    return Response(431, b"too many or too large headers\n", "text/plain")
                name, _, value = raw.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            declared = headers.get("content-length", "0") or "0"
            if not (declared.isascii() and declared.isdigit()):
                return Response(400, b"Content-Length is not a number\n", "text/plain")
            if int(declared) > MAX_BODY:
                return Response(413, b"the request body is too large\n", "text/plain")
            body = await reader.readexactly(int(declared)) if int(declared) else b""
        return Request.parse(parts[0], parts[1], headers, body)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await self._read(reader)
            if request is None:
                response = Response(400, b"bad request\n", "text/plain")
            elif isinstance(request, Response):
                response = request
            else:
                try:
                    response = await self._route(request)
                except Exception:  # a check or a page that fails answers 500; the endpoint keeps serving
                    log.exception("http endpoint failed", extra={"path": request.path})
                    response = Response(500, b"internal error\n", "text/plain")
            if response.stream is not None and len(self._streams) >= MAX_STREAMS:
                aclose = getattr(response.stream, "aclose", None)
                if aclose is not None:
                    await aclose()
                response = Response(503, b"too many open streams; try again later\n", "text/plain")
            await self._write(writer, response)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, response: Response) -> None:
        reason = HTTPStatus(response.status).phrase
        head = [f"HTTP/1.1 {response.status} {reason}", f"Content-Type: {response.content_type}"]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        if response.stream is None:
            head += [f"Content-Length: {len(response.body)}", "Connection: close"]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
            await writer.drain()
            return
        head += ["Cache-Control: no-cache", "X-Accel-Buffering: no", "Connection: close"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        stream = response.stream
        try:
            async for chunk in stream:
                writer.write(chunk)
                await writer.drain()
        except asyncio.CancelledError:
            pass  # the endpoint stops: the stream ends, the browser reconnects to the next process
        finally:
            self._streams.discard(task)
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    async def _route(self, request: Request) -> Response:
        method, path = request.method, request.path
        if path in ("/healthz", "/readyz", "/metrics") or (path in self.documents):
            if method != "GET":
                return Response(405, b"GET only\n", "text/plain")
            if path == "/healthz":
                return Response(200, b'{"status":"ok"}', "application/json")
            if path == "/readyz":
                checks = self.readiness()
                ok = all(checks.values())
                body = json.dumps({"ready": ok, "checks": checks}).encode()
                return Response(200 if ok else 503, body, "application/json")
            if path == "/metrics":
                self.readiness()  # the readiness gauges are read now, as the scrape sees them
                return Response(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
            ctype, render = self.documents[path]
            return Response(200, render(), ctype)
        if self.web is not None:
            response = await self.web(request)
            if response is not None:
                return response
        if method != "GET":
            return Response(405, b"GET only\n", "text/plain")
        return Response(404, b"not found\n", "text/plain")
