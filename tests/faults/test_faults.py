"""Faults: kill -9 the service mid-batch, kill -9 the broker, stop the database, SIGTERM
mid-batch. Whatever happens, nothing acknowledged is lost and nothing is applied twice.

These tests own their servers (they kill them), so they never run against external ones."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import nats
import pytest

from shared.client import command_envelope, read_stream
from shared.contract.envelope import Actor
from tests.conftest import SERVER_START, Servers, launch
from tests.e2e.conftest import ServiceProcess, service_process


@pytest.fixture(scope="module")
def own() -> Iterator[Servers]:
    s = launch(external=False)
    yield s
    s.stop()


@pytest.fixture
def registry(own, tmp_path) -> Iterator[ServiceProcess]:
    svc = service_process(own, "registry", tmp_path, ANTQ_SHUTDOWN_GRACE_SECONDS="8")
    svc.start()
    svc.wait_ready()
    yield svc
    svc.stop(signal.SIGKILL)


def envelope(action: str, data: dict, cid: str) -> bytes:
    return command_envelope("registry", action, data, Actor(id="ops", unit=None, role="admin"), "faults", cid)


async def publish_intake(nc, tag: str, n: int) -> list[str]:
    js = nc.jetstream()
    ids = []
    for i in range(n):
        cid = f"{tag}-cmd-{i}"
        body = envelope(
            "register-unit",
            {"unit_id": f"{tag}-u{i}", "name": f"Tỉnh {i}", "kind": "province", "valid_from": "2025-01-01"},
            cid,
        )
        await js.publish("antq.intake.registry.register-unit", body, headers={"Nats-Msg-Id": cid})
        ids.append(cid)
    return ids


async def events(nc, subject: str) -> list[dict]:
    return [json.loads(m.data) for m in await read_stream(nc.jetstream(), "ANTQ_REGISTRY", subject)]


async def wait_outcomes(nc, tag: str, n: int, timeout: float = 60) -> tuple[Counter[str], Counter[str]]:
    deadline = time.monotonic() + timeout
    while True:
        outcomes = Counter(
            e["subject"] for e in await events(nc, "antq.registry.command.>") if e["subject"].startswith(f"{tag}-")
        )
        registered = Counter(
            e["subject"]
            for e in await events(nc, "antq.registry.unit.registered.v1")
            if e["subject"].startswith(f"{tag}-")
        )
        if (len(outcomes) >= n and len(registered) >= n) or time.monotonic() > deadline:
            return outcomes, registered
        await asyncio.sleep(0.5)


async def busy(nc, tag: str, at_least: int = 10, timeout: float = 30) -> None:
    """Until the service has answered `at_least` of the batch (and not all of it): mid-batch."""
    deadline = time.monotonic() + timeout
    while len((await wait_outcomes(nc, tag, at_least, timeout=0))[0]) < at_least:
        assert time.monotonic() < deadline, "the service never got busy"
        await asyncio.sleep(0.05)


def metric(svc: ServiceProcess, name: str, **labels: str) -> float:
    """A sample of the service's /metrics, as Prometheus reads it."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(svc.url("/metrics"), timeout=2) as r:
        text = r.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def connect(url: str):
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.5)


async def test_kill_9_of_the_service_mid_batch_loses_nothing_and_applies_nothing_twice(own, registry):
    nc = await connect(own.nats_url)
    tag, n = uuid.uuid4().hex[:8], 150
    ids = await publish_intake(nc, tag, n)
    await busy(nc, tag)  # kill it once it is busy
    registry.stop(signal.SIGKILL)
    registry.start()
    registry.wait_ready()
    outcomes, registered = await wait_outcomes(nc, tag, n)
    assert set(outcomes) == set(ids)
    assert set(outcomes.values()) == {1}
    assert len(registered) == n
    assert set(registered.values()) == {1}
    await nc.close()


async def test_kill_9_of_the_broker_mid_batch_loses_nothing(own, registry):
    nc = await connect(own.nats_url)
    tag, n = uuid.uuid4().hex[:8], 120
    ids = await publish_intake(nc, tag, n)
    await busy(nc, tag)
    own.nats.stop(signal.SIGKILL)
    assert await wait_status(registry, 503) == 503  # readiness turns red while the broker is away…
    own.nats.start(wait=SERVER_START)
    assert await wait_status(registry, 200) == 200  # …and green when it is back
    outcomes, registered = await wait_outcomes(nc, tag, n)
    assert set(outcomes) == set(ids)
    assert set(outcomes.values()) == {1}
    assert set(registered.values()) == {1}
    assert len(registered) == n
    assert (await register(nc, uuid.uuid4().hex[:8], "after-restart"))["ok"]  # request/reply is back too
    await nc.close()


async def wait_status(svc: ServiceProcess, code: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while (status := svc.status("/readyz")) != code and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return status


async def register(nc, tag: str, letter: str, timeout: float = 15) -> dict:
    body = envelope(
        "register-unit",
        {"unit_id": f"{tag}-{letter}", "name": f"Tỉnh {letter}", "kind": "province", "valid_from": "2025-01-01"},
        f"{tag}-cmd-{letter}",
    )
    return json.loads((await nc.request("antq.cmd.registry.register-unit", body, timeout=timeout)).data)


async def test_database_outage_answers_unavailable_turns_readiness_red_and_recovers(own, registry):
    nc = await connect(own.nats_url)
    tag = uuid.uuid4().hex[:8]
    assert (await register(nc, tag, "a"))["ok"]
    own.mongodb.stop(signal.SIGKILL)
    try:
        assert (await register(nc, tag, "b"))["error"]["code"] == "unavailable"
        assert await wait_status(registry, 503) == 503
    finally:
        own.mongodb.start(wait=SERVER_START)
    assert await wait_status(registry, 200) == 200
    assert (await register(nc, tag, "b"))["ok"]  # the same command again: nothing was recorded the first time
    kept = await nc.request("antq.query.registry.unit", json.dumps({"unit_id": f"{tag}-a"}).encode(), timeout=10)
    assert json.loads(kept.data)["ok"]  # acknowledged before the crash, still there (sync-on-commit)
    await nc.close()


async def test_sigterm_mid_batch_drains_and_a_restart_finishes_the_rest(own, registry):
    nc = await connect(own.nats_url)
    tag, n = uuid.uuid4().hex[:8], 120
    ids = await publish_intake(nc, tag, n)
    await busy(nc, tag)
    assert registry.stop(signal.SIGTERM, timeout=20) == 0
    registry.start()
    registry.wait_ready()
    outcomes, registered = await wait_outcomes(nc, tag, n)
    assert set(outcomes) == set(ids)
    assert set(outcomes.values()) == {1}
    assert set(registered.values()) == {1}
    await nc.close()


async def test_intake_waits_out_a_database_outage_without_dead_letters(own, registry, tmp_path):
    registry.stop()  # this test runs its own instance, which gives up on a failing message after 2 tries
    strict = service_process(own, "registry", tmp_path, ANTQ_MAX_DELIVER="2")
    strict.start()
    try:
        strict.wait_ready()
        nc = await connect(own.nats_url)
        tag = uuid.uuid4().hex[:8]
        own.mongodb.stop(signal.SIGKILL)
        try:
            [waiting] = await publish_intake(nc, tag, 1)
            deadline = time.monotonic() + 60
            # the one message is redelivered more often than max_deliver allows for failures
            while metric(strict, "antq_nacks_total", consumer="intake") < 3:
                assert time.monotonic() < deadline, "the message was not redelivered during the outage"
                await asyncio.sleep(0.2)
        finally:
            own.mongodb.start(wait=SERVER_START)
        outcomes, registered = await wait_outcomes(nc, tag, 1)
        assert set(outcomes) == {waiting}
        assert set(outcomes.values()) == {1}
        assert set(registered.values()) == {1}
        dead = [json.loads(m.data) for m in await read_stream(nc.jetstream(), "ANTQ_DLQ", "antq.dlq.registry.>")]
        assert [d for d in dead if tag in (d.get("body") or "")] == []
        await nc.close()
    finally:
        strict.stop(signal.SIGKILL)
