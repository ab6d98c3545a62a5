"""Walking the dated unit tree, written once: up (a unit's ancestry on a day) and down (a subtree,
level by level), each as a generator that asks for what it needs and is sent the answers, so the
same walk runs over records in memory (`run`) and over a store read on demand (`arun`).

The depth limit is here too, so a cycle in bad data ends every walk the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Protocol, TypeVar

MAX_DEPTH = 8  # province → district → commune → hamlet, with room for agencies and old trees

Q = TypeVar("Q")
A = TypeVar("A")
R = TypeVar("R")
T = TypeVar("T")


class HasParent(Protocol):
    @property
    def parent_id(self) -> str | None: ...


class Dated(Protocol):
    def at(self, day: dt.date) -> HasParent | None: ...


def up(unit_id: str, day: dt.date) -> Generator[str, Dated | None, list[str]]:
    """The unit and its ancestors on `day`, nearest first; empty when the unit is unknown or does not
    exist that day. Yields each id whose record it needs and is sent that record (None: unknown); an
    ancestor that is unknown ends the chain, its id kept."""
    record = yield unit_id
    if record is None or record.at(day) is None:
        return []
    chain = [unit_id]
    while len(chain) <= MAX_DEPTH:
        period = record.at(day)
        if period is None or period.parent_id is None:
            break
        chain.append(period.parent_id)
        record = yield period.parent_id
        if record is None:
            break
    return chain


def down(root_id: str, key: Callable[[T], str]) -> Generator[list[str], list[T], list[T]]:
    """Everything below `root_id` (the root excluded), level by level: yields each level's parent ids
    and is sent their children; `key` is a child's id."""
    out: list[T] = []
    frontier = [root_id]
    for _ in range(MAX_DEPTH):
        level = yield frontier
        if not level:
            break
        out += level
        frontier = [key(child) for child in level]
    return out


def run(walk: Generator[Q, A, R], answer: Callable[[Q], A]) -> R:
    """Drive a walk with answers at hand."""
    try:
        question = next(walk)
        while True:
            question = walk.send(answer(question))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def arun(walk: Generator[Q, A, R], answer: Callable[[Q], Awaitable[A]]) -> R:
    """Drive a walk with answers read on demand (a store)."""
    try:
        question = next(walk)
        while True:
            question = walk.send(await answer(question))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class ParentHints:
    """Which units were ever a unit's parents, as this process last read them: a guess of the ids a walk
    up the tree will need, so that a store reads them in one query. Only ids: every record is still read
    fresh (in the command's transaction), and a wrong guess costs one more read, never a wrong answer."""

    LIMIT = 200_000  # units remembered (about 100 bytes each); past it, the oldest tenth is forgotten

    def __init__(self) -> None:
        self.parents: dict[str, tuple[str, ...]] = {}

    def learn(self, unit_id: str, parent_ids: Iterable[str | None]) -> None:
        self.parents.pop(unit_id, None)  # newest last
        self.parents[unit_id] = tuple(sorted({p for p in parent_ids if p}))
        if len(self.parents) > self.LIMIT:
            for key in list(self.parents)[: self.LIMIT // 10]:
                del self.parents[key]

    def chain(self, unit_ids: Iterable[str]) -> list[str]:
        """The ids, and every ancestor they ever had as far as known (nearest levels first)."""
        out: dict[str, None] = {}
        frontier = list(unit_ids)
        for _ in range(MAX_DEPTH + 1):
            frontier = [u for u in dict.fromkeys(frontier) if u not in out]
            if not frontier:
                break
            out.update(dict.fromkeys(frontier))
            frontier = [p for u in frontier for p in self.parents.get(u, ())]
        return list(out)
