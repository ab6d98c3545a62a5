"""What a domain function returns besides new state: a fact to publish, not yet enveloped.

Pure data: the outbox turns it into a CloudEvent inside the same database write."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(frozen=True)
class DomainEvent:
    aggregate: str  # e.g. "festival"
    name: str  # past tense, e.g. "held"
    subject: str  # the aggregate id
    data: BaseModel
    aggregate_version: int | None = None
    version: int = 1  # major version of the payload schema
    superseded_by: int | None = None  # also published as this newer major (its twin, same aggregate version)
