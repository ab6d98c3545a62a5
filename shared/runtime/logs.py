"""JSON-lines logging with the event and correlation ids of the message being handled.

Ids ride in context variables so every line inside a handler carries them without plumbing."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
event_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)


@contextlib.contextmanager
def ids(event: str | None, correlation: str | None = None) -> Iterator[None]:
    """Every log line inside the block carries these ids (the message being handled)."""
    token_e = event_id.set(event)
    token_c = correlation_id.set(correlation) if correlation is not None else None
    try:
        yield
    finally:
        event_id.reset(token_e)
        if token_c is not None:
            correlation_id.reset(token_c)


@contextlib.contextmanager
def best_effort(what: str, logger: logging.Logger | None = None) -> Iterator[None]:
    """For clean-up that may fail without consequence: the failure is logged, never silent."""
    try:
        yield
    except Exception as exc:
        (logger or logging.getLogger("antq")).warning(f"{what} failed", extra={"error": repr(exc)[:300]})


_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if (cid := correlation_id.get()) is not None:
            doc["correlation_id"] = cid
        if (eid := event_id.get()) is not None:
            doc["event_id"] = eid
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # tracing on: the line joins its trace (shared.runtime.tracing)
            doc["trace_id"] = format(span.trace_id, "032x")
            doc["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class SupervisorNoise(logging.Filter):
    """FastStream's task supervisor logs each restart of a pull loop: at INFO ("callback for Task-N is
    being executed...") and, when an idle fetch ends in nats-py's TimeoutError, at ERROR with a traceback.
    An idle fetch is not an error; other failures still log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("callback for ") and message.endswith("is being executed..."):
            return False
        exc = record.exc_info[1] if record.exc_info else None
        return not ("raised an exception, retrying" in message and isinstance(exc, TimeoutError))


def configure(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream logs every message at INFO on this logger; that halves throughput.
    logging.getLogger("faststream.access").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    for name in ("faststream", "faststream.access", "faststream.access.nats"):
        logging.getLogger(name).addFilter(SupervisorNoise())
