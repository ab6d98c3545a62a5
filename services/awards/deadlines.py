"""Dossiers past their due date: a loop finds the open ones not decided in their processing time and
announces each once (`nomination.overdue`, which notifications sends to the granting authority's
recipients), in one transaction with the nomination's new version, like a command's events."""

from __future__ import annotations

import asyncio
import logging

from pymongo.asynchronous.client_session import AsyncClientSession

from services.awards.deps import Awards
from services.awards.domain import dossier
from services.awards.domain.model import Nomination
from services.awards.store import AwardsStore
from shared.contract.envelope import Actor, new_event
from shared.contract.errors import ConcurrentChange
from shared.contract.events import DomainEvent
from shared.contract.subjects import event_type
from shared.runtime.mongo import in_transaction

log = logging.getLogger("antq.awards.deadlines")
SYSTEM = Actor(id="system:awards", unit=None, role="admin")
BATCH = 200


async def announce_overdue(deps: Awards) -> int:
    """One pass: every open dossier due before today and not announced yet. Returns how many were."""
    today = deps.kit.today()
    flt = {"status": {"$in": ["submitted", "resubmitted"]}, "due_on": {"$lt": today.isoformat()}, "overdue_on": None}
    found = await deps.kit.db.nominations.find(flt).limit(BATCH).to_list()
    count = 0
    for doc in found:
        n = Nomination.model_validate(doc)
        done = dossier.overdue(n, today)
        if done is None:
            continue
        new, e = done

        async def work(
            session: AsyncClientSession, n: Nomination = n, new: Nomination = new, e: DomainEvent = e
        ) -> None:
            await AwardsStore(deps.kit.db, session).save_nomination(new, n.version)
            event = new_event(
                source="antq/awards",
                type=event_type("awards", e.aggregate, e.name, e.version),
                subject=e.subject,
                data=e.data.model_dump(mode="json"),
                actor=SYSTEM,
                aggregateversion=e.aggregate_version,
                time=deps.kit.clock(),
            )
            await deps.kit.outbox.add([event], session)

        try:
            await in_transaction(deps.kit.mongo, work)
        except ConcurrentChange:
            continue  # decided, or announced by another instance, meanwhile
        count += 1
    if count:
        deps.kit.outbox.notify()
        log.info("overdue dossiers announced", extra={"count": count})
    return count


async def run(deps: Awards) -> None:
    while not deps.kit.stopping.is_set():
        try:
            await announce_overdue(deps)
        except Exception as exc:  # the database away: tried again next round
            log.warning("overdue check failed", extra={"error": str(exc)[:200]})
        try:
            await asyncio.wait_for(deps.kit.stopping.wait(), deps.settings.overdue_check_seconds)
        except TimeoutError:
            pass
