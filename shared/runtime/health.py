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
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("http endpoint listening", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._streams):
                task.cancel()
            await self._server.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> Request | None:
        line = await asyncio.wait_for(reader.readline(), 5)
        parts = line.decode("latin-1").split()
        if len(parts) < 2:
            return None
        headers: dict[str, str] = {}
        while (raw := await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0) if headers.get("content-length", "0").isdigit() else -1
        if length < 0 or length > MAX_BODY:
            return Request(parts[0].upper(), "\0too-large", {}, headers)
        body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
        return Request.parse(parts[0], parts[1], headers, body)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await self._read(reader)
            if request is None:
                response = Response(400, b"bad request\n", "text/plain")
            elif request.path == "\0too-large":
                response = Response(413, b"the request body is too large\n", "text/plain")
            else:
                try:
                    response = await self._route(request)
                except Exception:  # a check or a page that fails answers 500; the endpoint keeps serving
                    log.exception("http endpoint failed", extra={"path": request.path})
                    response = Response(500, b"internal error\n", "text/plain")
            await self._write(writer, response)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
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
