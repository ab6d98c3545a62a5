"""Walking the dated unit tree, written once: up (a unit's ancestry on a day) and down (a subtree,
level by level), each as a generator that asks for what it needs and is sent the answers, so the
same walk runs over records in memory (`run`) and over a store read on demand (`arun`).

The depth limit is here too, so a cycle in bad data ends every walk the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Generator
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
