"""Awards' composition root: settings → kit → rules (checked at start) → dependencies → handler tables
and consumers of registry's events → service host.

Nothing connects at import; `create()` builds (and loads the rules), `ServiceHost.run()` connects."""

from __future__ import annotations

from services.awards import deadlines, handlers, queries, replica, rules, store
from services.awards.deps import Awards, AwardsSettings
from shared.contract import awards as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.kit import Clock, Kit

__all__ = ["AwardsSettings", "create", "definition"]


def definition(deps: Awards) -> ServiceDefinition:
    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=queries.QUERIES,
        events=contract.EVENTS,
        store_factory=lambda db, session: store.AwardsStore(db, session, deps.hints),
        ensure_indexes=store.ensure_indexes,
        consumers=replica.consumers(),
        deps=deps,
        background=[lambda: deadlines.run(deps)],
        description="Commendations (khen thưởng) of the All-People's Festival for Protecting National Security: "
        "award rules as dated data, nominations and decisions, awards conferred and revoked, gifts and visits.",
    )


def create(settings: AwardsSettings | None = None, clock: Clock | None = None) -> ServiceHost:
    s = settings or AwardsSettings()
    kit = Kit.create(contract.SERVICE, s, clock)
    deps = Awards(s, kit, rules.load())  # a rules file that fails its schema stops the service here
    return ServiceHost(definition(deps), kit=kit)
