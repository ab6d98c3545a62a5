"""Issue 18: a consumer holds up to two batches of decoded events (the one applied and the next). Each
kept the envelope pydantic made of it (3–4.6 KB for a 500–800-byte message: its attributes, the set of
fields given, and its data a second time beside the validated payload). A consumer whose handlers read
only the attributes (`Consumer.envelope = False`: reporting's, awards', every units replica) keeps them
alone; one that posts the event as received (notifications' webhooks) keeps the envelope."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
from collections import defaultdict
from typing import Any

from nats.aio.msg import Msg

from shared.contract import registry as c
from shared.contract.envelope import new_event
from shared.contract.subjects import event_type
from shared.runtime.consumers import Consumer, EventMeta, Tx
from shared.runtime.event_consumer import EventConsumer
from shared.runtime.settings import ServiceSettings

T = dt.datetime(2026, 7, 20, 8, 0, tzinfo=dt.UTC)


def consumer(envelope: bool) -> EventConsumer:
    spec: Consumer[Any] = Consumer(name="units", store=lambda db, s: None, collections=("units",), envelope=envelope)

    @spec.on(c.UnitRegistered)
    async def registered(event: c.UnitRegistered, meta: EventMeta, tx: Tx[Any]) -> None:
        return None

    # decoding needs none of the connections: a runner built without them
    db: dict[str, None] = defaultdict(lambda: None)
    return EventConsumer(spec, "probe", "probe-units", None, None, db, None, None, ServiceSettings())  # type: ignore[arg-type]


def message(i: int) -> Msg:
    data = c.UnitRegistered(
        unit_id=f"u-{i:06d}", code=None, name=f"Thôn {i}", kind="hamlet", parent_id="c-001", valid_from=T.date()
    )
    env = new_event(
        source="antq/registry",
        type=event_type("registry", "unit", "registered", 1),
        data=data.model_dump(mode="json"),
        subject=data.unit_id,
        time=T,
        correlationid=f"corr-{i}",
        aggregateversion=1,
    )
    raw = {**env.model_dump(mode="json", exclude_none=True), "traceparent": "00-abc-def-01"}  # an unknown attribute
    reply = f"$JS.ACK.UNITS.probe-units.1.{i + 1}.{i + 1}.1785000000000000000.0"
    return Msg(
        _client=None, subject="antq.events.registry.unit.registered.v1", reply=reply, data=json.dumps(raw).encode()
    )  # type: ignore[arg-type]


def kept_per_event(runner: EventConsumer, msgs: list[Msg]) -> float:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    deliveries = [runner.decode(m) for m in msgs]
    each = (tracemalloc.get_traced_memory()[0] - before) / len(deliveries)
    tracemalloc.stop()
    assert all(d.payload is not None and d.meta is not None for d in deliveries)
    return each


def test_a_consumer_that_does_not_read_the_envelope_keeps_its_attributes_only():
    msgs = [message(i) for i in range(500)]
    lean, full = consumer(envelope=False), consumer(envelope=True)
    d = lean.decode(msgs[7])
    assert d.meta is not None and d.meta.envelope is None and d.env is None
    assert (d.meta.id, d.meta.type, d.meta.subject, d.meta.correlation_id, d.meta.stream_seq) == (
        d.id,
        "vn.antq.registry.unit.registered.v1",
        "u-000007",
        "corr-7",
        8,
    )
    assert (d.key, d.version, d.payload.unit_id) == ("registry.unit:u-000007", 1, "u-000007")  # type: ignore[union-attr]
    kept = full.decode(msgs[7])
    assert kept.meta is not None and kept.meta.envelope is not None
    assert kept.meta.envelope.model_dump()["traceparent"] == "00-abc-def-01"  # as received, unknown fields kept
    assert kept.meta.envelope.data["unit_id"] == "u-000007"
    lean_bytes, full_bytes = kept_per_event(lean, msgs), kept_per_event(full, msgs)
    # measured: 2.6 KB an event without the envelope (1.2 KB of it the validated payload), 4.7 KB with it
    assert lean_bytes <= 0.6 * full_bytes, (lean_bytes, full_bytes)
