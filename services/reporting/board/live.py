"""The season board's live figures: one core subscription to reporting's `coverage.updated` per
process, fanned out to every open page's queue; and awards-summary's counts summed for a page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from shared.contract import reporting as c
from shared.contract.subjects import event_subject
from shared.runtime.web import WebContext

log = logging.getLogger("antq.reporting.board")
QUEUE = 1000  # updates waiting for one slow browser; beyond, its stream ends and the page reloads


class Topic:
    """One core subscription to `coverage.updated` per process, fanned out to every open board."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.queues: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._sub: Any = None
        self._lock = asyncio.Lock()

    async def join(self) -> asyncio.Queue[dict[str, Any] | None]:
        async with self._lock:
            if self._sub is None:
                self._sub = await self.ctx.connection().subscribe(
                    event_subject(c.SERVICE, "coverage", "updated", 1), cb=self._deliver
                )
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE)
        self.queues.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self.queues.discard(queue)

    async def _deliver(self, msg: Any) -> None:
        try:
            data = json.loads(msg.data)["data"]
        except (ValueError, KeyError, TypeError):
            log.warning("a coverage.updated that is not JSON was skipped by the board")
            return
        for queue in list(self.queues):
            try:
                queue.put_nowait(data)
            except asyncio.QueueFull:  # a browser that reads nothing: its stream ends, the page reloads
                self.queues.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)


def by_status(forms: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for statuses in forms.values():
        for status, n in statuses.items():
            out[status] = out.get(status, 0) + int(n)
    return out


def totals(summary: dict[str, Any]) -> dict[str, Any]:
    """awards-summary's counts by form and status, summed over the forms."""
    nominations, awards = by_status(summary["nominations"]), by_status(summary["awards"])
    return {
        "nominations": sum(nominations.values()),
        "nominations_by_status": nominations,
        "awards": sum(n for status, n in awards.items() if status != "revoked"),
        "awards_by_status": awards,
        "awards_amount_vnd": summary["awards_amount_vnd"],
    }
