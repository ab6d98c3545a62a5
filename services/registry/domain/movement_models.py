"""Movement models (mô hình, điển hình tiên tiến) and their replication (nhân rộng).

Pure: no I/O."""

from __future__ import annotations

import datetime as dt

from services.registry.domain.common import State, fact
from services.registry.domain.units import Unit
from shared.contract import registry as c
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation
from shared.contract.events import DomainEvent


class Replication(State):
    """One unit that took up a model: stored as its own record, so a model may spread to any number."""

    model_id: str
    unit_id: str
    replicated_on: dt.date
    festival_id: str | None = None


class MovementModel(State):
    """Mô hình: a movement model launched by a unit and replicated (nhân rộng) to others."""

    model_id: str
    unit_id: str
    name: str
    category: str | None = None
    description: str | None = None
    launched_on: dt.date
    festival_id: str | None = None
    replications: int = 0  # how many units took it up; the records themselves are kept apart
    recognised_on: dt.date | None = None  # proposed from launched_on; recognised (công nhận) from here
    level: c.ModelLevel | None = None
    decision_no: str | None = None
    recognised_by: str | None = None
    retired_on: dt.date | None = None
    retire_reason: str | None = None
    version: int = 1

    def state_on(self, day: dt.date) -> c.ModelState | None:
        """Its state on `day` as dated data (None before it was launched)."""
        if day < self.launched_on:
            return None
        if self.retired_on is not None and day >= self.retired_on:
            return "retired"
        if self.recognised_on is not None and day >= self.recognised_on:
            return "recognised"
        return "proposed"


def check_festival(festival_id: str | None, festival_unit: str | None, ancestry: list[str]) -> None:
    """A festival a model refers to exists and is the unit's own or an ancestor's (`ancestry`: the
    unit and its ancestors on the day; `festival_unit`: the festival's unit, None if it is unknown)."""
    if festival_id is None:
        return
    if festival_unit is None:
        raise NotFound(f"festival {festival_id} does not exist", [{"field": "festival_id", "value": festival_id}])
    if festival_unit not in ancestry:
        raise RuleViolation(
            f"festival {festival_id} is of unit {festival_unit}, neither this unit nor one of its ancestors",
            [{"field": "festival_id", "value": festival_id, "rule": "festival_of_unit_or_ancestor"}],
        )


def not_in_future(day: dt.date, field: str, today: dt.date | None) -> None:
    if today is not None and day > today:
        raise RuleViolation(
            f"{field} {day} is in the future (today is {today})", [{"field": field, "rule": "not_in_future"}]
        )


def register_model(
    cmd: c.RegisterModel,
    model_id: str,
    unit: Unit,
    festival_unit: str | None = None,
    ancestry: list[str] | None = None,
    today: dt.date | None = None,
) -> tuple[MovementModel, DomainEvent]:
    not_in_future(cmd.launched_on, "launched_on", today)
    unit.require_active(cmd.launched_on)
    check_festival(cmd.festival_id, festival_unit, ancestry or [unit.unit_id])
    m = MovementModel(
        model_id=model_id,
        unit_id=unit.unit_id,
        name=cmd.name,
        category=cmd.category,
        description=cmd.description,
        launched_on=cmd.launched_on,
        festival_id=cmd.festival_id,
    )
    return m, fact(
        "model",
        "registered",
        model_id,
        c.ModelRegistered(
            model_id=model_id,
            unit_id=unit.unit_id,
            name=cmd.name,
            category=cmd.category,
            launched_on=cmd.launched_on,
            festival_id=cmd.festival_id,
        ),
        1,
    )


def replicate_model(
    m: MovementModel,
    cmd: c.ReplicateModel,
    unit: Unit,
    existing: Replication | None,
    festival_unit: str | None = None,
    ancestry: list[str] | None = None,
    today: dt.date | None = None,
) -> tuple[MovementModel, Replication, DomainEvent]:
    not_in_future(cmd.replicated_on, "replicated_on", today)
    unit.require_active(cmd.replicated_on)
    check_festival(cmd.festival_id, festival_unit, ancestry or [unit.unit_id])
    if cmd.unit_id == m.unit_id:
        raise RuleViolation(
            f"model {m.model_id} was launched by unit {m.unit_id}; it cannot be replicated there",
            [{"rule": "replicated_elsewhere"}],
        )
    if existing is not None:
        raise Conflict(
            f"model {m.model_id} is already replicated at unit {cmd.unit_id} (on {existing.replicated_on})",
            [{"rule": "replicated_once"}],
        )
    if cmd.replicated_on < m.launched_on:
        raise RuleViolation(
            f"replicated_on {cmd.replicated_on} is before the model's launch {m.launched_on}",
            [{"field": "replicated_on", "rule": "replicated_after_launch"}],
        )
    rep = Replication(
        model_id=m.model_id, unit_id=cmd.unit_id, replicated_on=cmd.replicated_on, festival_id=cmd.festival_id
    )
    new = m.model_copy(update={"replications": m.replications + 1, "version": m.version + 1})
    return (
        new,
        rep,
        fact(
            "model",
            "replicated",
            m.model_id,
            c.ModelReplicated(
                model_id=m.model_id,
                unit_id=cmd.unit_id,
                origin_unit_id=m.unit_id,
                replicated_on=cmd.replicated_on,
                festival_id=cmd.festival_id,
            ),
            new.version,
        ),
    )


def _check_day(day: dt.date, field: str, m: MovementModel, today: dt.date) -> None:
    not_in_future(day, field, today)
    if day < m.launched_on:
        raise RuleViolation(
            f"{field} {day} is before the model's launch {m.launched_on}",
            [{"field": field, "rule": "after_launch"}],
        )


LEVEL_KINDS: dict[str, tuple[str, ...]] = {
    "commune": c.COMMUNE_LEVEL,
    "district": ("district",),
    "province": ("province",),
    "ministry": (),  # outside the province's tree: a platform operator records it
}


def check_level(level: c.ModelLevel, recorder_kind: str | None, platform: bool, day: dt.date) -> None:
    """A recognition of `level` is recorded by an approver of a unit of that level (on the day): a ward
    recognises at the commune level, a province at the province level; the ministry's, and any level's
    on its behalf, by a platform operator. (There are no districts after 30 Jun 2025.)"""
    if platform:
        return
    if recorder_kind not in LEVEL_KINDS[level]:
        raise Forbidden(
            f"a {level}-level recognition is recorded by an approver of a {level}-level unit, not of a "
            f"{recorder_kind or 'unknown'} unit (on {day})",
            [{"field": "level", "value": level, "rule": "model_level"}],
        )


def recognise_model(
    m: MovementModel, cmd: c.RecogniseModel, recognised_by: str | None, today: dt.date
) -> tuple[MovementModel, DomainEvent]:
    """proposed → recognised (công nhận), with the level and decision: once; not a retired model."""
    if m.recognised_on is not None or m.retired_on is not None:
        state = "retired" if m.retired_on is not None else "recognised"
        raise Conflict(f"model {m.model_id} is already {state}", [{"rule": "model_proposed", "state": state}])
    _check_day(cmd.recognised_on, "recognised_on", m, today)
    new = m.model_copy(
        update={
            "recognised_on": cmd.recognised_on,
            "level": cmd.level,
            "decision_no": cmd.decision_no,
            "recognised_by": recognised_by,
            "version": m.version + 1,
        }
    )
    data = c.ModelRecognised(
        model_id=m.model_id,
        unit_id=m.unit_id,
        level=cmd.level,
        decision_no=cmd.decision_no,
        recognised_on=cmd.recognised_on,
        recognised_by=recognised_by,
    )
    return new, fact("model", "recognised", m.model_id, data, new.version)


def retire_model(m: MovementModel, cmd: c.RetireModel, today: dt.date) -> tuple[MovementModel, DomainEvent]:
    """A model no longer run is retired, once, on or after its launch and its recognition; kept."""
    if m.retired_on is not None:
        raise Conflict(f"model {m.model_id} is already retired", [{"rule": "model_retired_once"}])
    _check_day(cmd.retired_on, "retired_on", m, today)
    if m.recognised_on is not None and cmd.retired_on < m.recognised_on:
        raise RuleViolation(
            f"retired_on {cmd.retired_on} is before its recognition on {m.recognised_on}",
            [{"field": "retired_on", "rule": "after_recognition"}],
        )
    new = m.model_copy(update={"retired_on": cmd.retired_on, "retire_reason": cmd.reason, "version": m.version + 1})
    data = c.ModelRetired(model_id=m.model_id, unit_id=m.unit_id, retired_on=cmd.retired_on, reason=cmd.reason)
    return new, fact("model", "retired", m.model_id, data, new.version)
