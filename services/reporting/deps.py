"""Reporting's settings and its dependencies object: what its handlers, queries, consumers and the
topics publisher are given, built in app.py, with the caches that live as long as the process (the
tree and a year's summaries in memory, the tree the publisher last looked at, the coverage gauge)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from prometheus_client import Gauge
from pydantic import Field
from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.cache import TreeCache
from shared.contract.services import service
from shared.replicas.units import UnitsView
from shared.runtime.kit import Kit
from shared.runtime.mongo import Doc
from shared.runtime.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    http_port: int = service("reporting").http_port
    coverage_interval_seconds: float = Field(
        default=5.0, gt=0, description="coverage.updated is sent at most this often per (year, scope)"
    )


@dataclass
class Seen:
    """The tree the publisher compares against to find the units that changed since, and the units of a
    newer tree it published already (at their version) while a large change is taken a part per round."""

    view: UnitsView
    done: dict[str, int]


@dataclass
class Reporting:
    settings: ReportingSettings
    kit: Kit
    # per database name: the live collections (and a rebuild's copies, which read under the same names)
    caches: dict[str, TreeCache] = field(default_factory=dict)
    seen: Seen | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # a consumer committed: the publisher may go
    coverage: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.coverage = Gauge(
            "antq_reporting_coverage",
            "Coverage (units held ÷ expected) of each campaign's scope, as last published",
            ["year", "scope"],
            registry=self.kit.metrics.registry,
        )

    def trees(self, db: AsyncDatabase[Doc]) -> TreeCache:
        return self.caches.setdefault(db.name, TreeCache())
