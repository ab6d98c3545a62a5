"""Awards' settings and its dependencies object: what its handlers and consumers are given (built in
app.py), the award rules among them (loaded and checked once, at start)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from services.awards.domain.model import FileLimits
from services.awards.files import Files
from services.awards.rules import Catalogue
from shared.contract.services import service
from shared.replicas.walk import ParentHints
from shared.runtime.kit import Kit
from shared.runtime.settings import ServiceSettings


class AwardsSettings(ServiceSettings):
    http_port: int = service("awards").http_port
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="The largest file of a dossier")
    dossier_max_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="The most a dossier's files hold")
    dossier_max_files: int = Field(default=20, gt=0, description="The most files a dossier has")
    overdue_check_seconds: float = Field(default=300.0, gt=0, description="How often overdue dossiers are looked for")


@dataclass(frozen=True)
class Awards:
    settings: AwardsSettings
    kit: Kit
    catalogue: Catalogue  # the award forms as dated data (services/awards/data/award-forms.yaml)
    hints: ParentHints = field(default_factory=ParentHints)  # the ids a walk up the tree reads in one query

    @property
    def files(self) -> Files:
        """The dossiers' files (awards' database and, once connected, the uploads' object store)."""
        return Files(self.kit.db, self.kit.js)

    @property
    def limits(self) -> FileLimits:
        s = self.settings
        return FileLimits(s.attachment_max_bytes, s.dossier_max_bytes, s.dossier_max_files)
