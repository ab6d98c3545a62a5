"""Notifications' composition root: settings → kit → dependencies → recipients' commands, queries,
consumers of registry's and awards' events → the sender and the reminder scheduler (background) →
service host."""

from __future__ import annotations

from services.notifications import consumers, handlers, queries, reminders, sender, store
from services.notifications.deps import Notifications, NotificationsSettings, SenderMetrics
from services.notifications.egress import Resolver, system_resolver
from shared.contract import notifications as contract
from shared.runtime.host import ServiceDefinition, ServiceHost
from shared.runtime.kit import Clock, Kit

__all__ = ["NotificationsSettings", "create", "definition"]


def definition(deps: Notifications) -> ServiceDefinition:
    return ServiceDefinition(
        name=contract.SERVICE,
        commands=handlers.COMMANDS,
        queries=queries.QUERIES,
        events=contract.EVENTS,
        store_factory=lambda db, session: store.NotificationsStore(db, session),
        ensure_indexes=store.ensure_indexes,
        consumers=consumers.consumers(deps),
        background=[lambda: sender.run(deps), lambda: reminders.run(deps)],
        deps=deps,
        description="Notifications of the All-People's Festival for Protecting National Security: registry's and "
        "awards' events and reminders from campaign dates, by email and Standard Webhooks, once per recipient.",
    )


def create(
    settings: NotificationsSettings | None = None, clock: Clock | None = None, resolver: Resolver | None = None
) -> ServiceHost:
    """`resolver`: how a webhook host's name is resolved (the system's by default; tests give their own)."""
    s = settings or NotificationsSettings()
    kit = Kit.create(contract.SERVICE, s, clock)
    deps = Notifications(s, kit, SenderMetrics(kit.metrics), resolver or system_resolver)
    return ServiceHost(definition(deps), kit=kit)
