"""Fixtures: a real nats-server and the real MongoDB-wire server (SecantusDB), on free ports in
temp folders, started once per test session and removed afterwards.

Set ANTQ_MONGODB_URL (or ANTQ_NATS_URL) to run the same suites against real servers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.embedded import free_port, mongo_command, mongo_url, nats_command, wait_port


@dataclass
class Server:
    argv: list[str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=out)
        wait_port(self.port, 60, self.proc)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Servers:
    nats_url: str
    mongodb_url: str
    workdir: Path
    nats: Server | None = None
    mongodb: Server | None = None
    extra: list[Server] = field(default_factory=list)

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
        nats_server = Server(nats_command(workdir / "nats", port, free_port()), port, workdir / "nats.log")
        nats_server.start()
        nats_url = f"nats://127.0.0.1:{port}"
    if not mongodb:
        port = free_port()
        mongo_server = Server(mongo_command(workdir / "mongodb", port), port, workdir / "mongodb.log")
        mongo_server.start()
        mongodb = mongo_url(port)
    return Servers(nats_url, mongodb, workdir, nats_server, mongo_server)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    s = launch()
    try:
        yield s
    finally:
        s.stop()
