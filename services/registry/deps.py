"""Registry's settings and its dependencies object: what its handlers are given (built in app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.client_session import AsyncClientSession

from services.registry.store import RegistryStore
from shared.contract.services import service
from shared.runtime.kit import Kit
from shared.runtime.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    http_port: int = service("registry").http_port


@dataclass(frozen=True)
class Registry:
    settings: RegistrySettings
    kit: Kit

    def store(self, session: AsyncClientSession | None = None) -> RegistryStore:
        return RegistryStore(self.kit.db, session)
