"""Registry's settings and its dependencies object: what its handlers are given (built in app.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo.asynchronous.client_session import AsyncClientSession

from services.registry.store import RegistryStore
from shared.contract.services import service
from shared.replicas.walk import ParentHints
from shared.runtime.kit import Kit
from shared.runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    http_port: int = service("registry").http_port


@dataclass(frozen=True)
class Registry:
    settings: RegistrySettings
    kit: Kit
    hints: ParentHints = field(default_factory=ParentHints)  # the ids a walk up the tree reads in one query

    def store(self, session: AsyncClientSession | None = None) -> RegistryStore:
        return RegistryStore(self.kit.db, session, self.hints)
