"""Registry domain basics: validity sentinel, the tree's kind rules, state base, authorisation.

Pure: no I/O."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from shared.contract.envelope import Actor
from shared.contract.errors import Forbidden
from shared.contract.events import DomainEvent

END = dt.date(9999, 12, 31)  # open-ended validity; stored instead of null so ranges compare simply
COMMUNE_LEVEL = ("commune", "ward", "special_zone")
TERRITORIAL = ("province", "district", *COMMUNE_LEVEL)

# Which kinds a unit of each kind may hang under. Agencies, enterprises and schools attach to a
# territorial unit at any level; hamlets (thôn, tổ dân phố) only under a commune-level unit.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "province": (),
    "district": ("province",),
    "commune": ("province", "district"),
    "ward": ("province", "district"),
    "special_zone": ("province", "district"),
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
    """A unit's data may be changed by an actor of that unit or of an ancestor (DESIGN §2).

    `ancestry` is the unit followed by its ancestors at the relevant date."""
    if actor.role == "admin" and not actor.unit:
        return
    if actor.unit in ancestry:
        return
    raise Forbidden(
        f"actor {actor.id} of unit {actor.unit} may not {what}: "
        f"it is neither unit {ancestry[0] if ancestry else '?'} nor one of its ancestors"
    )
