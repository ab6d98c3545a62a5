"""Registry's command and query handlers: load (with the actor's authority) → call the domain →
save (+ events). The tables below are the one place the service's messages are registered."""

from __future__ import annotations

from services.registry.handlers.campaigns import close_campaign, open_campaign
from services.registry.handlers.festivals import (
    accept_festival_report,
    cancel_festival,
    plan_festival,
    report_festival,
    reschedule_festival,
    return_festival_report,
)
from services.registry.handlers.movement_models import (
    recognise_model,
    register_model,
    replicate_model,
    retire_model,
)
from services.registry.handlers.queries import (
    q_campaign,
    q_festival,
    q_festivals,
    q_model,
    q_models,
    q_unit,
    q_units,
)
from services.registry.handlers.units import close_unit, merge_units, move_unit, register_unit, split_unit, update_unit
from shared.contract import registry as c
from shared.runtime.pipeline import CommandSpec
from shared.runtime.queries import QuerySpec

COMMANDS: list[CommandSpec] = [
    # `reads`: the units a command names, read for a whole group at once (RegistryStore.prefetch)
    CommandSpec(
        "register-unit",
        c.RegisterUnit,
        register_unit,
        "Register a unit in the tree from valid_from.",
        reads=lambda cmd: [u for u in (cmd.parent_id, cmd.unit_id) if u],
    ),
    CommandSpec(
        "update-unit",
        c.UpdateUnit,
        update_unit,
        "Rename, re-code, re-flag a unit or change its kind from a date.",
        reads=lambda cmd: [cmd.unit_id],
    ),
    CommandSpec(
        "move-unit",
        c.MoveUnit,
        move_unit,
        "Move a unit under another parent from a date.",
        "restructure",
        reads=lambda cmd: [cmd.unit_id, cmd.new_parent_id],
    ),
    CommandSpec("merge-units", c.MergeUnits, merge_units, "Merge units into an existing or a new unit.", "restructure"),
    CommandSpec("split-unit", c.SplitUnit, split_unit, "Split a unit into new parts.", "restructure"),
    CommandSpec("close-unit", c.CloseUnit, close_unit, "Close a unit (it is never deleted).", "restructure"),
    CommandSpec(
        "open-campaign", c.OpenCampaign, open_campaign, "Open the yearly campaign of a scope unit.", "campaign"
    ),
    CommandSpec(
        "close-campaign",
        c.CloseCampaign,
        close_campaign,
        "Close a campaign: the season review begins; no more plans or reschedules.",
        "campaign",
    ),
    CommandSpec("plan-festival", c.PlanFestival, plan_festival, "Plan a unit's festival inside the window."),
    CommandSpec("reschedule-festival", c.RescheduleFestival, reschedule_festival, "Move a planned festival."),
    CommandSpec("report-festival", c.ReportFestival, report_festival, "Report a festival held, with results."),
    CommandSpec("cancel-festival", c.CancelFestival, cancel_festival, "Cancel a planned festival."),
    CommandSpec(
        "accept-festival-report", c.AcceptFestivalReport, accept_festival_report, "Accept a festival's report (above)."
    ),
    CommandSpec(
        "return-festival-report",
        c.ReturnFestivalReport,
        return_festival_report,
        "Return a festival's report with a reason (above).",
    ),
    CommandSpec("register-model", c.RegisterModel, register_model, "Register a movement model."),
    CommandSpec("replicate-model", c.ReplicateModel, replicate_model, "Record a model replicated at a unit."),
    CommandSpec(
        "recognise-model",
        c.RecogniseModel,
        recognise_model,
        "Record a model's recognition (công nhận): level and decision.",
        "decide",
    ),
    CommandSpec("retire-model", c.RetireModel, retire_model, "Retire a model no longer run (it is kept)."),
]

QUERIES: list[QuerySpec] = [
    QuerySpec("unit", c.UnitQuery, q_unit, "A unit as of a date, with history, lineage and ancestors."),
    QuerySpec("units", c.UnitsQuery, q_units, "Children or subtree of a unit (or the roots) as of a date."),
    QuerySpec("festival", c.FestivalQuery, q_festival, "One festival."),
    QuerySpec("festivals", c.FestivalsQuery, q_festivals, "Festivals of a unit and/or year."),
    QuerySpec("campaign", c.CampaignQuery, q_campaign, "A campaign by id, or by year and scope unit."),
    QuerySpec("model", c.ModelQuery, q_model, "A movement model with its replications."),
    QuerySpec("models", c.ModelsQuery, q_models, "Movement models of a scope with their state on a date."),
]
