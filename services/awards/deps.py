"""Awards' settings and its dependencies object: what its handlers and consumers are given (built in
app.py), the award rules among them (loaded and checked once, at start)."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.awards.rules import Catalogue
from shared.contract.services import service
from shared.replicas.walk import ParentHints
from shared.runtime.kit import Kit
from shared.runtime.settings import ServiceSettings


class AwardsSettings(ServiceSettings):
    http_port: int = service("awards").http_port


@dataclass(frozen=True)
class Awards:
    settings: AwardsSettings
    kit: Kit
    catalogue: Catalogue  # the award forms as dated data (services/awards/data/award-forms.yaml)
    hints: ParentHints = field(default_factory=ParentHints)  # the ids a walk up the tree reads in one query
