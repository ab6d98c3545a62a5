"""What a consumer has applied: a receipt per applied event, inserted in the transaction of the
events' effects (so a receipt exists exactly when the effects do).

A versioned event's receipt is `<service>.<aggregate>:<subject>@<version>`; an event without a
version is receipted by its id. Versions apply contiguously, so "version v of X is applied" is
"the receipt X@v exists", and the stored version of X is the highest receipt. The receipts of one
transaction are one document (`r`, indexed): one insert per batch, the store's cheapest write.

The runner keeps the versions it has seen in memory. When the tracking collection was empty at
start (a new consumer, or a rebuild's copy), the cache is complete: an aggregate it has not seen
has no receipt, and no read is needed. Otherwise it reads the receipts it needs, a few batched
point lookups per delivery. A full cache forgets its oldest half and stays complete: what it forgot
goes into a Bloom filter (`Forgotten`), and only a key that may be there is read (an aggregate
never seen still is not). The cache is plain dicts (an ordered dict took twice the memory)
holding the version of each aggregate and the ids of events without one (what correctness needs),
each under a 16-byte digest of its key or id (`_k`: 49 bytes where the string took about 100; at
100 000 units reporting's three caches held 240 000 keys, 31 MB, before they were bounded). A
versioned event's id is kept only in a window of the newest (`RECENT_IDS`): a copy of a recent
event is told from an older version by it (`skipped_duplicate` rather than `skipped_stale`; both
are skipped). At 100 000 units, reporting's three consumers held
every id of 350 000 events besides the versions: about 110 MB.

A cache is only as good as the knowledge that nobody else wrote: every transaction that writes also
bumps a fence document, on the condition that this runner bumped it last. Replicas sharing a durable
thus conflict on the fence (one transaction is retried), and a runner that finds the fence moved
forgets its cache and reads the receipts it needs from then on. Once a runner holds the fence, the
bump goes with the receipts in one bulk write at the end of the transaction (one round trip); if it
matched nothing, the transaction is abandoned (`FenceMoved`) and redone without the cache."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.ids import uuid7
from shared.runtime.mongo import IN_CHUNK, Doc

# aggregates (and ids of unversioned events) remembered; past it the oldest half is forgotten (and read
# when they come back). 250 000 held 31 MB of reporting's RSS at 100 000 units (issue 18)
CACHE_LIMIT = 40_000
RECENT_IDS = 5_000  # ids of the newest versioned events, to count a copy of one as a duplicate


class Tracked(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str | None: ...
    @property
    def version(self) -> int | None: ...
    @property
    def seq(self) -> int: ...


def receipt(key: str, version: int) -> str:
    return f"{key}@{version:010d}"  # zero-padded: receipts of one aggregate sort by version


FENCE = "fence"


class FenceMoved(Exception):
    """Another writer bumped the fence since this runner's last transaction: its cache may be wrong.
    Raised inside the transaction (which is then abandoned); the runner forgets and redoes it."""


class Tracking:
    def __init__(self, db: AsyncDatabase[Doc], collection: str, limit: int = CACHE_LIMIT) -> None:
        self.coll = db[collection]
        self.limit = limit  # the consumer's `cache_limit`
        # under `_k` of their key or id:
        self.versions: dict[bytes, int] = {}  # aggregate → highest applied version, most recently applied last
        self.ids: dict[bytes, None] = {}  # ids of applied events without a version, newest last
        self.recent: dict[bytes, None] = {}  # ids of the newest applied versioned events (copies of them)
        self.complete = False
        self.forgotten: Forgotten | None = None  # what a complete cache let go of (read when asked)
        self.writer = uuid7()
        self.fence: int | None = None  # the fence's count after this runner's last committed transaction
        self._proposed: int | None = None
        self._deferred = False  # the fence is checked and bumped with the receipts (record)
        self._bumped = False  # this transaction moves the fence (to _proposed)

    async def start(self) -> None:
        """A tracking collection without receipts means nothing was applied: the cache is complete."""
        await self.coll.create_index("r")
        self.complete = await self._no_receipts(None)

    async def _no_receipts(self, session: AsyncClientSession | None) -> bool:
        return await self.coll.find_one({"r": {"$exists": True}}, {"_id": 1}, session=session) is None

    async def hold_fence(self, session: AsyncClientSession) -> None:
        """Hold the fence for this transaction. Held already: it is checked and bumped with the receipts
        (`record`). Not held (first transaction, or after a conflict): take it now and learn whether the
        tracking collection is empty."""
        self._bumped = False
        if self.fence is not None:
            self._deferred = True
            self._proposed = self.fence + 1
            return
        self._deferred = False
        doc = await self.coll.find_one_and_update(
            {"_id": FENCE},
            # `epoch`: this fence's own, set once: a count read later is comparable with one read
            # before only under the same epoch (a rebuild swaps in a tracking collection of its own)
            {"$set": {"writer": self.writer}, "$inc": {"n": 1}, "$setOnInsert": {"epoch": uuid7()}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert doc is not None  # upserted
        self._proposed = int(doc["n"])
        self._bumped = True
        self.forget()
        self.complete = await self._no_receipts(session)

    @property
    def proposed(self) -> int | None:
        """The fence's count once this transaction commits: strictly increasing in commit order among the
        transactions of every runner sharing the fence (each moves it by one, on the condition of the
        count before). A document written with it (`Tx.stamp`) can be read as "changed after count n"."""
        return self._proposed

    def lost(self) -> None:
        """The fence moved under this runner (FenceMoved): take it again, and read from now on."""
        self.fence = None
        self.forget()

    def forget(self) -> None:
        """After a conflict (another replica applied what the cache did not know): read from now on."""
        self.versions.clear()
        self.ids.clear()
        self.recent.clear()
        self.forgotten = None
        self.complete = False

    async def stored(
        self, events: Sequence[Tracked], session: AsyncClientSession | None, force_read: bool = False
    ) -> tuple[dict[str, int], set[str]]:
        """The stored version of each aggregate the events touch, as far as ordering needs it, and
        which of the events' ids are applied."""
        versions: dict[str, int] = {}
        applied: set[str] = set()
        lookups: set[str] = set()
        by_key: dict[str, list[int]] = {}
        for e in events:
            digest = _k(e.id)
            known = digest in self.ids
            if known or digest in self.recent:
                applied.add(e.id)  # a copy of an event applied here, under any message id
            if e.key is None or e.version is None:
                if not known and (force_read or not self._never_seen(digest)):
                    lookups.add(f"id:{e.id}")
                continue
            by_key.setdefault(e.key, []).append(e.version)
        for key, vs in by_key.items():
            if (cached := self.versions.get(digest := _k(key))) is not None and not force_read:
                versions[key] = cached
            elif not force_read and self._never_seen(digest):
                versions[key] = 0
            else:
                lookups |= {receipt(key, v) for v in vs} | {receipt(key, v - 1) for v in vs if v > 1}
        found = await self._read(sorted(lookups), session) if lookups else {}
        for key, vs in by_key.items():
            if key in versions:
                continue
            have = [v for v in {*vs, *(v - 1 for v in vs)} if v >= 1 and receipt(key, v) in found]
            # contiguous versions: the highest receipt seen is the stored version, or one past the
            # events' (then they are all stale); with none, it is 0 if a version 1 is there, else
            # below the lowest event's predecessor (a gap)
            versions[key] = max(have) if have else (0 if min(vs) == 1 else min(vs) - 2)
            applied |= {found[receipt(key, v)] for v in vs if receipt(key, v) in found}
        applied |= {f[3:] for f in found if f.startswith("id:")}
        return versions, applied

    def _never_seen(self, digest: bytes) -> bool:
        """Not in the cache (asked already), and surely never applied: the cache is complete and did not
        forget it."""
        return self.complete and (self.forgotten is None or digest not in self.forgotten)

    async def _read(self, wanted: list[str], session: AsyncClientSession | None) -> dict[str, str]:
        """Which of the `wanted` receipts exist (receipt → the id of its event, where recorded)."""
        found: dict[str, str] = {}
        for i in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[i : i + IN_CHUNK]
            cursor = self.coll.find({"r": {"$in": chunk}}, {"r": 1, "ids": 1}, session=session)
            want = set(chunk)
            for doc in await cursor.to_list():
                ids = doc.get("ids") or [None] * len(doc["r"])
                for r, event_id in zip(doc["r"], ids, strict=False):
                    if r in want:
                        found[r] = str(event_id or r)
        return found

    async def record(self, applied: Sequence[Tracked], session: AsyncClientSession) -> None:
        """Insert the receipts of the applied events, one document for the transaction (a receipt
        that exists already aborts the transaction)."""
        if not applied:
            return
        receipts = [
            receipt(e.key, e.version) if e.key is not None and e.version is not None else f"id:{e.id}" for e in applied
        ]
        doc = {"_id": uuid7(), "r": receipts, "ids": [e.id for e in applied], "seq": applied[-1].seq}
        if not self._deferred:
            await self.coll.insert_one(doc, session=session)
            return
        fence = UpdateOne({"_id": FENCE, "writer": self.writer, "n": self.fence}, {"$inc": {"n": 1}})
        result = await self.coll.bulk_write([fence, InsertOne(doc)], ordered=True, session=session)
        if result.matched_count != 1:
            raise FenceMoved(f"{self.coll.name}: another writer moved the fence")
        self._bumped = True

    def remember(self, applied: Iterable[Tracked]) -> None:
        """After the commit: what was applied is known without a read from now on."""
        if self._bumped:
            self.fence = self._proposed
        for e in applied:
            if e.key is not None and e.version is not None:
                key = _k(e.key)
                self.versions.pop(key, None)  # to the end: the least recently applied go first
                self.versions[key] = e.version
                self.recent[_k(e.id)] = None
            else:
                self.ids[_k(e.id)] = None
        if len(self.recent) > RECENT_IDS:
            drop(self.recent, RECENT_IDS // 2)  # labels only: the versions decide what applies
        if len(self.versions) > self.limit or len(self.ids) > self.limit:
            if self.complete and self.forgotten is None:
                self.forgotten = Forgotten()
            for gone in (drop(self.versions, self.limit // 2), drop(self.ids, self.limit // 2)):
                if self.forgotten is not None:
                    self.forgotten.update(gone)  # what was evicted must be read again


def _k(key: str) -> bytes:
    """A cache's key for an aggregate's key or an event's id: 128 bits of BLAKE2b (two of 250 000 keys
    share one with a chance of about 1e-28)."""
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


def drop(cache: dict[bytes, Any], keep: int) -> list[bytes]:
    """Forget the oldest entries of an insertion-ordered dict until `keep` remain; returns their keys."""
    gone = list(itertools.islice(cache, max(len(cache) - keep, 0)))
    for k in gone:
        del cache[k]
    return gone


class Forgotten:
    """A Bloom filter of the digests a complete cache forgot: "not here" is sure (the key was never
    applied, no read), "here" means read it (also for about 1 in 1 300 keys never forgotten, with 250 000
    forgotten; 1 in 5 with a million). 512 KB, where the 250 000 keys took 30 MB."""

    BITS = 1 << 22
    HASHES = 6

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)

    def _positions(self, digest: bytes) -> list[int]:
        h1, h2 = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.BITS for i in range(self.HASHES)]

    def update(self, digests: Iterable[bytes]) -> None:
        for digest in digests:
            for p in self._positions(digest):
                self.bits[p >> 3] |= 1 << (p & 7)

    def __contains__(self, digest: object) -> bool:
        assert isinstance(digest, bytes)
        return all(self.bits[p >> 3] & (1 << (p & 7)) for p in self._positions(digest))
