"""Registry's composition root: settings → store → handler tables → service host.

Nothing connects at import; `create()` builds, `ServiceHost.run()` connects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.registry import handlers, store
from shared.contract import registry as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.mongo import Doc
from shared.runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    http_port: int = 8101


def definition() -> ServiceDefinition:
    def store_factory(db: AsyncDatabase[Doc], session: AsyncClientSession | None) -> store.RegistryStore:
        return store.RegistryStore(db, session)

    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=handlers.QUERIES,
        events=contract.EVENTS,
        store_factory=store_factory,
        ensure_indexes=store.ensure_indexes,
        description="Units (effective-dated tree with lineage), yearly campaigns, festivals and movement models "
        "of the All-People's Festival for Protecting National Security (Ngày hội toàn dân bảo vệ an ninh Tổ quốc).",
    )


def create(settings: RegistrySettings | None = None, clock: Callable[[], dt.datetime] | None = None) -> ServiceHost:
    return ServiceHost(definition(), settings or RegistrySettings(), clock)
