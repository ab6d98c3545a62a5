"""Registry domain basics: the tree's kind rules, the state base, events.

Pure: no I/O."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.contract.events import DomainEvent
from shared.contract.registry import ATTACHED, COMMUNE_LEVEL, HAMLET_LEVEL

TERRITORIAL = ("province", "district", *COMMUNE_LEVEL)

# Which kinds a unit of each kind may hang under. Agencies, enterprises and schools attach to a
# territorial unit at any level; hamlets (thôn, tổ dân phố) only under a commune-level unit.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "province": (),
    "district": ("province",),
    "commune": ("province", "district"),
    "ward": ("province", "district"),
    "special_zone": ("province", "district"),
    "township": ("province", "district"),  # thị trấn: commune-level, in trees before 1 Jul 2025
    **dict.fromkeys(HAMLET_LEVEL, COMMUNE_LEVEL),
    **dict.fromkeys(ATTACHED, TERRITORIAL),
}


class State(BaseModel):
    model_config = ConfigDict(extra="ignore")


def fact(aggregate: str, name: str, subject: str, data: BaseModel, version: int) -> DomainEvent:
    return DomainEvent(aggregate=aggregate, name=name, subject=subject, data=data, aggregate_version=version)
