"""Distributed tracing with OpenTelemetry: one trace follows a command through its transaction, the
outbox relay's publish, each consumer that applies the event, the webhook or email it causes and the
`coverage.updated` it moves.

Context travels as W3C `traceparent`:
- in NATS headers (the relay sets it on every event it publishes; a client may set it on a command);
- through the outbox: each entry stores the context it was written in (`trace`), so the publish,
  minutes later or after a restart, continues the command's trace;
- into consumers: each event's handler runs in a span whose parent is the event's context; the
  batch's transaction is a span of its own that links every event's trace;
- on to what an event causes later: a delivery (notifications) and a dirty mark (reporting) keep the
  context of the handler that wrote them.

Off unless configured (`ANTQ_OTEL_ENDPOINT`, `ANTQ_OTEL_FILE`): the tracer is then OpenTelemetry's
no-op tracer and nothing is stored with the outbox entries (`make bench` prints the cost)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import DefaultGetter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.runtime.settings import ServiceSettings
from shared.runtime.version import version

Carrier = dict[str, str]
PROPAGATOR = TraceContextTextMapPropagator()
_GETTER = DefaultGetter()
NOOP = trace.NoOpTracer()


def carrier() -> Carrier:
    """The current span's context as headers (`traceparent`); empty when no span records."""
    out: Carrier = {}
    if trace.get_current_span().get_span_context().is_valid:
        PROPAGATOR.inject(out)
    return out


def context_of(headers: Mapping[str, Any] | None) -> otel_context.Context | None:
    """The remote context in a message's headers or a stored carrier (None when there is none)."""
    if not headers:
        return None
    lowered = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
    if "traceparent" not in lowered:
        return None
    ctx = PROPAGATOR.extract(lowered, getter=_GETTER)
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def link_of(headers: Mapping[str, Any] | None) -> Link | None:
    ctx = context_of(headers)
    return Link(trace.get_current_span(ctx).get_span_context()) if ctx is not None else None


class JsonLinesExporter(SpanExporter):
    """Spans as JSON lines in a file (`make up` writes them to .antq-data/traces/<service>.jsonl)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(json.loads(s.to_json()), ensure_ascii=False, separators=(",", ":")) for s in spans]
        with self.lock, self.path.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class Tracing:
    """A service's tracer, its exporters, and the helpers the kit uses at each hop."""

    def __init__(self, service: str, settings: ServiceSettings | None = None) -> None:
        """Off without settings, or with settings that configure no exporter."""
        self.service = service
        self.provider: TracerProvider | None = None
        self.memory: InMemorySpanExporter | None = None
        self.tracer: trace.Tracer = NOOP
        if settings is None:
            return
        endpoint, path, memory = settings.otel_endpoint, settings.otel_file, settings.otel_memory
        if not (endpoint or path or memory):
            return
        resource = Resource.create(
            {"service.name": f"antq-{service}", "service.namespace": "antq", "service.version": version()}
        )
        self.provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.otel_ratio)))
        if endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        if path:
            file = Path(path.replace("{service}", service))
            self.provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(file)))
        if memory:  # tests: every span at once, readable in the process
            self.memory = InMemorySpanExporter()
            self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("antq", version())

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def mongo_listener(self) -> Any:
        """PyMongo's OpenTelemetry instrumentation, as a listener of this service's client only: a span
        per database command, child of the span current in the task that sent it."""
        if not self.enabled:
            return None
        from opentelemetry.instrumentation.pymongo import CommandTracer

        return CommandTracer(self.tracer)

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        kind: SpanKind = SpanKind.INTERNAL,
        parent: Mapping[str, Any] | None = None,
        links: Sequence[Mapping[str, Any] | None] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[trace.Span]:
        """A span, current inside the block. `parent`: headers or a stored carrier whose context it
        continues (else the current span's); `links`: contexts it relates to (a batch's events)."""
        if not self.enabled:
            yield trace.INVALID_SPAN
            return
        ctx = context_of(parent)
        related = [link for link in (link_of(h) for h in links) if link is not None]
        with self.tracer.start_as_current_span(
            name, context=ctx, kind=kind, links=related, attributes=dict(attributes or {}), record_exception=True
        ) as span:
            yield span

    def command(
        self, service: str, action: str, command_id: str | None, request: bool, presented: Any
    ) -> contextlib.AbstractContextManager[trace.Span]:
        """A command's span: under FastStream's span of the request when there is one, else continuing
        the trace its headers carry (the intake; `presented`: what the message presents), else a new one."""
        headers = getattr(presented, "headers", None)
        if not self.enabled:
            return contextlib.nullcontext(trace.INVALID_SPAN)
        current = trace.get_current_span().get_span_context().is_valid
        return self.span(
            f"{service} {action}",
            SpanKind.SERVER if request else SpanKind.CONSUMER,
            parent=None if current else headers,
            attributes={"antq.command.id": command_id or "", "antq.transport": "request" if request else "intake"},
        )

    def handler(self, consumer: str, event_type: str, event_id: str, seq: int, headers: Any) -> Any:
        """The span of one event's handler, continuing the event's trace (none when tracing is off)."""
        if not self.enabled:
            return contextlib.nullcontext()
        attributes = {"antq.consumer": consumer, "event.id": event_id, "antq.seq": seq}
        return self.span(f"handle {event_type}", SpanKind.CONSUMER, parent=headers, attributes=attributes)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


NOOP_TRACING = Tracing("none")  # for parts built without a service's (tests of one part)


def failed(span: trace.Span, message: str) -> None:
    """Mark a span as failed (a refusal is not a failure: only errors are)."""
    if span.is_recording():
        span.set_status(Status(StatusCode.ERROR, message))


def outcome(span: trace.Span, result: str, code: str) -> None:
    """A command span's outcome and code (failed when the outcome is an error)."""
    if span.is_recording():
        span.set_attributes({"antq.outcome": result, "antq.code": code})
        if result == "error":
            failed(span, code)


__all__ = ["NOOP_TRACING", "Carrier", "SpanKind", "Tracing", "carrier", "context_of", "failed", "link_of", "outcome"]
