"""End-to-end fixtures: services as separate processes (`python -m services.<name>`), driven only
through the bus, as an outside producer and an outside consumer would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.embedded import free_port


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"], env=self.env, stdout=out, stderr=out
        )

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

    def stop(self, sig: int = 15, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def service_process(servers, name: str, tmp: Path, **env: str) -> ServiceProcess:
    port = free_port()
    full_env = {
        **os.environ,
        "ANTQ_NATS_URL": servers.nats_url,
        "ANTQ_MONGODB_URL": servers.mongodb_url,
        "ANTQ_MONGODB_DB": f"antq_{name}_e2e_{uuid.uuid4().hex[:8]}",
        "ANTQ_HTTP_PORT": str(port),
        "ANTQ_NACK_DELAY_SECONDS": "0.2",
        **env,
    }
    return ServiceProcess(name, full_env, port, tmp / f"{name}.log")


@pytest.fixture(scope="module")
def registry_process(servers, tmp_path_factory) -> Iterator[ServiceProcess]:
    svc = service_process(servers, "registry", tmp_path_factory.mktemp("e2e"))
    svc.start()
    svc.wait_ready()
    yield svc
    svc.stop()
