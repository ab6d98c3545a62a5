"""The table of services: adding a service is one entry here plus its package under services/.

The client, the CLI, the contract documents, the stream table and the embedded launcher iterate
it. A service's application is named by a dotted path (a registration), so `shared/` never
imports a service."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from shared.contract import awards, notifications, registry, reporting
from shared.contract.subjects import DLQ, INTAKE, StreamSpec, producer_stream


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    http_port: int  # default port of /healthz, /readyz, /metrics (DESIGN §6)
    commands: Mapping[str, type[BaseModel]]
    events: Mapping[tuple[str, str], type[BaseModel]]  # (aggregate, event) → payload; outcomes added by the kit
    queries: Mapping[str, type[BaseModel]]
    app: str  # "package.module:factory" returning the service's host, loaded only when asked for
    summary: str
    # newer majors of events: (aggregate, event, major) → payload, and the upcasters from each major to the next
    newer_events: Mapping[tuple[str, str, int], type[BaseModel]] = field(default_factory=dict)
    upcasters: Mapping[tuple[str, str, int], Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)

    def all_events(self) -> dict[tuple[str, str, int], type[BaseModel]]:
        """Every major of every event: (aggregate, event, major) → payload."""
        return {**{(a, e, 1): m for (a, e), m in self.events.items()}, **self.newer_events}

    def load_app(self) -> Callable[..., Any]:
        """The service's `create(settings=None, clock=None)` factory (imports the service package)."""
        module, _, attr = self.app.partition(":")
        factory: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return factory


SERVICES: tuple[ServiceEntry, ...] = (
    ServiceEntry(
        name=registry.SERVICE,
        http_port=8101,
        commands=registry.COMMANDS,
        events=registry.EVENTS,
        queries=registry.QUERIES,
        app="services.registry.app:create",
        summary="Units, campaigns, festivals, movement models.",
        newer_events=registry.NEWER_EVENTS,
        upcasters=registry.UPCASTERS,
    ),
    ServiceEntry(
        name=awards.SERVICE,
        http_port=8102,
        commands=awards.COMMANDS,
        events=awards.EVENTS,
        queries=awards.QUERIES,
        app="services.awards.app:create",
        summary="Award rules, nominations, decisions, awards, gifts.",
    ),
    ServiceEntry(
        name=notifications.SERVICE,
        http_port=8103,
        commands=notifications.COMMANDS,
        events=notifications.EVENTS,
        queries=notifications.QUERIES,
        app="services.notifications.app:create",
        summary="Recipients, email and Standard Webhooks, reminders, the delivery log.",
    ),
    ServiceEntry(
        name=reporting.SERVICE,
        http_port=8104,
        commands=reporting.COMMANDS,
        events=reporting.EVENTS,
        queries=reporting.QUERIES,
        app="services.reporting.app:create",
        summary="Coverage and results rolled up the dated tree; topics; the season report.",
    ),
)

BY_NAME: dict[str, ServiceEntry] = {s.name: s for s in SERVICES}

# Every stream of the platform: one per service in the table, the intake, the dead letters.
STREAMS: tuple[StreamSpec, ...] = (*(producer_stream(s.name) for s in SERVICES), INTAKE, DLQ)


def service(name: str) -> ServiceEntry:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no service {name!r}; the table has {', '.join(BY_NAME)}") from None


def command_of(model: type[BaseModel]) -> tuple[str, str]:
    """(service, action) of a command payload model, so a typed client needs no strings."""
    for s in SERVICES:
        for action, m in s.commands.items():
            if m is model:
                return s.name, action
    raise KeyError(f"{model.__name__} is not a command payload of any service")


def event_of(model: type[BaseModel]) -> tuple[str, str, str]:
    """(service, aggregate, event) of an event payload model (of any major)."""
    service_name, aggregate, event, _ = event_version_of(model)
    return service_name, aggregate, event


def event_version_of(model: type[BaseModel]) -> tuple[str, str, str, int]:
    """(service, aggregate, event, major) of an event payload model."""
    for s in SERVICES:
        for (aggregate, event, major), m in s.all_events().items():
            if m is model:
                return s.name, aggregate, event, major
    raise KeyError(f"{model.__name__} is not an event payload of any service")


def upcast(service_name: str, aggregate: str, event: str, data: dict[str, Any], major: int, to: int) -> dict[str, Any]:
    """`data` of `major` read as `to` (> major), one upcaster at a time; KeyError when one is missing."""
    casters = service(service_name).upcasters
    for m in range(major, to):
        data = casters[(aggregate, event, m)](data)
    return data
