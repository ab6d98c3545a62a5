"""What each movement-model command asks the domain (mô hình, điển hình tiên tiến): the actor's role and
scope in one step, then the rules (`movement_models`). Pure: the handler reads, calls one of these, saves."""

from __future__ import annotations

import datetime as dt

from services.registry.domain.decisions import Target, authorized, free, unknown
from services.registry.domain.movement_models import (
    MovementModel,
    Replication,
    check_level,
    recognise_model,
    register_model,
    replicate_model,
    retire_model,
)
from shared.authz import Permission, is_platform_admin, require_scope
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import NotFound
from shared.contract.events import DomainEvent


def model_registration(
    cmd: c.RegisterModel, model_id: str, taken: bool, target: Target, festival_unit: str | None,
    actor: Actor, permission: Permission, today: dt.date | None = None,
) -> tuple[MovementModel, DomainEvent]:  # fmt: skip
    unit = authorized(actor, permission, target, f"register a model for {cmd.unit_id}")
    free(taken, "model", model_id, "model_id")
    return register_model(cmd, model_id, unit, festival_unit, target.ancestry, today)


def replication(
    cmd: c.ReplicateModel, target: Target, model: MovementModel | None, existing: Replication | None,
    festival_unit: str | None, actor: Actor, permission: Permission, today: dt.date | None = None,
) -> tuple[MovementModel, Replication, DomainEvent]:  # fmt: skip
    unit = authorized(actor, permission, target, f"replicate a model at {cmd.unit_id}")
    if model is None:
        raise NotFound(f"model {cmd.model_id} does not exist", [{"field": "model_id", "value": cmd.model_id}])
    return replicate_model(model, cmd, unit, existing, festival_unit, target.ancestry, today)


def model_action(
    model: MovementModel | None, model_id: str, target: Target | None, actor: Actor, permission: Permission, what: str
) -> MovementModel:
    """A model an actor of its unit or above acts on (an unknown id is refused like one out of scope)."""
    what = f"{what} model {model_id}"
    if model is None or target is None:
        raise unknown(actor, permission, "model", model_id, what, "model_id")
    require_scope(actor, target.ancestry, permission, what)
    return model


def recognition(
    cmd: c.RecogniseModel, model: MovementModel | None, target: Target | None, recorder_kind: str | None,
    actor: Actor, permission: Permission, today: dt.date,
) -> tuple[MovementModel, DomainEvent]:  # fmt: skip
    """An approver of the model's unit or above, of a unit of the recognition's level, records it (a
    decision, like an award's)."""
    m = model_action(model, cmd.model_id, target, actor, permission, "recognise")
    platform = is_platform_admin(actor)
    check_level(cmd.level, recorder_kind, platform, cmd.recognised_on)
    return recognise_model(m, cmd, None if platform else actor.unit, today)


def retirement(
    cmd: c.RetireModel, model: MovementModel | None, target: Target | None, actor: Actor, permission: Permission,
    today: dt.date,
) -> tuple[MovementModel, DomainEvent]:  # fmt: skip
    m = model_action(model, cmd.model_id, target, actor, permission, "retire")
    return retire_model(m, cmd, today)
