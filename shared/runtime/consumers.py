"""Event consumers, declared: a service's typed handlers of other services' events.

A service lists its consumers in its definition; each has one handler per event type, written
as `async def on_x(event: X, meta: EventMeta, tx: Tx[Store]) -> None`. The kit
(`shared.runtime.event_consumer`, on the delivery loop of `shared.runtime.delivery`) does the rest:
parsing against the contract, explicit acks,
exactly-once effects (tracking and the handler's writes in one transaction), aggregate-version
order, retries, outage waits, dead letters, batches, metrics and rebuilds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from nats.aio.msg import Msg
from pydantic import BaseModel
from pymongo import DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.contract.envelope import CloudEvent
from shared.contract.services import event_version_of
from shared.contract.subjects import ROOT, event_type, parse_event_type, producer_stream
from shared.runtime.delivery import Received
from shared.runtime.mongo import Doc, is_duplicate_key
from shared.runtime.tracking import CACHE_LIMIT

S = TypeVar("S")  # the store a consumer's handlers write through
P = TypeVar("P", bound=BaseModel)
WriteOp = InsertOne[Doc] | UpdateOne | UpdateMany | ReplaceOne[Doc] | DeleteOne


@dataclass(frozen=True, slots=True)
class EventMeta:
    """The envelope of the event being handled (DESIGN §3), beside its parsed payload; `envelope`, the
    envelope itself, only for a consumer whose handlers read it (`Consumer.envelope`)."""

    id: str
    type: str
    source: str
    subject: str | None
    time: dt.datetime | None
    aggregate_version: int | None
    correlation_id: str | None
    causation_id: str | None
    actor_id: str | None
    actor_unit: str | None
    actor_role: str | None
    stream_seq: int
    envelope: CloudEvent | None = field(default=None, compare=False, repr=False)  # as received, unknown fields kept

    @classmethod
    def of(cls, env: CloudEvent, stream_seq: int, envelope: bool = True) -> EventMeta:
        return cls(
            id=env.id,
            type=env.type,
            source=env.source,
            subject=env.subject,
            time=env.time,
            aggregate_version=env.aggregateversion,
            correlation_id=env.correlationid,
            causation_id=env.causationid,
            actor_id=env.actorid,
            actor_unit=env.actorunit,
            actor_role=env.actorrole,
            stream_seq=stream_seq,
            envelope=env if envelope else None,
        )


class Decoded(list[Msg]):
    """A fetch's messages and their deliveries, decoded ahead (`EventConsumer.prepare`)."""

    def __init__(self, msgs: list[Msg], deliveries: list[Delivery]) -> None:
        super().__init__(msgs)
        self.deliveries = deliveries


@dataclass(frozen=True, slots=True)
class Delivery(Received):
    """A message with what ordering needs (id, aggregate key and version) and its parsed event."""

    id: str = ""
    key: str | None = None
    version: int | None = None
    env: CloudEvent | None = None  # a skipped or poison message's; an applied one's is in `meta`
    meta: EventMeta | None = None  # an event to apply: the envelope's attributes (and the envelope, if kept)
    handler: HandlerSpec | None = None
    payload: BaseModel | None = None
    poison: str | None = None
    twin: bool = False  # another major of an event this consumer reads in its own major: skipped


class NotAbsent(Exception):
    """A document `Tx.absent` named was stored after all (its insert met the key): the transaction is
    run again with upserts only."""


class Tx(Generic[S]):
    """What a handler writes through, inside the transaction of its event (or of its batch):
    `store`, the service's store bound to the session, for reads and immediate writes; and bulk
    writes (`upsert`, `write`) gathered and sent as one ordered bulk_write per collection when the
    batch ends. A handler that reads what an earlier event of the batch wrote uses the store."""

    def __init__(
        self,
        store: S,
        db: AsyncDatabase[Doc],
        session: AsyncClientSession,
        stamp: int | None = None,
        inserts: bool = True,
    ) -> None:
        self.store = store
        self.inserts = inserts  # whether `absent` documents are inserted (not after a NotAbsent)
        # the consumer's fence count once this transaction commits (`Tracking.proposed`): a document
        # stamped with it is found by a reader that asks what changed after the count it last read
        self.stamp = stamp
        self.db = db
        self.session = session
        self._ops: dict[str, list[WriteOp]] = {}
        # coalesced per document: many events of a batch touching one document make one write
        self._sets: dict[str, dict[Any, Doc]] = {}
        self._replaces: dict[str, dict[Any, Doc]] = {}
        # documents this transaction read and did not find: their set or replace is sent as an insert
        # (a store inserts a batch of new documents in one pass; an upsert looks each one up first)
        self._absent: dict[str, set[Any]] = {}
        self._keyed: dict[str, set[Any]] = {}  # the documents `upsert` wrote, per collection
        self._opaque: set[str] = set()  # collections given `write`s whose documents are not known

    def write(self, collection: str, op: WriteOp) -> None:
        self._ops.setdefault(collection, []).append(op)
        self._opaque.add(collection)

    def upsert(self, collection: str, key: Any, update: Doc) -> None:
        """`update` (operators: $set, $inc, $max…) on the document `key`, created if missing."""
        self._ops.setdefault(collection, []).append(UpdateOne({"_id": key}, update, upsert=True))
        self._keyed.setdefault(collection, set()).add(key)

    def absent(self, collection: str, keys: Iterable[Any]) -> None:
        """These documents are not stored: this transaction read them and found nothing (a read outside
        it would not do: another writer may create them meanwhile). Until the next flush, a `set` or a
        `replace` of one is sent as an insert."""
        self._absent.setdefault(collection, set()).update(keys)

    def set(self, collection: str, key: Any, fields: Doc) -> None:
        """`$set` these fields on the document `key` (created if missing), coalesced: the batch sends one
        update per document, with the last value of each field. Sent after the collection's `write`s."""
        self._sets.setdefault(collection, {}).setdefault(key, {}).update(fields)

    def replace(self, collection: str, doc: Doc) -> None:
        """Replace (or create) the document `doc["_id"]`, coalesced: the last one of the batch is sent,
        after the collection's `write`s and `set`s."""
        self._replaces.setdefault(collection, {})[doc["_id"]] = doc

    @property
    def pending(self) -> int:
        return (
            sum(len(ops) for ops in self._ops.values())
            + sum(len(d) for d in self._sets.values())
            + sum(len(d) for d in self._replaces.values())
        )

    async def flush(self) -> None:
        collections = dict.fromkeys([*self._ops, *self._sets, *self._replaces])
        for collection in collections:
            ops: list[WriteOp] = list(self._ops.get(collection, []))
            sets, replaces = self._sets.get(collection, {}), self._replaces.get(collection, {})
            new = self._new(collection, sets, replaces)
            ops += [InsertOne({"_id": k, **sets[k]} if k in sets else replaces[k]) for k in new]
            ops += [UpdateOne({"_id": k}, {"$set": f}, upsert=True) for k, f in sets.items() if k not in new]
            ops += [ReplaceOne({"_id": k}, d, upsert=True) for k, d in replaces.items() if k not in new]
            if not ops:
                continue
            try:
                await self.db[collection].bulk_write(ops, ordered=True, session=self.session)
            except BulkWriteError as exc:
                if new and is_duplicate_key(exc):
                    raise NotAbsent(collection) from exc
                raise
        for ops_of in (self._ops, self._sets, self._replaces, self._absent, self._keyed):
            ops_of.clear()  # what was absent is written now
        self._opaque.clear()

    def _new(self, collection: str, sets: dict[Any, Doc], replaces: dict[Any, Doc]) -> list[Any]:
        """The documents of `collection` the flush creates with an insert: absent, and written once (by
        one `set` of plain fields, or one `replace`), after no other write of this batch."""
        absent = self._absent.get(collection)
        if not absent or not self.inserts or collection in self._opaque:
            return []
        keyed = self._keyed.get(collection, set())
        plain = {k for k, f in sets.items() if not any("." in name or name.startswith("$") for name in f)}
        once = (plain - replaces.keys()) | (replaces.keys() - sets.keys())
        return [k for k in [*sets, *replaces] if k in once and k in absent and k not in keyed]


Handler = Callable[[Any, EventMeta, Tx[Any]], Awaitable[None]]


@dataclass(frozen=True)
class HandlerSpec:
    event_type: str  # vn.antq.<service>.<aggregate>.<event>.v<N>
    model: type[BaseModel]
    fn: Handler


@dataclass(frozen=True)
class Batch:
    """Take up to `max_messages`, waiting at most `max_wait_ms` after the first, into one transaction."""

    max_messages: int = 500
    max_wait_ms: int = 200


@dataclass
class Consumer(Generic[S]):
    """A durable consumer of one producer's stream, declared next to a service's commands and queries.

    `collections` are what its handlers write (the rebuild replays into fresh copies of them and
    swaps them in); `indexes` creates their indexes on the database it is given."""

    name: str
    store: Callable[[AsyncDatabase[Doc], AsyncClientSession | None], S]
    collections: tuple[str, ...]
    indexes: Callable[[AsyncDatabase[Doc]], Awaitable[None]] | None = None
    batch: Batch | None = None  # None: one event per transaction
    # called once per transaction, before the handlers, with the events about to be applied: a store
    # may load in one read what the handlers will ask for one by one
    prefetch: Callable[[Tx[S], list[tuple[BaseModel, EventMeta]]], Awaitable[None]] | None = None
    description: str = ""
    # whether handlers read the event as received (`EventMeta.envelope`: notifications posts it to webhooks).
    # False: a delivery keeps the envelope's attributes, not the envelope (3–4.6 KB an event as pydantic
    # made it, with its data a second time beside the validated payload; 1 000 a consumer in flight)
    envelope: bool = True
    # aggregates (and ids of unversioned events) its tracking remembers (tracking.CACHE_LIMIT); past it the
    # oldest half is forgotten and read again when their next event comes
    cache_limit: int = CACHE_LIMIT
    # called after each transaction that applied events (a publisher waiting for changes is woken)
    committed: Callable[[], None] | None = None
    handlers: dict[str, HandlerSpec] = field(default_factory=dict)
    aggregates: set[tuple[str, str]] = field(default_factory=set)  # (service, aggregate)
    majors: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (service, aggregate, event) → major read

    def on(self, model: type[P]) -> Callable[[Callable[[P, EventMeta, Tx[S]], Awaitable[None]]], Handler]:
        """Register the handler of one event type, named by its payload model (of the major it reads:
        the other majors of that event are upcast to it, or skipped; see `major_read`)."""
        service, aggregate, event, major = event_version_of(model)

        def register(fn: Callable[[P, EventMeta, Tx[S]], Awaitable[None]]) -> Handler:
            t = event_type(service, aggregate, event, major)
            if t in self.handlers or (service, aggregate, event) in self.majors:
                raise ValueError(f"consumer {self.name} already handles {t} (one major of an event per consumer)")
            self.majors[(service, aggregate, event)] = major
            if self.aggregates and {s for s, _ in self.aggregates} != {service}:
                raise ValueError(f"consumer {self.name} reads one stream; {t} is in another")
            self.handlers[t] = HandlerSpec(t, model, fn)
            self.aggregates.add((service, aggregate))
            return fn

        return register

    def major_read(self, type_: str) -> tuple[HandlerSpec, int, int] | None:
        """For an event of a major this consumer has no handler for, but of an event it handles in
        another major: (that handler, the event's major, the major read); else None."""
        parsed = parse_event_type(type_)
        if parsed is None:
            return None
        service, aggregate, event, major = parsed
        wanted = self.majors.get((service, aggregate, event))
        if wanted is None or wanted == major:
            return None
        return self.handlers[event_type(service, aggregate, event, wanted)], major, wanted

    @property
    def stream(self) -> str:
        services = {s for s, _ in self.aggregates}
        if len(services) != 1:
            raise ValueError(f"consumer {self.name} must handle the events of exactly one service")
        return producer_stream(services.pop()).name

    @property
    def subjects(self) -> list[str]:
        """Every event of each aggregate it handles: events it has no handler for still advance the
        aggregate's version, so a version is never missing because of the filter."""
        return sorted(f"{ROOT}.{service}.{aggregate}.>" for service, aggregate in self.aggregates)

    @property
    def tracking(self) -> str:
        """Its tracking collection: aggregate versions and processed event ids."""
        return f"track_{self.name}"

    def owned(self) -> tuple[str, ...]:
        return (self.tracking, *self.collections)


# ------------------------------------------------------------------------------------ ordering


class Ordered(Protocol):
    """What ordering needs of one event: its id, and (aggregate key, version) when it has one."""

    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str | None: ...
    @property
    def version(self) -> int | None: ...


@dataclass(frozen=True)
class Keyed:
    """An event as ordering sees it, and nothing more."""

    id: str
    key: str | None
    version: int | None


K = TypeVar("K", bound=Ordered)


@dataclass
class Plan(Generic[K]):
    apply: list[K] = field(default_factory=list)  # in order
    duplicate: list[K] = field(default_factory=list)  # this event id was applied already
    stale: list[K] = field(default_factory=list)  # older than the version stored for its aggregate
    held: list[K] = field(default_factory=list)  # a version is missing before it: it waits (the gap rule)
    versions: dict[str, int] = field(default_factory=dict)  # aggregate key → version after `apply`


def plan(events: Iterable[K], stored: dict[str, int], processed: set[str]) -> Plan[K]:
    """Order one delivery's events per aggregate. An event applies when its version is the next
    after the stored one (events in between that arrive later in the same delivery are taken in
    version order); older versions are skipped; a version beyond a missing one is held. Events
    without a version apply once, keyed by their id."""
    out: Plan[K] = Plan()
    expected: dict[str, int] = {}
    waiting: dict[str, dict[int, K]] = {}
    seen = set(processed)
    for e in events:
        if e.id in seen:
            out.duplicate.append(e)
            continue
        if e.key is None or e.version is None:
            seen.add(e.id)
            out.apply.append(e)
            continue
        key, version = e.key, e.version
        nxt = expected.setdefault(key, stored.get(key, 0) + 1)
        if version < nxt:
            out.stale.append(e)
        elif version > nxt:
            if version in waiting.setdefault(key, {}):
                out.duplicate.append(e)  # the same version twice under two ids: the later one is a copy
            else:
                waiting[key][version] = e
        else:
            seen.add(e.id)
            out.apply.append(e)
            nxt += 1
            while nxt in waiting.get(key, {}):
                follower = waiting[key].pop(nxt)
                seen.add(follower.id)
                out.apply.append(follower)
                nxt += 1
            expected[key] = nxt
    out.held = [e for held in waiting.values() for e in held.values()]
    out.versions = {k: v - 1 for k, v in expected.items() if v - 1 > stored.get(k, 0)}
    return out
