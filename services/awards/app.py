"""Awards' composition root: settings → rules (checked at start) → store → handler tables and
consumers of registry's events → service host.

Nothing connects at import; `create()` builds (and loads the rules), `ServiceHost.run()` connects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.awards import handlers, queries, replica, rules, store
from shared.contract import awards as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.mongo import Doc
from shared.runtime.settings import ServiceSettings


class AwardsSettings(ServiceSettings):
    http_port: int = 8102


def definition() -> ServiceDefinition:
    rules.load()  # a rules file that fails its schema stops the service here, before it connects

    def store_factory(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> store.AwardsStore:
        return store.AwardsStore(db, session)

    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=queries.QUERIES,
        events=contract.EVENTS,
        store_factory=store_factory,
        ensure_indexes=store.ensure_indexes,
        consumers=replica.consumers(),
        description="Commendations (khen thưởng) of the All-People's Festival for Protecting National Security: "
        "award rules as dated data, nominations and decisions, awards conferred and revoked, gifts and visits.",
    )


def create(settings: AwardsSettings | None = None, clock: Callable[[], dt.datetime] | None = None) -> ServiceHost:
    return ServiceHost(definition(), settings or AwardsSettings(), clock)
