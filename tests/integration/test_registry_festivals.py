"""Campaigns and festivals over the bus: the window, one festival per unit, report, cancel, models."""

from __future__ import annotations

import datetime as dt

from shared.client import Client
from shared.contract import registry as c
from shared.contract.envelope import Actor
from tests import clock
from tests.integration.conftest import uid, wait_events


async def _tree(admin):
    prov, commune, school = uid("province"), uid("commune"), uid("school")
    for cmd in (
        c.RegisterUnit(unit_id=prov, name="Thành phố Huế", kind="province", valid_from="2025-01-01"),
        c.RegisterUnit(unit_id=commune, name="Phường Phú Xuân", kind="ward", parent_id=prov, valid_from="2025-01-01"),
        c.RegisterUnit(unit_id=school, name="Trường THPT", kind="school", parent_id=commune, valid_from="2025-01-01"),
    ):
        assert (await admin.send(cmd)).ok
    r = await admin.send(
        c.OpenCampaign(
            year=2025,
            scope_unit_id=prov,
            report_deadline="2025-08-10",
            exceptions=[c.WindowException(kind="school", window_start="2025-05-15", window_end="2025-08-19")],
        )
    )
    assert r.ok, r.error
    return prov, commune, school, r.result["campaign_id"]


def _plan(unit_id, date, **kw):
    return c.PlanFestival(
        unit_id=unit_id,
        year=2025,
        date=date,
        venue="Nhà văn hóa",
        ceremony=c.PartPlan(),
        festival_part=c.PartPlan(items=["kéo co"]),
        **kw,
    )


async def test_campaign_window_defaults_to_1_july_to_19_august(admin):
    prov, *_, campaign_id = await _tree(admin)
    r = await admin.query("registry", "campaign", {"campaign_id": campaign_id})
    assert (r.result["window_start"], r.result["window_end"]) == ("2025-07-01", "2025-08-19")
    again = await admin.send(c.OpenCampaign(year=2025, scope_unit_id=prov))
    assert again.error["code"] == "conflict"


async def test_festival_outside_the_window_is_rejected_with_the_window_in_the_reason(admin):
    _, commune, school, _ = await _tree(admin)
    r = await admin.send(_plan(commune, "2025-06-20"))
    assert r.error["code"] == "rule_violation"
    [window] = r.error["details"]
    assert (window["rule"], window["window_start"], window["window_end"]) == ("window", "2025-07-01", "2025-08-19")
    early_school = await admin.send(_plan(school, "2025-06-20"))
    assert early_school.ok, early_school.error


async def test_second_festival_for_a_unit_is_refused_unless_explicitly_allowed(admin):
    _, commune, _, campaign_id = await _tree(admin)
    first = await admin.send(_plan(commune, "2025-08-01"))
    assert first.ok
    assert first.result["campaign_id"] == campaign_id
    second = await admin.send(_plan(commune, "2025-08-05"))
    assert second.error["code"] == "conflict"
    assert second.error["details"] == [{"rule": "one_festival_per_year", "festival_id": first.result["festival_id"]}]
    extra = await admin.send(_plan(commune, "2025-08-05", allow_additional=True))
    assert extra.ok


async def test_both_parts_must_be_planned(admin):
    _, commune, _, _ = await _tree(admin)
    r = await admin.send(
        c.PlanFestival(
            unit_id=commune,
            year=2025,
            date="2025-08-01",
            venue="Sân",
            ceremony=c.PartPlan(),
            festival_part=c.PartPlan(planned=False),
        )
    )
    assert r.error["code"] == "validation_failed"
    assert r.error["details"] == [{"field": "festival_part", "message": "must be planned"}]


async def test_on_time_is_held_inside_the_window_and_a_festival_held_after_it_is_still_recorded(admin):
    _, commune, school, _ = await _tree(admin)
    inside = (await admin.send(_plan(commune, "2025-08-15"))).result["festival_id"]
    after = (await admin.send(_plan(school, "2025-08-19"))).result["festival_id"]
    r1 = await admin.send(
        c.ReportFestival(
            festival_id=inside,
            held_on="2025-08-15",
            participants=300,
            ceremony_held=True,
            festival_part_held=True,
            cost_vnd=15_000_000,
            funding_source="ngân sách xã",
        )
    )
    r2 = await admin.send(
        c.ReportFestival(
            festival_id=after, held_on="2025-08-22", participants=120, ceremony_held=True, festival_part_held=False
        )
    )
    assert r1.ok and r2.ok, (r1.error, r2.error)
    assert r1.result["on_time"] is True  # held inside the window, even after the report deadline (10 Aug)
    assert r2.result["on_time"] is False  # held after the window: recorded all the same
    today = clock.today().isoformat()
    assert (r1.result["reported_on"], r1.result["reported_on_time"]) == (today, False)  # deadline 2025-08-10
    again = await admin.send(
        c.ReportFestival(
            festival_id=inside, held_on="2025-08-15", participants=1, ceremony_held=True, festival_part_held=True
        )
    )
    assert again.error["code"] == "conflict"
    f = (await admin.query("registry", "festival", {"festival_id": inside})).result
    assert (f["status"], f["on_time"], f["reported_on"], f["reported_on_time"]) == ("held", True, today, False)
    assert f["result"]["cost_vnd"] == 15_000_000
    [held] = await wait_events(admin, lambda e: e["subject"] == after and e["type"].endswith("festival.held.v1"), 1)
    assert (held["data"]["on_time"], held["data"]["reported_on"]) == (False, today)


async def test_a_report_by_the_deadline_is_reported_on_time(admin):
    """A campaign of the current year open all year: today's report arrives before its deadline."""
    year = clock.today().year
    prov, ward = uid("province"), uid("ward")
    for cmd in (
        c.RegisterUnit(unit_id=prov, name="Tỉnh", kind="province", valid_from="2025-01-01"),
        c.RegisterUnit(unit_id=ward, name="Phường", kind="ward", parent_id=prov, valid_from="2025-01-01"),
    ):
        assert (await admin.send(cmd)).ok
    jan1, dec31 = dt.date(year, 1, 1), dt.date(year, 12, 31)
    opened = await admin.send(
        c.OpenCampaign(year=year, scope_unit_id=prov, window_start=jan1, window_end=dec31, report_deadline=dec31)
    )
    assert opened.ok, opened.error
    planned = await admin.send(_plan(ward, jan1).model_copy(update={"year": year}))
    assert planned.ok, planned.error
    held = await admin.send(
        c.ReportFestival(
            festival_id=planned.result["festival_id"],
            held_on=jan1,
            participants=50,
            ceremony_held=True,
            festival_part_held=True,
        )
    )
    assert (held.result["on_time"], held.result["reported_on_time"]) == (True, True)


async def test_reschedule_then_cancel_frees_the_slot(admin):
    _, commune, _, _ = await _tree(admin)
    fid = (await admin.send(_plan(commune, "2025-08-01"))).result["festival_id"]
    outside = await admin.send(c.RescheduleFestival(festival_id=fid, date="2025-09-01"))
    assert outside.error["code"] == "rule_violation"
    assert (await admin.send(c.RescheduleFestival(festival_id=fid, date="2025-08-03", reason="mưa"))).ok
    assert (await admin.send(c.CancelFestival(festival_id=fid, reason="bão"))).ok
    cancelled_again = await admin.send(c.CancelFestival(festival_id=fid, reason="bão"))
    assert cancelled_again.error["code"] == "conflict"
    assert (await admin.send(_plan(commune, "2025-08-10"))).ok


async def test_no_campaign_means_not_found(admin):
    prov = uid("province")
    assert (await admin.send(c.RegisterUnit(unit_id=prov, name="Tỉnh", kind="province", valid_from="2025-01-01"))).ok
    r = await admin.send(_plan(prov, "2025-08-01"))
    assert r.error["code"] == "not_found"


async def test_models_register_and_replicate_once_per_unit(admin):
    _prov, commune, school, _ = await _tree(admin)
    m = await admin.send(c.RegisterModel(unit_id=commune, name="Liên gia tự quản về ANTT", launched_on="2025-07-05"))
    assert m.ok
    mid = m.result["model_id"]
    assert (await admin.send(c.ReplicateModel(model_id=mid, unit_id=school, replicated_on="2025-08-01"))).ok
    dup = await admin.send(c.ReplicateModel(model_id=mid, unit_id=school, replicated_on="2025-08-02"))
    assert dup.error["code"] == "conflict"
    own = await admin.send(c.ReplicateModel(model_id=mid, unit_id=commune, replicated_on="2025-08-02"))
    assert own.error["code"] == "rule_violation"


async def test_actor_of_another_branch_is_forbidden_but_an_ancestor_is_allowed(servers, admin):
    prov, _commune, school, _ = await _tree(admin)
    other = uid("ward")
    assert (
        await admin.send(
            c.RegisterUnit(unit_id=other, name="Phường Khác", kind="ward", parent_id=prov, valid_from="2025-07-01")
        )
    ).ok
    outsider = await Client.connect(servers.nats_url, Actor(id="can-bo-1", unit=other, role="officer"))
    ancestor = await Client.connect(servers.nats_url, Actor(id="can-bo-2", unit=prov, role="officer"))
    try:
        refused = await outsider.send(_plan(school, "2025-07-20"))
        assert refused.error["code"] == "forbidden"
        assert refused.error["details"] == [{"rule": "scope"}]
        assert (await ancestor.send(_plan(school, "2025-07-20"))).ok
        province = await ancestor.send(c.RegisterUnit(name="Tỉnh Mới", kind="province", valid_from="2025-01-01"))
        assert province.error["code"] == "forbidden"
    finally:
        await outsider.close()
        await ancestor.close()


async def test_the_calendar_lists_a_scopes_festivals_by_date_in_one_call(servers, admin):
    """The province's festivals between two dates, sorted by date (not id), with unit names; a sibling's
    festivals stay out of a ward's calendar; a cancelled one is listed as cancelled."""
    prov, ward, school, _ = await _tree(admin)
    other = uid("ward")
    assert (
        await admin.send(
            c.RegisterUnit(unit_id=other, name="Phường An Cựu", kind="ward", parent_id=prov, valid_from="2025-01-01")
        )
    ).ok
    planned = {}
    for unit, day in ((school, "2025-08-12"), (ward, "2025-07-20"), (other, "2025-08-01")):
        r = await admin.send(_plan(unit, day, festival_id=f"{unit}-z" if unit == ward else None))
        assert r.ok, r.error
        planned[unit] = r.result["festival_id"]
    assert (await admin.send(c.CancelFestival(festival_id=planned[other], reason="Mưa bão"))).ok
    q = {"scope_unit_id": prov, "from_date": "2025-07-01", "to_date": "2025-08-19"}
    got = await admin.query("registry", "festivals", q)
    assert got.ok, got.error
    days = [(f["date"], f["unit_id"], f["status"]) for f in got.result["festivals"]]
    assert days == [
        ("2025-07-20", ward, "planned"),
        ("2025-08-01", other, "cancelled"),
        ("2025-08-12", school, "planned"),
    ]
    assert got.result["festivals"][0]["unit_name"] == "Phường Phú Xuân"
    narrow = await admin.query("registry", "festivals", {**q, "from_date": "2025-07-21", "to_date": "2025-08-11"})
    assert [f["unit_id"] for f in narrow.result["festivals"]] == [other]
    page = await admin.query("registry", "festivals", {**q, "limit": 2})
    assert page.result["next"] == planned[other]
    rest = await admin.query("registry", "festivals", {**q, "limit": 2, "after": page.result["next"]})
    assert [f["unit_id"] for f in rest.result["festivals"]] == [school] and rest.result["next"] is None
    officer = await Client.connect(servers.nats_url, Actor(id="o", unit=ward, role="officer"))
    try:
        mine = await officer.query("registry", "festivals", {"from_date": "2025-07-01", "to_date": "2025-08-19"})
        assert [f["unit_id"] for f in mine.result["festivals"]] == [ward, school]  # the officer's own subtree
        sibling = await officer.query("registry", "festivals", {**q, "scope_unit_id": other})
        assert not sibling.ok and sibling.error["code"] == "forbidden"
    finally:
        await officer.close()
    bad = await admin.query("registry", "festivals", {**q, "from_date": "2025-09-01"})
    assert not bad.ok and bad.error["code"] == "validation_failed"
    # a unit under the scope on neither end of a range (registered after it starts, merged before it ends)
    brief = uid("brief")
    assert (await admin.send(c.RegisterUnit(unit_id=brief, name="Tổ tạm", kind="residential_group", parent_id=ward,
                                            valid_from="2025-02-01"))).ok  # fmt: skip
    held_there = await admin.send(_plan(brief, "2025-07-25"))
    assert held_there.ok, held_there.error
    merged = c.MergeUnits(source_unit_ids=[brief], target_unit_id=school, effective_date="2025-10-01")
    assert (await admin.send(merged)).ok
    whole = await admin.query("registry", "festivals", {"scope_unit_id": prov, "from_date": "2025-01-01",
                                                           "to_date": "2025-12-31"})  # fmt: skip
    assert brief in [f["unit_id"] for f in whole.result["festivals"]]
    not_yet = await admin.query("registry", "festivals", {"scope_unit_id": prov, "from_date": "2025-01-05",
                                                             "to_date": "2025-12-31"})  # fmt: skip
    assert brief in [f["unit_id"] for f in not_yet.result["festivals"]]


async def test_a_festival_that_held_neither_part_is_not_reported_held(admin):
    _, ward, _, _ = await _tree(admin)
    r = await admin.send(_plan(ward, "2025-07-20"))
    assert r.ok, r.error
    report = c.ReportFestival(
        festival_id=r.result["festival_id"], held_on="2025-07-20", participants=10, ceremony_held=False,
        festival_part_held=False,
    )  # fmt: skip
    refused = await admin.send(report)
    assert not refused.ok and refused.error["details"][0]["rule"] == "a_part_held"
    assert (await admin.send(report.model_copy(update={"ceremony_held": True}))).ok
