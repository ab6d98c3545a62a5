"""Reporting's topics: `coverage.updated`, coalesced per (year, scope) and sent at most once per
interval for every scope whose figures changed, at every level; `snapshot.published` on
`publish-snapshot` and once per `campaign.closed`.

The consumers only mark what changed (`dirty`, `snapshot_requests`); this publisher turns the marks
into events through the outbox, in one transaction with the record of what it published, so a crash
between the two publishes nothing twice and loses nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from services.reporting.cache import TreeCache
from services.reporting.deps import Reporting, Seen
from services.reporting.projection import season_tree_date
from services.reporting.queries import figures_of
from services.reporting.store import ReportingStore
from shared.contract import reporting as c
from shared.contract.envelope import CloudEvent, new_event
from shared.contract.errors import DomainError
from shared.contract.ids import uuid7
from shared.contract.subjects import event_type
from shared.replicas.units import Record, UnitsView
from shared.runtime.mongo import IN_CHUNK, Doc, delete_ids, in_transaction
from shared.runtime.tracing import Carrier

log = logging.getLogger("antq.reporting.topics")


MAX_MARK_DOCS = 500  # consumer transactions' mark lists per round; the rest waits for the next one
# marks read per round (whole lists: at least one): a backlog of a province's festivals read at once
# was hundreds of thousands of decoded marks, and every scope's causes with them; all but MAX_SCOPES
# of the scopes are carried to the next rounds, so a round reads a few times as many marks, no more
MAX_MARKS = 5_000
MAX_SCOPES = 500  # (year, scope)s computed and published per round, the highest levels first
TREE_CHANGES = 2 * MAX_SCOPES  # units of a changed tree taken per round; the next rounds take the rest


def event(
    aggregate: str,
    name: str,
    subject: str,
    data: Any,
    version: int,
    now: dt.datetime,
    cause: str | None = None,
    correlation: str | None = None,
) -> CloudEvent:
    return new_event(
        source="antq/reporting",
        type=event_type(c.SERVICE, aggregate, name),
        subject=subject,
        data=data.model_dump(mode="json"),
        aggregateversion=version,
        time=now,
        causationid=cause,
        correlationid=correlation or cause,
    )


async def snapshot(
    store: ReportingStore,
    cache: TreeCache,
    today: dt.date,
    year: int,
    scope: str,
    tree_date: dt.date | None,
    reason: str,
    campaign_id: str | None,
    now: dt.datetime,
) -> c.SnapshotPublished:
    out = await figures_of(store, cache, today, year, scope, tree_date)
    return c.SnapshotPublished(
        snapshot_id=uuid7(),
        year=year,
        scope_unit_id=scope,
        tree_date=dt.date.fromisoformat(out["tree_date"]),
        reason=reason,
        campaign_id=campaign_id,
        figures=c.Figures.model_validate(out),
        breakdown=[c.Breakdown.model_validate(r) for r in out["breakdown"]],
    )


async def publish_once(deps: Reporting) -> int:
    """One round: the figures of every scope above a marked (year, unit), sent when they changed; the
    snapshots of closed campaigns not sent yet. Returns how many events went to the outbox."""
    now = deps.kit.clock()
    today = now.astimezone(deps.kit.tz).date()
    db = deps.kit.db
    store = ReportingStore(db, pinned=True)  # one read of each fence and of the campaigns per round
    cache = deps.trees(db)
    # the consumers' transactions' lists of changed (year, unit)s, oldest first
    batches = await read_marks(db)
    marks = [m for b in batches for m in b.get("marks", [])]
    requests = await db.snapshot_requests.find({}).to_list()
    before = deps.seen
    view = await cache.tree(store)
    # (year, scope) → the events that changed it since the last round, oldest first: id → correlation
    scopes: dict[tuple[int, str], dict[str, str]] = {}
    traces: dict[str, Carrier] = {}  # cause → its trace context (tracing on)

    def changed(year: int, unit_id: str, cause: str | None, correlation: str | None) -> None:
        causes = scopes.setdefault((year, unit_id), {})
        if cause is not None:
            causes.setdefault(cause, correlation or cause)
            if len(causes) > 2 * c.CAUSES_KEPT:  # only the newest are sent: a province's are not all kept
                for old in list(itertools.islice(causes, len(causes) - c.CAUSES_KEPT)):
                    del causes[old]

    by_year: dict[int, list[Doc]] = {}
    for campaign in await db.campaigns.find({}).to_list():
        by_year.setdefault(campaign["year"], []).append(campaign)

    def season(year: int, unit_id: str) -> dt.date:
        return season_tree_date(year, today, by_year.get(year, []), lambda d: view.ancestry(unit_id, d))

    changes, deps.seen = tree_changes(before, view)
    if before is not None and changes:
        # the tree changed: the scopes above a changed unit, on the old tree and the new, for each
        # year with a campaign (a unit added, moved or closed changes the figures without a festival)
        campaigns = {(c["year"], c["scope_unit_id"]) for cs in by_year.values() for c in cs}
        by_unit = await store.causes([r.unit_id for r in changes])
        for record in changes:
            cause, correlation = by_unit.get(record.unit_id, (None, None))
            for year in sorted({y for y, _ in campaigns}):
                day = season(year, record.unit_id)
                chain = {*view.ancestry(record.unit_id, day), *before.view.ancestry(record.unit_id, day)}
                if any((year, unit_id) in campaigns for unit_id in chain):  # a campaign covers it that year
                    for unit_id in chain:
                        changed(year, unit_id, cause, correlation)
    if not batches and not requests and not scopes:
        return 0
    for m in marks:
        if m.get("trace") and m.get("cause"):
            traces[m["cause"]] = m["trace"]
        if m.get("only"):  # a scope a bounded round left over: itself, not its levels above again
            changed(m["year"], m["unit_id"], m.get("cause"), m.get("correlation"))
            continue
        day = season(m["year"], m["unit_id"])
        for unit_id in view.ancestry(m["unit_id"], day):
            changed(m["year"], unit_id, m.get("cause"), m.get("correlation"))
        if m.get("subtree"):  # a campaign opened: every scope below its scope may count other kinds
            for u in view.subtree(m["unit_id"], day):
                changed(m["year"], u.unit_id, m.get("cause"), m.get("correlation"))
    # a bounded round: the highest levels first; the scopes left over are marked again for the next
    # round (with their causes), so one round never holds the database for the whole tree at once
    carried: list[Doc] = []
    over = len(scopes) > MAX_SCOPES  # the levels are worked out only when the round must be cut
    order = sorted(scopes, key=lambda ys: (len(view.ancestry(ys[1], season(*ys))), ys)) if over else list(scopes)
    for year, scope in order[MAX_SCOPES:]:
        mark = {"year": year, "unit_id": scope, "subtree": False, "only": True, "cause": None, "correlation": None}
        kept = [*scopes[(year, scope)].items()][-c.CAUSES_KEPT :]
        carried += [
            {**mark, "cause": cause, "correlation": corr, **({"trace": traces[cause]} if cause in traces else {})}
            for cause, corr in kept
        ] or [mark]
    scopes = {ys: scopes[ys] for ys in order[:MAX_SCOPES]}
    for year in sorted({y for y, _ in scopes}):  # the marks taken are in these (queries may see older ones)
        await cache.summaries(store, year, fresh=True)
    events: list[CloudEvent] = []
    event_traces: list[Carrier | None] = []  # each coverage.updated continues the trace of its newest cause
    published: list[tuple[str, dict[str, Any]]] = []
    campaign_scopes = {(c["year"], c["scope_unit_id"]) for cs in by_year.values() for c in cs}
    keys = [f"coverage|{year}|{scope}" for year, scope in sorted(scopes)]
    lasts: dict[str, Doc] = {}
    for i in range(0, len(keys), IN_CHUNK):  # what was sent last for these scopes, a read per chunk
        lasts.update({d["_id"]: d for d in await db.published.find({"_id": {"$in": keys[i : i + IN_CHUNK]}}).to_list()})
    for year, scope in sorted(scopes):
        try:
            out = await figures_of(store, cache, today, year, scope, None, breakdown=False)
        except DomainError:
            continue  # a unit reporting does not know yet: its marks come back with its events
        figures = c.Figures.model_validate(out)
        key = f"coverage|{year}|{scope}"
        last = lasts.get(key)
        if last is not None and last.get("figures") == figures.model_dump():
            continue
        version = (last or {}).get("version", 0) + 1
        causes = list(scopes[(year, scope)].items())[-c.CAUSES_KEPT :]
        data = c.CoverageUpdated(
            year=year,
            scope_unit_id=scope,
            tree_date=dt.date.fromisoformat(out["tree_date"]),
            figures=figures,
            caused_by=[cause for cause, _ in causes],
        )
        cause, correlation = causes[-1] if causes else (None, None)
        events.append(event("coverage", "updated", f"{year}:{scope}", data, version, now, cause, correlation))
        event_traces.append(traces.get(cause) if cause else None)
        if (year, scope) in campaign_scopes:
            deps.coverage.labels(str(year), scope).set(figures.coverage)
        published.append((key, {"figures": figures.model_dump(), "version": version, "at": now}))
    for req in requests:
        key = f"snapshot|{req['_id']}"
        if await db.published.find_one({"_id": key}) is not None:
            continue
        snap = c.SnapshotPublished(  # the figures as of the close, computed when the consumer applied it
            snapshot_id=uuid7(),
            year=req["year"],
            scope_unit_id=req["scope_unit_id"],
            tree_date=dt.date.fromisoformat(req["tree_date"]),
            reason="campaign.closed",
            campaign_id=req["_id"],
            figures=c.Figures.model_validate(req["figures"]),
            breakdown=[c.Breakdown.model_validate(b) for b in req["breakdown"]],
        )
        events.append(
            event("snapshot", "published", snap.snapshot_id, snap, 1, now, req.get("cause"), req.get("correlation"))
        )
        event_traces.append(req.get("trace"))
        published.append((key, {"snapshot_id": snap.snapshot_id, "at": now}))

    async def work(session: AsyncClientSession) -> None:
        await deps.kit.outbox.add(events, session, traces=event_traces)
        if published:
            writes = [UpdateOne({"_id": key}, {"$set": doc}, upsert=True) for key, doc in published]
            await db.published.bulk_write(writes, ordered=False, session=session)
        if batches:  # the lists read; those written meanwhile stay for the next round
            await delete_ids(db.dirty, [b["_id"] for b in batches], session)
        if carried:  # in lists of a bounded size, as the consumers write them
            at = dt.datetime.now(dt.UTC)
            lists = [carried[i : i + 2000] for i in range(0, len(carried), 2000)]
            await db.dirty.insert_many([{"_id": uuid7(), "at": at, "marks": m} for m in lists], session=session)
        if requests:
            await delete_ids(db.snapshot_requests, [r["_id"] for r in requests], session)

    await in_transaction(deps.kit.mongo, work)
    deps.kit.outbox.notify()
    return len(events)


async def read_marks(db: Any) -> list[Doc]:
    """The consumers' oldest lists of changed (year, unit)s, whole lists up to MAX_MARKS marks."""
    out: list[Doc] = []
    count = 0
    # a few lists per reply: lists carried from a round hold 2 000 marks, and 20 of them were decoded
    # at once whatever MAX_MARKS
    cursor = db.dirty.find({}).sort("_id", 1).limit(MAX_MARK_DOCS).batch_size(2)
    try:
        async for doc in cursor:
            out.append(doc)
            count += len(doc.get("marks", ()))
            if count >= MAX_MARKS:
                break
    finally:
        await cursor.close()
    return out


def tree_changes(before: Seen | None, view: UnitsView, limit: int = TREE_CHANGES) -> tuple[list[Record], Seen]:
    """The units of `view` changed since the tree last compared against (`before.view`) and not taken
    yet, at most `limit` of them (a province's import changed 100 000 units between two rounds: their
    scopes and causes, and the marks carried for all but MAX_SCOPES of them, were reporting's peak of
    memory); and what to remember: the same old tree while some are left, else `view`."""
    if before is None:
        return [], Seen(view, {})
    if view is before.view:
        return [], before
    base, done = before.view.records, before.done
    found: list[Record] = []
    for record in view.records.values():
        old = base.get(record.unit_id)
        if old is record or (old is not None and old.version == record.version):
            continue
        if done.get(record.unit_id) == record.version:
            continue
        if len(found) == limit:  # more are left: the next rounds take them, against the same old tree
            done.update((r.unit_id, r.version) for r in found)
            return found, Seen(before.view, done)
        found.append(record)
    return found, Seen(view, {})


ROUND_SHARE = 3  # while changes keep coming, publisher rounds take at most a third of the time


async def publisher(deps: Reporting) -> None:
    """One round as soon as a consumer commits a change, then at most one round per
    `coverage_interval_seconds` while changes keep coming (so each (year, scope) gets at most one
    update per interval); a round every interval regardless, for marks another replica left. Errors
    are logged and the next round retries."""
    interval = deps.settings.coverage_interval_seconds
    stopping = deps.kit.stopping
    last = -interval  # the loop's time of the last round that sent something
    ended, took = last, 0.0  # the last round's end and its length

    async def until_stopping(seconds: float) -> bool:
        try:
            await asyncio.wait_for(stopping.wait(), seconds)
            return True
        except TimeoutError:
            return False

    while not stopping.is_set():
        changed = asyncio.ensure_future(deps.changed.wait())
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([changed, stop], timeout=interval, return_when=asyncio.FIRST_COMPLETED)
        for waiter in (changed, stop):
            waiter.cancel()
        if stopping.is_set() or await until_stopping(
            next_round(last, interval, ended, took) - asyncio.get_running_loop().time()
        ):
            return
        deps.changed.clear()
        started = asyncio.get_running_loop().time()
        try:
            sent = await publish_once(deps)
            if sent:  # a round that sent nothing does not wait out the interval
                last = started
                log.info("topics published", extra={"events": sent})
        except Exception as exc:
            log.warning("publishing topics failed; retrying next round", extra={"error": repr(exc)[:300]})
        ended = asyncio.get_running_loop().time()
        took = ended - started


def next_round(last_sent: float, interval: float, ended: float, took: float) -> float:
    """When the next round may start (loop time): an interval after the last round that sent something,
    and (ROUND_SHARE - 1) × the last round's length after it ended, so that while the consumers keep
    committing, the rounds (their reads, and their transaction deleting the marks) take at most
    1 / ROUND_SHARE of the time. A round after a quiet spell starts at once."""
    return max(last_sent + interval, ended + (ROUND_SHARE - 1) * took)
