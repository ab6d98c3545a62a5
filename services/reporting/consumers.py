"""Reporting's consumers, in the kit's batch mode: the units replica, registry's campaigns,
festivals and models, and awards' nominations, awards and gifts. Each handler reads through the
batch's store (so a later event of the batch sees an earlier one) and queues bulk writes.

The kit orders events per aggregate (a `festival.held` that arrives before its `festival.planned`
waits for it), and units are joined at query time, so unit events may come in any order relative
to festival events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.deps import Reporting
from services.reporting.projection import unit_summary
from services.reporting.queries import snapshot_figures
from services.reporting.store import (
    AWARDS_COLLECTIONS,
    REGISTRY_COLLECTIONS,
    UNITS,
    ReportingStore,
    awards_indexes,
    field_key,
    key,
    registry_indexes,
    traced,
)
from shared.contract import awards as a
from shared.contract import registry as r
from shared.replicas.units_store import CHANGED, units_consumer
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from shared.runtime.mongo import Doc

BATCH = Batch(max_messages=500, max_wait_ms=200)
# what each consumer's tracking remembers (Consumer.cache_limit): reporting already holds the tree and the
# year in memory, and at 100 000 units three caches of 40 000 took 16 MB of its 200 (bench.reporting_memory);
# above make bench's 10 000 festivals, so its ingest reads no receipt
TRACKING_CACHE = 12_000


def _store(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> ReportingStore:
    return ReportingStore(db, session)


def put(tx: Tx[ReportingStore], coll: str, doc: Doc) -> None:
    tx.store.remember(coll, doc)
    tx.replace(coll, doc)


def mark(tx: Tx[ReportingStore], year: int, unit_id: str, meta: EventMeta, subtree: bool = False) -> None:
    """The publisher's work list: one document per transaction listing the (year, unit)s it changed,
    each with the event that changed it (the cause and correlation of the coverage.updated to come)."""
    doc = tx.store.marks(year, unit_id, subtree, meta.id, meta.correlation_id or meta.id)
    if doc is not None:
        tx.replace("dirty", doc)


# ------------------------------------------------------------------------------------ registry


def registry_consumer(deps: Reporting) -> Consumer[ReportingStore]:
    consumer: Consumer[ReportingStore] = Consumer(
        name="registry",
        store=_store,
        collections=REGISTRY_COLLECTIONS,
        indexes=registry_indexes,
        batch=BATCH,
        envelope=False,  # its handlers read the envelope's attributes only
        prefetch=_prefetch_festivals,
        description="Campaigns, festivals and models per unit and year, from registry's events.",
    )

    @consumer.on(r.CampaignOpened)
    async def opened(e: r.CampaignOpened, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        doc = {"_id": e.campaign_id, **e.model_dump(mode="json"), "closed_on": None}
        put(tx, "campaigns", doc)
        # its expected kinds may change the figures of every scope in its subtree, and those above
        mark(tx, e.year, e.scope_unit_id, meta, subtree=True)

    @consumer.on(r.CampaignClosed)
    async def closed(e: r.CampaignClosed, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        # through the same coalesced replace as `opened`: an opened and a closed in one batch (a rebuild
        # replays them together) leave the campaign closed
        opened = await tx.store.get("campaigns", e.campaign_id) or {"_id": e.campaign_id, **e.model_dump(mode="json")}
        put(tx, "campaigns", {**opened, "closed_on": e.closed_on.isoformat()})
        # the season review begins: its figures are those of this moment in registry's stream (what the
        # batch wrote before this event is flushed first, so the transaction reads it); the publisher
        # sends the snapshot once per campaign
        await tx.flush()
        day = min(e.closed_on, dt.date(e.year, 12, 31))
        figures = await snapshot_figures(tx.store, deps.trees(tx.store.db), e.year, e.scope_unit_id, day)
        if figures is not None:
            tx.replace(
                "snapshot_requests",
                {
                    "_id": e.campaign_id,
                    "year": e.year,
                    "scope_unit_id": e.scope_unit_id,
                    "closed_on": e.closed_on.isoformat(),
                    "cause": meta.id,
                    "correlation": meta.correlation_id,
                    **traced(),
                    **figures,
                },
            )

    async def festival(
        tx: Tx[ReportingStore], meta: EventMeta, festival_id: str, unit_id: str, year: int, **fields: Any
    ) -> None:
        old = await tx.store.get("festivals", festival_id)
        doc = {**(old or {"_id": festival_id}), "unit_id": unit_id, "year": year, **fields}
        put(tx, "festivals", doc)
        summary = unit_summary(await tx.store.festivals_of(year, unit_id))
        fields = {"year": year, "unit_id": unit_id, "festival": summary, CHANGED: tx.stamp}
        tx.set("unit_year", key(year, unit_id), fields)
        mark(tx, year, unit_id, meta)

    @consumer.on(r.FestivalPlanned)
    async def planned(e: r.FestivalPlanned, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await festival(
            tx,
            meta,
            e.festival_id,
            e.unit_id,
            e.year,
            status="planned",
            date=e.date.isoformat(),
            campaign_id=e.campaign_id,
            point_level=e.point_level,
            designated_by=e.designated_by,
        )

    @consumer.on(r.FestivalRescheduled)
    async def rescheduled(e: r.FestivalRescheduled, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await festival(tx, meta, e.festival_id, e.unit_id, e.year, date=e.date.isoformat())

    @consumer.on(r.FestivalHeldV2)  # v1 from before v2 is read through its upcaster; v1 twins are skipped
    async def held(e: r.FestivalHeldV2, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        for model_id in dict.fromkeys(e.models_launched):  # launched at a festival
            tx.upsert("models", model_id, {"$set": {"at_festival": True}})
        await festival(
            tx,
            meta,
            e.festival_id,
            e.unit_id,
            e.year,
            status="held",
            held_on=e.held_on.isoformat(),
            on_time=e.on_time,
            reported_on=e.reported_on.isoformat() if e.reported_on else None,
            reported_on_time=e.reported_on_time,
            ceremony_held=e.ceremony_held,
            festival_part_held=e.festival_part_held,
            participants=e.participants,
            cost_vnd=e.cost_vnd,
            funding=[line.model_dump() for line in e.funding],
            models_launched=len(e.models_launched),
            models_launched_ids=list(e.models_launched),
            gifts=e.gifts or None,
            delegates=list(e.delegates),
            review="pending",  # reported (again): the level above reviews it
            review_reason=None,
            **({"point_level": e.point_level, "designated_by": e.designated_by} if e.point_level else {}),
        )

    @consumer.on(r.FestivalReportAccepted)
    async def accepted(e: r.FestivalReportAccepted, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await festival(tx, meta, e.festival_id, e.unit_id, e.year, review="accepted", review_reason=None)

    @consumer.on(r.FestivalReportReturned)
    async def returned(e: r.FestivalReportReturned, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await festival(tx, meta, e.festival_id, e.unit_id, e.year, review="returned", review_reason=e.reason)

    @consumer.on(r.FestivalCancelled)
    async def cancelled(e: r.FestivalCancelled, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await festival(tx, meta, e.festival_id, e.unit_id, e.year, status="cancelled")

    @consumer.on(r.ModelRecognised)
    async def recognised(e: r.ModelRecognised, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        fields = {"recognised_on": e.recognised_on.isoformat(), "level": e.level}
        tx.upsert("models", e.model_id, {"$set": fields})
        mark(tx, e.recognised_on.year, e.unit_id, meta)

    @consumer.on(r.ModelRetired)
    async def retired(e: r.ModelRetired, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        tx.upsert("models", e.model_id, {"$set": {"retired_on": e.retired_on.isoformat()}})
        mark(tx, e.retired_on.year, e.unit_id, meta)

    @consumer.on(r.ModelRegistered)
    async def model(e: r.ModelRegistered, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        fields: dict[str, Any] = {"unit_id": e.unit_id, "launched_on": e.launched_on.isoformat()}
        if e.festival_id:
            fields["at_festival"] = True
        tx.upsert("models", e.model_id, {"$set": fields})
        mark(tx, e.launched_on.year, e.unit_id, meta)
        year = e.launched_on.year
        tx.upsert(
            "unit_year",
            key(year, e.unit_id),
            {"$set": {"year": year, "unit_id": e.unit_id, CHANGED: tx.stamp}, "$inc": {"models_launched": 1}},
        )

    @consumer.on(r.ModelReplicated)
    async def replicated(e: r.ModelReplicated, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        year = e.replicated_on.year
        tx.upsert(
            "unit_year",
            key(year, e.unit_id),
            {"$set": {"year": year, "unit_id": e.unit_id, CHANGED: tx.stamp}, "$inc": {"models_replicated": 1}},
        )

    return consumer


async def _prefetch_festivals(tx: Tx[ReportingStore], events: list[tuple[BaseModel, EventMeta]]) -> None:
    """One read per 100 (year, unit)s of the batch: every festival of them. A festival event names its
    unit and year (which never change), so its festival, if stored, is among those."""
    festival_events = (
        r.FestivalPlanned,
        r.FestivalRescheduled,
        r.FestivalHeldV2,
        r.FestivalCancelled,
        r.FestivalReportAccepted,
        r.FestivalReportReturned,
    )
    mine = [e for e, _ in events if isinstance(e, festival_events)]
    await tx.store.load_festivals_of({(e.year, e.unit_id) for e in mine})
    tx.absent("festivals", tx.store.known_absent("festivals", {e.festival_id for e in mine}))


# ------------------------------------------------------------------------------------ awards


def awards_consumer() -> Consumer[ReportingStore]:
    consumer: Consumer[ReportingStore] = Consumer(
        name="awards",
        store=_store,
        collections=AWARDS_COLLECTIONS,
        indexes=awards_indexes,
        batch=BATCH,
        envelope=False,  # its handlers read the envelope's attributes only
        prefetch=_prefetch_awards,
        description="Nominations and awards by form and status, and gifts, per unit and year, from awards' events.",
    )

    def count(tx: Tx[ReportingStore], what: str, doc: Doc, status: str, by: int) -> None:
        field = f"{what}.{doc['form']}.{status}"
        tx.upsert(
            "unit_awards",
            key(doc["year"], doc["unit_id"]),
            {"$set": {"year": doc["year"], "unit_id": doc["unit_id"]}, "$inc": {field: by}},
        )

    def standing(tx: Tx[ReportingStore], award: Doc, by: int) -> None:
        """The awards standing, split as the season report counts them: by nominee kind (collectives,
        individuals), by granting level, by form and kind, each with its amount."""
        kind, level = award.get("nominee_kind", "unknown"), award.get("level", "unknown")
        form, amount = award["form"], award["amount_vnd"] * by
        tx.upsert(
            "unit_awards",
            key(award["year"], award["unit_id"]),
            {
                "$inc": {
                    f"split.kind.{kind}.awards": by,
                    f"split.kind.{kind}.amount_vnd": amount,
                    f"split.level.{level}.awards": by,
                    f"split.level.{level}.amount_vnd": amount,
                    f"split.form.{form}.{kind}.awards": by,
                    f"split.form.{form}.{kind}.amount_vnd": amount,
                }
            },
        )

    async def move(tx: Tx[ReportingStore], coll: str, what: str, doc_id: str, status: str, **extra: Any) -> Doc | None:
        old = await tx.store.get(coll, doc_id)
        if old is None or "form" not in old:
            # an award's own events may overtake the approval that creates it (another aggregate):
            # the status waits on a placeholder and counts when the approval arrives
            put(tx, coll, {**(old or {"_id": doc_id}), "pending_status": status, **extra})
            return None
        count(tx, what, old, old["status"], -1)
        new = {**old, "status": status, **extra}
        count(tx, what, new, status, +1)
        put(tx, coll, new)
        return new

    @consumer.on(a.NominationSubmitted)
    async def submitted(e: a.NominationSubmitted, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        doc = {
            "_id": e.nomination_id,
            "unit_id": e.nominee.unit_id,
            "year": e.year,
            "form": e.award_form,
            "status": "submitted",
        }
        put(tx, "nominations", doc)
        count(tx, "nominations", doc, "submitted", +1)

    @consumer.on(a.NominationReturned)
    async def returned(e: a.NominationReturned, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await move(tx, "nominations", "nominations", e.nomination_id, "returned")

    @consumer.on(a.NominationResubmitted)
    async def resubmitted(e: a.NominationResubmitted, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await move(tx, "nominations", "nominations", e.nomination_id, "resubmitted")

    @consumer.on(a.NominationRejected)
    async def rejected(e: a.NominationRejected, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await move(tx, "nominations", "nominations", e.nomination_id, "rejected")

    @consumer.on(a.NominationApproved)
    async def approved(e: a.NominationApproved, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await move(tx, "nominations", "nominations", e.nomination_id, "approved")
        early = await tx.store.get("awards", e.award_id) or {}  # a conferral or revocation that came first
        status = early.get("pending_status", "approved")
        amount = 0 if status == "revoked" else e.amount_vnd or 0
        level = e.decided_by.level or ("outside" if e.decided_by.kind == "outside" else "unknown")
        award = {
            "_id": e.award_id,
            "unit_id": e.nominee.unit_id,
            "year": e.year,
            "form": e.award_form,
            "status": status,
            "amount_vnd": e.amount_vnd or 0,
            "festival_id": early.get("festival_id"),
            "nominee_kind": e.nominee.kind,
            "level": level,
        }
        put(tx, "awards", award)
        count(tx, "awards", award, status, +1)
        tx.upsert("unit_awards", key(e.year, e.nominee.unit_id), {"$inc": {"amount_vnd": amount}})
        if status != "revoked":
            standing(tx, award, +1)

    @consumer.on(a.AwardConferred)
    async def conferred(e: a.AwardConferred, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        await move(tx, "awards", "awards", e.award_id, "conferred", festival_id=e.festival_id)

    @consumer.on(a.AwardRevoked)
    async def revoked(e: a.AwardRevoked, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        old = await tx.store.get("awards", e.award_id)
        new = await move(tx, "awards", "awards", e.award_id, "revoked")
        if new is not None:  # a revoked award's amount no longer counts
            tx.upsert("unit_awards", key(new["year"], new["unit_id"]), {"$inc": {"amount_vnd": -new["amount_vnd"]}})
            if old is not None and old.get("status") != "revoked":
                standing(tx, new, -1)

    @consumer.on(a.GiftRecorded)
    async def gift(e: a.GiftRecorded, meta: EventMeta, tx: Tx[ReportingStore]) -> None:
        source = field_key(e.funding_source)
        tx.upsert(
            "unit_awards",
            key(e.year, e.unit_id),
            {
                "$set": {"year": e.year, "unit_id": e.unit_id},
                "$inc": {
                    "gifts.entries": 1,
                    "gifts.recipients": e.recipients,
                    "gifts.value_vnd": e.value_vnd,
                    f"gifts.by_funding.{source}": e.value_vnd,
                    f"gifts.by_kind.{e.beneficiary_kind}.entries": 1,
                    f"gifts.by_kind.{e.beneficiary_kind}.recipients": e.recipients,
                    f"gifts.by_kind.{e.beneficiary_kind}.value_vnd": e.value_vnd,
                    # the festivals whose gifts the ledger details (their reports' totals then do not count)
                    **({f"gifts.festivals.{e.festival_id}": 1} if e.festival_id else {}),
                },
            },
        )

    return consumer


async def _prefetch_awards(tx: Tx[ReportingStore], events: list[tuple[BaseModel, EventMeta]]) -> None:
    await tx.store.load("nominations", {n for e, _ in events if (n := getattr(e, "nomination_id", None))})
    await tx.store.load("awards", {x for e, _ in events if (x := getattr(e, "award_id", None))})


def consumers(deps: Reporting) -> list[Consumer[Any]]:
    units = units_consumer("units", UNITS, batch=BATCH, changes=True)  # the tree in memory reads what changed
    out: list[Consumer[Any]] = [units, registry_consumer(deps), awards_consumer()]
    for consumer in out:
        consumer.committed = deps.changed.set  # the publisher sends what changed without waiting out a round
        consumer.cache_limit = TRACKING_CACHE
    return out
