"""A transaction's deferred writes (issue 18: the command path near the store's limit).

A command's writes whose result nobody reads (a new aggregate inserted, the tree's lock stripes, an
official code's key) wait in the transaction's `Writes`, and go out with the group's events and
records as one write at the end: one client-level `bulkWrite` (MongoDB 8.0+) where a command wrote
three statements, and a group of commands one where it wrote one per command and per kind.

Nothing reads past a deferred write: a store bound to the transaction reads through `deferring(db)`,
whose collections send the pending writes first whenever an operation touches a collection they
write (any operation: a read, or a write whose result is read). `aggregate` sends them all.

A pending write that fails when it is sent (a key taken) names the command it belongs to
(`owner`, set by the group before each command's handler): that command leaves the group, as a
command whose event record's key is taken does. A server without the client-level `bulkWrite`
(below 8.0) gets the same writes as one `bulk_write` per run of one collection's writes."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ClientBulkWriteException, InvalidOperation, OperationFailure, PyMongoError

from shared.runtime.mongo import Doc

REFUSED = frozenset({13, 59, 115})  # Unauthorized, CommandNotFound, CommandNotSupported
RETRY = "TransientTransactionError"
CURRENT: contextvars.ContextVar[Writes | None] = contextvars.ContextVar("deferred_writes", default=None)

# a collection's operations that send the pending writes first (`find` too); `aggregate` sends them all
_OPS = frozenset(
    {
        "find_one", "insert_one", "insert_many", "replace_one", "update_one", "update_many", "delete_one",
        "delete_many", "bulk_write", "count_documents", "distinct", "find_one_and_update", "find_one_and_replace",
        "find_one_and_delete", "aggregate", "estimated_document_count",
    }
)  # fmt: skip


@dataclass
class _Op:
    collection: str
    kind: str  # "insert" | "upsert"
    doc: Doc  # the document, or the filter of an upsert
    update: Doc | None = None


@dataclass
class Writes:
    """The pending writes of one transaction, with the command each belongs to (`owner`)."""

    client: AsyncMongoClient[Doc]
    db: AsyncDatabase[Doc]
    session: AsyncClientSession
    state: Support
    owner: int = 0
    ops: list[_Op] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    collections: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    # what the transaction's stores read, shared by a group's commands (each sees what the ones before
    # it wrote, through the store that keeps it): a store's own, by name
    shared: dict[str, Any] = field(default_factory=dict)

    def insert(self, collection: str, doc: Doc) -> None:
        self._add(_Op(collection, "insert", doc))

    def upsert(self, collection: str, filter_: Doc, update: Doc) -> None:
        self._add(_Op(collection, "upsert", filter_, update))

    def touch(self, collection: str, id_: str, key: str) -> None:
        """Write document `id_` only so that a concurrent transaction writing it collides with this one:
        once per `key` for the whole transaction (a group's commands share it, and one write holds)."""
        if key not in self.touched:
            self.touched.add(key)
            self.upsert(collection, {"_id": id_}, {"$inc": {"n": 1}})

    def _add(self, op: _Op) -> None:
        self.ops.append(op)
        self.owners.append(self.owner)
        self.collections.add(op.collection)

    async def before(self, collection: str | None, filter_: Any = None) -> None:
        """Send the pending writes if any touches `collection` (None: any). A read of documents named by
        `_id` alone (`{"_id": x}`, `{"_id": {"$in": [...]}}`) waits only for writes of those documents:
        the next command of a group reads its units without sending the units the one before inserted."""
        if not self.ops or (collection is not None and collection not in self.collections):
            return
        ids = _named(filter_) if collection is not None else None
        if ids is not None and not any(o.collection == collection and _id_of(o) in ids for o in self.ops):
            return
        await self.flush()

    async def flush(self, tail: Sequence[Doc] = (), tail_collection: str = "", tail_owners: Sequence[int] = ()) -> None:
        """Send the pending writes, then the `tail` documents inserted into `tail_collection` (the group's
        events and records, each of the command in `tail_owners`), as one write where the server can."""
        ops = self.ops + [_Op(tail_collection, "insert", d) for d in tail]
        owners = self.owners + list(tail_owners)
        self.ops, self.owners, self.collections = [], [], set()
        if not ops:
            return
        if self.state.client_bulk:
            try:
                await self._client_bulk(ops, owners)
                return
            except InvalidOperation:  # a server below 8.0 (nothing was sent): per collection from now on
                self.state.client_bulk = False
            except OperationFailure as exc:
                if exc.code not in REFUSED:
                    raise
                # a server, or a user's role, without the command: the transaction is spoilt, so it is
                # retried whole (as a conflict is), per collection from now on
                self.state.client_bulk = False
                raise OperationFailure(
                    f"bulkWrite refused ({exc.code}); retried per collection", 112, {"errorLabels": [RETRY]}
                ) from exc
        await self._per_collection(ops, owners)

    async def _client_bulk(self, ops: list[_Op], owners: list[int]) -> None:
        ns = self.db.name
        models: list[Any] = [
            InsertOne(o.doc, namespace=f"{ns}.{o.collection}")
            if o.kind == "insert"
            else UpdateOne(o.doc, o.update or {}, upsert=True, namespace=f"{ns}.{o.collection}")
            for o in ops
        ]
        try:
            await self.client.bulk_write(models, session=self.session, ordered=True)
        except ClientBulkWriteException as exc:
            if isinstance(exc.error, PyMongoError):  # the statement's own (a conflict): as a single write's
                raise exc.error from None
            errors = exc.details.get("writeErrors") or []
            if errors:
                exc.owner = owners[errors[0]["idx"]]  # type: ignore[attr-defined]
            raise

    async def _per_collection(self, ops: list[_Op], owners: list[int]) -> None:
        start = 0
        while start < len(ops):
            end = start
            while end < len(ops) and ops[end].collection == ops[start].collection:
                end += 1
            run = [
                InsertOne(o.doc) if o.kind == "insert" else UpdateOne(o.doc, o.update or {}, upsert=True)
                for o in ops[start:end]
            ]
            try:
                await self.db[ops[start].collection].bulk_write(run, ordered=True, session=self.session)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                if errors:
                    exc.owner = owners[start + errors[0]["index"]]  # type: ignore[attr-defined]
                raise
            start = end


@dataclass
class Support:
    """Whether the server takes the client-level `bulkWrite` (learnt at the first write it refuses)."""

    client_bulk: bool = True


def _named(filter_: Any) -> set[Any] | None:
    """The ids a filter on `_id` alone names; None for any other filter."""
    if not isinstance(filter_, dict) or list(filter_) != ["_id"]:
        return None
    value = filter_["_id"]
    if isinstance(value, dict):
        if list(value) == ["$in"] and isinstance(value["$in"], list | tuple):
            return {_hashable(v) for v in value["$in"]}
        return None
    return {_hashable(value)}


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int) else repr(value)


_UNKNOWN = object()


def _id_of(op: _Op) -> Any:
    """The document an operation writes (a pending insert without an `_id` matches nothing known)."""
    value = op.doc.get("_id", _UNKNOWN)
    return _UNKNOWN if value is _UNKNOWN else _hashable(value)


def owner_of(exc: BaseException) -> int | None:
    """The command a failed deferred write belonged to, if it was one."""
    owner = getattr(exc, "owner", None)
    return owner if isinstance(owner, int) else None


class _Collection:
    """A collection whose every operation sends the transaction's pending writes to it first."""

    def __init__(self, coll: Any, writes: Writes) -> None:
        self._coll = coll
        self._writes = writes

    def find(self, *args: Any, **kwargs: Any) -> _Cursor:
        return _Cursor(self, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._coll, name)
        if name not in _OPS:
            return attr
        collection = None if name == "aggregate" else self._coll.name
        reads_by_filter = name == "find_one"

        async def sent_first(*args: Any, **kwargs: Any) -> Any:
            filter_ = (args[0] if args else kwargs.get("filter")) if reads_by_filter else None
            await self._writes.before(collection, filter_)
            return await attr(*args, **kwargs)

        return sent_first


class _Cursor:
    """`find(...)` with its chained `sort`/`limit`/…, run once the pending writes are sent."""

    def __init__(self, coll: _Collection, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._coll, self._args, self._kwargs = coll, args, kwargs
        self._chain: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def chained(*args: Any, **kwargs: Any) -> _Cursor:
            self._chain.append((name, args, kwargs))
            return self

        return chained

    async def _cursor(self) -> Any:
        filter_ = self._args[0] if self._args else self._kwargs.get("filter")
        await self._coll._writes.before(self._coll._coll.name, filter_)
        cursor = self._coll._coll.find(*self._args, **self._kwargs)
        for name, args, kwargs in self._chain:
            cursor = getattr(cursor, name)(*args, **kwargs)
        return cursor

    async def to_list(self, length: int | None = None) -> list[Doc]:
        found: list[Doc] = await (await self._cursor()).to_list(length)
        return found

    def __aiter__(self) -> Any:
        return self._iterate()

    async def _iterate(self) -> Any:
        async for doc in await self._cursor():
            yield doc


class _Database:
    """A database whose collections send the pending writes first (`_Collection`)."""

    def __init__(self, db: AsyncDatabase[Doc], writes: Writes) -> None:
        self._db = db
        self._writes = writes

    def __getitem__(self, name: str) -> _Collection:
        return _Collection(self._db[name], self._writes)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in {"name", "client", "codec_options"}:
            return getattr(self._db, name)
        return _Collection(self._db[name], self._writes)


def deferring(db: AsyncDatabase[Doc], writes: Writes | None) -> AsyncDatabase[Doc]:
    """`db` as a store bound to the transaction of `writes` reads it (itself when nothing is deferred)."""
    if writes is None or writes.db.name != db.name:
        return db
    return _Database(db, writes)  # type: ignore[return-value]
