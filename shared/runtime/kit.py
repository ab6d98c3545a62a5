"""What the kit builds for a service before anything connects: its settings, clock, metrics, database
client and outbox writer. A service's `app.py` builds one, puts it in the service's own typed
dependencies object, and hands both to the host. The database client is made on first use (PyMongo
connects later still), so building a service reads no certificate and opens no socket."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from functools import cached_property
from zoneinfo import ZoneInfo

from nats.js import JetStreamContext
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime import mongo
from shared.runtime.metrics import Metrics
from shared.runtime.mongo import Doc, RoundTrips
from shared.runtime.outbox import Outbox
from shared.runtime.settings import ServiceSettings
from shared.runtime.tracing import Tracing

Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def running_from(start: dt.datetime, set_at: dt.datetime | None = None) -> Clock:
    """A clock that read `start` at the wall-clock instant `set_at` (default: now) and runs at the speed of
    time from there. Processes given the same pair share one clock, however late each starts or restarts."""
    start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    if set_at is None:
        origin = time.monotonic()
        return lambda: start + dt.timedelta(seconds=time.monotonic() - origin)
    offset = start - (set_at if set_at.tzinfo else set_at.replace(tzinfo=dt.UTC))
    return lambda: wall_clock() + offset


class Kit:
    def __init__(self, name: str, settings: ServiceSettings, clock: Clock | None = None) -> None:
        self.name = name
        self.settings = settings
        self.clock: Clock = clock or (
            running_from(settings.clock_start, settings.clock_set_at) if settings.clock_start else wall_clock
        )
        self.metrics = Metrics(name)
        self.round_trips = RoundTrips()
        self.stopping = asyncio.Event()  # set when the service begins to stop
        self.js: JetStreamContext | None = None  # once connected: for a handler that reads the object store

    @classmethod
    def create(cls, name: str, settings: ServiceSettings, clock: Clock | None = None) -> Kit:
        return cls(name, settings, clock)

    @cached_property
    def consumer_gate(self) -> asyncio.Semaphore:
        """The service's consumer batch transactions open at once (`consumer_transactions`), shared by its
        consumers and their rebuilds."""
        return asyncio.Semaphore(self.settings.consumer_transactions)

    @cached_property
    def tracing(self) -> Tracing:
        """Made on first use, from the settings as they are then (off unless configured)."""
        return Tracing(self.name, self.settings)

    @cached_property
    def mongo(self) -> AsyncMongoClient[Doc]:
        return mongo.client(
            self.settings.mongodb_url, f"antq-{self.name}", self.round_trips, self.tracing.mongo_listener()
        )

    @cached_property
    def db(self) -> AsyncDatabase[Doc]:
        return self.mongo[self.settings.database_name(self.name)]

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.db, self.tracing.enabled)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def today(self) -> dt.date:
        """Today in the province's calendar (Vietnam is UTC+7: UTC's date is yesterday until 07:00)."""
        return self.clock().astimezone(self.tz).date()
