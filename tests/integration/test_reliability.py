"""Idempotency, durable intake, dead letters and the outbox: same id → same answer and one
effect; persisted ⇒ published exactly once; nothing is silently dropped."""

from __future__ import annotations

import asyncio
import json
import random
import string
import uuid

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.registry.app import create
from shared.contract import registry as c
from shared.contract.envelope import new_event
from shared.contract.ids import uuid7
from shared.runtime.outbox import Relay
from tests.integration.conftest import registry_settings, uid, wait_events


def _province(unit_id):
    return c.RegisterUnit(unit_id=unit_id, name="Tỉnh Thử", kind="province", valid_from="2025-01-01")


async def test_same_command_id_twice_gives_the_same_answer_and_one_event(admin):
    unit_id, command_id = uid("p"), uuid7()
    first = await admin.send(_province(unit_id), id=command_id)
    second = await admin.send(_province(unit_id), id=command_id)
    assert first == second
    assert first.ok
    events = await wait_events(admin, lambda e: e["subject"] == unit_id, 1)
    assert [e["type"] for e in events] == ["vn.antq.registry.unit.registered.v1"]
    assert events[0]["causationid"] == command_id
    assert events[0]["actorid"] == "admin-test"


async def test_a_reused_id_with_other_content_is_a_conflict(admin):
    command_id = uuid7()
    assert (await admin.send(_province(uid("p")), id=command_id)).ok
    reused = await admin.send(_province(uid("p")), id=command_id)
    assert reused.error["code"] == "conflict"


async def test_a_refusal_is_answered_the_same_way_when_repeated(admin):
    command_id = uuid7()
    cmd = c.RegisterUnit(name="Xã", kind="commune", parent_id="missing-parent", valid_from="2025-01-01")
    first = await admin.send(cmd, id=command_id)
    assert first.error["code"] == "not_found"
    assert await admin.send(cmd, id=command_id) == first


async def test_intake_outcomes_are_published_as_events(admin):
    good_unit = uid("p")
    accepted_id = await admin.submit("registry", "register-unit", _province(good_unit))
    rejected_id = await admin.submit(
        "registry", "register-unit", {"name": "Xã", "kind": "moon", "valid_from": "2025-01-01"}
    )
    outcomes = await wait_events(
        admin, lambda e: e["subject"] in (accepted_id, rejected_id), 2, subject="antq.registry.command.>"
    )
    by_id = {e["subject"]: e for e in outcomes}
    assert by_id[accepted_id]["type"] == "vn.antq.registry.command.accepted.v1"
    assert by_id[accepted_id]["data"]["result"] == {"unit_id": good_unit}
    assert by_id[rejected_id]["type"] == "vn.antq.registry.command.rejected.v1"
    assert by_id[rejected_id]["data"]["error"]["code"] == "validation_failed"
    unit = await admin.query("registry", "unit", {"unit_id": good_unit})
    assert unit.ok


async def test_intake_redelivery_with_another_msg_id_has_one_effect(admin):
    unit_id = uid("p")
    body = admin.envelope("registry", "register-unit", _province(unit_id))
    command_id = json.loads(body)["id"]
    js = admin.nc.jetstream()
    for n in range(3):  # the producer retried with fresh Nats-Msg-Ids: JetStream cannot dedupe these
        await js.publish("antq.intake.registry.register-unit", body, headers={"Nats-Msg-Id": f"{command_id}-{n}"})
    marker = await admin.submit("registry", "register-unit", _province(uid("p")))  # processed after the three
    await wait_events(admin, lambda e: e["subject"] == marker, 1, subject="antq.registry.command.>")
    outcomes = await wait_events(admin, lambda e: e["subject"] == command_id, 1, subject="antq.registry.command.>")
    registered = await wait_events(admin, lambda e: e["subject"] == unit_id, 1)
    assert len(outcomes) == 1
    assert len(registered) == 1


async def test_unparseable_intake_goes_to_the_dead_letter_stream_and_the_consumer_moves_on(admin):
    js = admin.nc.jetstream()
    token = uuid.uuid4().hex
    await js.publish("antq.intake.registry.register-unit", f"garbage {token}".encode())
    marker = await admin.submit("registry", "register-unit", _province(uid("p")))
    await wait_events(admin, lambda e: e["subject"] == marker, 1, subject="antq.registry.command.>")
    dead = await wait_events(
        admin, lambda e: token in (e.get("body") or ""), 1, subject="antq.dlq.registry.intake", stream="ANTQ_DLQ"
    )
    assert len(dead) == 1
    assert dead[0]["reason"] == "poison"
    assert "malformed" in dead[0]["error"]
    assert dead[0]["subject"] == "antq.intake.registry.register-unit"


def letters() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=8))


async def own_stream(js, name: str, subjects: list[str]) -> None:
    """A stream of the test's own: fake events never reach a producer stream that consumers read."""
    from nats.js.api import StreamConfig

    await js.add_stream(StreamConfig(name=name, subjects=subjects, duplicate_window=3600))


async def test_relay_crash_between_publish_and_mark_republishes_without_a_duplicate(servers, admin):
    """Publish succeeds, marking sent fails (the crash): the next run publishes again and
    JetStream's duplicate window drops the copy."""
    host = create(registry_settings(servers))
    host.build()
    js = admin.nc.jetstream()
    stream, subject_id = f"TESTCRASH{letters()}", uid("crash")
    await own_stream(js, stream, [f"antq.{stream.lower()}.>"])
    event = new_event(
        source="antq/tests",
        type=f"vn.antq.{stream.lower()}.thing.happened.v1",
        subject=subject_id,
        data={"thing_id": subject_id},
    )

    async def write(session):
        await host.outbox.add([event], session)

    async with host.mongo.start_session() as s:
        await s.with_transaction(write)
    relay = Relay(host.outbox, js, host.metrics)
    original = host.outbox.coll.bulk_write  # the mark of what was sent

    async def crash(*args, **kwargs):
        raise ConnectionError("killed before marking sent")

    host.outbox.coll.bulk_write = crash  # type: ignore[method-assign]
    try:
        await relay.flush()
    except ConnectionError:
        pass
    host.outbox.coll.bulk_write = original  # type: ignore[method-assign]
    assert await host.outbox.pending() == 1
    assert await relay.flush() == 1
    assert await host.outbox.pending() == 0
    copies = await wait_events(admin, lambda e: e["subject"] == subject_id, 1, subject=">", stream=stream)
    assert len(copies) == 1
    await host.mongo.close()


async def test_events_carry_the_envelope_of_design_section_3(admin):
    unit_id = uid("p")
    assert (await admin.send(_province(unit_id))).ok
    [event] = await wait_events(admin, lambda e: e["subject"] == unit_id, 1)
    assert event["specversion"] == "1.0"
    assert event["source"] == "antq/registry"
    assert event["datacontenttype"] == "application/json"
    assert event["aggregateversion"] == 1
    assert event["id"][14] == "7"  # UUIDv7
    assert event["data"]["unit_id"] == unit_id
    js = admin.nc.jetstream()
    sub = await js.pull_subscribe(
        "antq.registry.unit.registered.v1",
        stream="ANTQ_REGISTRY",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.LAST_PER_SUBJECT, ack_policy=AckPolicy.NONE),
    )
    [msg] = await sub.fetch(1, timeout=2)
    assert msg.headers["Nats-Msg-Id"] == json.loads(msg.data)["id"]
    await sub.unsubscribe()


async def test_relay_retries_a_missing_stream_but_sets_aside_an_event_too_large_to_publish(servers, admin):
    host = create(registry_settings(servers))
    host.build()
    js = admin.nc.jetstream()
    relay = Relay(host.outbox, js, host.metrics)
    late = f"TESTLATE{letters()}"
    missing, huge = uuid7(), uuid7()
    body = new_event(source="antq/tests", type=f"vn.antq.{late.lower()}.thing.happened.v1", data={}).to_bytes()
    await host.outbox.coll.insert_many(
        [
            {"_id": missing, "subject": f"antq.{late.lower()}.thing.happened.v1", "body": body, "sent": False},
            {"_id": huge, "subject": "antq.registry.unit.updated.v1", "body": b"x" * 1_200_000, "sent": False},
        ]
    )
    for _ in range(relay.max_strikes + 1):  # no stream takes the subject: it must wait, not be dropped
        try:
            await relay.flush()
        except Exception:
            pass
    assert (await host.outbox.coll.find_one({"_id": missing}))["sent"] is False
    await own_stream(js, late, [f"antq.{late.lower()}.>"])  # the stream appears: the same event now goes out
    try:
        await relay.flush()  # it goes out; the huge one behind it still fails
    except Exception:
        pass
    assert (await host.outbox.coll.find_one({"_id": missing}))["sent"] is True
    assert len(await wait_events(admin, lambda e: True, 1, subject=">", stream=late)) == 1
    for _ in range(relay.max_strikes):
        try:
            await relay.flush()
        except Exception:
            pass
    assert (await host.outbox.coll.find_one({"_id": huge}))["sent"] == "undeliverable"
    await host.mongo.close()


async def test_the_relay_marks_a_batch_sent_in_a_few_statements_not_one_per_event(servers, admin):
    """Marking sent events is the relay's one update per event, SecantusDB's dearest statement (a
    point update pays a statement each): 100 events published are marked in one round trip of
    `_id: {$in: …}` updates of at most 32 ids (shared.runtime.mongo `update_ids`)."""
    from pymongo import AsyncMongoClient, monitoring

    from shared.runtime.outbox import Outbox

    class Updates(monitoring.CommandListener):
        def __init__(self) -> None:
            self.statements: list[int] = []

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            if event.command_name == "update":
                self.statements.append(len(event.command["updates"]))

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    listener = Updates()
    client: AsyncMongoClient = AsyncMongoClient(servers.mongodb_url, event_listeners=[listener])
    host = create(registry_settings(servers))
    host.build()
    js = admin.nc.jetstream()
    name = f"TESTMARK{letters()}"
    await own_stream(js, name, [f"antq.{name.lower()}.>"])
    outbox = Outbox(client[f"marks_{letters()}"])
    subject = f"antq.{name.lower()}.thing.happened.v1"
    ids = [uuid7() for _ in range(100)]
    body = new_event(source="antq/tests", type=f"vn.antq.{name.lower()}.thing.happened.v1", data={}).to_bytes()
    await outbox.coll.insert_many([{"_id": i, "subject": subject, "body": body, "sent": False} for i in ids])
    try:
        assert await Relay(outbox, js, host.metrics).flush() == 100
        assert await outbox.coll.count_documents({"_id": {"$in": ids}, "sent": True}) == 100
        assert listener.statements == [4], listener.statements  # 32 + 32 + 32 + 4 ids; was 100 statements
    finally:
        await client.close()
        await host.mongo.close()


async def test_a_graceful_stop_publishes_what_was_just_written(servers, admin):
    host = create(registry_settings(servers))
    await host.start()
    host.relay.linger_seconds = 60  # the relay's own loop will not send it: only the shutdown flush can
    unit_id = uid("p")
    body = admin.envelope("registry", "register-unit", _province(unit_id))
    assert (await host.pipeline.handle("register-unit", body))["ok"]
    await host.stop()
    assert len(await wait_events(admin, lambda e: e["subject"] == unit_id, 1, timeout=2)) == 1


async def test_the_outbox_pending_gauge_counts_what_waits(servers, admin):
    host = create(registry_settings(servers, relay_poll_seconds=0.1))
    await host.start()
    try:
        nowhere = [{"_id": uuid7(), "subject": "antq.nowhere.thing.v1", "body": b"{}", "sent": False} for _ in range(3)]
        await host.outbox.coll.insert_many(nowhere)  # no stream takes them: they wait at the head
        host.outbox.notify()

        def gauge() -> float | None:
            return host.metrics.registry.get_sample_value("antq_outbox_pending", {"service": "registry"})

        deadline = asyncio.get_running_loop().time() + 10
        while gauge() != 3 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert gauge() == 3
        await host.outbox.coll.update_many({"_id": {"$in": [d["_id"] for d in nowhere]}}, {"$set": {"sent": True}})
        deadline = asyncio.get_running_loop().time() + 10
        while gauge() != 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert gauge() == 0
    finally:
        await host.stop()


def _trips(host, action: str) -> tuple[float, float]:
    """(sum, count) of the database round trips the host counted for `action` (its own command monitoring)."""
    registry = host.metrics.registry
    labels = {"service": host.name, "command": action}
    total = registry.get_sample_value("antq_command_db_round_trips_sum", labels) or 0.0
    return total, registry.get_sample_value("antq_command_db_round_trips_count", labels) or 0.0


async def test_a_command_reads_the_units_it_names_in_one_query_and_writes_its_record_with_its_events(admin, registry):
    """Round trips of the command path (issue 18): registering a hamlet under a known commune reads the
    commune, the province above it and the hamlet's id in one query, and the unit, its lock stripe, the
    command's record and its event go into the store in one write: 3 round trips (read, write, commit),
    where the path took 8, then 5 (the lock, the unit, the record with the event each a write)."""
    p, ward, first, second = uid("p"), uid("w"), uid("h"), uid("h")
    assert (await admin.send(_province(p))).ok
    ward_cmd = c.RegisterUnit(unit_id=ward, name="Phường", kind="ward", parent_id=p, valid_from="2025-01-01")
    assert (await admin.send(ward_cmd)).ok
    for hamlet in (first, second):
        before = _trips(registry, "register-unit")
        command_id = uuid7()
        cmd = c.RegisterUnit(
            unit_id=hamlet, name="Tổ", kind="residential_group", parent_id=ward, valid_from="2025-02-01"
        )
        assert (await admin.send(cmd, id=command_id)).ok
        after = _trips(registry, "register-unit")
    assert after[1] - before[1] == 1
    assert after[0] - before[0] == 3
    record = await registry.db.outbox.find_one({"_id": f"commands:{command_id}"})
    assert record["sent"] == "record" and record["reply"]["result"] == {"unit_id": second}  # never published
    assert await registry.db.inbox.find_one({"_id": f"commands:{command_id}"}) is None


async def test_an_answer_recorded_before_the_upgrade_is_still_the_answer(admin, registry):
    """Records kept in the `inbox` collection before issue 18 move into the outbox's at start: the same
    command sent again gets its first answer and is not applied a second time."""
    from shared.client import command_envelope
    from shared.contract.envelope import parse_envelope
    from shared.runtime.inbox import digest

    unit_id, command_id = uid("p"), uuid7()
    raw = command_envelope("registry", "register-unit", _province(unit_id), admin.actor, "tests/admin", id=command_id)
    env = parse_envelope(raw, 1 << 20)
    answer = {"ok": True, "id": command_id, "result": {"unit_id": "answered-before-the-upgrade"}}
    await registry.db.inbox.insert_one(
        {
            "_id": f"commands:{command_id}",
            "consumer": "commands",
            "message_id": command_id,
            "kind": "command",
            "digest": digest(env.type, env.data, env.actor().model_dump()),
            "reply": answer,
            "outcome_id": None,
        }
    )
    await registry.commands_log.ensure_indexes()  # what a service does at start
    assert await registry.db.inbox.count_documents({}) == 0
    reply = await admin.nc.request("antq.cmd.registry.register-unit", raw, timeout=10)
    assert json.loads(reply.data) == answer
    assert await registry.db.units.find_one({"_id": unit_id}) is None  # not applied again


async def test_a_stop_is_bounded_by_its_grace_and_names_a_task_that_would_not_end(servers, caplog):
    """A background task that ignores its cancellation held `stop()` forever (its tasks were gathered
    without a bound), and a session's teardown with it. The stop now ends within the shutdown grace
    and logs the task it left behind."""
    from tests.integration.conftest import probe_host

    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:  # a bug in a service's task: the cancellation is swallowed
                continue

    host = probe_host(servers.nats_url, servers.mongodb_url, [], shutdown_grace_seconds=2.0)
    host.definition.background.append(stubborn)
    await host.start()
    stopping = asyncio.create_task(host.stop())
    done, _ = await asyncio.wait({stopping}, timeout=15)
    release.set()  # the test's own clean-up: the old stop ends once the task does
    await stopping
    assert done, "stop() did not end within 15 s with a task that ignores its cancellation"
    assert any("stubborn" in r.getMessage() or "stubborn" in str(getattr(r, "tasks", "")) for r in caplog.records)
