"""A service's pages beside its health endpoints (shared.runtime.health + web): requests parsed with
their query, cookies and form; bodies bounded; event streams written as they come and ended when the
endpoint stops (a browser left open never holds a shutdown)."""

from __future__ import annotations

import asyncio

from shared.runtime import health
from shared.runtime.health import HealthServer
from shared.runtime.metrics import Metrics
from shared.runtime.web import MAX_BODY, Request, Response


async def _send(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


def test_a_request_reads_its_query_cookies_and_form():
    request = Request.parse(
        "post",
        "/board/u/h%C3%A0-1?year=2026&lang=en&lang=vi",
        {"cookie": 'a=1; antq_board_token="x.y.z"', "content-type": "application/x-www-form-urlencoded"},
        b"token=abc%2Bdef&lang=en",
    )
    assert (request.method, request.path) == ("POST", "/board/u/hà-1")
    assert request.query == {"year": "2026", "lang": "vi"}  # the last of a repeated parameter
    assert request.cookie("antq_board_token") == "x.y.z" and request.cookie("missing") is None
    assert request.form() == {"token": "abc+def", "lang": "en"}
    assert Request.parse("GET", "/", {"cookie": "\x00;;=;"}).cookie("a") is None  # a garbled cookie: none
    assert Request.parse("POST", "/", {"content-type": "text/plain"}, b"a=1").form() == {}


async def test_pages_streams_and_limits(monkeypatch):
    seen: list[Request] = []
    opened = asyncio.Event()

    async def endless():
        yield b"event: ready\ndata: {}\n\n"
        opened.set()
        while True:
            await asyncio.sleep(3600)
            yield b""

    async def web(request: Request) -> Response | None:
        seen.append(request)
        if request.path == "/page":
            return Response(200, b"<p>hi</p>", headers={"X-Test": "1"})
        if request.path == "/events":
            return Response(200, content_type="text/event-stream", stream=endless())
        return None

    server = HealthServer("127.0.0.1", 0, Metrics("probe").registry, lambda: {"nats": True}, {}, web)
    await server.start()
    try:
        page = await _send(server.port, b"GET /page?x=1 HTTP/1.1\r\nHost: h\r\nCookie: k=v\r\n\r\n")
        assert page.startswith(b"HTTP/1.1 200 OK") and b"X-Test: 1" in page and page.endswith(b"<p>hi</p>")
        assert seen[-1].query == {"x": "1"} and seen[-1].cookie("k") == "v"
        assert (await _send(server.port, b"GET /nowhere HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 404")
        assert (await _send(server.port, b"DELETE /nowhere HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 405")
        assert (await _send(server.port, b"POST /readyz HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 405")
        assert (await _send(server.port, b"GET /readyz HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 200")
        big = f"POST /page HTTP/1.1\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        assert (await _send(server.port, big)).startswith(b"HTTP/1.1 413")
        for length in (b"-5", b"abc", "²".encode()):
            bad = b"POST /page HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n"
            assert (await _send(server.port, bad)).startswith(b"HTTP/1.1 400"), length
        long_line = b"GET /page?x=" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"
        assert (await _send(server.port, long_line)).startswith(b"HTTP/1.1 414")
        many = b"GET /page HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n"
        assert (await _send(server.port, many)).startswith(b"HTTP/1.1 431")
        assert (await _send(server.port, b"\r\n")).startswith(b"HTTP/1.1 400")
        # a stream: its first event arrives at once, and stopping the endpoint ends it
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /events HTTP/1.1\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(opened.wait(), 10)
        head = await asyncio.wait_for(reader.readuntil(b"data: {}\n\n"), 10)
        assert b"text/event-stream" in head and b"Cache-Control: no-cache" in head and b"Content-Length" not in head
        # one stream too many is refused, not kept open
        monkeypatch.setattr(health, "MAX_STREAMS", 1)
        assert (await _send(server.port, b"GET /events HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 503")
    finally:
        await asyncio.wait_for(server.stop(), 10)
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the stop
    writer.close()
