"""Awards over the bus, against the real servers: the registry service builds the tree and the
festivals, awards learns them from registry's events only, and every rule of the awards issue is
tried the way its users send it."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from shared.client import Client
from shared.contract import awards as a
from shared.contract import registry as r
from shared.contract.envelope import Actor
from tests.integration.conftest import settle, uid, wait_events

FESTIVAL_DAY = "2026-08-10"
DECISION_DAY = "2026-08-05"


def ok(reply):
    assert reply.ok, reply.error
    return reply.result


def refused(reply, code: str, rule: str | None = None) -> dict:
    assert not reply.ok, reply.result
    assert reply.error["code"] == code, reply.error
    if rule is not None:
        assert any(d.get("rule") == rule for d in reply.error["details"]), reply.error
    return reply.error


@asynccontextmanager
async def acting(servers, unit: str | None, role: str) -> AsyncIterator[Client]:
    actor = Actor(id=f"{role}-of-{unit}", unit=unit, role=role)  # type: ignore[arg-type]
    client = await Client.connect(servers.nats_url, actor)  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        await client.close()


class Tree:
    """Province P: police agency PA (provincial_police), department S (an agency), ward W with
    residential group H, commune C; a 2026 campaign, and W's festival F held on FESTIVAL_DAY."""

    def __init__(self, admin: Client) -> None:
        self.admin = admin
        self.p, self.pa, self.s, self.w, self.h, self.c = (uid(k) for k in ("p", "pa", "s", "w", "h", "c"))

    async def build(self, registry, awards) -> Tree:
        for unit_id, kind, parent, flags in (
            (self.p, "province", None, []),
            (self.pa, "agency", self.p, ["provincial_police"]),
            (self.s, "agency", self.p, []),
            (self.w, "ward", self.p, []),
            (self.h, "residential_group", self.w, []),
            (self.c, "commune", self.p, []),
        ):
            ok(
                await self.admin.send(
                    r.RegisterUnit(
                        unit_id=unit_id,
                        name=f"Đơn vị {unit_id}",
                        kind=kind,
                        parent_id=parent,
                        valid_from="2024-01-01",
                        flags=flags,
                    )
                )
            )
        ok(await self.admin.send(r.OpenCampaign(year=2026, scope_unit_id=self.p)))
        self.festival = ok(
            await self.admin.send(
                r.PlanFestival(
                    unit_id=self.w,
                    year=2026,
                    date=FESTIVAL_DAY,
                    venue="Sân văn hóa",
                    ceremony=r.PartPlan(),
                    festival_part=r.PartPlan(),
                )
            )
        )["festival_id"]
        ok(
            await self.admin.send(
                r.ReportFestival(
                    festival_id=self.festival,
                    held_on=FESTIVAL_DAY,
                    participants=300,
                    ceremony_held=True,
                    festival_part_held=True,
                )
            )
        )
        await settle(registry, awards)
        return self


@pytest.fixture
async def tree(admin, registry, awards) -> Tree:
    return await Tree(admin).build(registry, awards)


def person(pid: str | None = None, name: str = "Nguyễn Văn An") -> dict:
    return {"person_id": pid or uid("person"), "name": name, "position": "Tổ trưởng", "year_of_birth": 1970}


def nominate(tree: Tree, **kw) -> a.SubmitNomination:
    data = {
        "nominee": {"kind": "individual", "unit_id": tree.h, "person": person()},
        "award_form": "giay_khen_chu_tich_ubnd_xa",
        "year": 2026,
        "achievement": "Thành tích xuất sắc trong phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2026",
    }
    data.update(kw)
    if data["award_form"] == "ky_niem_chuong_bao_ve_an_ninh_to_quoc":  # the medal's written conditions, met
        data.setdefault("eligibility", {"role": "security_team_member", "years_in_force": 16, "sex": "male"})
    return a.SubmitNomination.model_validate(data)


async def council_recommends(approver: Client, nomination_id: str) -> None:
    """The emulation council's review of a dossier, recommending it, with its minutes attached."""
    minutes = await approver.upload(b"%PDF-1.7\nBien ban hop Hoi dong", "Bien-ban-Hoi-dong.pdf")
    attached = await approver.command(
        "awards", "attach-file", {"nomination_id": nomination_id, "kind": "bien_ban_hoi_dong", **minutes}
    )
    review = a.RecordCouncilReview(
        nomination_id=nomination_id,
        meeting_date=DECISION_DAY,
        recommended=True,
        minutes_attachment_id=ok(attached)["attachment_id"],
    )
    ok(await approver.send(review))


def approve(nomination_id: str, day: str = DECISION_DAY) -> a.ApproveNomination:
    return a.ApproveNomination(nomination_id=nomination_id, decision_no=f"{uid('qd')}/QĐ-UBND", decision_date=day)


# ------------------------------------------------------------------------------------ rules


async def test_rules_in_force_change_on_1_july_2025_with_amounts(admin, awards) -> None:
    before = ok(await admin.query("awards", "rules", {"date": "2025-06-30"}))
    after = ok(await admin.query("awards", "rules", {"date": "2025-07-01"}))
    codes_before = {f["code"] for f in before["forms"]}
    codes_after = {f["code"] for f in after["forms"]}
    assert codes_before - codes_after == {"giay_khen_chu_tich_ubnd_huyen"}
    assert len(codes_after) == 6
    xa_before = next(f for f in before["forms"] if f["code"] == "giay_khen_chu_tich_ubnd_xa")
    xa_after = next(f for f in after["forms"] if f["code"] == "giay_khen_chu_tich_ubnd_xa")
    # 0.15 × 2,340,000 = 351,000 → 360,000; 0.3 × 2,340,000 = 702,000 → 710,000 (rounded up to 10,000)
    assert xa_before["amount"]["individual"]["vnd"] == 360_000
    assert xa_after["amount"]["individual"]["vnd"] == 710_000
    medal = next(f for f in after["forms"] if f["code"] == "ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    assert medal["once_only"] and medal["forwarded"] and medal["for"] == ["individual"]
    assert medal["unconfirmed"] is True  # flagged the way the reference marks it
    refused(await admin.query("awards", "rules", {"date": "2025-13-01"}), "validation_failed")


# ------------------------------------------------------------------------------------ the workflow


async def test_nomination_workflow_to_a_conferred_and_revoked_award(servers, tree, awards) -> None:
    async with (
        acting(servers, tree.w, "officer") as officer,
        acting(servers, tree.w, "approver") as ward_approver,
        acting(servers, tree.p, "approver") as province_approver,
    ):
        cmd = nominate(tree, festival_id=tree.festival)
        submitted = ok(await officer.send(cmd))
        nid = submitted["nomination_id"]
        assert submitted["grantor"]["unit_id"] == tree.w  # the commune-level unit containing H

        # the same achievement typed differently (decomposed, other case, other spacing) is the same one
        typed = unicodedata.normalize("NFD", "  THÀNH tích xuất sắc trong phong trào toàn dân  bảo vệ an ninh ")
        again = cmd.model_copy(update={"nomination_id": None, "achievement": typed + "Tổ quốc năm 2026"})
        err = refused(await officer.send(again), "rule_violation", "one_achievement_one_award")
        assert err["details"][0]["nomination_id"] == nid

        # the province's approver is not the granting authority of a commune chairman's Giấy khen
        refused(await province_approver.send(approve(nid)), "forbidden", "granting_authority")
        refused(await officer.send(approve(nid)), "forbidden", "role:decide")

        ok(await ward_approver.send(a.ReturnNomination(nomination_id=nid, reason="Thiếu biên bản họp hội đồng")))
        refused(await ward_approver.send(approve(nid)), "conflict")  # returned: resubmit first
        ok(await officer.send(a.ResubmitNomination(nomination_id=nid, note="Đã bổ sung biên bản")))
        approved = ok(await ward_approver.send(approve(nid)))
        assert approved["amount_vnd"] == 710_000 and approved["decided_by"]["unit_id"] == tree.w
        award_id = approved["award_id"]

        refused(
            await officer.send(a.ConferAward(award_id=award_id, conferred_on="2026-08-11", festival_id=tree.festival)),
            "rule_violation",
            "festival_date",
        )
        conferred = a.ConferAward(award_id=award_id, conferred_on=FESTIVAL_DAY, festival_id=tree.festival)
        ok(await officer.send(conferred))
        refused(await officer.send(conferred), "conflict")  # a new command id: conferred once only

        at_festival = ok(await officer.query("awards", "awards", {"festival_id": tree.festival}))["items"]
        assert [x["award_id"] for x in at_festival] == [award_id]

        revoke = a.RevokeAward(
            award_id=award_id, reason="Hồ sơ không trung thực", decision_no="9/QĐ-UBND", decision_date=DECISION_DAY
        )
        refused(await province_approver.send(revoke), "forbidden", "granting_authority")
        ok(await ward_approver.send(revoke))
        award = ok(await officer.query("awards", "award", {"award_id": award_id}))
        assert award["status"] == "revoked" and award["revocation"]["decision_no"] == "9/QĐ-UBND"

        history = ok(
            await officer.query(
                "awards",
                "history",
                {"nominee": {"kind": "individual", "person": {"person_id": cmd.nominee.person.person_id}}},
            )
        )
        assert [n["nomination_id"] for n in history["nominations"]] == [nid]
        assert [s["event"] for s in history["nominations"][0]["steps"]] == [
            "submitted",
            "returned",
            "resubmitted",
            "approved",
        ]
        assert history["awards"][0]["status"] == "revoked"

    events = await wait_events(
        tree.admin, lambda e: e["subject"] in (nid, award_id), 6, subject="antq.awards.>", stream="ANTQ_AWARDS"
    )
    kinds = [e["type"].removeprefix("vn.antq.awards.") for e in events]
    assert kinds == [
        "nomination.submitted.v1",
        "nomination.returned.v1",
        "nomination.resubmitted.v1",
        "nomination.approved.v1",
        "award.conferred.v1",
        "award.revoked.v1",
    ]
    assert [e["aggregateversion"] for e in events] == [1, 2, 3, 4, 1, 2]


async def test_the_medal_is_recorded_by_the_province_and_given_once_per_person(servers, tree, awards) -> None:
    pid = uid("person")
    medal = "ky_niem_chuong_bao_ve_an_ninh_to_quoc"
    async with (
        acting(servers, tree.w, "officer") as officer,
        acting(servers, tree.w, "approver") as ward_approver,
        acting(servers, tree.p, "approver") as province_approver,
    ):
        first = ok(
            await officer.send(
                nominate(
                    tree, award_form=medal, nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)}
                )
            )
        )
        assert first["forwarded"] is True and first["grantor"] == {
            "kind": "outside",
            "unit_id": None,
            "name": "Bộ trưởng Bộ Công an",
            "level": "outside",
        }
        refused(await ward_approver.send(approve(first["nomination_id"])), "forbidden", "granting_authority")
        approved = ok(
            await province_approver.send(
                a.ApproveNomination(
                    nomination_id=first["nomination_id"], decision_no="1234/QĐ-BCA", decision_date=DECISION_DAY
                )
            )
        )
        assert approved["decided_by"]["kind"] == "outside"
        award = ok(await officer.query("awards", "award", {"award_id": approved["award_id"]}))
        assert award["recorded_by"] == f"approver-of-{tree.p}" and award["decided_by"]["name"] == "Bộ trưởng Bộ Công an"

        # a second medal for the same person, for another achievement, is refused
        err = refused(
            await officer.send(
                nominate(
                    tree,
                    award_form=medal,
                    achievement="Mười lăm năm trong tổ an ninh",
                    nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)},
                )
            ),
            "rule_violation",
            "once_only",
        )
        assert err["details"][0]["nomination_id"] == first["nomination_id"]
        # a collective cannot get it at all
        refused(
            await officer.send(nominate(tree, award_form=medal, nominee={"kind": "collective", "unit_id": tree.h})),
            "rule_violation",
            "form_for",
        )
        ok(
            await ward_approver.send(
                a.ConferAward(award_id=approved["award_id"], conferred_on=FESTIVAL_DAY, festival_id=tree.festival)
            )
        )
        conferred = ok(await officer.query("awards", "award", {"award_id": approved["award_id"]}))
        assert conferred["presented_by"] == "Giám đốc Công an tỉnh (thừa ủy quyền)"
        assert conferred["decided_by"]["name"] != conferred["presented_by"]


async def test_the_granting_authority_of_each_level(servers, tree, awards) -> None:
    cases = [
        ("giay_khen_giam_doc_cong_an_tinh", tree.h, tree.pa),  # the province's police agency
        ("giay_khen_thu_truong_co_quan_chuyen_mon_tinh", tree.s, tree.s),  # the department, under the province
        ("bang_khen_chu_tich_ubnd_tinh", tree.c, tree.p),  # the province
        ("giay_khen_chu_tich_ubnd_xa", tree.c, tree.c),  # the commune itself
    ]
    async with acting(servers, tree.p, "officer") as officer:
        for form, unit, grantor in cases:
            cmd = nominate(tree, award_form=form, nominee={"kind": "collective", "unit_id": unit}, achievement=form)
            got = ok(await officer.send(cmd))
            assert got["grantor"]["unit_id"] == grantor, form
            async with acting(servers, grantor, "approver") as approver:
                if form == "bang_khen_chu_tich_ubnd_tinh":  # the council reviews it first, with its minutes
                    await council_recommends(approver, got["nomination_id"])
                ok(await approver.send(approve(got["nomination_id"])))
        # a form whose authority is not above the nominee: no commune above the department, no
        # department above the residential group
        refused(
            await officer.send(
                nominate(
                    tree,
                    award_form="giay_khen_thu_truong_co_quan_chuyen_mon_tinh",
                    nominee={"kind": "collective", "unit_id": tree.h},
                )
            ),
            "rule_violation",
            "grantor",
        )
        refused(
            await officer.send(nominate(tree, nominee={"kind": "collective", "unit_id": tree.s})),
            "rule_violation",
            "grantor",
        )
        # the district chairman's Giấy khen ended on 30 Jun 2025
        refused(
            await officer.send(nominate(tree, award_form="giay_khen_chu_tich_ubnd_huyen")),
            "rule_violation",
            "form_in_force",
        )


async def test_scope_unknown_units_and_non_disclosure(servers, tree, awards) -> None:
    async with (
        acting(servers, tree.c, "officer") as other_officer,
        acting(servers, tree.c, "approver") as other_approver,
        acting(servers, tree.w, "officer") as officer,
    ):
        refused(await other_officer.send(nominate(tree)), "forbidden", "scope")
        ghost = uid("never-registered")
        nominee = {"kind": "collective", "unit_id": ghost}
        refused(await officer.send(nominate(tree, nominee=nominee)), "not_found", "not_known_yet")
        # an approver without authority learns nothing about whether a nomination exists
        real = ok(await officer.send(nominate(tree)))["nomination_id"]
        on_real = refused(await other_approver.send(approve(real)), "forbidden", "granting_authority")
        nope = uid("nope")
        on_none = refused(await other_approver.send(approve(nope)), "forbidden", "granting_authority")
        assert on_real["message"].replace(real, "X") == on_none["message"].replace(nope, "X")
        assert on_real["details"] == on_none["details"]
        festival_elsewhere = refused(
            await other_officer.send(
                nominate(tree, nominee={"kind": "collective", "unit_id": tree.c}, festival_id=tree.festival)
            ),
            "rule_violation",
            "festival_of_unit_or_ancestor",
        )
        assert festival_elsewhere["details"][0]["value"] == tree.festival
        refused(await officer.send(nominate(tree, festival_id=uid("f"))), "not_found")


async def test_gifts_are_recorded_and_listed_with_totals(servers, tree, awards) -> None:
    async with acting(servers, tree.w, "officer") as officer:
        for i in range(5):
            ok(
                await officer.send(
                    a.RecordGift(
                        unit_id=tree.h,
                        beneficiary_kind="policy_family" if i % 2 else "poor_household",
                        recipients=2,
                        value_vnd=500_000,
                        funding_source="Ngân sách phường",
                        festival_id=tree.festival,
                    )
                )
            )
        first = ok(await officer.query("awards", "gifts", {"unit_id": tree.w, "limit": 3}))
        assert len(first["items"]) == 3 and first["next"]
        assert first["totals"] == {"entries": 5, "recipients": 10, "value_vnd": 2_500_000}
        assert first["items"][0]["given_on"] == FESTIVAL_DAY
        rest = ok(await officer.query("awards", "gifts", {"unit_id": tree.w, "limit": 3, "after": first["next"]}))
        assert len(rest["items"]) == 2 and rest["next"] is None
        ids = [g["gift_id"] for g in first["items"] + rest["items"]]
        assert len(set(ids)) == 5
        bad = await officer.command(
            "awards",
            "record-gift",
            {"unit_id": tree.h, "beneficiary_kind": "friends", "recipients": 1, "value_vnd": 1, "funding_source": "x"},
        )
        refused(bad, "validation_failed")
        assert any("beneficiary_kind" in json.dumps(d) for d in bad.error["details"])


async def test_commands_through_the_durable_intake_get_their_outcome(servers, tree, awards) -> None:
    async with acting(servers, tree.w, "officer") as officer:
        cmd = nominate(tree)
        command_id = await officer.submit("awards", "submit-nomination", cmd)
        events = await wait_events(
            officer, lambda e: e["subject"] == command_id, 1, subject="antq.awards.command.>", stream="ANTQ_AWARDS"
        )
        assert events and events[0]["type"] == "vn.antq.awards.command.accepted.v1"
        nomination_id = events[0]["data"]["result"]["nomination_id"]
        stored = ok(await officer.query("awards", "nomination", {"nomination_id": nomination_id}))
        assert (stored["status"], stored["nominee"]["unit_id"], stored["achievement"]) == (
            "submitted",
            tree.h,
            cmd.achievement,
        )


async def test_every_class_of_bad_input_gets_a_clear_answer(admin, awards) -> None:
    import uuid as _uuid

    def env(action: str, data, **over) -> bytes:
        doc = {
            "specversion": "1.0",
            "id": str(_uuid.uuid4()),
            "source": "tests/raw",
            "type": f"vn.antq.awards.{action}.v1",
            "datacontenttype": "application/json",
            "data": data,
            "actorid": "admin",
            "actorunit": "",
            "actorrole": "admin",
            **over,
        }
        return json.dumps(doc).encode()

    async def ask(action: str, body: bytes) -> dict:
        return json.loads((await admin.nc.request(f"antq.cmd.awards.{action}", body, timeout=10)).data)

    cases = [
        ("submit-nomination", b"{not json", "malformed"),
        ("submit-nomination", b"\xff\xfe{}", "malformed"),
        (
            "submit-nomination",
            env(
                "submit-nomination",
                {
                    "nominee": {"kind": "individual", "unit_id": "u"},
                    "award_form": "giay_khen_chu_tich_ubnd_xa",
                    "year": 2026,
                    "achievement": "x",
                },
            ),
            "validation_failed",
        ),
        (
            "submit-nomination",
            env(
                "submit-nomination",
                {
                    "nominee": {"kind": "collective", "unit_id": "u"},
                    "award_form": "giay_khen_chu_tich_ubnd_xa",
                    "year": 2026,
                    "achievement": "\ud800",
                },
            ),
            "validation_failed",
        ),
        (
            "approve-nomination",
            env("approve-nomination", {"nomination_id": "n", "decision_no": "1", "decision_date": "2026-02-30"}),
            "validation_failed",
        ),
        (
            "record-gift",
            env(
                "record-gift",
                {"unit_id": "u", "beneficiary_kind": "other", "recipients": 0, "value_vnd": -1, "funding_source": "x"},
            ),
            "validation_failed",
        ),
        ("confer-award", env("revoke-award", {"award_id": "a"}), "validation_failed"),  # type ≠ subject
        ("submit-nomination", env("submit-nomination", {}, actorrole="minister"), "validation_failed"),
        ("submit-nomination", env("submit-nomination", {"x": "y" * 300_000}), "payload_too_large"),
    ]
    for action, body, expected in cases:
        reply = await ask(action, body)
        assert not reply["ok"] and reply["error"]["code"] == expected, (action, body[:120], reply)
        assert reply["error"]["message"]
    # a command or query that does not exist is answered too (not left to time out)
    body = env("award-everyone", {})
    reply = await ask("award-everyone", body)
    assert reply["error"]["code"] == "unknown_command" and reply["id"] == json.loads(body)["id"]
    assert "submit-nomination" in reply["error"]["details"][0]["known"]
    query = json.loads((await admin.nc.request("antq.query.awards.leaderboard", b"{}", timeout=10)).data)
    assert query["error"]["code"] == "unknown_command"
    registry_reply = json.loads((await admin.nc.request("antq.cmd.registry.delete-unit", body, timeout=10)).data)
    assert registry_reply["error"]["code"] == "unknown_command"
    # an individual without a person says which field
    reply = await ask("submit-nomination", cases[2][1])
    assert any("nominee" in json.dumps(d) for d in reply["error"]["details"]), reply


async def test_wrong_types_are_refused_not_coerced(admin, tree) -> None:
    """A JSON `true` is not an amount, "2026" or 2026.0 is not a year, a number is not a date."""
    gift = {"unit_id": tree.h, "beneficiary_kind": "other", "recipients": 2, "funding_source": "Quỹ"}
    for value in (True, "1000", 1000.5):
        refused(await admin.command("awards", "record-gift", {**gift, "value_vnd": value}), "validation_failed")
    nomination = nominate(tree).model_dump(mode="json")
    for year in ("2026", 2026.0, True):
        refused(await admin.command("awards", "submit-nomination", {**nomination, "year": year}), "validation_failed")
    for day in (1764547200, "1764547200", "2025-12-01T00:00:00Z"):
        approval = {"nomination_id": "n", "decision_no": "1", "decision_date": day}
        refused(await admin.command("awards", "approve-nomination", approval), "validation_failed")
    refused(await admin.query("awards", "gifts", {"unit_id": tree.w, "limit": "3"}), "validation_failed")
    # registry answers the same way (the pipeline validates every command strictly)
    unit = {"name": "Tổ 9", "kind": "residential_group", "parent_id": tree.w}
    refused(await admin.command("registry", "register-unit", {**unit, "valid_from": 1764547200}), "validation_failed")


async def test_a_refusal_does_not_name_another_branchs_nomination(servers, tree, awards) -> None:
    pid = uid("person")
    achievement = "Phát hiện, tố giác tội phạm"
    async with acting(servers, tree.w, "officer") as ward, acting(servers, tree.c, "officer") as commune:
        first = ok(
            await ward.send(
                nominate(
                    tree,
                    achievement=achievement,
                    nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)},
                )
            )
        )["nomination_id"]
        err = refused(
            await commune.send(
                nominate(
                    tree,
                    achievement=achievement,
                    nominee={"kind": "individual", "unit_id": tree.c, "person": person(pid)},
                )
            ),
            "rule_violation",
            "one_achievement_one_award",
        )
        assert first not in err["message"] and "records you may not see" in err["message"]
        assert "nomination_id" not in err["details"][0]


async def test_a_form_that_ended_is_recorded_for_its_year_and_decided_when_in_force(servers, admin, registry, awards):
    """The district chairman's Giấy khen (to 30 Jun 2025): a 2025 record entered today is read on the
    tree of 30 Jun 2025 and decided by that district's approver on a date it was in force."""
    p, dist, com = uid("p"), uid("d"), uid("c")
    for unit_id, kind, parent in ((p, "province", None), (dist, "district", p), (com, "commune", dist)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    await settle(registry, awards)
    cmd = a.SubmitNomination(
        nominee=a.Nominee(kind="collective", unit_id=com),
        award_form="giay_khen_chu_tich_ubnd_huyen",
        year=2025,
        achievement="Xã dẫn đầu phong trào 6 tháng đầu năm 2025",
    )
    got = ok(await admin.send(cmd))
    assert got["grantor"]["unit_id"] == dist
    async with acting(servers, dist, "approver") as approver:
        late = a.ApproveNomination(
            nomination_id=got["nomination_id"], decision_no="7/QĐ-UBND", decision_date="2025-07-01"
        )
        refused(await approver.send(late), "rule_violation", "form_in_force")
        approved = ok(await approver.send(late.model_copy(update={"decision_date": dt.date(2025, 6, 25)})))
        assert approved["amount_vnd"] == 1_410_000  # collective 0.6 × 2,340,000 = 1,404,000 → 1,410,000
    refused(
        await admin.send(cmd.model_copy(update={"year": 2026, "nomination_id": None})),
        "rule_violation",
        "form_in_force",
    )


async def test_lists_are_newest_first_and_history_pages(servers, tree, awards) -> None:
    pid = uid("person")
    async with acting(servers, tree.w, "officer") as officer, acting(servers, tree.w, "approver") as approver:
        ids = []
        for i, client_id in enumerate(("zz-" + uid(), "aa-" + uid(), "mm-" + uid())):  # ids not in time order
            ok(
                await officer.send(
                    nominate(
                        tree,
                        nomination_id=client_id,
                        achievement=f"Thành tích {i}",
                        nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)},
                    )
                )
            )
            ids.append(client_id)
        listed = ok(await officer.query("awards", "nominations", {"unit_id": tree.h, "limit": 2}))
        assert [n["nomination_id"] for n in listed["items"]] == [ids[2], ids[1]] and listed["next"] == ids[1]
        rest = ok(
            await officer.query("awards", "nominations", {"unit_id": tree.h, "limit": 2, "after": listed["next"]})
        )
        assert [n["nomination_id"] for n in rest["items"]][:1] == [ids[0]]
        for nid, day in ((ids[0], "2026-09-01"), (ids[1], "2026-08-01"), (ids[2], "2026-08-15")):
            ok(await approver.send(approve(nid, day)))
        nominee = {"kind": "individual", "person": {"person_id": pid}}
        page = ok(await officer.query("awards", "history", {"nominee": nominee, "limit": 2}))
        assert [x["decision_date"] for x in page["awards"]] == ["2026-09-01", "2026-08-15"]
        assert [x["nomination_id"] for x in page["nominations"]] == [ids[2], ids[1]]
        more = ok(
            await officer.query(
                "awards",
                "history",
                {
                    "nominee": nominee,
                    "limit": 2,
                    "awards_after": page["awards_next"],
                    "nominations_after": page["nominations_next"],
                },
            )
        )
        assert [x["decision_date"] for x in more["awards"]] == ["2026-08-01"] and more["awards_next"] is None
        assert [x["nomination_id"] for x in more["nominations"]] == [ids[0]] and more["nominations_next"] is None
        refused(
            await officer.query(
                "awards", "history", {"nominee": {**nominee, "person": {"person_id": pid, "evil": "x"}}}
            ),
            "validation_failed",
        )
        refused(
            await officer.query(
                "awards",
                "history",
                {"nominee": {"kind": "collective", "unit_id": tree.h, "person": {"person_id": pid}}},
            ),
            "validation_failed",
        )


async def test_unknown_festivals_and_units_in_queries_are_not_found(admin, tree) -> None:
    refused(await admin.query("awards", "awards", {"festival_id": uid("f")}), "not_found", "not_known_yet")
    refused(await admin.query("awards", "gifts", {"festival_id": uid("f")}), "not_found")
    refused(
        await admin.query("awards", "history", {"nominee": {"kind": "collective", "unit_id": uid("u")}}), "not_found"
    )
    assert ok(await admin.query("awards", "awards", {"festival_id": tree.festival}))["items"] == []


async def test_a_revoked_award_frees_its_achievement_and_once_only_form(servers, tree, awards) -> None:
    pid = uid("person")
    medal = "ky_niem_chuong_bao_ve_an_ninh_to_quoc"
    async with acting(servers, tree.w, "officer") as officer, acting(servers, tree.p, "approver") as province:
        cmd = nominate(tree, award_form=medal, nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)})
        award_id = ok(await province.send(approve(ok(await officer.send(cmd))["nomination_id"])))["award_id"]
        refused(await officer.send(cmd), "rule_violation")
        ok(
            await province.send(
                a.RevokeAward(
                    award_id=award_id, reason="Quyết định trái luật", decision_no="3/QĐ", decision_date="2026-09-01"
                )
            )
        )
        ok(await officer.send(cmd))  # a revoked award no longer stands: the person may be nominated again


async def test_conferring_in_the_future_is_refused(servers, tree, awards) -> None:
    async with acting(servers, tree.w, "officer") as officer, acting(servers, tree.w, "approver") as approver:
        award_id = ok(await approver.send(approve(ok(await officer.send(nominate(tree)))["nomination_id"])))["award_id"]
        refused(
            await officer.send(a.ConferAward(award_id=award_id, conferred_on="2099-01-01")),
            "rule_violation",
            "not_in_future",
        )


async def test_an_unreadable_intake_command_is_rejected_with_the_actor_it_gave(admin, tree) -> None:
    command_id = uid("cmd")
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": command_id,
            "source": "tests/raw",
            "type": "vn.antq.awards.record-gift.v1",
            "data": {"note": "\ud800"},
            "actorid": "officer-1",
            "actorunit": tree.w,
            "actorrole": "officer",
        }
    ).encode()
    await admin.nc.jetstream().publish("antq.intake.awards.record-gift", body, headers={"Nats-Msg-Id": command_id})
    [event] = await wait_events(
        admin, lambda e: e["subject"] == command_id, 1, subject="antq.awards.command.>", stream="ANTQ_AWARDS"
    )
    assert event["type"] == "vn.antq.awards.command.rejected.v1"
    assert (event["actorid"], event["actorunit"], event["actorrole"]) == ("officer-1", tree.w, "officer")


# ------------------------------------------------------------------------------------ edges the audit named


async def test_a_rejected_nomination_frees_its_achievement_and_the_persons_once_only_form(
    servers, tree, awards
) -> None:
    medal = "ky_niem_chuong_bao_ve_an_ninh_to_quoc"
    pid = uid("person")
    async with (
        acting(servers, tree.w, "officer") as officer,
        acting(servers, tree.p, "approver") as province_approver,
    ):
        first = ok(
            await officer.send(
                nominate(
                    tree, award_form=medal, nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)}
                )
            )
        )["nomination_id"]
        ok(await province_approver.send(a.RejectNomination(nomination_id=first, reason="chưa đủ điều kiện")))
        # the same achievement and the same person's medal may be nominated again
        again = nominate(
            tree, award_form=medal, nominee={"kind": "individual", "unit_id": tree.h, "person": person(pid)}
        )
        ok(await officer.send(again))


async def test_an_award_at_a_festival_is_conferred_on_the_day_it_was_held_not_the_day_planned(
    servers, admin, registry, awards
) -> None:
    t = await Tree(admin).build(registry, awards)
    planned = ok(
        await admin.send(
            r.PlanFestival(
                unit_id=t.h,
                year=2026,
                date="2026-08-01",
                venue="Sân",
                ceremony=r.PartPlan(),
                festival_part=r.PartPlan(),
            )
        )
    )["festival_id"]
    report = r.ReportFestival(
        festival_id=planned, held_on="2026-08-03", participants=50, ceremony_held=True, festival_part_held=True
    )
    ok(await admin.send(report))
    await settle(registry, awards)
    async with acting(servers, t.w, "officer") as officer, acting(servers, t.w, "approver") as approver:
        nid = ok(await officer.send(nominate(t, festival_id=planned)))["nomination_id"]
        award_id = ok(await approver.send(approve(nid, "2026-07-30")))["award_id"]
        on_planned = a.ConferAward(award_id=award_id, conferred_on="2026-08-01", festival_id=planned)
        refused(await officer.send(on_planned), "rule_violation", "festival_date")
        ok(await officer.send(a.ConferAward(award_id=award_id, conferred_on="2026-08-03", festival_id=planned)))


async def test_the_lists_read_the_subtree_of_the_tree_date(servers, admin, registry, awards) -> None:
    t = await Tree(admin).build(registry, awards)
    ok(await admin.send(r.MoveUnit(unit_id=t.h, new_parent_id=t.c, effective_date="2026-09-01")))
    await settle(registry, awards)
    nid = ok(await admin.send(nominate(t, year=2025, achievement="Năm 2025")))["nomination_id"]
    before = ok(await admin.query("awards", "nominations", {"unit_id": t.w, "tree_date": "2026-08-01"}))
    after = ok(await admin.query("awards", "nominations", {"unit_id": t.w, "tree_date": "2026-10-01"}))
    under_c = ok(await admin.query("awards", "nominations", {"unit_id": t.c, "tree_date": "2026-10-01"}))
    assert [n["nomination_id"] for n in before["items"]] == [nid]  # H was W's on 1 Aug
    assert after["items"] == []
    assert [n["nomination_id"] for n in under_c["items"]] == [nid]


# ------------------------------------------------------------------------------------ across the 2025 merger


async def test_a_dossier_of_a_commune_merged_on_1_july_2025_is_decided_and_conferred_by_its_successor(
    servers, admin, registry, awards
) -> None:
    """A 2025 nomination of commune C, which merged with C2 into N on 1 Jul 2025: approved in August 2025
    by N's approver (the grantor resolved through the lineage), conferred at N's festival; the award keeps
    C as it was and names N; N's history lists C's award, and N cannot be commended again for it."""
    p, c1, c2, n = uid("p"), uid("c"), uid("c2"), uid("n")
    for unit_id, kind, parent in ((p, "province", None), (c1, "commune", p), (c2, "commune", p)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Xã {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    await settle(registry, awards)
    achievement = "Xã dẫn đầu phong trào toàn dân bảo vệ an ninh Tổ quốc 6 tháng đầu năm 2025"
    async with acting(servers, c1, "officer") as officer:
        submitted = ok(
            await officer.send(
                a.SubmitNomination(
                    nominee=a.Nominee(kind="collective", unit_id=c1),
                    award_form="giay_khen_chu_tich_ubnd_xa",
                    year=2025,
                    achievement=achievement,
                )
            )
        )
    assert submitted["grantor"]["unit_id"] == c1  # before the merger: the commune's own chairman
    ok(
        await admin.send(
            r.MergeUnits(
                source_unit_ids=[c1, c2],
                effective_date="2025-07-01",
                new_unit=r.NewUnit(unit_id=n, name=f"Xã {n}", kind="commune", parent_id=p),
            )
        )
    )
    ok(await admin.send(r.OpenCampaign(year=2025, scope_unit_id=p)))
    festival = ok(
        await admin.send(
            r.PlanFestival(
                unit_id=n, year=2025, date="2025-08-15", venue="Nhà văn hóa", ceremony=r.PartPlan(),
                festival_part=r.PartPlan(),
            )
        )
    )["festival_id"]  # fmt: skip
    ok(
        await admin.send(
            r.ReportFestival(
                festival_id=festival, held_on="2025-08-15", participants=200, ceremony_held=True,
                festival_part_held=True,
            )
        )
    )  # fmt: skip
    await settle(registry, awards)
    decision = a.ApproveNomination(
        nomination_id=submitted["nomination_id"], decision_no="12/QĐ-UBND", decision_date="2025-08-05"
    )
    async with acting(servers, c1, "approver") as old_approver:  # C no longer decides anything
        refused(await old_approver.send(decision), "forbidden", "granting_authority")
    async with acting(servers, n, "approver") as approver:  # returned, then resubmitted by the successor's officer
        ok(await approver.send(a.ReturnNomination(nomination_id=submitted["nomination_id"], reason="Bổ sung hồ sơ")))
        async with acting(servers, n, "officer") as successor_officer:
            again = a.ResubmitNomination(nomination_id=submitted["nomination_id"], note="Đã bổ sung")
            ok(await successor_officer.send(again))
        approved = ok(await approver.send(decision))
    assert approved["decided_by"]["unit_id"] == n
    assert approved["successor_unit_ids"] == [n]
    async with acting(servers, n, "officer") as officer:
        conferred = a.ConferAward(award_id=approved["award_id"], conferred_on="2025-08-15", festival_id=festival)
        ok(await officer.send(conferred))
        award = ok(await officer.query("awards", "award", {"award_id": approved["award_id"]}))
        assert (award["unit_id"], award["unit_name"], award["successor_unit_ids"]) == (c1, f"Xã {c1}", [n])
        assert award["status"] == "conferred" and award["nominee"]["unit_id"] == c1
        history = ok(await officer.query("awards", "history", {"nominee": {"kind": "collective", "unit_id": n}}))
        assert [(x["award_id"], x["predecessor"]) for x in history["awards"]] == [(approved["award_id"], True)]
        again = a.SubmitNomination(
            nominee=a.Nominee(kind="collective", unit_id=n),
            award_form="giay_khen_chu_tich_ubnd_xa",
            year=2025,
            achievement=achievement,
        )
        refused(await officer.send(again), "rule_violation", "one_achievement_one_award")
        late_gift = a.RecordGift(
            unit_id=c1, beneficiary_kind="policy_family", recipients=1, value_vnd=500_000, funding_source="Quỹ",
            given_on="2025-06-20",
        )  # fmt: skip
        ok(await officer.send(late_gift))  # the successor's officer records what its predecessor gave
    async with acting(servers, c1, "officer") as old_officer:
        closed = refused(
            await old_officer.send(
                a.SubmitNomination(
                    nominee=a.Nominee(kind="collective", unit_id=c1),
                    award_form="giay_khen_chu_tich_ubnd_xa",
                    year=2025,
                    achievement="Một thành tích khác",
                )
            ),
            "forbidden",
        )
        assert f"closed: its dossiers are handled by {n}" in closed["message"]


async def test_a_2023_nomination_of_the_seed_plans_year_is_recorded_with_what_is_not_sure_flagged(
    servers, admin, registry, awards
) -> None:
    """The seed plan is of 2023, before Law 06/2022: its forms are in the data from 1 Jan 2023, flagged
    (in force then, and the amounts, unconfirmed by the reference)."""
    p, dist, com = uid("p"), uid("d"), uid("c")
    for unit_id, kind, parent in ((p, "province", None), (dist, "district", p), (com, "commune", dist)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2023-01-01"
                )
            )
        )
    await settle(registry, awards)
    got = ok(
        await admin.send(
            a.SubmitNomination(
                nominee=a.Nominee(kind="collective", unit_id=com),
                award_form="giay_khen_chu_tich_ubnd_huyen",
                year=2023,
                achievement="Xã tiêu biểu trong Ngày hội năm 2023",
            )
        )
    )
    async with acting(servers, dist, "approver") as approver:
        decision = a.ApproveNomination(
            nomination_id=got["nomination_id"], decision_no="9/QĐ-UBND", decision_date="2023-08-19"
        )
        approved = ok(await approver.send(decision))
    assert (approved["amount_vnd"], approved["amount_unconfirmed"]) == (1_080_000, True)  # 0.6 × 1,800,000
    earlier = a.SubmitNomination(
        nominee=a.Nominee(kind="collective", unit_id=com),
        award_form="giay_khen_chu_tich_ubnd_xa",
        year=2022,
        achievement="Xã tiêu biểu năm 2022",
    )
    refused(await admin.send(earlier), "rule_violation", "unit_in_year")  # the commune exists from 2023 only
    rules = ok(await admin.query("awards", "rules", {"date": "2023-08-19"}))
    district = next(f for f in rules["forms"] if f["code"] == "giay_khen_chu_tich_ubnd_huyen")
    assert district["unconfirmed"] is True and "in_force" in district["unconfirmed_fields"]
