"""MongoDB access shared by the services: client options, waiting for the server, transactions.

PyMongo's native async API; every write is majority-acknowledged (DESIGN §4)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError, ServerSelectionTimeoutError

log = logging.getLogger("antq.mongo")
T = TypeVar("T")
Doc = dict[str, Any]

# Errors after which the same operation may succeed later: the database is down or failing over.
TRANSIENT = (ConnectionFailure, ServerSelectionTimeoutError)


def client(url: str, app_name: str) -> AsyncMongoClient[Doc]:
    return AsyncMongoClient(
        url,
        w="majority",
        appname=app_name,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        tz_aware=True,
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError")


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


async def in_transaction(cl: AsyncMongoClient[Doc], fn: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run `fn` in one multi-document transaction, retried on transient transaction errors."""

    async def attempt(session: AsyncClientSession) -> T:
        try:
            return await fn(session)
        except PyMongoError as exc:
            log.debug(
                "transaction attempt failed: %s", exc, extra={"labels": sorted(getattr(exc, "_error_labels", ()))}
            )
            raise

    async with cl.start_session() as session:
        return await session.with_transaction(attempt)


def is_duplicate_key(exc: BaseException) -> bool:
    return isinstance(exc, OperationFailure) and exc.code in (11000, 11001)
