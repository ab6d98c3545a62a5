"""A local HTTP receiver of webhooks for the tests: a real asyncio HTTP/1.1 server that records every
POST and verifies its Standard Webhooks signature with the `standardwebhooks` library.

Paths choose the behaviour: `/ok/<name>` answers 204; `/fail/<name>` answers 500; `/slow/<name>`
answers after `slow_seconds`; `/flaky/<name>` fails the first `flaky_failures` posts, then answers 204."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verifies(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Receiver:
    slow_seconds: float = 5.0
    flaky_failures: int = 2
    posts: list[Post] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    server: asyncio.AbstractServer | None = None
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Post]:
        return [p for p in self.posts if p.path == path]

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def wait_for(self, path: str, n: int, timeout: float = 20.0) -> list[Post]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.at(path)) < n:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{path}: {len(self.at(path))} posts of {n} after {timeout}s")
            await asyncio.sleep(0.05)
        return self.at(path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                _method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.posts.append(Post(path, headers, body))
                status = 204
                kind = path.split("/")[1] if path.count("/") >= 1 else ""
                if kind == "fail":
                    status = 500
                elif kind == "slow":
                    await asyncio.sleep(self.slow_seconds)
                elif kind == "flaky":
                    self.seen[path] = self.seen.get(path, 0) + 1
                    status = 500 if self.seen[path] <= self.flaky_failures else 204
                reason = "No Content" if status == 204 else "Internal Server Error"
                writer.write(f"HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()
