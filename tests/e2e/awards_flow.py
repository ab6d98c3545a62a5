"""The awards flow of the awards issue, as an outside client runs it: plain nats-py, JSON envelopes,
nothing imported from the platform. Used against service processes (test_awards_e2e) and against
`make up` (test_embedded_stack)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

FESTIVAL_DAY = "2026-08-10"
DECISION_DAY = "2026-08-05"


def envelope(service: str, action: str, data: dict, unit: str, role: str) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "outside-client",
            "type": f"vn.antq.{service}.{action}.v1",
            "datacontenttype": "application/json",
            "data": data,
            "actorid": f"{role}@{unit or 'platform'}",
            "actorunit": unit,
            "actorrole": role,
        },
        ensure_ascii=False,
    ).encode()


@dataclass
class Outside:
    nc: Any
    log: list[str] = field(default_factory=list)

    async def send(self, service: str, action: str, data: dict, unit: str = "", role: str = "admin") -> dict:
        msg = await self.nc.request(
            f"antq.cmd.{service}.{action}", envelope(service, action, data, unit, role), timeout=10
        )
        reply = json.loads(msg.data)
        self.log.append(f"{service} {action} as {role}@{unit}: {code(reply)}")
        return reply

    async def query(self, service: str, name: str, params: dict) -> dict:
        return json.loads(
            (await self.nc.request(f"antq.query.{service}.{name}", json.dumps(params).encode(), timeout=10)).data
        )

    async def until_known(
        self, service: str, action: str, data: dict, unit: str, role: str, timeout: float = 30
    ) -> dict:
        """Send until awards has learned what the command names from registry's events (a new id each time)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.send(service, action, data, unit, role)
            known = code(reply) != "not_found" or reply["error"]["details"][0].get("rule") != "not_known_yet"
            if known or time.monotonic() > deadline:
                return reply
            await asyncio.sleep(0.2)


def code(reply: dict) -> str:
    return "ok" if reply["ok"] else reply["error"]["code"]


def ok(reply: dict) -> dict:
    assert reply["ok"], reply
    return reply["result"]


async def stream_events(nc: Any, stream: str, subject: str) -> list[dict]:
    sub = await nc.jetstream().pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=5),
    )
    out = []
    while True:
        try:
            msgs = await sub.fetch(500, timeout=1)
        except TimeoutError:
            break
        out += [json.loads(m.data) for m in msgs]
    await sub.unsubscribe()
    return out


@dataclass
class FlowResult:
    province: str
    ward: str
    group: str
    person_id: str
    award_id: str
    nomination_id: str
    festival_id: str


async def run_flow(nats_url: str) -> FlowResult:
    """Register units; plan and hold a festival; nominate; be refused for a duplicate and for an
    unauthorised approval; return and resubmit; approve; confer at the festival; be refused a second
    Kỷ niệm chương for the same person; revoke; record a gift; read the history."""
    nc = await nats.connect(nats_url)
    c = Outside(nc)
    t = uuid.uuid4().hex[:6]
    p, w, h = f"p-{t}", f"w-{t}", f"h-{t}"
    pid = f"person-{t}"
    try:
        for unit_id, kind, parent in ((p, "province", None), (w, "ward", p), (h, "residential_group", w)):
            ok(
                await c.send(
                    "registry",
                    "register-unit",
                    {
                        "unit_id": unit_id,
                        "name": f"Đơn vị {unit_id}",
                        "kind": kind,
                        "parent_id": parent,
                        "valid_from": "2024-01-01",
                    },
                )
            )
        ok(await c.send("registry", "open-campaign", {"year": 2026, "scope_unit_id": p}))
        festival = ok(
            await c.send(
                "registry",
                "plan-festival",
                {
                    "unit_id": w,
                    "year": 2026,
                    "date": FESTIVAL_DAY,
                    "venue": "Nhà văn hóa phường",
                    "ceremony": {"items": ["Báo cáo sơ kết", "Khen thưởng"]},
                    "festival_part": {"items": ["Kéo co"]},
                },
                w,
                "officer",
            )
        )["festival_id"]
        ok(
            await c.send(
                "registry",
                "report-festival",
                {
                    "festival_id": festival,
                    "held_on": FESTIVAL_DAY,
                    "participants": 350,
                    "ceremony_held": True,
                    "festival_part_held": True,
                },
                w,
                "officer",
            )
        )

        nominee = {
            "kind": "individual",
            "unit_id": h,
            "person": {"person_id": pid, "name": "Trần Thị Mai", "position": "Tổ trưởng tổ dân phố"},
        }
        nomination = {
            "nominee": nominee,
            "award_form": "giay_khen_chu_tich_ubnd_xa",
            "year": 2026,
            "achievement": "Thành tích xuất sắc trong phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2026",
            "festival_id": festival,
        }
        submitted = await c.until_known("awards", "submit-nomination", nomination, w, "officer")
        nid = ok(submitted)["nomination_id"]
        dup = await c.send(
            "awards",
            "submit-nomination",
            {**nomination, "achievement": nomination["achievement"].upper()},
            w,
            "officer",
        )
        assert code(dup) == "rule_violation" and dup["error"]["details"][0]["nomination_id"] == nid, dup
        approval = {"nomination_id": nid, "decision_no": "125/QĐ-UBND", "decision_date": DECISION_DAY}
        unauthorised = await c.send("awards", "approve-nomination", approval, p, "approver")
        assert code(unauthorised) == "forbidden", unauthorised
        ok(
            await c.send(
                "awards",
                "return-nomination",
                {"nomination_id": nid, "reason": "Bổ sung báo cáo thành tích"},
                w,
                "approver",
            )
        )
        ok(await c.send("awards", "resubmit-nomination", {"nomination_id": nid, "note": "Đã bổ sung"}, w, "officer"))
        award = ok(await c.send("awards", "approve-nomination", approval, w, "approver"))
        assert award["amount_vnd"] == 710_000, award
        confer = {"award_id": award["award_id"], "conferred_on": FESTIVAL_DAY, "festival_id": festival}
        ok(await c.until_known("awards", "confer-award", confer, w, "officer"))

        medal = {
            **nomination,
            "award_form": "ky_niem_chuong_bao_ve_an_ninh_to_quoc",
            "achievement": "15 năm tham gia tổ an ninh trật tự cơ sở",
            "festival_id": None,
            "eligibility": {"role": "security_team_member", "years_in_force": 15, "sex": "male"},
        }
        first_medal = ok(await c.send("awards", "submit-nomination", medal, w, "officer"))["nomination_id"]
        ok(
            await c.send(
                "awards",
                "approve-nomination",
                {"nomination_id": first_medal, "decision_no": "88/QĐ-BCA", "decision_date": DECISION_DAY},
                p,
                "approver",
            )
        )
        second = await c.send("awards", "submit-nomination", {**medal, "achievement": "Thành tích khác"}, w, "officer")
        assert code(second) == "rule_violation" and second["error"]["details"][0]["rule"] == "once_only", second

        ok(
            await c.send(
                "awards",
                "revoke-award",
                {
                    "award_id": award["award_id"],
                    "reason": "Hồ sơ không trung thực",
                    "decision_no": "140/QĐ-UBND",
                    "decision_date": "2026-09-01",
                },
                w,
                "approver",
            )
        )
        ok(
            await c.send(
                "awards",
                "record-gift",
                {
                    "unit_id": h,
                    "beneficiary_kind": "policy_family",
                    "recipients": 5,
                    "value_vnd": 2_500_000,
                    "funding_source": "Quỹ vì người nghèo phường",
                    "festival_id": festival,
                },
                w,
                "officer",
            )
        )
        history = ok(
            await c.query("awards", "history", {"nominee": {"kind": "individual", "person": {"person_id": pid}}})
        )
        assert {n["nomination_id"] for n in history["nominations"]} == {nid, first_medal}
        statuses = {a["award_form"]: a["status"] for a in history["awards"]}
        assert statuses == {
            "giay_khen_chu_tich_ubnd_xa": "revoked",
            "ky_niem_chuong_bao_ve_an_ninh_to_quoc": "approved",
        }
        return FlowResult(p, w, h, pid, award["award_id"], nid, festival)
    finally:
        await nc.close()


async def check_stream(nats_url: str, flow: FlowResult, timeout: float = 15) -> None:
    """Each workflow event is in ANTQ_AWARDS, and award.conferred exactly once."""
    nc = await nats.connect(nats_url)
    try:
        deadline = time.monotonic() + timeout
        wanted = {
            "nomination.submitted",
            "nomination.returned",
            "nomination.resubmitted",
            "nomination.approved",
            "award.conferred",
            "award.revoked",
            "gift.recorded",
        }
        while True:
            events = await stream_events(nc, "ANTQ_AWARDS", "antq.awards.>")
            mine = [
                e
                for e in events
                if e["subject"] in (flow.nomination_id, flow.award_id) or e.get("data", {}).get("unit_id") == flow.group
            ]
            kinds = {e["type"].removeprefix("vn.antq.awards.").removesuffix(".v1") for e in mine}
            if wanted <= kinds or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert wanted <= kinds, sorted(kinds)
        conferred = [e for e in mine if e["type"] == "vn.antq.awards.award.conferred.v1"]
        assert len(conferred) == 1 and conferred[0]["data"]["festival_id"] == flow.festival_id
    finally:
        await nc.close()
