"""The subjects and streams of DESIGN §3: one place that names every subject.

Services and clients build subjects only through these functions. A leaf of the contract: the
service catalogue (`shared.contract.services`) builds on it, never the other way round."""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "antq"


def event_subject(service: str, aggregate: str, event: str, version: int = 1) -> str:
    return f"{ROOT}.{service}.{aggregate}.{event}.v{version}"


def event_type(service: str, aggregate: str, event: str, version: int = 1) -> str:
    return f"vn.antq.{service}.{aggregate}.{event}.v{version}"


def parse_event_type(type_: str) -> tuple[str, str, str, int] | None:
    """`vn.antq.registry.festival.held.v2` → ("registry", "festival", "held", 2); None for another shape."""
    parts = type_.split(".")
    if len(parts) != 6 or parts[:2] != ["vn", "antq"] or not parts[5].startswith("v") or not parts[5][1:].isdigit():
        return None
    return parts[2], parts[3], parts[4], int(parts[5][1:])


def subject_of_type(type_: str) -> str:
    """`vn.antq.registry.unit.registered.v1` → `antq.registry.unit.registered.v1`."""
    return ROOT + "." + type_.removeprefix("vn.antq.")


def command_subject(service: str, action: str) -> str:
    return f"{ROOT}.cmd.{service}.{action}"


def command_type(service: str, action: str, version: int = 1) -> str:
    return f"vn.antq.{service}.{action}.v{version}"


def intake_subject(service: str, action: str) -> str:
    return f"{ROOT}.intake.{service}.{action}"


def query_subject(service: str, name: str) -> str:
    return f"{ROOT}.query.{service}.{name}"


def ops_subject(service: str, action: str) -> str:
    """Operations requests (consumer status, rebuilds): for the `ops` user and the CLI."""
    return f"{ROOT}.ops.{service}.{action}"


def dlq_subject(service: str, consumer: str) -> str:
    return f"{ROOT}.dlq.{service}.{consumer}"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str


def producer_stream(service: str) -> StreamSpec:
    """Each producer owns one stream for its events (and its reporting topics, for reporting)."""
    return StreamSpec(
        name=f"ANTQ_{service.upper()}",
        subjects=(f"{ROOT}.{service}.>",),
        description=f"Domain events published by the {service} service",
    )


UPLOADS_BUCKET = f"{ROOT}-uploads"  # the JetStream object store clients put a file in before attaching it
INTAKE = StreamSpec("ANTQ_INTAKE", (f"{ROOT}.intake.>",), "Durable command intake from external producers")
DLQ = StreamSpec("ANTQ_DLQ", (f"{ROOT}.dlq.>",), "Dead letters: messages a consumer could not process")
