"""Integration fixtures: the registry service in-process against the real servers, and clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.registry.app import RegistrySettings, create
from shared.client import Client, read_stream
from shared.contract.envelope import Actor
from shared.runtime.host import ServiceHost
from tests import clock


def registry_settings(servers: object, **overrides: object) -> RegistrySettings:
    return RegistrySettings(
        nats_url=servers.nats_url,  # type: ignore[attr-defined]
        mongodb_url=servers.mongodb_url,  # type: ignore[attr-defined]
        mongodb_db=f"antq_registry_{uuid.uuid4().hex[:8]}",
        http_port=0,
        nack_delay_seconds=0.2,
        max_deliver=3,
        **{**clock.settings(), **overrides},  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
async def registry(servers: object) -> AsyncIterator[ServiceHost]:
    host = create(registry_settings(servers))
    await host.start()
    yield host
    await host.stop()


@pytest.fixture(scope="session")
async def admin(servers: object, registry: ServiceHost) -> AsyncIterator[Client]:
    client = await Client.connect(
        servers.nats_url,
        Actor(id="admin-test", unit=None, role="admin"),  # type: ignore[attr-defined]
        source="tests/admin",
    )
    yield client
    await client.close()


def uid(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def stream_events(client: Client, subject: str = "antq.registry.>", stream: str = "ANTQ_REGISTRY") -> list[dict]:
    """Every CloudEvent currently in `stream` on `subject`, oldest first."""
    import json

    return [json.loads(m.data) for m in await read_stream(client.nc.jetstream(), stream, subject)]


async def wait_events(
    client: Client,
    predicate,
    count: int,
    subject: str = "antq.registry.>",
    stream: str = "ANTQ_REGISTRY",
    timeout: float = 10.0,
) -> list[dict]:
    """Poll the stream until `count` matching events are there (the relay publishes after the reply)."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in await stream_events(client, subject, stream) if predicate(e)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


# ------------------------------------------------------------------------------------ consumers


def probe_host(nats_url: str, mongodb_url: str, consumers: list, **overrides: object) -> ServiceHost:
    """A service that only listens: the given consumers on a fresh database, with short delays."""
    from shared.runtime.host import ServiceDefinition
    from shared.runtime.settings import ServiceSettings

    async def no_indexes(db: object) -> None:
        return None

    name = f"probe{uuid.uuid4().hex[:6]}"
    definition = ServiceDefinition(
        name=name,
        commands=[],
        queries=[],
        events={},
        store_factory=lambda db, session: None,
        ensure_indexes=no_indexes,
        consumers=consumers,
    )
    settings = ServiceSettings(
        nats_url=nats_url,
        mongodb_url=mongodb_url,
        mongodb_db=f"antq_{name}",
        http_port=0,
        **{
            "nack_delay_seconds": 0.05,
            "max_deliver": 3,
            "consumer_gap_deliveries": 4,
            "consumer_status_seconds": 0.3,
            **clock.settings(),
            **overrides,
        },  # type: ignore[arg-type]
    )
    return ServiceHost(definition, settings)


# ------------------------------------------------------------------------------------ awards


def in_process(settings_class: type, servers: object, name: str, **overrides: object) -> Any:
    """Settings of a consuming service in-process: a database of its own, short delays."""
    return settings_class(
        nats_url=servers.nats_url,  # type: ignore[attr-defined]
        mongodb_url=servers.mongodb_url,  # type: ignore[attr-defined]
        mongodb_db=f"antq_{name}_{uuid.uuid4().hex[:8]}",
        http_port=0,
        nack_delay_seconds=0.2,
        max_deliver=3,
        consumer_status_seconds=0.3,
        **{**clock.settings(), **overrides},
    )


@pytest.fixture(scope="session")
async def awards(servers: object, registry: ServiceHost) -> AsyncIterator[ServiceHost]:
    """The awards service in-process: it learns the tree and the festivals from the registry fixture's
    events (its own consumers), never from registry's database."""
    from services.awards.app import AwardsSettings
    from services.awards.app import create as create_awards

    host = create_awards(in_process(AwardsSettings, servers, "awards"))
    await host.start()
    yield host
    await host.stop()


async def settle(producer: ServiceHost, consumer: ServiceHost, timeout: float = 15.0) -> None:
    """Wait until everything `producer` committed is published and every consumer of `consumer` has
    processed (acked) all of it: its replicas are then up to date."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    assert producer.broker is not None and consumer.broker is not None
    while time.monotonic() < deadline:
        if await producer.outbox.pending() == 0:
            busy = 0
            for runner in consumer.runners.values():
                info = await runner.js.consumer_info(runner.spec.stream, runner.durable)
                busy += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if busy == 0:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{consumer.name} did not catch up with {producer.name} in {timeout}s")


async def quiet(*hosts: ServiceHost, timeout: float = 30.0) -> None:
    """Until nothing more can come from these services: each has published all it committed, each of
    its durable consumers has nothing pending or unacknowledged (so nothing can be redelivered), and
    it has no notification waiting or being sent. A positive signal instead of a fixed wait: a test
    that checks "nothing more comes" waits for this, then looks."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = 0
        for host in hosts:
            busy += await host.outbox.pending()
            for runner in host.consumers():
                info = await runner.js.consumer_info(runner.source.stream, runner.durable)
                busy += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if host.name == "notifications":
                busy += await host.db.deliveries.count_documents({"status": {"$in": ["pending", "sending"]}})
                busy += await host.db.jobs.count_documents({"status": "running"})
                due = {"status": "collected", "next_at": {"$lte": host.clock()}}  # a digest due to be gathered
                busy += await host.db.deliveries.count_documents(due)
        if busy == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{', '.join(h.name for h in hosts)} did not go quiet in {timeout}s")


# ------------------------------------------------------------------------------------ reporting


@pytest.fixture(scope="session")
async def reporting(servers: object, registry: ServiceHost, awards: ServiceHost) -> AsyncIterator[ServiceHost]:
    """The reporting service in-process: it learns everything from registry's and awards' events."""
    from services.reporting.app import ReportingSettings
    from services.reporting.app import create as create_reporting

    host = create_reporting(in_process(ReportingSettings, servers, "reporting", coverage_interval_seconds=0.3))
    await host.start()
    yield host
    await host.stop()
