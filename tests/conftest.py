"""Fixtures: a real nats-server and the real MongoDB-wire server (SecantusDB), on free ports in
temp folders, started once per test session and removed afterwards.

Set ANTQ_MONGODB_URL (or ANTQ_NATS_URL) to run the same suites against real servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.embedded import free_port, mongo_command, mongo_url, nats_command, wait_port


@dataclass
class Servers:
    nats_url: str
    mongodb_url: str
    workdir: Path
    nats_proc: subprocess.Popen[bytes] | None
    nats_argv: list[str]
    nats_port: int

    def restart_nats(self) -> None:
        """Start nats-server again on the same port and data folder (after a kill)."""
        self.nats_proc = subprocess.Popen(self.nats_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.nats_port, 30, self.nats_proc)


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    workdir = Path(tempfile.mkdtemp(prefix="antq-test-"))
    procs: list[subprocess.Popen[bytes]] = []
    nats_url = os.environ.get("ANTQ_NATS_URL")
    nats_argv: list[str] = []
    nats_port = 0
    nats_proc = None
    if not nats_url:
        nats_port = free_port()
        nats_argv = nats_command(workdir / "nats", nats_port, free_port())
        nats_proc = subprocess.Popen(nats_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        nats_url = f"nats://127.0.0.1:{nats_port}"
    mongodb = os.environ.get("ANTQ_MONGODB_URL")
    if not mongodb:
        port = free_port()
        log = open(workdir / "mongodb.log", "wb")  # noqa: SIM115
        procs.append(subprocess.Popen(mongo_command(workdir / "mongodb", port), stdout=log, stderr=log))
        mongodb = mongo_url(port)
        wait_port(port, 60, procs[-1])
    if nats_proc is not None:
        wait_port(nats_port, 30, nats_proc)
    s = Servers(nats_url, mongodb, workdir, nats_proc, nats_argv, nats_port)
    try:
        yield s
    finally:
        _stop(s.nats_proc)
        for p in procs:
            _stop(p)
        shutil.rmtree(workdir, ignore_errors=True)
