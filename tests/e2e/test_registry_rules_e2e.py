"""The registry's rules as an outside client sees them: plain nats-py against the service process,
nothing but the bus and the README. Roles, scopes, refusals that reveal nothing, nested and closed
campaigns, timeliness, references, point festivals, kinds and names."""

from __future__ import annotations

import json
import uuid

import nats

from tests.e2e.test_registry_e2e import all_events


def envelope(action: str, data: dict, unit: str = "", role: str = "admin") -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "outside-client",
            "type": f"vn.antq.registry.{action}.v1",
            "datacontenttype": "application/json",
            "data": data,
            "actorid": f"{role}@{unit or 'platform'}",
            "actorunit": unit,
            "actorrole": role,
        },
        ensure_ascii=False,
    ).encode()


async def test_an_outside_client_sees_each_rule_hold(servers, registry_process):
    nc = await nats.connect(servers.nats_url)
    t = uuid.uuid4().hex[:6]
    p, w, c, h, s = (f"{k}-{t}" for k in ("p", "w", "c", "h", "s"))

    async def send(action: str, data: dict, unit: str = "", role: str = "admin") -> dict:
        msg = await nc.request(f"antq.cmd.registry.{action}", envelope(action, data, unit, role), timeout=10)
        return json.loads(msg.data)

    async def query(name: str, params: dict) -> dict:
        return json.loads(
            (await nc.request(f"antq.query.registry.{name}", json.dumps(params).encode(), timeout=10)).data
        )

    def code(reply: dict) -> str:
        return "ok" if reply["ok"] else reply["error"]["code"]

    try:
        for unit_id, kind, parent in (
            (p, "province", None),
            (w, "ward", p),
            (c, "commune", p),
            (h, "residential_group", w),
            (s, "school", w),
        ):
            assert (
                await send(
                    "register-unit",
                    {
                        "unit_id": unit_id,
                        "name": f"Đơn vị {unit_id}",
                        "kind": kind,
                        "parent_id": parent,
                        "valid_from": "2025-01-01",
                    },
                )
            )["ok"]

        # roles: structural changes and campaigns need an admin; an officer works below their unit
        refused = await send("close-unit", {"unit_id": h, "effective_date": "2025-07-01", "reason": "x"}, w, "officer")
        assert code(refused) == "forbidden" and refused["error"]["details"][0]["rule"] == "role:restructure"
        assert code(await send("open-campaign", {"year": 2025, "scope_unit_id": p}, p, "approver")) == "forbidden"
        assert (
            code(
                await send(
                    "update-unit", {"unit_id": w, "effective_date": "2025-07-01", "name": "Phường X"}, w, "officer"
                )
            )
            == "forbidden"
        )
        assert (
            code(
                await send("update-unit", {"unit_id": h, "effective_date": "2025-07-01", "name": "Tổ 1"}, w, "officer")
            )
            == "ok"
        )

        # scope, and refusals that reveal nothing
        there = await send("update-unit", {"unit_id": h, "effective_date": "2025-07-01", "name": "x"}, c, "officer")
        gone = await send(
            "update-unit", {"unit_id": f"nope-{t}", "effective_date": "2025-07-01", "name": "x"}, c, "officer"
        )
        assert code(there) == code(gone) == "forbidden"
        assert (
            code(await send("update-unit", {"unit_id": f"nope-{t}", "effective_date": "2025-07-01", "name": "x"}))
            == "not_found"
        )

        # nested campaigns
        top = await send(
            "open-campaign", {"year": 2025, "scope_unit_id": p, "report_deadline": "2025-08-25"}, p, "admin"
        )
        wider = await send("open-campaign", {"year": 2025, "scope_unit_id": w, "window_end": "2025-08-30"}, w, "admin")
        assert code(wider) == "rule_violation" and wider["error"]["details"][0]["outer"] == top["result"]["campaign_id"]
        assert (
            code(
                await send("open-campaign", {"year": 2025, "scope_unit_id": w, "window_end": "2025-08-15"}, w, "admin")
            )
            == "ok"
        )

        # festivals: the window's edges, timeliness as two facts, models that must exist
        assert (
            code(
                await send(
                    "plan-festival",
                    {
                        "unit_id": h,
                        "year": 2025,
                        "date": "2025-08-16",
                        "venue": "Sân",
                        "ceremony": True,
                        "festival_part": True,
                    },
                    w,
                    "officer",
                )
            )
            == "rule_violation"
        )
        planned = await send(
            "plan-festival",
            {"unit_id": h, "year": 2025, "date": "2025-08-15", "venue": "Sân", "ceremony": True, "festival_part": True},
            w,
            "officer",
        )
        fid = planned["result"]["festival_id"]
        unknown_model = await send(
            "report-festival",
            {
                "festival_id": fid,
                "held_on": "2025-08-20",
                "participants": 80,
                "ceremony_held": True,
                "festival_part_held": True,
                "models_launched": ["no-such"],
            },
            w,
            "officer",
        )
        assert code(unknown_model) == "not_found"
        late = await send(
            "report-festival",
            {
                "festival_id": fid,
                "held_on": "2025-08-20",
                "participants": 80,
                "ceremony_held": True,
                "festival_part_held": True,
            },
            w,
            "officer",
        )
        assert code(late) == "ok"
        assert (late["result"]["on_time"], late["result"]["reported_on_time"]) == (False, False)
        festival = (await query("festival", {"festival_id": fid}))["result"]
        assert {"on_time", "reported_on", "reported_on_time"} <= set(festival)

        # a point festival is designated by its level: not by a ward for the province
        assert (
            code(
                await send(
                    "plan-festival",
                    {
                        "unit_id": s,
                        "year": 2025,
                        "date": "2025-07-20",
                        "venue": "Sân",
                        "ceremony": True,
                        "festival_part": True,
                        "point_level": "province",
                    },
                    w,
                    "officer",
                )
            )
            == "forbidden"
        )
        assert (
            code(
                await send(
                    "plan-festival",
                    {
                        "unit_id": s,
                        "year": 2025,
                        "date": "2025-07-20",
                        "venue": "Sân",
                        "ceremony": True,
                        "festival_part": True,
                        "point_level": "province",
                    },
                    p,
                    "officer",
                )
            )
            == "ok"
        )

        # closing: no more plans, the event for the season review
        assert (
            code(
                await send(
                    "close-campaign",
                    {"campaign_id": top["result"]["campaign_id"], "closed_on": "2025-09-01"},
                    p,
                    "admin",
                )
            )
            == "ok"
        )
        assert (
            code(
                await send(
                    "plan-festival",
                    {
                        "unit_id": c,
                        "year": 2025,
                        "date": "2025-08-01",
                        "venue": "Sân",
                        "ceremony": True,
                        "festival_part": True,
                    },
                    c,
                    "officer",
                )
            )
            == "rule_violation"
        )
        closed = [
            e
            for e in await all_events(nc, "antq.registry.campaign.closed.v1")
            if e["subject"] == top["result"]["campaign_id"]
        ]
        assert len(closed) == 1

        # kinds and names
        assert (
            code(await send("update-unit", {"unit_id": c, "effective_date": "2025-09-01", "kind": "ward"}, p, "admin"))
            == "ok"
        )
        assert (await query("unit", {"unit_id": c, "date": "2025-09-02"}))["result"]["kind"] == "ward"
        ward = await send(
            "register-unit",
            {
                "name": "Phu\u031bo\u031b\u0300ng Thua\u0323\u0302n Ho\u0301a",
                "kind": "ward",
                "parent_id": p,
                "valid_from": "2025-07-01",
            },
        )
        found = (await query("units", {"parent_id": p, "date": "2025-08-01", "name_contains": "thuan hoa"}))["result"][
            "units"
        ]
        assert [u["unit_id"] for u in found] == [ward["result"]["unit_id"]]
        assert found[0]["name"] == "Phường Thuận Hóa"
    finally:
        await nc.close()
