"""Reporting's composition root: settings → kit → dependencies → consumers of registry's and awards'
events, queries, the snapshot command and the topics publisher → service host."""

from __future__ import annotations

from services.reporting import board, consumers, handlers, queries, store, topics
from services.reporting.deps import Reporting, ReportingSettings
from shared.contract import reporting as contract
from shared.contract.subjects import event_subject
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.kit import Clock, Kit

__all__ = ["ReportingSettings", "create", "definition"]


def definition(deps: Reporting) -> ServiceDefinition:
    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=queries.QUERIES,
        events=contract.EVENTS,
        # a query (no session) reads at one point in time: each fence and year's campaigns once
        store_factory=lambda db, session: store.ReportingStore(db, session, pinned=session is None),
        ensure_indexes=store.ensure_indexes,
        consumers=consumers.consumers(deps),
        background=[lambda: topics.publisher(deps)],
        deps=deps,
        web=board.app,
        # the board reads registry's calendar with the viewer's token and listens to its own topic
        asks=("antq.query.registry.festivals",),
        listens=(event_subject(contract.SERVICE, "coverage", "updated", 1),),
        description="Coverage and results of the All-People's Festival for Protecting National Security, rolled up "
        "the dated unit tree from registry's and awards' events; coalesced topics and the season report.",
    )


def create(settings: ReportingSettings | None = None, clock: Clock | None = None) -> ServiceHost:
    s = settings or ReportingSettings()
    kit = Kit.create(contract.SERVICE, s, clock)
    return ServiceHost(definition(Reporting(s, kit)), kit=kit)
