"""One trace from `plan-festival` to a webhook and a `coverage.updated`, across the four services
(each in-process with its own tracer and an in-memory exporter, on a NATS server of this module's
own): the command's span and its database spans, the relay's publish, each consumer's handler, the
webhook's delivery (whose POST carries the trace on), reporting's publish of the coverage it moved."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from opentelemetry.trace import SpanKind

from services.awards.app import AwardsSettings
from services.awards.app import create as create_awards
from services.notifications.app import NotificationsSettings
from services.notifications.app import create as create_notifications
from services.registry.app import create as create_registry
from services.reporting.app import ReportingSettings
from services.reporting.app import create as create_reporting
from shared.client import Client, read_stream
from shared.contract.envelope import Actor
from shared.runtime import logs
from shared.runtime.host import ServiceHost
from shared.runtime.tracing import Tracing, context_of
from tests.integration.conftest import in_process, quiet, registry_settings
from tests.integration.test_notifications import Tree, add, plan
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
async def traced(servers, private_nats) -> AsyncIterator[dict[str, ServiceHost]]:
    """The four services, tracing into memory, on the module's own NATS."""
    on = SimpleNamespace(nats_url=private_nats, mongodb_url=servers.mongodb_url)
    hosts = {
        "registry": create_registry(registry_settings(on, otel_memory=True)),
        "awards": create_awards(in_process(AwardsSettings, on, "awards", otel_memory=True)),
        "notifications": create_notifications(
            in_process(NotificationsSettings, on, "notifications", otel_memory=True, send_poll_seconds=0.05)
        ),
        "reporting": create_reporting(
            in_process(ReportingSettings, on, "reporting", otel_memory=True, coverage_interval_seconds=0.3)
        ),
    }
    for host in hosts.values():
        await host.start()
    yield hosts
    for host in hosts.values():
        await host.stop()


def spans(host: ServiceHost, trace_id: int) -> list:
    memory = host.kit.tracing.memory
    assert memory is not None
    return [s for s in memory.get_finished_spans() if s.context.trace_id == trace_id]


async def test_one_trace_follows_a_festival_from_the_command_to_a_webhook_and_the_coverage(traced, private_nats):
    receiver = await Receiver().start()
    admin = await Client.connect(private_nats, Actor(id="admin-test", unit=None, role="admin"), source="tests/admin")
    try:
        t = await Tree().build(admin)
        await quiet(*traced.values())  # notifications knows the units
        path = f"/trace/{t.p}"
        await add(
            admin,
            scope_unit_id=t.p,
            events=["vn.antq.registry.festival.planned.v1"],
            channel="webhook",
            address=receiver.url(path),
        )
        await quiet(*traced.values())
        planned = await plan(admin, t.g1)
        [post] = await receiver.wait_for(path, 1)
        await quiet(*traced.values())
    finally:
        await admin.close()
        await receiver.stop()

    registry, awards = traced["registry"], traced["awards"]
    notifications, reporting = traced["notifications"], traced["reporting"]
    memory = registry.kit.tracing.memory
    assert memory is not None
    [command] = [s for s in memory.get_finished_spans() if s.name == "registry plan-festival"]
    trace_id = command.context.trace_id
    assert command.attributes is not None and command.attributes["antq.outcome"] == "accepted"

    # registry: the command (under FastStream's span of the request), its transaction's database
    # commands (PyMongo's instrumentation), the relay's publish of the event
    mine = spans(registry, trace_id)
    [process] = [s for s in mine if s.name == "antq.cmd.registry.plan-festival process"]  # FastStream's
    assert process.kind == SpanKind.CONSUMER and command.parent is not None
    assert command.parent.span_id == process.context.span_id
    database = [s for s in mine if s.kind == SpanKind.CLIENT and s.attributes and s.attributes.get("db.system")]
    assert {s.name.rsplit(".", 1)[-1] for s in database} >= {"insert", "commitTransaction"}
    assert all(_descends(s, command, mine) for s in database)
    [send] = [s for s in mine if s.name == "send antq.registry.festival.planned.v1"]
    assert send.kind == SpanKind.PRODUCER and _descends(send, command, mine)

    # each consumer applies the event in the same trace, as a child of the relay's publish
    for host in (awards, notifications, reporting):
        handled = [s for s in spans(host, trace_id) if s.name == "handle vn.antq.registry.festival.planned.v1"]
        assert handled, f"{host.name} did not apply the event in the command's trace"
        assert all(s.parent is not None and s.parent.span_id == send.context.span_id for s in handled)
    # the batch's transaction is a span of its own that links each event's trace
    batches = [
        s
        for s in reporting.kit.tracing.memory.get_finished_spans()  # type: ignore[union-attr]
        if s.name == "apply reporting/registry" and any(link.context.trace_id == trace_id for link in s.links)
    ]
    assert batches

    # notifications: the webhook's delivery continues the trace, and its POST carries it on
    [deliver] = [s for s in spans(notifications, trace_id) if s.name == "deliver webhook"]
    assert deliver.kind == SpanKind.CLIENT
    sent = context_of(post.headers)
    assert sent is not None and _trace_of(post.headers) == trace_id
    assert post.json["data"]["festival_id"] == planned

    # reporting: the coverage the festival moved is published in the same trace
    for _ in range(100):  # its publisher runs on its own schedule (every 0.3 s here), after the marks
        published = [s for s in spans(reporting, trace_id) if s.name == "send antq.reporting.coverage.updated.v1"]
        if published:
            break
        await asyncio.sleep(0.1)
    assert published, "reporting's coverage.updated is not in the command's trace"
    from nats import connect

    nc = await connect(private_nats)
    try:
        updates = await read_stream(nc.jetstream(), "ANTQ_REPORTING", "antq.reporting.coverage.updated.v1")
    finally:
        await nc.close()
    in_trace = [m for m in updates if _trace_of(m.headers) == trace_id]
    assert in_trace and any(json.loads(m.data)["data"]["scope_unit_id"] == t.p for m in in_trace)


def _trace_of(headers) -> int | None:
    from opentelemetry import trace

    ctx = context_of(headers)
    return trace.get_current_span(ctx).get_span_context().trace_id if ctx is not None else None


def _descends(span, ancestor, family: list) -> bool:
    by_id = {s.context.span_id: s for s in family}
    while span.parent is not None:
        if span.parent.span_id == ancestor.context.span_id:
            return True
        span = by_id.get(span.parent.span_id)
        if span is None:
            return False
    return False


def test_log_lines_inside_a_span_carry_its_trace_and_span_ids():
    tracing = Tracing("registry", registry_settings(SimpleNamespace(nats_url="", mongodb_url=""), otel_memory=True))
    formatter = logs.JsonFormatter("registry")
    record = logging.LogRecord("antq", logging.INFO, __file__, 1, "inside", None, None)
    assert "trace_id" not in json.loads(formatter.format(record))  # no span: no ids
    with tracing.span("work") as span:
        line = json.loads(formatter.format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")


async def test_tracing_is_off_unless_configured_and_then_stores_nothing(servers):
    """Off: the no-op tracer, no database listener, no `trace` in the outbox."""
    host = create_registry(registry_settings(servers))
    assert not host.kit.tracing.enabled and host.kit.tracing.mongo_listener() is None
    assert not host.kit.outbox.traced
    await asyncio.sleep(0)
