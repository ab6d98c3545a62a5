"""Reporting's composition root: settings → store → consumers of registry's and awards' events,
queries, the snapshot command and the topics publisher → service host."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import Field
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting import consumers, handlers, queries, store, topics
from shared.contract import reporting as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.mongo import Doc
from shared.runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    http_port: int = 8104
    coverage_interval_seconds: float = Field(
        default=5.0, gt=0, description="coverage.updated is sent at most this often per (year, scope)"
    )


def definition() -> ServiceDefinition:
    def store_factory(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> store.ReportingStore:
        return store.ReportingStore(db, session)

    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=queries.QUERIES,
        events=contract.EVENTS,
        store_factory=store_factory,
        ensure_indexes=store.ensure_indexes,
        consumers=consumers.consumers(),
        background=[topics.publisher],
        description="Coverage and results of the All-People's Festival for Protecting National Security, rolled up "
        "the dated unit tree from registry's and awards' events; coalesced topics and the season report.",
    )


def create(settings: ReportingSettings | None = None, clock: Callable[[], dt.datetime] | None = None) -> ServiceHost:
    return ServiceHost(definition(), settings or ReportingSettings(), clock)
