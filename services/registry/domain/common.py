"""Registry domain basics: validity sentinel, the tree's kind rules, state base, authorisation.

Pure: no I/O."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from shared.contract.envelope import Actor
from shared.contract.events import DomainEvent
from shared.replicas.authz import require_scope
from shared.replicas.units import COMMUNE_LEVEL

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
    "hamlet": COMMUNE_LEVEL,
    "residential_group": COMMUNE_LEVEL,
    "agency": TERRITORIAL,
    "enterprise": TERRITORIAL,
    "school": TERRITORIAL,
}


class State(BaseModel):
    model_config = ConfigDict(extra="ignore")


def fact(aggregate: str, name: str, subject: str, data: BaseModel, version: int) -> DomainEvent:
    return DomainEvent(aggregate=aggregate, name=name, subject=subject, data=data, aggregate_version=version)


# ------------------------------------------------------------------------------------ authorisation


def authorize(actor: Actor, ancestry: list[str], what: str) -> None:
    """A unit's data may be changed by an actor of that unit or of an ancestor (DESIGN §2): the
    shared rule of shared.replicas.authz. `ancestry` is the unit and its ancestors at the date."""
    require_scope(actor, ancestry, "operate", what)
