"""End-to-end fixtures: services as separate processes (`python -m services.<name>`), driven only
through the bus, as an outside producer and an outside consumer would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.embedded import Child, free_port, nats_command
from tests import clock


class ServiceProcess(Child):
    """A service as its own process (`python -m services.<name>`), with its HTTP endpoints."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url(path), timeout=1) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            return 0

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.status("/readyz") != 200:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def servers(servers, tmp_path_factory):
    """A broker of the e2e suite's own (the database server is shared: every process gets its own
    database). Service processes join their service's queue group, and so does the integration
    suite's in-process registry: on one broker, either could answer the other's requests."""
    from tests.conftest import SERVER_START, Servers

    work = tmp_path_factory.mktemp("e2e-nats")
    port = free_port()
    broker = Child("nats", nats_command(work / "data", port, free_port()), port, log=work / "nats.log")
    broker.start(wait=SERVER_START)
    yield Servers(f"nats://127.0.0.1:{port}", servers.mongodb_url, work, nats=broker)
    broker.stop()


@contextlib.contextmanager
def running(procs: dict[str, ServiceProcess]) -> Iterator[dict[str, ServiceProcess]]:
    """Start the service processes, wait until each is ready, and stop them all at the end (also when
    one never became ready)."""
    for p in procs.values():
        p.start()
    try:
        for p in procs.values():
            p.wait_ready()
        yield procs
    finally:
        for p in procs.values():
            p.stop()


def service_process(servers, name: str, tmp: Path, **env: str) -> ServiceProcess:
    port = free_port()
    full_env = {
        "ANTQ_NATS_URL": servers.nats_url,
        "ANTQ_MONGODB_URL": servers.mongodb_url,
        "ANTQ_MONGODB_DB": f"antq_{name}_e2e_{uuid.uuid4().hex[:8]}",
        "ANTQ_HTTP_PORT": str(port),
        "ANTQ_NACK_DELAY_SECONDS": "0.2",
        **clock.env(),
        **env,
    }
    argv = [sys.executable, "-m", f"services.{name}"]
    return ServiceProcess(name, argv, port, env=full_env, log=tmp / f"{name}.log")


@pytest.fixture(scope="module")
def registry_process(servers, tmp_path_factory) -> Iterator[ServiceProcess]:
    svc = service_process(servers, "registry", tmp_path_factory.mktemp("e2e"))
    svc.start()
    svc.wait_ready()
    yield svc
    svc.stop()


async def board_events(lines, found: list[dict], ready: asyncio.Event, until) -> None:  # type: ignore[no-untyped-def]
    """Read the season board's event stream: `ready` set at its first event, each `coverage` event's data
    appended to `found`, until `until(data)` holds."""
    kind = None
    async for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
            if kind == "ready":
                ready.set()
        elif line.startswith("data: ") and kind == "coverage":
            found.append(json.loads(line[6:]))
            if until(found[-1]):
                return
