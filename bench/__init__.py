"""Benchmarks (`make bench`): figures beside raw limits measured in the same run."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def servers(prefix: str) -> Iterator[tuple[str, str]]:
    """A nats-server and a SecantusDB of their own, on free ports in a temporary folder: (NATS URL, MongoDB
    URL), stopped and removed afterwards. For a module's `python -m bench.<name>`."""
    from deploy.embedded import Child, free_port, mongo_command, mongo_url, nats_command

    work = Path(tempfile.mkdtemp(prefix=prefix))
    nport, mport = free_port(), free_port()
    procs = [
        Child("nats", nats_command(work / "nats", nport, free_port()), nport),
        Child("mongodb", mongo_command(work / "mongo", mport), mport),
    ]
    try:
        for p in procs:
            p.start(wait=60)
        yield f"nats://127.0.0.1:{nport}", mongo_url(mport)
    finally:
        for p in reversed(procs):
            p.stop(timeout=15)
        shutil.rmtree(work, ignore_errors=True)
