"""Edges found in review: each event its own aggregate version, no orphans under closed units,
freed codes, authority over every new unit's parent, one festival per unit and year, deeply
nested JSON, an intake resend of a request, and answers too large for one message."""

from __future__ import annotations

import json
from collections import Counter

from shared.client import Client
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.ids import uuid7
from tests.integration.conftest import uid, wait_events


async def _reg(admin, kind, parent=None, valid_from="2025-01-01", **kw):
    unit_id = uid(kind)
    r = await admin.send(
        c.RegisterUnit(
            unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from=valid_from, **kw
        )
    )
    assert r.ok, r.error
    return unit_id


async def test_every_event_of_one_command_carries_its_own_aggregate_version(admin):
    prov = await _reg(admin, "province")
    a, b = await _reg(admin, "commune", prov), await _reg(admin, "commune", prov)
    target = uid("commune")
    assert (
        await admin.send(
            c.MergeUnits(
                source_unit_ids=[a, b],
                effective_date="2025-07-01",
                new_unit=c.NewUnit(unit_id=target, name="Xã Mới", kind="commune", parent_id=prov),
            )
        )
    ).ok
    part = uid("commune")
    assert (
        await admin.send(
            c.SplitUnit(
                unit_id=target,
                effective_date="2025-09-01",
                parts=[c.SplitPart(unit_id=part, name="Xã Tách", kind="commune")],
            )
        )
    ).ok
    events = await wait_events(admin, lambda e: e["subject"] in (target, a, b), 8)  # 2 + 4 (merge) + 2 (split)
    pairs = Counter((e["subject"], e["aggregateversion"]) for e in events)
    assert set(pairs.values()) == {1}
    versions = [e["aggregateversion"] for e in events if e["subject"] == target]
    assert versions == [1, 2, 3, 4]  # registered, merged, split, closed
    stored = await admin.query("registry", "unit", {"unit_id": target})
    assert stored.result["version"] == 4


async def test_no_unit_can_hang_under_a_unit_that_closes(admin):
    prov = await _reg(admin, "province")
    commune = await _reg(admin, "commune", prov)
    assert (await admin.send(c.CloseUnit(unit_id=commune, effective_date="2025-07-01", reason="gộp"))).ok
    late = await admin.send(c.RegisterUnit(name="Thôn", kind="hamlet", parent_id=commune, valid_from="2025-06-01"))
    assert late.error["code"] == "rule_violation"
    [why] = late.error["details"]
    assert (why["rule"], why["parent_id"], why["valid_to"]) == ("parent_outlives_child", commune, "2025-07-01")


async def test_a_merge_refuses_to_leave_future_children_behind(admin):
    prov = await _reg(admin, "province")
    a, b = await _reg(admin, "commune", prov), await _reg(admin, "commune", prov)
    future = await _reg(admin, "hamlet", b, valid_from="2025-09-01")
    r = await admin.send(
        c.MergeUnits(
            source_unit_ids=[a, b],
            effective_date="2025-07-01",
            new_unit=c.NewUnit(name="Xã", kind="commune", parent_id=prov),
        )
    )
    assert r.error["code"] == "rule_violation"
    [why] = r.error["details"]
    assert why["rule"] == "no_orphans" and why["unit_ids"] == [future]
    kept = await admin.send(
        c.MergeUnits(source_unit_ids=[a], target_unit_id=b, effective_date="2025-07-01", move_children=False)
    )
    assert kept.ok  # a has no children: nothing is left behind


async def test_nested_sources_are_refused_clearly(admin):
    prov = await _reg(admin, "province")
    district = await _reg(admin, "district", prov)
    commune = await _reg(admin, "commune", district)
    r = await admin.send(
        c.MergeUnits(
            source_unit_ids=[district, commune],
            effective_date="2025-07-01",
            new_unit=c.NewUnit(name="Xã", kind="commune", parent_id=prov),
        )
    )
    assert r.error["code"] == "rule_violation"
    assert r.error["details"] == [{"rule": "sources_not_nested", "unit_ids": [commune]}]


async def test_a_code_freed_by_a_same_day_recode_can_be_taken(admin):
    prov = await _reg(admin, "province")
    code_a, code_b = uid("")[-10:], uid("")[-10:]
    a = await _reg(admin, "commune", prov, code=code_a)
    assert (await admin.send(c.UpdateUnit(unit_id=a, effective_date="2025-01-01", code=code_b))).ok
    assert (
        await admin.send(
            c.RegisterUnit(name="Xã B", kind="commune", parent_id=prov, valid_from="2025-01-01", code=code_a)
        )
    ).ok


async def test_split_needs_authority_over_the_parent_of_every_part(servers, admin):
    prov = await _reg(admin, "province")
    commune = await _reg(admin, "commune", prov)
    officer = await Client.connect(servers.nats_url, Actor(id="xa-1", unit=commune, role="officer"))
    try:
        r = await officer.send(
            c.SplitUnit(
                unit_id=commune,
                effective_date="2025-07-01",
                close_source=False,
                parts=[c.SplitPart(name="Xã Lén", kind="commune")],
            )
        )
        assert r.error["code"] == "forbidden"
    finally:
        await officer.close()


async def test_one_festival_per_unit_and_year_even_across_campaign_scopes(admin):
    prov = await _reg(admin, "province")
    ward = await _reg(admin, "ward", prov)
    assert (await admin.send(c.OpenCampaign(year=2025, scope_unit_id=prov))).ok
    plan = c.PlanFestival(
        unit_id=ward, year=2025, date="2025-08-01", venue="Sân", ceremony=c.PartPlan(), festival_part=c.PartPlan()
    )
    assert (await admin.send(plan)).ok
    assert (await admin.send(c.OpenCampaign(year=2025, scope_unit_id=ward))).ok
    again = await admin.send(plan.model_copy(update={"date": dt_date("2025-08-05")}))
    assert again.error["code"] == "conflict"


def dt_date(text):
    import datetime as dt

    return dt.date.fromisoformat(text)


async def test_deeply_nested_json_is_malformed_not_internal(admin):
    for subject in ("antq.cmd.registry.register-unit", "antq.query.registry.unit"):
        msg = await admin.nc.request(subject, b"[" * 50_000, timeout=5)
        assert json.loads(msg.data)["error"]["code"] == "malformed"


async def test_dates_at_the_end_of_time_are_refused_at_the_edge(admin):
    r = await admin.command(
        "registry", "register-unit", {"name": "Tỉnh", "kind": "province", "valid_from": "9999-12-31"}
    )
    assert r.error["code"] == "validation_failed"


async def test_a_request_resent_on_the_intake_gets_its_outcome_event(admin):
    unit_id, command_id = uid("p"), uuid7()
    cmd = c.RegisterUnit(unit_id=unit_id, name="Tỉnh", kind="province", valid_from="2025-01-01")
    assert (await admin.send(cmd, id=command_id)).ok  # by request/reply: no outcome event
    await admin.submit("registry", "register-unit", cmd, id=command_id)  # the client falls back to the intake
    await admin.submit("registry", "register-unit", cmd, id=command_id)
    outcomes = await wait_events(admin, lambda e: e["subject"] == command_id, 1, subject="antq.registry.command.>")
    assert [e["type"] for e in outcomes] == ["vn.antq.registry.command.accepted.v1"]
    assert outcomes[0]["data"]["result"] == {"unit_id": unit_id}
    registered = await wait_events(admin, lambda e: e["subject"] == unit_id, 1)
    assert len(registered) == 1


async def test_an_answer_too_large_for_one_message_is_refused_with_a_hint(admin):
    prov = await _reg(admin, "province")
    ward = await _reg(admin, "ward", prov)
    assert (await admin.send(c.OpenCampaign(year=2025, scope_unit_id=prov))).ok
    big = ["hoạt động " + "x" * 1990] * 100
    for i in range(6):
        f = await admin.send(
            c.PlanFestival(
                unit_id=ward,
                year=2025,
                date="2025-08-01",
                venue="Sân",
                ceremony=c.PartPlan(),
                festival_part=c.PartPlan(),
                allow_additional=True,
            )
        )
        assert (
            await admin.send(
                c.ReportFestival(
                    festival_id=f.result["festival_id"],
                    held_on="2025-08-01",
                    participants=i,
                    ceremony_held=True,
                    festival_part_held=True,
                    activities=big,
                )
            )
        ).ok
    r = await admin.query("registry", "festivals", {"unit_id": ward})
    assert r.error["code"] == "reply_too_large"
    assert (await admin.query("registry", "festivals", {"unit_id": ward, "limit": 2})).ok


async def test_new_units_cannot_hang_under_a_unit_closing_in_the_same_command(admin):
    prov = await _reg(admin, "province")
    commune = await _reg(admin, "commune", prov)
    split = await admin.send(
        c.SplitUnit(
            unit_id=commune,
            effective_date="2025-07-01",
            parts=[c.SplitPart(name="Thôn", kind="hamlet", parent_id=commune)],
        )
    )
    assert split.error["code"] == "rule_violation"
    merge = await admin.send(
        c.MergeUnits(
            source_unit_ids=[commune],
            effective_date="2025-07-01",
            new_unit=c.NewUnit(name="Thôn", kind="hamlet", parent_id=commune),
        )
    )
    assert merge.error["code"] == "rule_violation"


async def test_a_festival_cannot_be_reported_for_a_unit_gone_that_day(admin):
    prov = await _reg(admin, "province")
    a, b = await _reg(admin, "commune", prov), await _reg(admin, "commune", prov)
    assert (await admin.send(c.OpenCampaign(year=2025, scope_unit_id=prov))).ok
    f = await admin.send(
        c.PlanFestival(
            unit_id=a, year=2025, date="2025-08-10", venue="Sân", ceremony=c.PartPlan(), festival_part=c.PartPlan()
        )
    )
    assert (await admin.send(c.MergeUnits(source_unit_ids=[a], target_unit_id=b, effective_date="2025-08-01"))).ok
    r = await admin.send(
        c.ReportFestival(
            festival_id=f.result["festival_id"],
            held_on="2025-08-10",
            participants=5,
            ceremony_held=True,
            festival_part_held=True,
        )
    )
    assert r.error["code"] == "rule_violation"
    assert r.error["details"][0]["rule"] == "unit_active"


async def test_replications_and_festivals_are_paged(admin):
    prov = await _reg(admin, "province")
    origin = await _reg(admin, "commune", prov)
    others = [await _reg(admin, "commune", prov) for _ in range(3)]
    m = (await admin.send(c.RegisterModel(unit_id=origin, name="Camera an ninh", launched_on="2025-07-02"))).result
    for u in others:
        assert (await admin.send(c.ReplicateModel(model_id=m["model_id"], unit_id=u, replicated_on="2025-08-01"))).ok
    page1 = (await admin.query("registry", "model", {"model_id": m["model_id"], "limit": 2})).result
    assert page1["replications"] == 3
    assert len(page1["replicated_at"]) == 2
    page2 = (
        await admin.query("registry", "model", {"model_id": m["model_id"], "limit": 2, "after": page1["next"]})
    ).result
    assert page2["next"] is None
    assert sorted(r["unit_id"] for r in page1["replicated_at"] + page2["replicated_at"]) == sorted(others)
    assert (await admin.send(c.OpenCampaign(year=2025, scope_unit_id=prov))).ok
    for u in others:
        assert (
            await admin.send(
                c.PlanFestival(
                    unit_id=u,
                    year=2025,
                    date="2025-08-10",
                    venue="Sân",
                    ceremony=c.PartPlan(),
                    festival_part=c.PartPlan(),
                )
            )
        ).ok
    seen, after = [], None
    while True:
        params = {"year": 2025, "limit": 2, **({"after": after} if after else {})}
        r = (await admin.query("registry", "festivals", params)).result
        seen += [f["unit_id"] for f in r["festivals"]]
        if not (after := r["next"]):
            break
    assert set(others) <= set(seen)
