"""`python -m services.<name>`: build the service, then take what it built at start-up out of the cycle
collector's full passes (`gc.freeze`), then run it until SIGTERM.

A full pass of Python's cycle collector walks every tracked object. A service holds about 80 000 of them
once imported (the contract's pydantic models and their validators, the libraries' modules). In
`make bench`'s registry phase the full passes took a median of 66 ms each, with every command in flight
waiting behind them; frozen, 10 ms. Frozen objects are still freed by reference counting when
unreferenced; only a cycle among them is never collected, and start-up's objects live as long as the
process.

Large blocks are given back to the system when freed (`release_large_blocks`)."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import platform
from collections.abc import Callable

from shared.runtime.host import ServiceHost

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_FROM = 128 * 1024  # glibc's initial threshold, kept


def release_large_blocks() -> bool:
    """Keep glibc's mmap threshold where it starts (128 KiB), so that every large block (a 100 000-unit
    dict's table, a cursor's reply) is mapped on its own and given back to the system when freed.
    glibc otherwise raises the threshold to the size of each mapped block freed (up to 32 MiB): after
    the first large table freed, the next ones come from the heap, which keeps what they leave
    scattered among live objects. Only on glibc; returns whether it was set."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_FROM))


def settle() -> int:
    """Collect what start-up left behind, then freeze what is alive: the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def serve(create: Callable[[], ServiceHost]) -> None:
    release_large_blocks()
    host = create()
    host.metrics.gc_frozen.labels(host.name).set(settle())
    asyncio.run(host.run())
