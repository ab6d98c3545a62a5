"""Reads are scoped like writes, and every command refuses an actor out of scope: a query family at a
time, asked by the unit's own officer, an ancestor's approver, a sibling's officer and an officer
asking for the province, and an id that does not exist (refused exactly like one out of scope); then
every command of awards, notifications and reporting sent from the wrong branch.

Province P: ward W1 (groups G1, G2), ward W2 (group G3). G1 holds a festival, records a gift and a
model; an individual of G1 is nominated (N1, approved by W1 into award A1) and another is returned
(N2); W1 has a webhook recipient R (the actors' ids name their unit and role)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.notifications.app import NotificationsSettings
from services.notifications.app import create as create_notifications
from shared.client import Client
from shared.contract import awards as a
from shared.contract import registry as r
from shared.contract.envelope import Actor
from shared.runtime.host import ServiceHost
from tests.integration.conftest import in_process, settle, uid
from tests.integration.test_notifications import fresh_durables

PERSON = {"person_id": "p-scope", "name": "Trần Thị Bình", "position": "Tổ phó", "year_of_birth": 1968}


def ok(reply) -> Any:
    assert reply.ok, reply.error
    return reply.result


def refused(reply, rule: str = "scope") -> dict:
    assert not reply.ok, reply.result
    assert reply.error["code"] == "forbidden", reply.error
    assert [d.get("rule") for d in reply.error["details"]] == [rule], reply.error
    return reply.error


class World:
    def __init__(self) -> None:
        self.p, self.w1, self.w2, self.g1, self.g2, self.g3 = (uid(k) for k in ("p", "w1", "w2", "g1", "g2", "g3"))
        self.clients: dict[tuple[str, str], Client] = {}

    async def actor(self, servers, unit: str, role: str) -> Client:
        if (unit, role) not in self.clients:
            self.clients[(unit, role)] = await Client.connect(
                servers.nats_url,
                Actor(id=f"{role}-{unit}", unit=unit, role=role),  # type: ignore[arg-type]
            )
        return self.clients[(unit, role)]

    async def build(self, servers, admin: Client, registry, awards, reporting, notifications) -> World:
        for unit_id, kind, parent in (
            (self.p, "province", None),
            (self.w1, "ward", self.p),
            (self.w2, "ward", self.p),
            (self.g1, "residential_group", self.w1),
            (self.g2, "residential_group", self.w1),
            (self.g3, "residential_group", self.w2),
        ):
            ok(
                await admin.send(
                    r.RegisterUnit(unit_id=unit_id, name=unit_id, kind=kind, parent_id=parent, valid_from="2024-01-01")
                )
            )
        self.campaign = ok(await admin.send(r.OpenCampaign(year=2026, scope_unit_id=self.p)))["campaign_id"]
        self.festival = ok(
            await admin.send(
                r.PlanFestival(
                    unit_id=self.g1,
                    year=2026,
                    date="2026-08-10",
                    venue="Nhà văn hóa",
                    ceremony=r.PartPlan(),
                    festival_part=r.PartPlan(),
                )
            )
        )["festival_id"]
        report = r.ReportFestival(
            festival_id=self.festival,
            held_on="2026-08-10",
            participants=50,
            ceremony_held=True,
            festival_part_held=True,
        )
        ok(await admin.send(report))
        self.model = ok(
            await admin.send(r.RegisterModel(unit_id=self.g1, name="Camera an ninh", launched_on="2026-08-10"))
        )["model_id"]
        await settle(registry, awards)
        officer_g1 = await self.actor(servers, self.g1, "officer")
        approver_w1 = await self.actor(servers, self.w1, "approver")
        self.n1 = ok(await officer_g1.send(self.nomination()))["nomination_id"]
        self.n2 = ok(await officer_g1.send(self.nomination(achievement="Thành tích khác", person_id="p-two")))[
            "nomination_id"
        ]
        ok(await approver_w1.send(a.ReturnNomination(nomination_id=self.n2, reason="Thiếu hồ sơ")))
        self.award = ok(
            await approver_w1.send(
                a.ApproveNomination(nomination_id=self.n1, decision_no="1/QĐ-UBND", decision_date="2026-08-05")
            )
        )["award_id"]
        self.gift = ok(
            await officer_g1.send(
                a.RecordGift(
                    unit_id=self.g1,
                    beneficiary_kind="poor_household",
                    recipients=2,
                    value_vnd=500_000,
                    funding_source="Quỹ",
                    festival_id=self.festival,
                )
            )
        )["gift_id"]
        await settle(registry, notifications)
        self.recipient = ok(
            await (await self.actor(servers, self.w1, "admin")).command(
                "notifications",
                "add-recipient",
                {
                    "scope_unit_id": self.w1,
                    "events": ["vn.antq.registry.model.replicated.v1"],
                    "channel": "webhook",
                    "address": "http://127.0.0.1:9/hook",
                },
            )
        )["recipient_id"]
        await settle(registry, reporting)
        await settle(awards, reporting)
        return self

    def nomination(self, achievement: str = "Thành tích xuất sắc", person_id: str = "p-scope") -> a.SubmitNomination:
        return a.SubmitNomination.model_validate(
            {
                "nominee": {"kind": "individual", "unit_id": self.g1, "person": {**PERSON, "person_id": person_id}},
                "award_form": "giay_khen_chu_tich_ubnd_xa",
                "year": 2026,
                "achievement": achievement,
            }
        )

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


@pytest.fixture(scope="module")
async def notifications(servers, registry, awards) -> AsyncIterator[ServiceHost]:
    await fresh_durables(servers.nats_url)
    host = create_notifications(in_process(NotificationsSettings, servers, "notifications"))
    await host.start()
    await settle(registry, host, timeout=60)
    yield host
    await host.stop()


@pytest.fixture(scope="module")
async def world(servers, admin, registry, awards, reporting, notifications) -> AsyncIterator[World]:
    w = await World().build(servers, admin, registry, awards, reporting, notifications)
    yield w
    await w.close()


async def same_refusal(out_of_scope, unknown) -> None:
    """An id that does not exist is refused exactly like one out of scope (nothing to probe)."""
    a, b = refused(await out_of_scope), refused(await unknown)
    assert (a["code"], a["details"]) == (b["code"], b["details"])


# ------------------------------------------------------------------------------------ queries


async def test_registry_reads(servers, world: World) -> None:
    own, approver = await world.actor(servers, world.g1, "officer"), await world.actor(servers, world.w1, "approver")
    sibling = await world.actor(servers, world.g2, "officer")
    for client in (own, approver):
        assert ok(await client.query("registry", "unit", {"unit_id": world.g1}))["unit_id"] == world.g1
        assert ok(await client.query("registry", "festival", {"festival_id": world.festival}))["unit_id"] == world.g1
        assert ok(await client.query("registry", "model", {"model_id": world.model}))["unit_id"] == world.g1
    await same_refusal(
        sibling.query("registry", "unit", {"unit_id": world.g1}), sibling.query("registry", "unit", {"unit_id": "nope"})
    )
    await same_refusal(
        sibling.query("registry", "festival", {"festival_id": world.festival}),
        sibling.query("registry", "festival", {"festival_id": "nope"}),
    )
    refused(await sibling.query("registry", "model", {"model_id": world.model}))
    # what governs the officer is readable: the province's record and campaign
    assert ok(await own.query("registry", "unit", {"unit_id": world.p}))["kind"] == "province"
    assert ok(await own.query("registry", "campaign", {"campaign_id": world.campaign}))["scope_unit_id"] == world.p
    # listings stay inside the officer's subtree
    refused(await own.query("registry", "units", {"parent_id": world.p}))
    under_w1 = ok(await approver.query("registry", "units", {"parent_id": world.w1}))["units"]
    assert {u["unit_id"] for u in under_w1} == {world.g1, world.g2}
    assert ok(await sibling.query("registry", "units", {}))["units"] == []  # its own subtree: nothing under it
    refused(await sibling.query("registry", "festivals", {"unit_id": world.g1}))
    assert [f["festival_id"] for f in ok(await own.query("registry", "festivals", {}))["festivals"]] == [world.festival]


async def test_awards_reads_keep_nominees_in_their_branch(servers, world: World) -> None:
    own, approver = await world.actor(servers, world.g1, "officer"), await world.actor(servers, world.w1, "approver")
    sibling = await world.actor(servers, world.g2, "officer")
    cousin = await world.actor(servers, world.g3, "officer")
    for client in (own, approver):
        n = ok(await client.query("awards", "nomination", {"nomination_id": world.n1}))
        assert n["nominee"]["person"]["name"] == PERSON["name"]
        assert ok(await client.query("awards", "award", {"award_id": world.award}))["unit_id"] == world.g1
        listed = ok(await client.query("awards", "nominations", {"unit_id": world.g1}))["items"]
        assert {x["nomination_id"] for x in listed} == {world.n1, world.n2}
        assert ok(await client.query("awards", "gifts", {"unit_id": world.g1}))["items"]
        history = ok(
            await client.query(
                "awards", "history", {"nominee": {"kind": "individual", "person": {"person_id": "p-scope"}}}
            )
        )
        assert [x["award_id"] for x in history["awards"]] == [world.award]
    await same_refusal(
        sibling.query("awards", "nomination", {"nomination_id": world.n1}),
        sibling.query("awards", "nomination", {"nomination_id": "nope"}),
    )
    await same_refusal(
        cousin.query("awards", "award", {"award_id": world.award}),
        cousin.query("awards", "award", {"award_id": "nope"}),
    )
    await same_refusal(
        sibling.query("awards", "nominations", {"unit_id": world.g1}),
        sibling.query("awards", "nominations", {"unit_id": "nope"}),
    )
    refused(await own.query("awards", "nominations", {"unit_id": world.p}))  # the whole province: no
    refused(await sibling.query("awards", "gifts", {"unit_id": world.g1}))
    refused(
        await sibling.query(
            "awards", "history", {"nominee": {"kind": "individual", "person": {"person_id": "p-scope"}}}
        )
    )
    # a festival's lists, to an actor of the festival's unit or above
    await same_refusal(
        cousin.query("awards", "gifts", {"festival_id": world.festival}),
        cousin.query("awards", "gifts", {"festival_id": "nope"}),
    )
    [gift] = ok(await approver.query("awards", "gifts", {"festival_id": world.festival}))["items"]
    assert gift["gift_id"] == world.gift
    assert ok(await own.query("awards", "awards", {"festival_id": world.festival}))["items"] == []


async def test_notifications_recipients_are_their_scopes_admins(servers, world: World) -> None:
    admin_w1, admin_w2 = await world.actor(servers, world.w1, "admin"), await world.actor(servers, world.w2, "admin")
    officer_w1 = await world.actor(servers, world.w1, "officer")
    officer_g1 = await world.actor(servers, world.g1, "officer")
    listed = ok(await admin_w1.query("notifications", "recipients", {"scope_unit_id": world.w1}))["recipients"]
    assert [x["address"] for x in listed] == ["http://127.0.0.1:9/hook"]
    assert (
        ok(await admin_w1.query("notifications", "deliveries", {"recipient_id": world.recipient}))["deliveries"] == []
    )
    refused(await officer_w1.query("notifications", "recipients", {"scope_unit_id": world.w1}), "read:admin")
    refused(await officer_g1.query("notifications", "recipients", {"scope_unit_id": world.p}), "read:admin")
    await same_refusal(
        admin_w2.query("notifications", "recipients", {"scope_unit_id": world.w1}),
        admin_w2.query("notifications", "recipients", {"scope_unit_id": "nope"}),
    )
    await same_refusal(
        admin_w2.query("notifications", "deliveries", {"recipient_id": world.recipient}),
        admin_w2.query("notifications", "deliveries", {"recipient_id": "nope"}),
    )
    assert ok(await admin_w2.query("notifications", "recipients", {}))["recipients"] == []  # its own subtree


async def test_reporting_lists_units_to_their_branch_and_figures_to_anyone(servers, world: World) -> None:
    own, approver = await world.actor(servers, world.g1, "officer"), await world.actor(servers, world.w1, "approver")
    sibling = await world.actor(servers, world.g2, "officer")
    for client in (own, approver):
        status = ok(await client.query("reporting", "unit-status", {"year": 2026, "unit_id": world.g1}))
        assert status["festival"]["held"] is True
    await same_refusal(
        sibling.query("reporting", "unit-status", {"year": 2026, "unit_id": world.g1}),
        sibling.query("reporting", "unit-status", {"year": 2026, "unit_id": "nope"}),
    )
    refused(await own.query("reporting", "units-report", {"year": 2026, "scope_unit_id": world.p}))
    refused(await own.query("reporting", "units-missing", {"year": 2026, "scope_unit_id": world.w1}))
    report = ok(await approver.query("reporting", "units-report", {"year": 2026, "scope_unit_id": world.w1}))
    assert {u["unit_id"] for u in report["units"]} == {world.w1, world.g1, world.g2}
    # aggregate figures name no one: a group's officer reads the province's
    coverage = ok(await own.query("reporting", "coverage", {"year": 2026, "scope_unit_id": world.p}))
    assert coverage["units_held"] == 1
    summary = ok(await sibling.query("reporting", "awards-summary", {"year": 2026, "scope_unit_id": world.p}))
    assert summary["awards"] == {"giay_khen_chu_tich_ubnd_xa": {"approved": 1}}
    # the year's campaigns are announced to everyone: a group's officer reads the province's (the board starts there)
    seasons = ok(await own.query("reporting", "seasons", {"year": 2026}))
    assert world.p in {s["scope_unit_id"] for s in seasons["seasons"]}


# ------------------------------------------------------------------------------------ commands


async def test_every_awards_command_refuses_the_wrong_branch(servers, world: World) -> None:
    officer_g2 = await world.actor(servers, world.g2, "officer")
    officer_g3 = await world.actor(servers, world.g3, "officer")
    approver_w2 = await world.actor(servers, world.w2, "approver")
    refused(await officer_g2.send(world.nomination(achievement="Khác nữa", person_id="p-x")))
    refused(await officer_g2.send(a.ResubmitNomination(nomination_id=world.n2, achievement="Sửa")))
    for command in (
        a.ApproveNomination(nomination_id=world.n2, decision_no="9/QĐ", decision_date="2026-08-05"),
        a.ReturnNomination(nomination_id=world.n2, reason="x"),
        a.RejectNomination(nomination_id=world.n2, reason="x"),
        a.RevokeAward(award_id=world.award, reason="x", decision_no="9/QĐ", decision_date="2026-09-01"),
    ):
        refused(await approver_w2.send(command), "granting_authority")
    refused(await officer_g3.send(a.ConferAward(award_id=world.award, conferred_on="2026-08-10")))
    refused(
        await officer_g2.send(
            a.RecordGift(
                unit_id=world.g1, beneficiary_kind="poor_household", recipients=1, value_vnd=1, funding_source="Q"
            )
        )
    )
    own = await world.actor(servers, world.g1, "officer")
    assert ok(await own.query("awards", "nomination", {"nomination_id": world.n2}))["status"] == "returned"
    assert ok(await own.query("awards", "award", {"award_id": world.award}))["status"] == "approved"


async def test_every_notifications_and_reporting_command_refuses_the_wrong_branch(servers, world: World) -> None:
    admin_w2 = await world.actor(servers, world.w2, "admin")
    officer_g2 = await world.actor(servers, world.g2, "officer")
    add = {"scope_unit_id": world.w1, "events": ["vn.antq.registry.*"], "channel": "webhook"}
    refused(await admin_w2.command("notifications", "add-recipient", {**add, "address": "http://127.0.0.1:9/x"}))
    refused(await admin_w2.command("notifications", "remove-recipient", {"recipient_id": world.recipient}))
    refused(await admin_w2.command("notifications", "rotate-secret", {"recipient_id": world.recipient}))
    refused(await officer_g2.command("reporting", "publish-snapshot", {"year": 2026, "scope_unit_id": world.w2}))
    admin_w1 = await world.actor(servers, world.w1, "admin")
    [still] = ok(await admin_w1.query("notifications", "recipients", {"scope_unit_id": world.w1}))["recipients"]
    assert (still["recipient_id"], still["status"], still["secret_rotating"]) == (world.recipient, "active", False)


async def test_every_registry_command_refuses_the_wrong_branch(servers, world: World) -> None:
    admin_w2 = await world.actor(servers, world.w2, "admin")
    officer_g2 = await world.actor(servers, world.g2, "officer")
    day = "2026-10-01"
    for command in (
        r.RegisterUnit(name="Tổ mới", kind="residential_group", parent_id=world.w1, valid_from=day),
        r.UpdateUnit(unit_id=world.g1, effective_date=day, name="Tổ đổi tên"),
        r.MoveUnit(unit_id=world.g1, new_parent_id=world.w2, effective_date=day),
        r.MergeUnits(source_unit_ids=[world.g1, world.g2], target_unit_id=world.g1, effective_date=day),
        r.SplitUnit(
            unit_id=world.g1,
            effective_date=day,
            parts=[r.SplitPart(name="Tổ 1A", kind="residential_group", parent_id=world.w1)],
        ),
        r.CloseUnit(unit_id=world.g1, effective_date=day, reason="x"),
        r.OpenCampaign(year=2027, scope_unit_id=world.w1),
        r.CloseCampaign(campaign_id=world.campaign, closed_on=day),
    ):
        refused(await admin_w2.send(command))
    for command in (
        r.PlanFestival(
            unit_id=world.g1,
            year=2026,
            date="2026-08-12",
            venue="Sân",
            ceremony=r.PartPlan(),
            festival_part=r.PartPlan(),
            allow_additional=True,
        ),
        r.RescheduleFestival(festival_id=world.festival, date="2026-08-12"),
        r.ReportFestival(
            festival_id=world.festival,
            held_on="2026-08-10",
            participants=1,
            ceremony_held=True,
            festival_part_held=True,
        ),
        r.CancelFestival(festival_id=world.festival, reason="x"),
        r.RegisterModel(unit_id=world.g1, name="Mô hình", launched_on="2026-08-10"),
        r.ReplicateModel(model_id=world.model, unit_id=world.g1, replicated_on="2026-08-10"),
    ):
        refused(await officer_g2.send(command))
    own = await world.actor(servers, world.g1, "officer")
    unit = ok(await own.query("registry", "unit", {"unit_id": world.g1}))
    assert (unit["name"], unit["parent_id"], unit["status"]) == (world.g1, world.w1, "active")


async def test_a_page_cursor_tells_nothing_about_another_branch(servers, world: World) -> None:
    """A cursor must be an item of the list it pages: another branch's id and a made-up one read the
    same; a person's history with a cursor is still scoped."""
    sibling = await world.actor(servers, world.g2, "officer")
    for query, ids in (
        ("nominations", (world.n1, "nope")),
        ("awards", (world.award, "nope")),
        ("gifts", (world.gift, "nope")),
    ):
        theirs, made_up = [
            await sibling.query("awards", query, {"unit_id": world.g2, "after": cursor}) for cursor in ids
        ]
        assert not theirs.ok and not made_up.ok
        assert theirs.error["code"] == made_up.error["code"] == "not_found"
        assert (
            [d["rule"] for d in theirs.error["details"]] == [d["rule"] for d in made_up.error["details"]] == ["cursor"]
        )
    person = {"kind": "individual", "person": {"person_id": "p-scope"}}
    for cursor in ({"nominations_after": world.n1}, {"awards_after": world.award}, {"awards_after": "nope"}):
        refused(await sibling.query("awards", "history", {"nominee": person, **cursor}))
    own = await world.actor(servers, world.g1, "officer")
    page = ok(await own.query("awards", "nominations", {"unit_id": world.g1, "limit": 1}))
    rest = ok(await own.query("awards", "nominations", {"unit_id": world.g1, "after": page["next"]}))
    assert {x["nomination_id"] for x in page["items"] + rest["items"]} == {world.n1, world.n2}
