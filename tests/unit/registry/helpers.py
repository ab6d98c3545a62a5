"""Builders for registry's pure rules: units, campaigns, festival commands."""

from __future__ import annotations

import datetime as dt

from services.registry import domain as d
from shared.contract import registry as c

D = dt.date


def unit(uid="u1", kind="commune", parent="p", start=D(2025, 1, 1), code=None, name=None):
    return d.Unit(
        unit_id=uid,
        kind=kind,
        versions=[d.UnitVersion(valid_from=start, parent_id=parent, name=name or uid, code=code, kind=kind)],
        version=1,
    )


def province(uid="p", start=D(2020, 1, 1)):
    return unit(uid, "province", None, start)


def campaign(**kw):
    base = dict(
        campaign_id="cp",
        year=2025,
        scope_unit_id="p",
        scope_kind="province",
        window_start=D(2025, 7, 1),
        window_end=D(2025, 8, 19),
        report_deadline=D(2025, 8, 25),
    )
    return d.Campaign(**{**base, **kw})


def plan(date=D(2025, 8, 1), unit_id="u1", **kw):
    return c.PlanFestival(
        unit_id=unit_id, year=2025, date=date, venue="Sân", ceremony=c.PartPlan(), festival_part=c.PartPlan(), **kw
    )


def report(held=D(2025, 8, 1), **kw):
    return c.ReportFestival(
        festival_id="f", held_on=held, participants=10, ceremony_held=True, festival_part_held=True, **kw
    )


def open_cmd(**kw):
    return c.OpenCampaign(year=2025, scope_unit_id=kw.pop("scope_unit_id", "p"), **kw)
