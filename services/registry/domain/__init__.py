"""Registry rules: the effective-dated unit tree, campaigns, festivals and movement models.

Pure and deterministic: no I/O; the clock (`today`) and new ids are passed in."""

from services.registry.domain.campaigns import Campaign, close_campaign, covered, nearest, open_campaign
from services.registry.domain.common import ALLOWED_PARENTS, State
from services.registry.domain.festivals import (
    Festival,
    cancel_festival,
    check_models_launched,
    designation,
    plan_festival,
    report_festival,
    reschedule_festival,
)
from services.registry.domain.movement_models import MovementModel, Replication, register_model, replicate_model
from services.registry.domain.units import (
    Unit,
    UnitVersion,
    check_codes,
    check_parent,
    close_unit,
    merge_units,
    move_unit,
    new_unit,
    register_unit,
    registered,
    split_unit,
    update_unit,
)
from shared.replicas.units import END, LineageLink

__all__ = [
    "ALLOWED_PARENTS",
    "END",
    "Campaign",
    "Festival",
    "LineageLink",
    "MovementModel",
    "Replication",
    "State",
    "Unit",
    "UnitVersion",
    "cancel_festival",
    "check_codes",
    "check_models_launched",
    "check_parent",
    "close_campaign",
    "close_unit",
    "covered",
    "designation",
    "merge_units",
    "move_unit",
    "nearest",
    "new_unit",
    "open_campaign",
    "plan_festival",
    "register_model",
    "register_unit",
    "registered",
    "replicate_model",
    "report_festival",
    "reschedule_festival",
    "split_unit",
    "update_unit",
]
