"""The /healthz, /readyz, /metrics (and /asyncapi.json|yaml) HTTP endpoint of a service.

A tiny asyncio server: no web framework is needed for four GET routes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("antq.health")

Readiness = Callable[[], dict[str, bool]]


class HealthServer:
    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        readiness: Readiness,
        documents: dict[str, tuple[str, Callable[[], bytes]]] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.registry = registry
        self.readiness = readiness
        self.documents = documents or {}
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("http endpoint listening", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.decode("latin-1").split()
            path = parts[1].split("?")[0] if len(parts) >= 2 else "/"
            try:
                status, ctype, body = self._route(parts[0] if parts else "", path)
            except Exception:  # a check that fails answers 500; the endpoint keeps serving
                log.exception("health endpoint failed", extra={"path": path})
                status, ctype, body = "500 Internal Server Error", "text/plain", b"internal error\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def _route(self, method: str, path: str) -> tuple[str, str, bytes]:
        if method != "GET":
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/healthz":
            return "200 OK", "application/json", b'{"status":"ok"}'
        if path == "/readyz":
            checks = self.readiness()
            ok = all(checks.values())
            body = json.dumps({"ready": ok, "checks": checks}).encode()
            return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body
        if path == "/metrics":
            self.readiness()  # the readiness gauges are read now, as the scrape sees them
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(self.registry)
        if path in self.documents:
            ctype, render = self.documents[path]
            return "200 OK", ctype, render()
        return "404 Not Found", "text/plain", b"not found\n"
