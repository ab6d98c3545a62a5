"""The rules a campaign office needs, over the bus: roles (DESIGN §2) and every handler's scope
check, refusals that reveal nothing, nested and closed campaigns, references that must exist,
point festivals designated by their level, unit kinds that change, names found without diacritics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from shared.client import Client
from shared.contract import registry as c
from shared.contract.envelope import Actor
from tests.integration.conftest import uid, wait_events


def ok(reply):
    assert reply.ok, reply.error
    return reply.result


class Tree:
    """Province P with ward W (hamlet H, school S) and commune C (hamlet H2), and a 2025 campaign."""

    def __init__(self, admin: Client) -> None:
        self.admin = admin
        self.p, self.w, self.c, self.h, self.s, self.h2 = (uid(k) for k in ("p", "w", "c", "h", "s", "h2"))

    async def build(self, campaign: bool = True) -> Tree:
        for unit_id, kind, parent in (
            (self.p, "province", None),
            (self.w, "ward", self.p),
            (self.c, "commune", self.p),
            (self.h, "residential_group", self.w),
            (self.s, "school", self.w),
            (self.h2, "hamlet", self.c),
        ):
            ok(
                await self.admin.send(
                    c.RegisterUnit(
                        unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2025-01-01"
                    )
                )
            )
        if campaign:
            self.campaign = ok(await self.admin.send(c.OpenCampaign(year=2025, scope_unit_id=self.p)))["campaign_id"]
        return self


@pytest.fixture
async def tree(admin) -> Tree:
    return await Tree(admin).build()


@asynccontextmanager
async def acting(servers, unit: str | None, role: str) -> AsyncIterator[Client]:
    client = await Client.connect(servers.nats_url, Actor(id=f"{role}-of-{unit}", unit=unit, role=role))  # type: ignore[arg-type]
    try:
        yield client
    finally:
        await client.close()


def plan(unit_id: str, date: str = "2025-08-01", **kw) -> c.PlanFestival:
    return c.PlanFestival(
        unit_id=unit_id, year=2025, date=date, venue="Sân", ceremony=c.PartPlan(), festival_part=c.PartPlan(), **kw
    )


def held(festival_id: str, **kw) -> c.ReportFestival:
    return c.ReportFestival(
        festival_id=festival_id,
        held_on="2025-08-01",
        participants=40,
        ceremony_held=True,
        festival_part_held=True,
        **kw,
    )


# ------------------------------------------------------------------------------------ roles


@pytest.mark.parametrize("role", ["officer", "approver"])
async def test_structural_changes_and_campaigns_need_an_admin(servers, tree, role):
    commands = [
        c.MoveUnit(unit_id=tree.h, new_parent_id=tree.c, effective_date="2025-07-01"),
        c.MergeUnits(source_unit_ids=[tree.h], target_unit_id=tree.h2, effective_date="2025-07-01"),
        c.SplitUnit(
            unit_id=tree.h,
            effective_date="2025-07-01",
            close_source=False,
            parts=[c.SplitPart(name="Tổ mới", kind="residential_group")],
        ),
        c.CloseUnit(unit_id=tree.h, effective_date="2025-07-01", reason="giải thể"),
        c.OpenCampaign(year=2025, scope_unit_id=tree.w),
        c.CloseCampaign(campaign_id=tree.campaign, closed_on="2025-09-01"),
        c.UpdateUnit(unit_id=tree.c, effective_date="2025-09-01", kind="ward"),
    ]
    async with acting(servers, tree.p, role) as actor:
        for cmd in commands:
            r = await actor.send(cmd)
            assert r.error["code"] == "forbidden", (type(cmd).__name__, r)
            assert r.error["details"][0]["rule"].startswith("role:"), (type(cmd).__name__, r)
    h = ok(await tree.admin.query("registry", "unit", {"unit_id": tree.h, "date": "2025-08-01"}))
    assert (h["parent_id"], h["status"], h["version"]) == (tree.w, "active", 1)  # nothing happened
    async with acting(servers, tree.p, "admin") as admin_of_p:
        for cmd in commands[:1] + commands[4:]:
            ok(await admin_of_p.send(cmd))


async def test_an_officer_registers_and_updates_units_below_their_unit_but_not_their_own(servers, tree):
    async with acting(servers, tree.w, "officer") as officer, acting(servers, tree.w, "admin") as admin_of_w:
        ok(
            await officer.send(
                c.RegisterUnit(name="Tổ 9", kind="residential_group", parent_id=tree.w, valid_from="2025-07-01")
            )
        )
        ok(await officer.send(c.UpdateUnit(unit_id=tree.h, effective_date="2025-07-01", name="Tổ dân phố 1")))
        own = await officer.send(c.UpdateUnit(unit_id=tree.w, effective_date="2025-07-01", name="Phường Mới"))
        assert own.error["code"] == "forbidden"
        assert own.error["details"] == [{"rule": "own_unit"}]
        ok(await admin_of_w.send(c.UpdateUnit(unit_id=tree.w, effective_date="2025-07-01", name="Phường Mới")))
        province = await admin_of_w.send(c.RegisterUnit(name="Tỉnh Mới", kind="province", valid_from="2025-01-01"))
        assert province.error["code"] == "forbidden"
        assert province.error["details"] == [{"rule": "platform_admin"}]


# ------------------------------------------------------------------------------------ every handler's scope


async def _festival(tree: Tree, unit_id: str) -> str:
    return ok(await tree.admin.send(plan(unit_id)))["festival_id"]


async def _model(tree: Tree, unit_id: str) -> str:
    return ok(await tree.admin.send(c.RegisterModel(unit_id=unit_id, name="Camera", launched_on="2025-07-01")))[
        "model_id"
    ]


async def _campaign_of_w(tree: Tree) -> str:
    return ok(await tree.admin.send(c.OpenCampaign(year=2025, scope_unit_id=tree.w)))["campaign_id"]


async def _scenario(name: str, tree: Tree):
    """(role needed, a command on W's side) for each command of the registry."""
    t = tree
    if name == "register-unit":
        return "officer", c.RegisterUnit(name="Tổ", kind="residential_group", parent_id=t.w, valid_from="2025-07-01")
    if name == "update-unit":
        return "officer", c.UpdateUnit(unit_id=t.h, effective_date="2025-07-01", name="Tổ 1")
    if name == "move-unit":
        return "admin", c.MoveUnit(unit_id=t.s, new_parent_id=t.p, effective_date="2025-07-01")
    if name == "merge-units":
        extra = ok(
            await t.admin.send(
                c.RegisterUnit(name="Tổ 2", kind="residential_group", parent_id=t.w, valid_from="2025-01-01")
            )
        )["unit_id"]
        return "admin", c.MergeUnits(source_unit_ids=[extra], target_unit_id=t.h, effective_date="2025-07-01")
    if name == "split-unit":
        return "admin", c.SplitUnit(
            unit_id=t.h,
            effective_date="2025-07-01",
            close_source=False,
            parts=[c.SplitPart(name="Tổ 3", kind="residential_group")],
        )
    if name == "close-unit":
        return "admin", c.CloseUnit(unit_id=t.h, effective_date="2025-07-01", reason="giải thể")
    if name == "open-campaign":
        return "admin", c.OpenCampaign(year=2025, scope_unit_id=t.w)
    if name == "close-campaign":
        return "admin", c.CloseCampaign(campaign_id=await _campaign_of_w(t), closed_on="2025-09-01")
    if name == "plan-festival":
        return "officer", plan(t.h)
    if name == "reschedule-festival":
        return "officer", c.RescheduleFestival(festival_id=await _festival(t, t.h), date="2025-08-05")
    if name == "report-festival":
        return "officer", held(await _festival(t, t.h))
    if name == "cancel-festival":
        return "officer", c.CancelFestival(festival_id=await _festival(t, t.h), reason="mưa")
    if name == "register-model":
        return "officer", c.RegisterModel(unit_id=t.h, name="Mô hình", launched_on="2025-07-01")
    if name == "replicate-model":
        return "officer", c.ReplicateModel(model_id=await _model(t, t.h2), unit_id=t.h, replicated_on="2025-08-01")
    if name in ("accept-festival-report", "return-festival-report"):  # the level above H: W
        festival = await _festival(t, t.h)
        ok(await t.admin.send(held(festival)))
        if name == "accept-festival-report":
            return "officer", c.AcceptFestivalReport(festival_id=festival)
        return "officer", c.ReturnFestivalReport(festival_id=festival, reason="Thiếu số liệu")
    if name == "recognise-model":  # W is a ward: it recognises at the commune level
        model = await _model(t, t.h)
        return "approver", c.RecogniseModel(
            model_id=model, level="commune", decision_no="1/QĐ", recognised_on="2025-08-01"
        )
    if name == "retire-model":
        return "officer", c.RetireModel(model_id=await _model(t, t.h), retired_on="2025-09-01", reason="Dừng")
    raise AssertionError(name)


@pytest.mark.parametrize("name", list(c.COMMANDS))
async def test_every_command_is_refused_to_an_actor_of_another_branch_and_allowed_above(servers, tree, name):
    role, cmd = await _scenario(name, tree)
    async with acting(servers, tree.c, role) as outsider:  # the neighbouring commune
        refused = await outsider.send(cmd)
    assert refused.error["code"] == "forbidden", (name, refused)
    assert refused.error["details"] == [{"rule": "scope"}], (name, refused)
    async with acting(servers, tree.w if name != "move-unit" else tree.p, role) as insider:
        ok(await insider.send(cmd))


# ------------------------------------------------------------------------------------ nothing revealed


async def test_a_refusal_reads_the_same_for_a_target_that_does_not_exist(servers, tree):
    missing = uid("nope")
    async with acting(servers, tree.c, "officer") as outsider:
        there = await outsider.send(c.UpdateUnit(unit_id=tree.h, effective_date="2025-07-01", name="x"))
        gone = await outsider.send(c.UpdateUnit(unit_id=missing, effective_date="2025-07-01", name="x"))
        assert (there.error["code"], gone.error["code"]) == ("forbidden", "forbidden")
        assert there.error["message"].replace(tree.h, "X") == gone.error["message"].replace(missing, "X")
        for cmd in (
            c.CancelFestival(festival_id=missing, reason="x"),
            c.ReportFestival(
                festival_id=missing, held_on="2025-08-01", participants=1, ceremony_held=True, festival_part_held=True
            ),
        ):
            assert (await outsider.send(cmd)).error["code"] == "forbidden"
    async with acting(servers, tree.c, "admin") as outsider:
        assert (await outsider.send(c.CloseCampaign(campaign_id=missing, closed_on="2025-09-01"))).error[
            "code"
        ] == "forbidden"
    assert (await tree.admin.send(c.UpdateUnit(unit_id=missing, effective_date="2025-07-01", name="x"))).error[
        "code"
    ] == "not_found"


# ------------------------------------------------------------------------------------ campaigns


async def test_a_campaign_below_inherits_may_narrow_and_may_not_widen(servers, admin):
    t = await Tree(admin).build(campaign=False)
    schools = c.WindowException(kind="school", window_start="2025-05-15", window_end="2025-06-30")
    top = ok(
        await admin.send(
            c.OpenCampaign(year=2025, scope_unit_id=t.p, report_deadline="2025-08-25", exceptions=[schools])
        )
    )["campaign_id"]
    wider = await admin.send(c.OpenCampaign(year=2025, scope_unit_id=t.w, window_end="2025-08-25"))
    assert wider.error["code"] == "rule_violation"
    [why] = wider.error["details"]
    assert (why["rule"], why["outer"]) == ("nested_campaign", top)
    below = ok(await admin.send(c.OpenCampaign(year=2025, scope_unit_id=t.w)))["campaign_id"]
    got = ok(await admin.query("registry", "campaign", {"campaign_id": below}))
    assert (got["window_start"], got["window_end"], got["report_deadline"], got["upper_campaign_id"]) == (
        "2025-07-01",
        "2025-08-19",
        "2025-08-25",
        top,
    )
    assert [e["kind"] for e in got["exceptions"]] == ["school"]
    school = ok(await admin.send(c.OpenCampaign(year=2025, scope_unit_id=t.s)))["campaign_id"]
    got = ok(await admin.query("registry", "campaign", {"campaign_id": school}))
    assert (got["window_start"], got["window_end"]) == ("2025-05-15", "2025-06-30")  # the exception above
    narrow = ok(
        await admin.send(
            c.OpenCampaign(year=2025, scope_unit_id=t.c, window_start="2025-07-10", window_end="2025-08-10")
        )
    )
    assert narrow["campaign_id"]


async def test_a_campaign_above_may_not_be_narrower_than_one_below(admin):
    t = await Tree(admin).build(campaign=False)
    below = ok(await admin.send(c.OpenCampaign(year=2025, scope_unit_id=t.w)))["campaign_id"]
    above = await admin.send(c.OpenCampaign(year=2025, scope_unit_id=t.p, window_start="2025-07-15"))
    assert above.error["code"] == "rule_violation"
    [why] = above.error["details"]
    assert (why["rule"], why["inner"]) == ("nested_campaign", below)


async def test_a_closed_campaign_takes_no_plans_or_reschedules_and_counts_reports_as_late(servers, tree):
    f = await _festival(tree, tree.h)
    async with acting(servers, tree.p, "admin") as admin_of_p:
        ok(await admin_of_p.send(c.CloseCampaign(campaign_id=tree.campaign, closed_on="2025-09-01")))
        again = await admin_of_p.send(c.CloseCampaign(campaign_id=tree.campaign, closed_on="2025-09-02"))
        assert again.error["code"] == "conflict"
    [closed] = await wait_events(
        tree.admin, lambda e: e["subject"] == tree.campaign and e["type"].endswith("closed.v1"), 1
    )
    assert closed["data"] == {
        "campaign_id": tree.campaign,
        "year": 2025,
        "scope_unit_id": tree.p,
        "closed_on": "2025-09-01",
    }
    for cmd in (plan(tree.s), c.RescheduleFestival(festival_id=f, date="2025-08-05")):
        r = await tree.admin.send(cmd)
        assert r.error["code"] == "rule_violation"
        closed_on = {"rule": "campaign_open", "campaign_id": tree.campaign, "closed_on": "2025-09-01"}
        assert r.error["details"] == [closed_on]
    report = ok(await tree.admin.send(held(f)))
    assert (report["on_time"], report["reported_on_time"]) == (True, False)


# ------------------------------------------------------------------------------------ references


async def test_models_launched_at_a_festival_exist_below_its_unit(tree):
    f = await _festival(tree, tree.w)
    unknown = await tree.admin.send(held(f, models_launched=["no-such-model"]))
    assert unknown.error["code"] == "not_found"
    elsewhere = await tree.admin.send(held(f, models_launched=[await _model(tree, tree.h2)]))
    assert elsewhere.error["code"] == "rule_violation"
    mine = await _model(tree, tree.h)
    ok(await tree.admin.send(held(f, models_launched=[mine])))


async def test_a_models_festival_is_of_its_unit_or_an_ancestor(tree):
    of_c = await _festival(tree, tree.c)
    wrong = await tree.admin.send(c.RegisterModel(unit_id=tree.h, name="M", launched_on="2025-08-01", festival_id=of_c))
    assert wrong.error["code"] == "rule_violation"
    of_w = await _festival(tree, tree.w)
    ok(await tree.admin.send(c.RegisterModel(unit_id=tree.h, name="M", launched_on="2025-08-01", festival_id=of_w)))
    missing = await tree.admin.send(
        c.RegisterModel(unit_id=tree.h, name="M", launched_on="2025-08-01", festival_id="nope")
    )
    assert missing.error["code"] == "not_found"


async def test_a_point_festival_is_designated_by_its_level_and_is_the_hosts_festival(servers, tree):
    async with acting(servers, tree.w, "officer") as ward, acting(servers, tree.p, "officer") as province:
        r = await province.send(plan(tree.h, point_level="commune"))
        assert r.error["code"] == "forbidden"
        assert r.error["details"] == [{"rule": "point_level", "point_level": "commune"}]
        f = ok(await ward.send(plan(tree.h, point_level="commune")))["festival_id"]
        got = ok(await tree.admin.query("registry", "festival", {"festival_id": f}))
        assert (got["point_level"], got["designated_by"], got["additional"]) == ("commune", tree.w, False)
        ok(await province.send(plan(tree.s, point_level="province")))
        again = await ward.send(plan(tree.h, date="2025-08-05"))
        assert again.error["code"] == "conflict"  # the point festival is the unit's festival of the year
    ministry = ok(await tree.admin.send(plan(tree.h2, point_level="ministry")))["festival_id"]
    got = ok(await tree.admin.query("registry", "festival", {"festival_id": ministry}))
    assert (got["point_level"], got["designated_by"]) == ("ministry", None)


# ------------------------------------------------------------------------------------ kinds and names


async def test_townships_exist_and_a_commune_becomes_a_ward_from_a_date(servers, tree):
    ok(
        await tree.admin.send(
            c.RegisterUnit(name="Thị trấn Sịa", kind="township", parent_id=tree.p, valid_from="2025-01-01")
        )
    )
    async with acting(servers, tree.p, "admin") as admin_of_p:
        ok(await admin_of_p.send(c.UpdateUnit(unit_id=tree.c, effective_date="2025-09-01", kind="ward")))
    before = ok(await tree.admin.query("registry", "unit", {"unit_id": tree.c, "date": "2025-08-31"}))
    after = ok(await tree.admin.query("registry", "unit", {"unit_id": tree.c, "date": "2025-09-01"}))
    assert (before["kind"], after["kind"]) == ("commune", "ward")
    [updated] = await wait_events(
        tree.admin, lambda e: e["subject"] == tree.c and e["type"].endswith("unit.updated.v1"), 1
    )
    assert updated["data"]["kind"] == "ward"
    hamlet = await tree.admin.send(c.UpdateUnit(unit_id=tree.h2, effective_date="2025-09-01", kind="ward"))
    assert hamlet.error["code"] == "rule_violation"


async def test_names_are_stored_in_one_form_and_found_without_diacritics(tree):
    decomposed = "Phu\u031bo\u031b\u0300ng Thua\u0323\u0302n Ho\u0301a"
    ward = ok(
        await tree.admin.send(c.RegisterUnit(name=decomposed, kind="ward", parent_id=tree.p, valid_from="2025-07-01"))
    )["unit_id"]
    got = ok(await tree.admin.query("registry", "unit", {"unit_id": ward}))
    assert got["name"] == "Phường Thuận Hóa"
    for typed in ("thuan hoa", "THUẬN HÓA", "Thuận  Hoá"):
        found = ok(
            await tree.admin.query(
                "registry", "units", {"parent_id": tree.p, "date": "2025-08-01", "name_contains": typed}
            )
        )
        assert [u["unit_id"] for u in found["units"]] == [ward], typed


async def test_the_festival_query_and_event_carry_both_timeliness_facts(tree):
    f = await _festival(tree, tree.h)
    ok(await tree.admin.send(held(f)))
    got = ok(await tree.admin.query("registry", "festival", {"festival_id": f}))
    assert {"on_time", "reported_on", "reported_on_time"} <= set(got)
    [event] = await wait_events(tree.admin, lambda e: e["subject"] == f and e["type"].endswith("held.v1"), 1)
    assert json.dumps(event["data"]).count("reported_on") == 2
