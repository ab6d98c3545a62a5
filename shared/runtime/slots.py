"""Worker slots: a bound on the work a service does at once, and the number of the slot each
piece of work holds (a context variable), so that concurrent work can write to distinct places.

Two commands holding different slots of one process never share a slot-keyed lock stripe."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
from collections.abc import AsyncIterator

current: contextvars.ContextVar[int] = contextvars.ContextVar("worker_slot", default=0)


class SlotPool:
    def __init__(self, size: int) -> None:
        self.size = size
        # a random base spreads the slots of different replicas over the stripe space
        self.base = random.randrange(1 << 16)
        self._free: asyncio.Queue[int] = asyncio.Queue()
        for n in range(size):
            self._free.put_nowait(n)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        n = await self._free.get()
        token = current.set(self.base + n)
        try:
            yield n
        finally:
            current.reset(token)
            self._free.put_nowait(n)
