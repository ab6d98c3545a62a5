"""`--chaos`: kill -9 each part of a `make up` platform in turn while a season runs, reading the parts'
process ids from <data>/pids.json (which `make up` rewrites at every restart), and waiting for each to
come back before the next. The season's check must still pass."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

PARTS = ("registry", "awards", "notifications", "reporting", "mongodb")


class ChaosUnavailable(Exception):
    pass


@dataclass
class Chaos:
    pids_file: Path
    every: float = 6.0  # seconds between one part back and the next kill
    comeback: float = 120.0
    kills: list[tuple[str, int, float]] = field(default_factory=list)  # (part, pid, seconds it was away)

    def __post_init__(self) -> None:
        if not self.pids_file.exists():
            raise ChaosUnavailable(
                f"{self.pids_file} does not exist: --chaos runs against `make up` on this machine "
                "(set ANTQ_DATA_DIR, or --data, to its data folder)"
            )

    def pids(self) -> dict[str, int]:
        with contextlib.suppress(OSError, ValueError):
            return {k: int(v) for k, v in json.loads(self.pids_file.read_text()).items()}
        return {}

    async def run(self) -> None:
        for part in PARTS:
            await asyncio.sleep(self.every)
            pid = self.pids().get(part)
            if pid is None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            while self.pids().get(part) in (None, pid):  # `make up` restarts it with a new pid
                if time.monotonic() - killed > self.comeback:
                    raise ChaosUnavailable(f"{part} did not come back within {self.comeback:g} s of kill -9")
                await asyncio.sleep(0.5)
            self.kills.append((part, pid, time.monotonic() - killed))
