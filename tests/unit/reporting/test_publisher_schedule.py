"""When reporting's publisher runs a round: the first change after a quiet interval at once, then at
most one round that sends per interval while changes keep coming (each (year, scope) gets at most one
`coverage.updated` per interval). The rounds themselves are replaced by a recorder."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace

import pytest

from services.reporting import topics

MINE = "schedule-test"


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    calls: list[float] = []
    real = topics.publish_once

    async def recorded(deps: object) -> int:
        if getattr(deps, "tag", None) != MINE:  # a real reporting of the same test session publishing
            return await real(deps)  # type: ignore[arg-type]
        calls.append(asyncio.get_running_loop().time())
        return 1  # every round sends something

    monkeypatch.setattr(topics, "publish_once", recorded)
    return calls


def deps(interval: float) -> SimpleNamespace:
    return SimpleNamespace(
        tag=MINE,
        settings=SimpleNamespace(coverage_interval_seconds=interval),
        kit=SimpleNamespace(stopping=asyncio.Event()),
        changed=asyncio.Event(),
    )


async def until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_change_after_a_quiet_interval_goes_out_at_once_and_the_next_waits_the_interval(rounds):
    d = deps(interval=3600)  # a round every hour at most: only the wake-up can explain a prompt one
    task = asyncio.create_task(topics.publisher(d))  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.05)
        assert rounds == []  # nothing changed: no round before the interval
        d.changed.set()  # a consumer committed
        assert await until(lambda: len(rounds) == 1, timeout=5)
        d.changed.set()  # another change within the interval: gathered for the next round
        await asyncio.sleep(0.3)
        assert len(rounds) == 1
    finally:
        d.kit.stopping.set()
        await asyncio.wait_for(task, 5)  # and it stops promptly while it waits out the interval


async def test_while_changes_keep_coming_rounds_are_one_interval_apart(rounds):
    d = deps(interval=0.2)
    task = asyncio.create_task(topics.publisher(d))  # type: ignore[arg-type]
    try:
        end = asyncio.get_running_loop().time() + 1.0
        while asyncio.get_running_loop().time() < end:
            d.changed.set()
            await asyncio.sleep(0.01)
    finally:
        d.kit.stopping.set()
        await asyncio.wait_for(task, 5)
    gaps = [b - a for a, b in itertools.pairwise(rounds)]
    assert len(rounds) >= 3 and min(gaps) >= 0.2 - 0.005
