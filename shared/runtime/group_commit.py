"""Group commit: commands that arrive while the service's transactions are running wait for one to end,
then go together in one transaction, each answered on its own (issue 18: the command path near the
store's limit).

A command alone runs at once in its own transaction, as before: grouping only happens under load,
when commands are already waiting. `parallel` transactions run at once (2 by default: one commits
while the next runs its handlers, so the store and the service work at the same time).

In a group, each command's handler runs in its own task with its own context (its log ids, its span,
its round-trip counter), one after the other in the shared session, so a later command sees what an
earlier one wrote, as if they ran one by one. Their events and records are then inserted in one
write, and one commit makes them all durable. Nothing is answered before that commit.

A command whose handler fails (a refusal, a bug), or whose record's key is taken (a repeat), leaves
the group: the group is tried again without it, and it runs alone, where the pipeline records its
refusal, answers the repeat or reports the failure as before. When the commit fails (a conflict
that kept coming back, the database away), every command of the group runs alone, so each gets the
answer it would have had without grouping."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, ClientBulkWriteException, PyMongoError

from shared.runtime.mongo import Doc, is_duplicate_key
from shared.runtime.writes import CURRENT, Writes, owner_of

log = logging.getLogger("antq.commands")
R = TypeVar("R")

Prepare = Callable[[AsyncClientSession], Awaitable[tuple[R, list[Doc]]]]
"""A command's part of a transaction: runs its handler in the session and returns its answer and
the documents to insert (its record and events); the group inserts them with the others'."""
Write = Callable[[list[Doc], AsyncClientSession], Awaitable[None]]
Transact = Callable[[Callable[[AsyncClientSession], Awaitable[Any]]], Awaitable[Any]]


@runtime_checkable
class Prefetches(Protocol):
    """A store that can read what a group's commands name at once (`shared.runtime.aggregates`)."""

    async def prefetch(self, keys: list[str]) -> None: ...


Prefetch = Callable[[AsyncClientSession, list[str]], Awaitable[None]]


def prefetcher(store: Callable[[AsyncClientSession], object]) -> Prefetch:
    """The group's read through the service's store, bound to the group's session; a store without one
    reads nothing ahead (each handler reads its own)."""

    async def prefetch(session: AsyncClientSession, keys: list[str]) -> None:
        bound = store(session)
        if isinstance(bound, Prefetches):
            await bound.prefetch(keys)

    return prefetch


@dataclass(eq=False)
class _Waiting(Generic[R]):
    prepare: Prepare[R]
    context: contextvars.Context
    future: asyncio.Future[R]
    round_trips: list[int] | None = None
    reads: list[str] = field(default_factory=list)  # the keys its handler reads first


class _Left(Exception):
    """A command's handler failed inside a group: it leaves the group and runs alone."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


@dataclass
class GroupCommit(Generic[R]):
    """`await commits.run(prepare)` → the command's answer once its transaction has committed.

    `transact(work)` runs one transaction (retrying conflicts) and maps database errors the way the
    pipeline answers them; `write(docs, session)` inserts a transaction's records and events.
    `limit` bounds a group; `on_group(size)` is told the size of each committed group (a metric)."""

    transact: Transact
    write: Write
    limit: int  # ANTQ_COMMAND_GROUP_LIMIT
    on_group: Callable[[int], None]
    trips: contextvars.ContextVar[list[int] | None] | None  # the pipeline's round-trip counter
    parallel: int  # ANTQ_COMMAND_TRANSACTIONS: one transaction commits while the next is prepared
    # a transaction's deferred writes (shared.runtime.writes), sent with its records and events; None: none
    deferred: Callable[[AsyncClientSession], Writes] | None = None
    outbox: str = "outbox"  # the collection `write` inserts into
    # reads the keys a group's commands name, in one read, before their handlers (which then find them
    # read); None, or commands that name none: each handler reads its own
    prefetch: Prefetch | None = None
    _waiting: list[_Waiting[R]] = field(default_factory=list)
    _running: int = 0
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def run(self, prepare: Prepare[R], reads: list[str] | None = None) -> R:
        if self.limit <= 1 or (self._running < self.parallel and not self._waiting):
            self._running += 1
            try:
                return await self.alone(prepare)
            finally:
                self._running -= 1
                self._next()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        counter = self.trips.get() if self.trips is not None else None
        self._waiting.append(_Waiting(prepare, contextvars.copy_context(), future, counter, reads or []))
        self._next()
        return await future

    async def alone(self, prepare: Prepare[R]) -> R:
        async def work(session: AsyncClientSession) -> R:
            writes = self.deferred(session) if self.deferred is not None else None
            token = CURRENT.set(writes)
            try:
                answer, docs = await prepare(session)
            finally:
                CURRENT.reset(token)
            await self._finish(writes, docs, [0] * len(docs), session)
            return answer

        answer: R = await self.transact(work)
        self.on_group(1)
        return answer

    # ------------------------------------------------------------------------------- the groups

    def _next(self) -> None:
        """Start the next group if fewer than `parallel` transactions of this pipeline are running."""
        if self._running >= self.parallel:
            return
        self._waiting = [w for w in self._waiting if not w.future.done()]  # given up by their sender
        if not self._waiting:
            return
        group, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
        self._running += 1
        self._spawn(self._commit(group), contextvars.Context())  # no sender's log ids or span

    def _spawn(self, coro: Any, context: contextvars.Context) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, context=context)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _commit(self, group: list[_Waiting[R]]) -> None:
        try:
            while group:
                if self.trips is not None:  # the group's shared write and commit count to its first command
                    self.trips.set(group[0].round_trips)
                if len(group) == 1:
                    await self._alone_in_its_context(group[0])
                    return
                try:
                    answers = await self.transact(lambda session: self._together(group, session))
                except _Left as left:
                    leaving = group.pop(left.index)
                    self._spawn(self._alone_in_its_context(leaving), contextvars.Context())
                    continue
                except Exception as exc:  # the shared write or the commit: each runs alone
                    log.debug("group not committed; each command alone", extra={"error": repr(exc)[:200]})
                    await asyncio.gather(*(self._alone_in_its_context(w) for w in group))
                    return
                self.on_group(len(group))
                for waiting, answer in zip(group, answers, strict=True):
                    if not waiting.future.done():
                        waiting.future.set_result(answer)
                return
        except asyncio.CancelledError:  # the service stops: the senders stop waiting too
            for waiting in group:
                waiting.future.cancel()
            raise
        finally:
            self._running -= 1
            self._next()

    async def _together(self, group: list[_Waiting[R]], session: AsyncClientSession) -> list[R]:
        answers: list[R] = []
        docs: list[Doc] = []
        owners: list[int] = []  # the command each document is of
        writes = self.deferred(session) if self.deferred is not None else None
        keys = list(dict.fromkeys(k for w in group for k in w.reads))
        if keys and writes is not None and self.prefetch is not None:  # into the transaction's shared reads
            token = CURRENT.set(writes)
            try:
                await self.prefetch(session, keys)
            except PyMongoError:
                raise  # the transaction's (a conflict is retried whole)
            except Exception:  # a bug: each handler reads on its own (and meets it, if it is in its keys)
                log.error("group not prefetched", exc_info=True, extra={"commands": len(group)})
            finally:
                CURRENT.reset(token)
        for index, waiting in enumerate(group):
            if writes is not None:
                writes.owner = index
            waiting.context.run(CURRENT.set, writes)
            task = self._spawn(waiting.prepare(session), waiting.context)
            try:
                answer, own = await task
            except PyMongoError as exc:  # an earlier command's deferred write, sent now: that one leaves
                if (owner := owner_of(exc)) is not None and is_duplicate_key(exc):
                    raise _Left(owner) from exc
                raise  # the transaction's: a conflict is retried whole, anything else sends each alone
            except Exception as exc:
                raise _Left(index) from exc
            answers.append(answer)
            owners += [index] * len(own)
            docs += own
        try:
            await self._finish(writes, docs, owners, session)
        except BulkWriteError as exc:  # a record's key taken: that command (a repeat) leaves the group
            failed = (exc.details.get("writeErrors") or [{}])[0].get("index")
            owner = owner_of(exc)  # a deferred write's (sent per collection), or one of `docs`
            if owner is None and failed is not None:
                owner = owners[failed]
            if owner is None or not is_duplicate_key(exc):
                raise
            raise _Left(owner) from exc
        except ClientBulkWriteException as exc:  # the same, sent as one client-level write
            if (owner := owner_of(exc)) is None or not is_duplicate_key(exc):
                raise
            raise _Left(owner) from exc
        return answers

    async def _finish(
        self, writes: Writes | None, docs: list[Doc], owners: list[int], session: AsyncClientSession
    ) -> None:
        """The transaction's records and events, with its deferred writes when it has any (one write)."""
        if writes is not None and writes.ops:
            await writes.flush(docs, self.outbox, owners)
        else:
            await self.write(docs, session)

    async def _alone_in_its_context(self, waiting: _Waiting[R]) -> None:
        if waiting.future.done():
            return
        task = self._spawn(self.alone(waiting.prepare), waiting.context)
        try:
            waiting.future.set_result(await task)
        except Exception as exc:
            if not waiting.future.done():
                waiting.future.set_exception(exc)
