"""MongoDB access shared by the services: client options, waiting for the server, transactions.

PyMongo's native async API; every write is majority-acknowledged (DESIGN §4)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, DeleteOne, UpdateMany, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import (
    BulkWriteError,
    ClientBulkWriteException,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from shared.contract.errors import ConcurrentChange, Unavailable

log = logging.getLogger("antq.mongo")
T = TypeVar("T")
Doc = dict[str, Any]
# Ids per `$in` read. SecantusDB's `$in` costs more per id as the list grows (measured on _id, 20 000
# documents: 100 ids 13 ms, 300 ids 100 ms, 1 000 ids 0.9 s, 5 000 ids 27 s), so every batched read
# of the platform asks for at most this many at a time.
IN_CHUNK = 100
UPDATE_CHUNK = 32  # ids per `$in` update (update_ids): the cheapest per document measured


# Errors after which the same operation may succeed later: the database is down or failing over.
TRANSIENT = (ConnectionFailure, ServerSelectionTimeoutError)


class RoundTrips(monitoring.CommandListener):
    """Counts the database commands sent on behalf of the current piece of work (a command, a
    batch of events): PyMongo's command monitoring, kept per asyncio task in a context variable."""

    def __init__(self) -> None:
        self.current: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("round_trips", default=None)

    @contextlib.contextmanager
    def count(self) -> Iterator[list[int]]:
        """`with trips.count() as n:` … `n[0]` is the number of round trips made inside the block."""
        counter = [0]
        token = self.current.set(counter)
        try:
            yield counter
        finally:
            self.current.reset(token)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        counter = self.current.get()
        if counter is not None:
            counter[0] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def update_ids(
    coll: AsyncCollection[Doc], ids: Sequence[Any], update: Doc, session: AsyncClientSession | None = None
) -> None:
    """The same update of many documents named by id, in one round trip: a bulk of `_id: {$in: …}`
    updates of UPDATE_CHUNK ids each. One `$in` over them all costs more than the list grows (the outbox
    relay's mark of 256 sent events as one `$in` took 2–3 s under load, 0.3 s alone); point updates pay a
    statement each: SecantusDB marks 1 600 documents/s by point updates, 2 900/s in chunks of 32."""
    if ids:
        chunks = [list(ids[i : i + UPDATE_CHUNK]) for i in range(0, len(ids), UPDATE_CHUNK)]
        await coll.bulk_write([UpdateMany({"_id": {"$in": c}}, update) for c in chunks], ordered=False, session=session)


async def delete_ids(coll: AsyncCollection[Doc], ids: Sequence[Any], session: AsyncClientSession | None = None) -> None:
    """Delete many documents named by id, in one round trip of point deletes (see `update_ids`)."""
    if ids:
        await coll.bulk_write([DeleteOne({"_id": i}) for i in ids], ordered=False, session=session)


def client(
    url: str, app_name: str, round_trips: RoundTrips | None = None, tracer: monitoring.CommandListener | None = None
) -> AsyncMongoClient[Doc]:
    """`tracer`: PyMongo's OpenTelemetry listener, when tracing is on (shared.runtime.tracing)."""
    listeners = [x for x in (round_trips, tracer) if x is not None]
    return AsyncMongoClient(
        url,
        w="majority",
        appname=app_name,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        tz_aware=True,
        event_listeners=listeners,
    )


def database_error(exc: PyMongoError) -> Exception:
    """A database error as the sender should see it: Unavailable when the server is unreachable or
    failing over, ConcurrentChange when concurrent transactions kept conflicting (either way,
    nothing was recorded: send the same command again); otherwise the error itself (a failure)."""
    if is_transient(exc):
        return Unavailable(f"database unavailable: {str(exc)[:300]}")
    if exc.has_error_label("TransientTransactionError"):
        return ConcurrentChange("concurrent changes kept conflicting; send the same command again")
    return exc


def is_transient(exc: BaseException) -> bool:
    """The server is unreachable or failing over: the same operation may succeed later."""
    return isinstance(exc, TRANSIENT)


async def wait_until_up(cl: AsyncMongoClient[Doc], stop: asyncio.Event, max_backoff: float = 5.0) -> None:
    """Block until the server answers a ping, backing off between tries (services start first)."""
    delay = 0.2
    while not stop.is_set():
        try:
            await cl.admin.command("ping")
            return
        except PyMongoError as exc:
            log.warning("mongodb not reachable yet", extra={"error": str(exc)[:200], "retry_in": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)


async def in_transaction(
    cl: AsyncMongoClient[Doc], fn: Callable[[AsyncClientSession], Awaitable[T]], retry_seconds: float = 5.0
) -> T:
    """Run `fn` in one multi-document transaction. A write conflict with a concurrent transaction is
    retried (for up to `retry_seconds`); an unreachable server is not: the caller answers
    `unavailable` at once instead of waiting out PyMongoError's two-minute retry loop."""
    deadline = asyncio.get_running_loop().time() + retry_seconds
    while True:
        async with cl.start_session() as session:
            try:
                async with await session.start_transaction():
                    return await fn(session)
            except PyMongoError as exc:
                conflict = exc.has_error_label("TransientTransactionError") and not isinstance(exc, TRANSIENT)
                if conflict and asyncio.get_running_loop().time() < deadline:
                    log.debug("transaction conflicted; retrying", extra={"error": str(exc)[:200]})
                    continue
                raise


def is_duplicate_key(exc: BaseException) -> bool:
    """A unique key taken: a single write's error, or a bulk write's (the command record inserted with its
    events is one `insert_many`)."""
    if isinstance(exc, BulkWriteError):
        errors = exc.details.get("writeErrors") or []
        return bool(errors) and all(e.get("code") in (11000, 11001) for e in errors)
    if isinstance(exc, ClientBulkWriteException):  # a transaction's deferred writes (shared.runtime.writes)
        errors = exc.details.get("writeErrors") or []
        return bool(errors) and all(e.get("code") in (11000, 11001) for e in errors)
    return isinstance(exc, OperationFailure) and exc.code in (11000, 11001)
