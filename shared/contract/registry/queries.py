"""Registry's queries: the parameters of `antq.query.registry.<name>`."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from shared.contract.registry.kinds import ModelState, UnitKind
from shared.contract.types import Day, Id, Model, Year

# ---------------------------------------------------------------- queries


class UnitQuery(Model):
    unit_id: Id
    date: Day | None = Field(default=None, description="As of this date; default today.")


class UnitsQuery(Model):
    """Children or the whole subtree of a unit (or the roots) as of a date."""

    parent_id: Id | None = Field(default=None, description="Omit for the roots (provinces).")
    date: Day | None = None
    depth: Literal["children", "subtree"] = "children"
    kinds: Annotated[list[UnitKind], Field(max_length=12)] = []
    name_contains: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="Units whose name contains this, ignoring case and diacritics: 'thuan hoa' finds 'Thuận Hóa'.",
    )
    limit: int = Field(default=1000, ge=1, le=10_000)
    after: Id | None = Field(default=None, description="Cursor: the last unit_id of the previous page.")


class FestivalQuery(Model):
    festival_id: Id


class FestivalsQuery(Model):
    """Festivals of a unit and/or year (by id); or, with `scope_unit_id` and/or a date range, the
    calendar: the festivals of the scope's subtree between `from_date` and `to_date`, sorted by date,
    a province's season in one call."""

    unit_id: Id | None = None
    year: Year | None = None
    scope_unit_id: Id | None = Field(default=None, description="Every unit of this unit's subtree (calendar).")
    from_date: Day | None = Field(default=None, description="Calendar: festivals on or after this date.")
    to_date: Day | None = Field(default=None, description="Calendar: festivals on or before this date.")
    limit: int = Field(default=100, ge=1, le=10_000)
    after: Id | None = Field(default=None, description="Cursor: the last festival_id of the previous page.")

    @model_validator(mode="after")
    def _calendar(self) -> Self:
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise ValueError("from_date is after to_date")
        if self.scope_unit_id and self.unit_id:
            raise ValueError("give unit_id or scope_unit_id, not both")
        return self

    @property
    def calendar(self) -> bool:
        return bool(self.scope_unit_id or self.from_date or self.to_date)


class CampaignQuery(Model):
    campaign_id: Id | None = None
    year: Year | None = None
    scope_unit_id: Id | None = None

    @model_validator(mode="after")
    def _either(self) -> Self:
        if self.campaign_id is None and (self.year is None or self.scope_unit_id is None):
            raise ValueError("give campaign_id, or year and scope_unit_id")
        return self


class ModelQuery(Model):
    """A model with a page of the units that replicated it."""

    model_id: Id
    limit: int = Field(default=100, ge=0, le=5000, description="Replications per page.")
    after: Id | None = Field(default=None, description="Cursor: the last unit_id of the previous page.")


class ModelsQuery(Model):
    """The movement models of a scope's subtree (on the day asked), with their state on that day:
    proposed (registered), recognised (công nhận, with level and decision), retired."""

    scope_unit_id: Id | None = Field(default=None, description="Default: the actor's unit (a platform operator: all).")
    year: Year | None = Field(
        default=None, description="Models that existed in the year (launched by its end, not retired before it)."
    )
    state: ModelState | None = None
    date: Day | None = Field(
        default=None,
        description="The day states and the tree are read on; default the "
        "year's last day (or today, if earlier), else today.",
    )
    limit: int = Field(default=1000, ge=1, le=10_000)
    after: Id | None = Field(default=None, description="Cursor: the last model_id of the previous page.")


QUERIES: dict[str, type[Model]] = {
    "unit": UnitQuery,
    "units": UnitsQuery,
    "festival": FestivalQuery,
    "festivals": FestivalsQuery,
    "campaign": CampaignQuery,
    "model": ModelQuery,
    "models": ModelsQuery,
}
