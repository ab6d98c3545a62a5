"""The consumer kit against the real servers: a service that keeps the units replica from
registry's events applies each fact once and in version order, whatever the bus does: duplicates,
copies republished under new Nats-Msg-Ids, redeliveries, out-of-order delivery, poison, a gap,
failing handlers. It starts from the stream's beginning, rebuilds, and reports lag and stalls."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import time
import urllib.error
import urllib.request
import uuid

import nats
import nats.js.errors
import pytest

from shared.client import read_stream
from shared.contract import registry as c
from shared.contract.envelope import CloudEvent, new_event
from shared.contract.services import event_of
from shared.contract.subjects import event_type, subject_of_type
from shared.replicas.units import UnitsView, apply
from shared.replicas.units_store import units_consumer
from shared.runtime.consumers import Batch, Consumer, EventMeta, Tx
from tests.integration.conftest import probe_host, quiet

D = dt.date.fromisoformat


def scenario(tag: str) -> list[tuple[c.Fact, int]]:
    """A province, two communes merged into a third, a hamlet moved, renamed and closed: each
    event with its subject unit's aggregate version, in registry's order."""
    p, c1, c2, c3, h1 = (f"{tag}-{n}" for n in ("p", "c1", "c2", "c3", "h1"))
    return [
        (
            c.UnitRegistered(
                unit_id=p, code=None, name="Tỉnh", kind="province", parent_id=None, valid_from=D("2025-01-01")
            ),
            1,
        ),
        (
            c.UnitRegistered(
                unit_id=c1, code=None, name="Xã Một", kind="commune", parent_id=p, valid_from=D("2025-01-01")
            ),
            1,
        ),
        (
            c.UnitRegistered(
                unit_id=c2, code=None, name="Xã Hai", kind="commune", parent_id=p, valid_from=D("2025-01-01")
            ),
            1,
        ),
        (
            c.UnitRegistered(
                unit_id=h1, code=None, name="Thôn", kind="hamlet", parent_id=c1, valid_from=D("2025-01-01")
            ),
            1,
        ),
        (c.UnitUpdated(unit_id=c1, effective_date=D("2025-03-01"), name="Xã Một Mới", code="00001", flags=[]), 2),
        (c.UnitMoved(unit_id=h1, from_parent_id=c1, to_parent_id=c2, effective_date=D("2025-04-01")), 2),
        (
            c.UnitRegistered(
                unit_id=c3,
                code="00001",
                name="Xã Ba",
                kind="commune",
                parent_id=p,
                valid_from=D("2025-07-01"),
                predecessor_ids=[c1, c2],
                predecessor_relation="merged",
            ),
            1,
        ),
        (c.UnitMoved(unit_id=h1, from_parent_id=c2, to_parent_id=c3, effective_date=D("2025-07-01")), 3),
        (
            c.UnitsMerged(
                target_unit_id=c3,
                source_unit_ids=[c1, c2],
                effective_date=D("2025-07-01"),
                target_created=True,
                children_moved=[h1],
            ),
            2,
        ),
        (c.UnitClosed(unit_id=c1, effective_date=D("2025-07-01"), reason="merged", successor_ids=[c3]), 3),
        (c.UnitClosed(unit_id=c2, effective_date=D("2025-07-01"), reason="merged", successor_ids=[c3]), 2),
        (c.UnitUpdated(unit_id=h1, effective_date=D("2025-08-01"), name="Thôn Một", code=None, flags=["key_area"]), 4),
        (c.UnitClosed(unit_id=h1, effective_date=D("2025-09-01"), reason="giải thể"), 5),
    ]


def subject_of(data: c.Fact) -> str:
    return getattr(data, "target_unit_id", None) or getattr(data, "source_unit_id", None) or data.unit_id  # type: ignore[attr-defined]


def envelope(data: c.Fact, version: int | None) -> CloudEvent:
    service, aggregate, name = event_of(type(data))
    return new_event(
        source="antq/registry",
        type=event_type(service, aggregate, name),
        subject=subject_of(data),
        data=data.model_dump(mode="json"),
        aggregateversion=version,
    )


def expected(events: list[CloudEvent]) -> dict[str, dict]:
    """The replica the pure module gives when the events are applied in order."""
    view = UnitsView([])
    for e in events:
        name = e.type.rsplit(".", 2)[-2]
        model = dict(event_of_types())[e.type]
        record = apply(view.unit(e.subject), name, model.model_validate(e.data), e.aggregateversion)
        if record.version == e.aggregateversion:  # the replica remembers the event that changed it last
            record = record.model_copy(update={"last_event": e.id, "last_correlation": e.correlationid or e.id})
        view.put(record)
    return {uid: r.model_dump(mode="json") for uid, r in view.records.items()}


def event_of_types() -> list[tuple[str, type]]:
    return [(event_type("registry", a, n), m) for (a, n), m in c.EVENTS.items()]


async def publish(js, events: list[CloudEvent], msg_id=None) -> None:
    for e in events:
        await js.publish(subject_of_type(e.type), e.to_bytes(), headers={"Nats-Msg-Id": msg_id(e) if msg_id else e.id})


async def replica(host, collection: str = "units") -> dict[str, dict]:
    """The replica's documents, without their stamps (`_f`, the fence count of the transaction that wrote
    each: a replay counts its own transactions)."""
    docs = await host.db[collection].find({}, {"_f": 0}).to_list()
    return {d.pop("_id"): d for d in docs}


async def eventually(check, timeout: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(every)


def counted(host, outcome: str, consumer: str = "units") -> float:
    return (
        host.metrics.registry.get_sample_value(
            "antq_consumer_events_total", {"service": host.name, "consumer": consumer, "outcome": outcome}
        )
        or 0.0
    )


async def settled(host, want: dict[str, dict], collection: str = "units") -> dict[str, dict]:
    async def same():
        got = await replica(host, collection)
        return got if got == want else None

    return await eventually(same) or await replica(host, collection)


@pytest.fixture
async def js(private_nats):
    """The module's own broker, its streams emptied: each test's consumer sees only that test's events."""
    nc = await nats.connect(private_nats)
    js = nc.jetstream()
    for stream in ("ANTQ_REGISTRY", "ANTQ_DLQ"):
        try:
            await js.purge_stream(stream)
        except nats.js.errors.NotFoundError:
            pass
    yield js
    await nc.close()


async def start(host):
    await host.start()
    return host


@pytest.mark.parametrize("batch", [None, Batch(max_messages=50, max_wait_ms=50)], ids=["single", "batch"])
async def test_each_fact_is_applied_once_despite_duplicates_copies_and_redeliveries(servers, private_nats, js, batch):
    events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6])]
    consumers = [units_consumer(batch=batch), flaky_consumer({}, batch)]  # a replica, and a counter ($inc)
    host = await start(probe_host(private_nats, servers.mongodb_url, consumers))
    try:
        await publish(js, events)
        await publish(js, events)  # the same Nats-Msg-Id: JetStream drops the copies
        await publish(js, events, msg_id=lambda e: f"{e.id}-again")  # republished under new ids: the kit drops them
        want = expected(events)
        assert await settled(host, want) == want
        registrations = sum(isinstance(data, c.UnitRegistered) for data, _ in scenario("x"))
        counts = await eventually(lambda: _counted_registrations(host, registrations))
        assert sum(d["n"] for d in counts) == registrations
        skipped = lambda: counted(host, "skipped_duplicate") + counted(host, "skipped_stale")  # noqa: E731
        assert await eventually(lambda: asyncio.sleep(0, skipped() >= len(events)))
        assert counted(host, "skipped_duplicate") >= 1  # a copy of the newest version is known by its id
        assert counted(host, "processed") == len(events)
    finally:
        await host.stop()


@pytest.mark.parametrize("batch", [None, Batch(max_messages=50, max_wait_ms=50)], ids=["single", "batch"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_out_of_order_delivery_ends_in_the_right_state(servers, private_nats, js, batch, seed):
    events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6])]
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)  # later versions of a unit before earlier ones, units interleaved
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer(batch=batch)]))
    try:
        await publish(js, shuffled)
        want = expected(events)
        assert await settled(host, want) == want
        # counted once committed (CI once read 12 of 13: the count waited on the previous acks)
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "processed") >= len(events)))
        assert counted(host, "processed") == len(events)
        assert counted(host, "dead_lettered") == 0
    finally:
        await host.stop()


@pytest.mark.parametrize("batch", [None, Batch(max_messages=50, max_wait_ms=50)], ids=["single", "batch"])
async def test_a_successor_waits_in_memory_and_applies_as_soon_as_its_predecessor_comes(
    servers, private_nats, js, batch
):
    """An event whose predecessor comes in a later delivery (the predecessor was nacked while the
    database was busy, and the stream moved on) is parked, not nacked: it applies with the predecessor,
    without waiting out the gap's growing redelivery delays (at 6 000 units those delays held 1 500
    events for minutes while the machine idled)."""
    events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6])]
    first, rest = events[:5], events[5:]  # rest begins with the hamlet's version 2 and 3
    hamlet_v3 = events[7]
    assert hamlet_v3.aggregateversion == 3 and hamlet_v3.subject == events[5].subject
    host = await start(
        probe_host(private_nats, servers.mongodb_url, [units_consumer(batch=batch)], nack_delay_seconds=2.0)
    )
    try:
        await publish(js, first)
        await publish(js, [hamlet_v3])  # its predecessor, version 2, comes later
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "parked") >= 1), timeout=10)
        await publish(js, [e for e in rest if e is not hamlet_v3])
        want = expected(events)
        assert await settled(host, want) == want
        assert counted(host, "retried") == 0  # never nacked: no redelivery delay was waited
        assert counted(host, "dead_lettered") == 0
    finally:
        await host.stop()


async def test_an_older_version_arriving_after_a_newer_one_is_skipped_and_counted(servers, private_nats, js):
    tag = uuid.uuid4().hex[:6]
    [(reg, _), *_] = scenario(tag)
    first = envelope(
        c.UnitUpdated(unit_id=reg.unit_id, effective_date=D("2025-02-01"), name="A", code=None, flags=[]), 2
    )
    second = envelope(
        c.UnitUpdated(unit_id=reg.unit_id, effective_date=D("2025-03-01"), name="B", code=None, flags=[]), 3
    )
    stale = envelope(
        c.UnitUpdated(unit_id=reg.unit_id, effective_date=D("2025-02-15"), name="X", code=None, flags=[]), 2
    )
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer()]))
    try:
        await publish(js, [envelope(reg, 1), first, second])
        want = expected([envelope(reg, 1), first, second])
        assert await settled(host, want) == want
        await publish(js, [stale])  # another event claiming version 2: older than the stored 3
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "skipped_stale") == 1))
        assert await replica(host) == want
    finally:
        await host.stop()


async def _counted_registrations(host, n: int):
    await asyncio.sleep(0.5)  # a duplicate applied late would show here
    docs = await host.db.counts.find({}).to_list()
    return docs if sum(d["n"] for d in docs) >= n else None


async def dead_letters(js, service: str) -> list[dict]:
    return [json.loads(m.data) for m in await read_stream(js, "ANTQ_DLQ", f"antq.dlq.{service}.>")]


async def test_poison_is_dead_lettered_with_the_reason_and_the_consumer_moves_on(servers, private_nats, js):
    events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6])]
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer()]))
    try:
        await js.publish("antq.registry.unit.registered.v1", b"\xff\xfe not json")
        bad_payload = events[0].model_copy(update={"id": str(uuid.uuid4()), "data": {"unit_id": "x"}})
        await js.publish("antq.registry.unit.registered.v1", bad_payload.to_bytes())
        await publish(js, events)
        want = expected(events)
        assert await settled(host, want) == want
        letters = await eventually(lambda: _letters(js, host.name, 2))
        reasons = sorted((d["reason"], d["error"].split(":")[0]) for d in letters)
        assert reasons == [("poison", "malformed"), ("poison", "validation_failed")]
        assert letters[0]["consumer"] == "units"
        assert counted(host, "dead_lettered") == 2
    finally:
        await host.stop()


async def _letters(js, service: str, n: int):
    found = await dead_letters(js, service)
    return found if len(found) >= n else None


async def test_a_gap_waits_then_is_dead_lettered_and_a_replay_restores_order(servers, private_nats, js):
    """The gap rule: an event whose predecessor is missing is held back (redelivered with a delay)
    for consumer_gap_deliveries deliveries, then dead-lettered as `gap`; nothing is applied out of
    order. When the missing event comes, and the dead letter is replayed, the state is right."""
    events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6])]
    hamlet_moved = events[5]  # version 2 of the hamlet
    assert hamlet_moved.type.endswith("unit.moved.v1") and hamlet_moved.aggregateversion == 2
    without = [e for e in events if e is not hamlet_moved]
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer()]))
    try:
        await publish(js, without)
        letters = await eventually(lambda: _letters(js, host.name, 3), timeout=30)
        assert {d["reason"] for d in letters} == {"gap"}  # versions 3, 4 and 5 of the hamlet
        hamlet = await host.db.units.find_one({"_id": hamlet_moved.subject})
        assert hamlet["version"] == 1  # nothing applied past the missing version
        await publish(js, [hamlet_moved])
        for letter in letters:  # what `antq dlq replay` does
            await js.publish(
                letter["subject"], letter["body"].encode(), headers={"Nats-Msg-Id": f"replay-{letter['stream_seq']}"}
            )
        want = expected(events)
        assert await settled(host, want) == want
    finally:
        await host.stop()


def flaky_consumer(fail_times: dict[str, int], batch: Batch | None = None) -> Consumer:
    """Counts registrations per kind in `counts`; a handler fails `fail_times[unit_id]` times first."""
    consumer: Consumer = Consumer(name="counts", store=lambda db, s: None, collections=("counts",), batch=batch)
    failures: dict[str, int] = {}

    @consumer.on(c.UnitRegistered)
    async def registered(event: c.UnitRegistered, meta: EventMeta, tx: Tx) -> None:
        if failures.get(event.unit_id, 0) < fail_times.get(event.unit_id, 0):
            failures[event.unit_id] = failures.get(event.unit_id, 0) + 1
            raise RuntimeError(f"transient failure {failures[event.unit_id]} for {event.unit_id}")
        tx.upsert("counts", event.kind, {"$inc": {"n": 1}, "$push": {"ids": event.unit_id}})

    return consumer


@pytest.mark.parametrize("batch", [None, Batch(max_messages=50, max_wait_ms=50)], ids=["single", "batch"])
async def test_failing_handlers_are_retried_with_a_delay_then_dead_lettered(servers, private_nats, js, batch):
    tag = uuid.uuid4().hex[:6]
    regs = [envelope(data, v) for data, v in scenario(tag) if isinstance(data, c.UnitRegistered)]
    flaky, broken = regs[1].subject, regs[2].subject
    host = await start(probe_host(private_nats, servers.mongodb_url, [flaky_consumer({flaky: 2, broken: 99}, batch)]))
    try:
        await publish(js, regs)

        async def done():
            docs = await host.db.counts.find({}).to_list()
            return docs if sum(d["n"] for d in docs) == len(regs) - 1 else None

        docs = await eventually(done)
        assert sorted(i for d in docs for i in d["ids"]) == sorted(e.subject for e in regs if e.subject != broken)
        [letter] = await eventually(lambda: _letters(js, host.name, 1))
        assert letter["reason"] == "failed"
        assert broken in letter["body"]
        assert "transient failure" in letter["error"]
        assert counted(host, "retried", "counts") >= 3  # flaky at least once, broken twice (max_deliver = 3)
    finally:
        await host.stop()


async def test_a_new_consumer_catches_up_with_the_history_of_the_stream(servers, private_nats, js):
    events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6])]
    await publish(js, events)  # before the service exists
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer()]))
    try:
        want = expected(events)
        got = await settled(host, want)
        assert {k: got[k] for k in want} == want
    finally:
        await host.stop()


def ops_request(host, action: str, data: dict) -> bytes:
    return (
        new_event(source="tests", type="vn.antq.ops.request.v1", data=data)
        .model_copy(update={"actorid": "ops", "actorunit": "", "actorrole": "admin"})
        .to_bytes()
    )


async def test_rebuild_replays_into_fresh_collections_and_swaps_them_in(servers, private_nats, js):
    tag = uuid.uuid4().hex[:6]
    events = [envelope(data, v) for data, v in scenario(tag)]
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer()]))
    nc = await nats.connect(private_nats)
    try:
        await publish(js, events)
        want = expected(events)
        assert await settled(host, want) == want
        await host.db.units.update_one({"_id": f"{tag}-h1"}, {"$set": {"kind": "school"}})  # damage to repair
        slow, replaying = asyncio.Event(), asyncio.Event()
        original = host.runners["units"].spec.prefetch

        async def slowly(tx, todo):  # the rebuild's copy fills slowly, so the old data is seen meanwhile
            if "rebuild" in tx.store.coll.name:
                replaying.set()
                await slow.wait()
            await original(tx, todo)

        host.runners["units"].spec.prefetch = slowly
        reply = json.loads(
            (
                await nc.request(
                    f"antq.ops.{host.name}.rebuild", ops_request(host, "rebuild", {"consumer": "units"}), timeout=5
                )
            ).data
        )
        assert reply["ok"] and reply["result"]["started"]
        await asyncio.wait_for(replaying.wait(), 10)  # the rebuild is replaying into its copy
        assert (await host.db.units.find_one({"_id": f"{tag}-h1"}))["kind"] == "school"  # live data until the swap
        slow.set()

        async def finished():
            r = json.loads(
                (
                    await nc.request(
                        f"antq.ops.{host.name}.rebuild-status", ops_request(host, "x", {"consumer": "units"}), timeout=5
                    )
                ).data
            )
            return r["result"] if r["result"].get("state") in ("done", "failed") else None

        status = await eventually(finished, timeout=30)
        assert status["state"] == "done", status
        assert await replica(host) == want
        assert not [n for n in await host.db.list_collection_names() if n.startswith("rebuild_")]
        extra = envelope(
            c.UnitRegistered(
                unit_id=f"{tag}-late",
                code=None,
                name="Tổ",
                kind="hamlet",
                parent_id=f"{tag}-p",
                valid_from=D("2025-10-01"),
            ),
            1,
        )
        await publish(js, [extra])  # the live consumer goes on, on the swapped collections
        want = expected([*events, extra])
        assert await settled(host, want) == want
        host.runners["units"].spec.prefetch = original
    finally:
        await nc.close()
        await host.stop()


async def test_operations_need_a_platform_admin(servers, private_nats):
    host = await start(probe_host(private_nats, servers.mongodb_url, [units_consumer()]))
    nc = await nats.connect(private_nats)
    try:
        body = new_event(source="tests", type="vn.antq.ops.request.v1", data={"consumer": "units"}).model_copy(
            update={"actorid": "x", "actorunit": "hue", "actorrole": "admin"}
        )
        reply = json.loads((await nc.request(f"antq.ops.{host.name}.rebuild", body.to_bytes(), timeout=5)).data)
        assert reply["error"]["code"] == "forbidden"
        status = json.loads(
            (await nc.request(f"antq.ops.{host.name}.consumers", ops_request(host, "consumers", {}), timeout=5)).data
        )
        by_name = {c["consumer"]: c for c in status["result"]["consumers"]}
        assert sorted(by_name) == ["intake", "units"]  # the intake runs on the same kit, and shows
        assert by_name["units"]["stream"] == "ANTQ_REGISTRY" and by_name["intake"]["stream"] == "ANTQ_INTAKE"
    finally:
        await nc.close()
        await host.stop()


def readyz(host) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{host.http.port}/readyz", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_lag_is_measured_and_readiness_turns_red_when_a_consumer_stalls(servers, private_nats, js):
    release = asyncio.Event()
    consumer: Consumer = Consumer(name="stuck", store=lambda db, s: None, collections=())

    @consumer.on(c.UnitRegistered)
    async def blocked(event: c.UnitRegistered, meta: EventMeta, tx: Tx) -> None:
        await release.wait()

    host = await start(probe_host(private_nats, servers.mongodb_url, [consumer], consumer_stall_seconds=1.0))
    try:
        assert (await asyncio.to_thread(readyz, host))[0] == 200
        events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6]) if isinstance(data, c.UnitRegistered)]
        await publish(js, events)

        async def red():
            status, body = await asyncio.to_thread(readyz, host)
            return body if status == 503 else None

        body = await eventually(red, timeout=15)
        assert body["checks"]["consumers"] is False
        lag = host.metrics.registry.get_sample_value("antq_consumer_lag", {"service": host.name, "consumer": "stuck"})
        assert lag >= len(events)
        release.set()

        async def green():
            status, _ = await asyncio.to_thread(readyz, host)
            lag = host.metrics.registry.get_sample_value(
                "antq_consumer_lag", {"service": host.name, "consumer": "stuck"}
            )
            return status == 200 and lag == 0

        assert await eventually(green, timeout=15)
    finally:
        release.set()
        await host.stop()


@pytest.mark.parametrize("batch", [None, Batch(max_messages=20, max_wait_ms=20)], ids=["single", "batch"])
async def test_two_replicas_on_one_durable_apply_each_event_once(servers, private_nats, js, batch):
    """Replicas share the durable: each gets some deliveries. Receipts and the fence keep every
    effect single, even though each replica's cache misses what the other applied."""
    from shared.runtime.host import ServiceHost

    first = probe_host(private_nats, servers.mongodb_url, [flaky_consumer({}, batch)])
    second = ServiceHost(first.definition, first.settings)  # the same service: same durable, same database
    await first.start()
    await second.start()
    try:
        tag = uuid.uuid4().hex[:6]
        n = 200
        regs = [
            envelope(
                c.UnitRegistered(
                    unit_id=f"{tag}-{i}",
                    code=None,
                    name="Tổ",
                    kind="residential_group",
                    parent_id="w",
                    valid_from=D("2025-01-01"),
                ),
                1,
            )
            for i in range(n)
        ]
        await publish(js, regs)
        await publish(js, regs[::3], msg_id=lambda e: f"{e.id}-copy")  # copies, to either replica

        async def done():
            doc = await first.db.counts.find_one({"_id": "residential_group"})
            return doc if doc and doc["n"] >= n else None

        doc = await eventually(done, timeout=30)
        await quiet(first, second)  # nothing in flight: nothing can be applied again
        doc = await first.db.counts.find_one({"_id": "residential_group"})
        assert doc["n"] == n
        assert sorted(doc["ids"]) == sorted(e.subject for e in regs)
        both = [counted(h, "processed", "counts") for h in (first, second)]
        assert sum(both) == n
        assert all(b > 0 for b in both), both  # the durable did share the work
    finally:
        await second.stop()
        await first.stop()


# ------------------------------------------------------------------------------------ majors of an event


def held_reader(major: int) -> Consumer:
    """Records each festival held as it reads it: a consumer written for festival.held v1, or for v2."""
    consumer: Consumer = Consumer(name=f"held-v{major}", store=lambda db, s: None, collections=(f"held_v{major}",))
    if major == 1:

        @consumer.on(c.FestivalHeld)
        async def v1(e: c.FestivalHeld, meta: EventMeta, tx: Tx) -> None:
            tx.set("held_v1", e.festival_id, {"funding_source": e.funding_source, "cost_vnd": e.cost_vnd})

    else:

        @consumer.on(c.FestivalHeldV2)
        async def v2(e: c.FestivalHeldV2, meta: EventMeta, tx: Tx) -> None:
            lines = [[x.source, x.amount_vnd] for x in e.funding]
            tx.set("held_v2", e.festival_id, {"funding": lines, "cost_vnd": e.cost_vnd})

    return consumer


def held_events(tag: str, v2_first: bool) -> list[CloudEvent]:
    """A festival reported before v2 existed (v1 only), and one reported since (v1 twin and v2)."""
    old, new = f"{tag}-old", f"{tag}-new"
    facts = {
        "campaign_id": "cp",
        "unit_id": "u",
        "year": 2025,
        "held_on": "2025-08-01",
        "on_time": True,
        "participants": 10,
        "ceremony_held": True,
        "festival_part_held": True,
    }

    def planned(fid: str) -> CloudEvent:
        data = {"festival_id": fid, "campaign_id": "cp", "unit_id": "u", "year": 2025, "date": "2025-08-01"}
        data |= {"venue": "Nhà văn hóa", "ceremony": {}, "festival_part": {}}
        return new_event(
            source="antq/registry",
            type=event_type("registry", "festival", "planned"),
            subject=fid,
            data=c.FestivalPlanned.model_validate(data).model_dump(mode="json"),
            aggregateversion=1,
        )

    def held(fid: str, major: int, data: dict, supersededby: str | None = None) -> CloudEvent:
        return new_event(
            source="antq/registry",
            type=event_type("registry", "festival", "held", major),
            subject=fid,
            data={"festival_id": fid, **facts, **data},
            aggregateversion=2,
            supersededby=supersededby,
        )

    v2_type = event_type("registry", "festival", "held", 2)
    twin = held(new, 1, {"cost_vnd": 5, "funding_source": "A; B"}, supersededby=v2_type)
    newer = held(
        new, 2, {"cost_vnd": 5, "funding": [{"source": "A", "amount_vnd": 3}, {"source": "B", "amount_vnd": 2}]}
    )
    return [
        planned(old),
        held(old, 1, {"cost_vnd": 7, "funding_source": "Quỹ"}),  # history from before v2: upcast for v2 readers
        planned(new),
        *([newer, twin] if v2_first else [twin, newer]),
    ]


@pytest.mark.parametrize("v2_first", [False, True], ids=["v1-twin-first", "v2-first"])
async def test_a_v1_consumer_and_a_v2_consumer_each_read_every_festival_once(servers, private_nats, js, v2_first):
    tag = uuid.uuid4().hex[:6]
    host = await start(probe_host(private_nats, servers.mongodb_url, [held_reader(1), held_reader(2)]))
    try:
        await publish(js, held_events(tag, v2_first))
        v1_want = {
            f"{tag}-old": {"funding_source": "Quỹ", "cost_vnd": 7},
            f"{tag}-new": {"funding_source": "A; B", "cost_vnd": 5},
        }
        v2_want = {
            f"{tag}-old": {"funding": [["Quỹ", 7]], "cost_vnd": 7},  # upcast from v1
            f"{tag}-new": {"funding": [["A", 3], ["B", 2]], "cost_vnd": 5},
        }
        assert await settled(host, v1_want, "held_v1") == v1_want
        assert await settled(host, v2_want, "held_v2") == v2_want
        await quiet(host)  # everything acknowledged: then count
        # each skipped the other major of the new festival's report; nothing was dead-lettered
        assert counted(host, "skipped_other_major", "held-v1") == counted(host, "skipped_other_major", "held-v2") == 1
        assert counted(host, "processed", "held-v1") == counted(host, "processed", "held-v2") == 2
        assert counted(host, "dead_lettered", "held-v1") == counted(host, "dead_lettered", "held-v2") == 0
    finally:
        await host.stop()


def counted_decodes(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The id of each delivery the consumers decode, in the order decoded."""
    from shared.runtime.event_consumer import EventConsumer

    decoded: list[str] = []
    original = EventConsumer.decode

    def counted_decode(self, msg):  # type: ignore[no-untyped-def]
        delivery = original(self, msg)
        decoded.append(delivery.id)
        return delivery

    monkeypatch.setattr(EventConsumer, "decode", counted_decode)
    return decoded


def registrations(n: int) -> list[c.UnitRegistered]:
    tag = uuid.uuid4().hex[:6]
    return [
        c.UnitRegistered(
            unit_id=f"{tag}-{i}", code=None, name=f"U{i}", kind="hamlet", parent_id=None, valid_from=D("2025-01-01")
        )
        for i in range(n)
    ]


async def test_the_next_fetch_is_decoded_while_the_delivery_before_it_is_applied(
    servers, private_nats, js, monkeypatch
):
    """Decoding a batch (parsing and validating each event) ran between two transactions, while the
    database waited. The reader now decodes the next fetch while the delivery before it is applied,
    and each message is decoded once."""
    from shared.runtime.bus import ensure_streams
    from shared.runtime.settings import ServiceSettings

    decoded = counted_decodes(monkeypatch)
    ahead: list[int] = []
    consumer: Consumer[None] = Consumer(
        name="slow", store=lambda db, s: None, collections=("slow",), batch=Batch(max_messages=5, max_wait_ms=50)
    )

    @consumer.on(c.UnitRegistered)
    async def registered(e: c.UnitRegistered, meta: EventMeta, tx: Tx[None]) -> None:
        if not ahead:  # the first delivery's first event: wait until the next fetch is decoded (or 10 s)
            ahead.append(len(decoded))
            deadline = time.monotonic() + 10
            while len(decoded) < 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            ahead.append(len(decoded))
        tx.upsert("slow", e.unit_id, {"$set": {"name": e.name}})

    units = registrations(10)
    await ensure_streams(js, ServiceSettings())
    await publish(js, [envelope(u, 1) for u in units])  # before the start: the reader finds both fetches there
    host = await start(probe_host(private_nats, servers.mongodb_url, [consumer]))
    try:
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "processed", "slow") == 10))
        assert ahead[-1] == 10  # while the first five were applied, the next five were decoded already
        assert len(decoded) == len(set(decoded)) == 10  # each message decoded once
    finally:
        await host.stop()


async def test_no_more_than_one_fetch_is_decoded_ahead_of_the_delivery_being_applied(
    servers, private_nats, js, monkeypatch
):
    """The reader decoded a third fetch while one delivery was applied and the next waited in the queue:
    three batches of decoded events in memory per consumer (about a quarter of the objects reporting
    held at one moment of a 30 000-unit replay). It now fetches the next one only once the one it
    decoded has been taken."""
    from shared.runtime.bus import ensure_streams
    from shared.runtime.settings import ServiceSettings

    decoded = counted_decodes(monkeypatch)
    held: list[int] = []
    consumer: Consumer[None] = Consumer(
        name="held", store=lambda db, s: None, collections=("held",), batch=Batch(max_messages=5, max_wait_ms=50)
    )

    @consumer.on(c.UnitRegistered)
    async def registered(e: c.UnitRegistered, meta: EventMeta, tx: Tx[None]) -> None:
        if not held:  # the first delivery's first event: the next fetch is decoded, then a while longer
            held.append(len(decoded))
            deadline = time.monotonic() + 10
            while len(decoded) < 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the old reader decoded the third fetch within milliseconds
            held.append(len(decoded))
        tx.upsert("held", e.unit_id, {"$set": {"name": e.name}})

    units = registrations(15)
    await ensure_streams(js, ServiceSettings())
    await publish(js, [envelope(u, 1) for u in units])  # before the start: all three fetches are there
    host = await start(probe_host(private_nats, servers.mongodb_url, [consumer]))
    try:
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "processed", "held") == 15))
        assert held[-1] == 10  # the delivery being applied, and one decoded ahead of it: not the third
        assert len(decoded) == len(set(decoded)) == 15
    finally:
        await host.stop()


def sent_ops(monkeypatch) -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """Each bulk write the consumers send: its collection and the kind of each operation."""
    from pymongo.asynchronous.collection import AsyncCollection

    sent: list[tuple[str, list[str]]] = []
    original = AsyncCollection.bulk_write

    async def recorded(self, requests, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append((self.name, [type(op).__name__ for op in requests]))
        return await original(self, requests, *args, **kwargs)

    monkeypatch.setattr(AsyncCollection, "bulk_write", recorded)
    return sent


def absent_aware(name: str, claim_absent: bool = False) -> Consumer[None]:
    """A projection that reads, in its transaction, the documents its batch writes, and names those not
    found absent (`claim_absent`: names every one absent, found or not, as a wrong cache would)."""
    consumer: Consumer[None] = Consumer(
        name=name, store=lambda db, s: None, collections=(name,), batch=Batch(max_messages=20, max_wait_ms=50)
    )

    async def prefetch(tx: Tx[None], events: list) -> None:  # type: ignore[type-arg]
        ids = [e.unit_id for e, _ in events]
        found = {d["_id"] for d in await tx.db[name].find({"_id": {"$in": ids}}, session=tx.session).to_list()}
        tx.absent(name, ids if claim_absent else [i for i in ids if i not in found])

    consumer.prefetch = prefetch

    @consumer.on(c.UnitRegistered)
    async def registered(e: c.UnitRegistered, meta: EventMeta, tx: Tx[None]) -> None:
        tx.set(name, e.unit_id, {"name": e.name})
        tx.replace(f"{name}_copy", {"_id": e.unit_id, "name": e.name})  # not named absent: an upsert

    return consumer


async def test_documents_a_batch_read_and_did_not_find_are_inserted_not_upserted(
    servers, private_nats, js, monkeypatch
):
    """A projection's batch of new documents was sent as upserts, each looked up by the store first:
    twice the cost of one insert of them all (SecantusDB: 2 300–3 000 upserts/s, 4 300–5 700 inserts/s,
    with one index). Documents the transaction read and did not find are inserted; the others upserted."""
    from shared.runtime.bus import ensure_streams
    from shared.runtime.settings import ServiceSettings

    name = f"new{uuid.uuid4().hex[:6]}"
    units = registrations(10)
    await ensure_streams(js, ServiceSettings())
    await publish(js, [envelope(u, 1) for u in units])
    host = await start(probe_host(private_nats, servers.mongodb_url, [absent_aware(name)]))
    await host.db[name].insert_one({"_id": units[0].unit_id, "name": "stored before"})
    sent = sent_ops(monkeypatch)
    try:
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "processed", name) == 10))
        mine = [kinds for coll, kinds in sent if coll == name]
        assert sorted(k for kinds in mine for k in kinds) == ["InsertOne"] * 9 + ["UpdateOne"]
        assert [kinds for coll, kinds in sent if coll == f"{name}_copy"] and all(
            set(kinds) == {"ReplaceOne"} for coll, kinds in sent if coll == f"{name}_copy"
        )
        want = {u.unit_id: {"name": u.name} for u in units}
        assert await replica(host, name) == want
        assert await replica(host, f"{name}_copy") == want
    finally:
        await host.stop()


async def test_a_document_named_absent_but_stored_is_upserted_and_its_event_applied_once(
    servers, private_nats, js, monkeypatch
):
    """A cache that names a stored document absent must not cost the event: its insert meets the key,
    and the transaction runs again with upserts only."""
    from shared.runtime.bus import ensure_streams
    from shared.runtime.settings import ServiceSettings

    name = f"wrong{uuid.uuid4().hex[:6]}"
    units = registrations(6)
    await ensure_streams(js, ServiceSettings())
    host = await start(probe_host(private_nats, servers.mongodb_url, [absent_aware(name, claim_absent=True)]))
    await host.db[name].insert_many([{"_id": u.unit_id, "name": "stored before"} for u in units[:3]])
    sent = sent_ops(monkeypatch)
    try:
        await publish(js, [envelope(u, 1) for u in units])
        assert await eventually(lambda: asyncio.sleep(0, counted(host, "processed", name) == 6))
        assert await replica(host, name) == {u.unit_id: {"name": u.name} for u in units}
        assert counted(host, "dead_lettered", name) == 0 and counted(host, "retried", name) == 0
        assert any("UpdateOne" in kinds for coll, kinds in sent if coll == name)  # the second run's upserts
    finally:
        await host.stop()


def overlap_probe(name: str, inside: dict[str, int]) -> Consumer:
    """Counts, across a host's consumers, the batch transactions open at once: each handler runs inside its
    batch's transaction, and stays there a moment."""
    consumer: Consumer = Consumer(name=name, store=lambda db, s: None, collections=(name,))

    @consumer.on(c.UnitRegistered)
    async def registered(event: c.UnitRegistered, meta: EventMeta, tx: Tx) -> None:
        inside["now"] += 1
        inside["most"] = max(inside["most"], inside["now"])
        try:
            await asyncio.sleep(0.02)
        finally:
            inside["now"] -= 1
        tx.upsert(name, event.unit_id, {"$set": {"kind": event.kind}})

    return consumer


@pytest.mark.parametrize("allowed", [1, 3])
async def test_a_services_consumers_hold_no_more_transactions_open_than_allowed(servers, private_nats, js, allowed):
    """Every open transaction pins the store's snapshot; on SecantusDB (WiredTiger) writers then slow down
    the longer it stays open, and seven consumers' batch transactions kept open together slowed each other
    until each lasted 40-50 s (make bench-national at 10 000 units: 163-352 s from the last event to correct
    projections). A service runs `ANTQ_CONSUMER_TRANSACTIONS` of them at once (1 by default)."""
    inside = {"now": 0, "most": 0}
    names = [f"overlap{n}" for n in range(3)]
    host = await start(
        probe_host(
            private_nats,
            servers.mongodb_url,
            [overlap_probe(n, inside) for n in names],
            consumer_transactions=allowed,
        )
    )
    try:
        events = [envelope(data, v) for data, v in scenario(uuid.uuid4().hex[:6]) if isinstance(data, c.UnitRegistered)]
        await publish(js, events)

        async def applied():
            counts = [await host.db[n].count_documents({}) for n in names]
            return counts if all(k == len(events) for k in counts) else None

        assert await eventually(applied), [await host.db[n].count_documents({}) for n in names]
        if allowed == 1:
            assert inside["most"] == 1
        else:  # the probe sees overlap where it is allowed: the assertion above can fail
            assert 1 < inside["most"] <= allowed
    finally:
        await host.stop()
