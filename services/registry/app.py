"""Registry's composition root: settings → kit → dependencies → handler tables → service host.

Nothing connects at import; `create()` builds, `ServiceHost.run()` connects."""

from __future__ import annotations

from services.registry import handlers, store
from services.registry.deps import Registry, RegistrySettings
from shared.contract import registry as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.kit import Clock, Kit

__all__ = ["RegistrySettings", "create", "definition"]


def definition(deps: Registry) -> ServiceDefinition:
    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=handlers.QUERIES,
        events=contract.EVENTS,
        newer_events=contract.NEWER_EVENTS,
        store_factory=lambda db, session: store.RegistryStore(db, session, deps.hints),
        ensure_indexes=store.ensure_indexes,
        deps=deps,
        description="Units (effective-dated tree with lineage), yearly campaigns, festivals and movement models "
        "of the All-People's Festival for Protecting National Security (Ngày hội toàn dân bảo vệ an ninh Tổ quốc).",
    )


def create(settings: RegistrySettings | None = None, clock: Clock | None = None) -> ServiceHost:
    s = settings or RegistrySettings()
    kit = Kit.create(contract.SERVICE, s, clock)
    return ServiceHost(definition(Registry(s, kit)), kit=kit)
