"""/readyz during start-up: asked before the broker has connected, it answers not ready (503), and a
failing check answers 500 instead of dropping the connection."""

from __future__ import annotations

import asyncio

from services.registry.app import RegistrySettings, create
from shared.runtime.bus import make_broker
from shared.runtime.health import HealthServer
from shared.runtime.metrics import Metrics


def test_readiness_before_the_broker_connects_is_not_ready_not_an_error():
    host = create(RegistrySettings(http_port=0))
    host.broker = make_broker(host.settings, host.name, host.metrics)  # created, not connected
    checks = host.readiness()
    assert checks["nats"] is False


async def _get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


async def test_a_failing_check_answers_500_and_the_endpoint_keeps_serving():
    calls = []

    def readiness() -> dict[str, bool]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("check broke")
        return {"nats": True}

    server = HealthServer("127.0.0.1", 0, Metrics("probe").registry, readiness, {})
    await server.start()
    try:
        assert (await _get(server.port, "/readyz")).startswith(b"HTTP/1.1 500")
        assert (await _get(server.port, "/readyz")).startswith(b"HTTP/1.1 200")
    finally:
        await server.stop()
