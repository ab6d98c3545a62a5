"""Fixtures: a real nats-server and the real MongoDB-wire server (SecantusDB), on free ports in
temp folders, started once per test session and removed afterwards.

Set ANTQ_MONGODB_URL (or ANTQ_NATS_URL) to run the same suites against real servers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.embedded import Child, free_port, mongo_command, mongo_url, nats_command

SERVER_START = 60.0  # seconds a server may take to open its port


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """ANTQ_TEST_ORDER=reverse runs the test files in reverse order (`make test-reverse`): the suite
    must not depend on the order of its files."""
    if os.environ.get("ANTQ_TEST_ORDER") != "reverse":
        return
    modules = list(dict.fromkeys(item.module.__name__ for item in items if item.module is not None))
    rank = {name: i for i, name in enumerate(reversed(modules))}
    items.sort(key=lambda item: rank.get(item.module.__name__ if item.module else "", 0))


@dataclass
class Servers:
    nats_url: str
    mongodb_url: str
    workdir: Path
    nats: Child | None = None
    mongodb: Child | None = None

    def stop(self) -> None:
        for s in (self.nats, self.mongodb):
            if s is not None:
                s.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def launch(external: bool = True) -> Servers:
    """Start both servers (or use ANTQ_NATS_URL / ANTQ_MONGODB_URL when `external` and set)."""
    workdir = Path(tempfile.mkdtemp(prefix="antq-test-"))
    nats_url = os.environ.get("ANTQ_NATS_URL") if external else None
    mongodb = os.environ.get("ANTQ_MONGODB_URL") if external else None
    nats_server = mongo_server = None
    if not nats_url:
        port = free_port()
        nats_server = Child("nats", nats_command(workdir / "nats", port, free_port()), port, log=workdir / "nats.log")
        nats_server.start(wait=SERVER_START)
        nats_url = f"nats://127.0.0.1:{port}"
    if not mongodb:
        port = free_port()
        mongo_server = Child("mongodb", mongo_command(workdir / "mongodb", port), port, log=workdir / "mongodb.log")
        mongo_server.start(wait=SERVER_START)
        mongodb = mongo_url(port)
    return Servers(nats_url, mongodb, workdir, nats_server, mongo_server)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    s = launch()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def private_nats(tmp_path_factory):
    """A nats-server of the module's own: its streams hold only what the module's tests publish
    (events out of order, duplicates and poison stay out of the shared ANTQ_REGISTRY)."""
    from deploy.embedded import free_port

    work = tmp_path_factory.mktemp("nats")
    port = free_port()
    server = Child("nats", nats_command(work / "data", port, free_port()), port, log=work / "nats.log")
    server.start(wait=SERVER_START)
    yield f"nats://127.0.0.1:{port}"
    server.stop()
