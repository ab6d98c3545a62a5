"""The effective-dated unit tree over the bus: register, update, move, merge, split, close."""

from __future__ import annotations

from shared.contract import registry as c
from tests.integration.conftest import uid


async def _unit(admin, kind, parent=None, valid_from="2025-01-01", code=None, name=None):
    unit_id = uid(kind)
    r = await admin.send(
        c.RegisterUnit(
            unit_id=unit_id,
            name=name or f"Đơn vị {unit_id}",
            kind=kind,
            parent_id=parent,
            valid_from=valid_from,
            code=code,
        )
    )
    assert r.ok, r.error
    return unit_id


async def _children(admin, parent, date):
    r = await admin.query("registry", "units", {"parent_id": parent, "date": date})
    assert r.ok, r.error
    return sorted(u["unit_id"] for u in r.result["units"])


async def test_children_are_answered_as_of_a_date(admin):
    prov = await _unit(admin, "province")
    district = await _unit(admin, "district", prov)
    a = await _unit(admin, "commune", district)
    b = await _unit(admin, "ward", district, valid_from="2025-03-01")
    assert await _children(admin, district, "2025-02-01") == [a]
    assert await _children(admin, district, "2025-03-01") == sorted([a, b])


async def test_merge_into_a_new_unit_closes_sources_moves_children_and_keeps_lineage(admin):
    prov = await _unit(admin, "province")
    district = await _unit(admin, "district", prov)
    old1 = await _unit(admin, "commune", district, code=uid("c")[:20])
    old2 = await _unit(admin, "ward", district)
    hamlet = await _unit(admin, "hamlet", old1)
    new_id = uid("ward")
    r = await admin.send(
        c.MergeUnits(
            source_unit_ids=[old1, old2],
            effective_date="2025-07-01",
            new_unit=c.NewUnit(unit_id=new_id, name="Phường Mới", kind="ward", parent_id=prov),
        )
    )
    assert r.ok, r.error
    assert r.result == {"unit_id": new_id, "children_moved": [hamlet]}
    assert await _children(admin, district, "2025-06-30") == sorted([old1, old2])
    assert await _children(admin, district, "2025-07-01") == []
    assert await _children(admin, new_id, "2025-07-01") == [hamlet]
    assert await _children(admin, old1, "2025-06-30") == [hamlet]
    merged = (await admin.query("registry", "unit", {"unit_id": new_id, "date": "2025-07-01"})).result
    assert sorted(p["unit_id"] for p in merged["predecessors"]) == sorted([old1, old2])
    old = (await admin.query("registry", "unit", {"unit_id": old1, "date": "2025-07-01"})).result
    assert old["status"] == "closed"
    assert old["successors"][0]["unit_id"] == new_id
    assert old["valid_to"] == "2025-07-01"


async def test_successor_may_reuse_the_code_of_a_merged_unit_but_not_while_it_is_held(admin):
    prov = await _unit(admin, "province")
    code = str(uid("")[-8:]).replace("-", "")
    a = await _unit(admin, "commune", prov, code=code)
    b = await _unit(admin, "commune", prov)
    clash = await admin.send(
        c.RegisterUnit(name="Xã Trùng Mã", kind="commune", parent_id=prov, valid_from="2025-02-01", code=code)
    )
    assert clash.error["code"] == "conflict"
    r = await admin.send(
        c.MergeUnits(
            source_unit_ids=[a, b],
            effective_date="2025-07-01",
            new_unit=c.NewUnit(name="Xã Kế Thừa", kind="commune", parent_id=prov, code=code),
        )
    )
    assert r.ok, r.error


async def test_move_split_update_and_close(admin):
    prov = await _unit(admin, "province")
    d1 = await _unit(admin, "district", prov)
    commune = await _unit(admin, "commune", d1)
    h1 = await _unit(admin, "hamlet", commune)
    h2 = await _unit(admin, "hamlet", commune)
    assert (await admin.send(c.MoveUnit(unit_id=commune, new_parent_id=prov, effective_date="2025-07-01"))).ok
    assert await _children(admin, prov, "2025-07-01") == sorted([d1, commune])
    cycle = await admin.send(c.MoveUnit(unit_id=d1, new_parent_id=commune, effective_date="2025-06-01"))
    assert cycle.error["code"] == "rule_violation"
    assert cycle.error["details"] == [{"rule": "no_cycle"}]  # refused for the cycle, before any kind rule
    part_a, part_b = uid("commune"), uid("commune")
    r = await admin.send(
        c.SplitUnit(
            unit_id=commune,
            effective_date="2025-09-01",
            parts=[
                c.SplitPart(unit_id=part_a, name="Xã A", kind="commune", children=[h1]),
                c.SplitPart(unit_id=part_b, name="Xã B", kind="commune", children=[h2]),
            ],
        )
    )
    assert r.ok, r.error
    assert await _children(admin, part_a, "2025-09-01") == [h1]
    renamed = await admin.send(c.UpdateUnit(unit_id=part_a, effective_date="2025-10-01", name="Xã A Mới"))
    assert renamed.ok
    view = (await admin.query("registry", "unit", {"unit_id": part_a, "date": "2025-09-15"})).result
    assert view["name"] == "Xã A"
    assert [v["name"] for v in view["history"]] == ["Xã A", "Xã A Mới"]
    blocked = await admin.send(c.CloseUnit(unit_id=part_b, effective_date="2025-12-01", reason="test"))
    assert blocked.error["code"] == "rule_violation"
    assert blocked.error["details"] == [{"rule": "no_orphans", "unit_ids": [h2]}]
    assert (await admin.send(c.CloseUnit(unit_id=h2, effective_date="2025-12-01", reason="gộp"))).ok
    assert (await admin.send(c.CloseUnit(unit_id=part_b, effective_date="2025-12-01", reason="gộp"))).ok


async def test_subtree_query_walks_every_level(admin):
    prov = await _unit(admin, "province")
    commune = await _unit(admin, "commune", prov)
    hamlet = await _unit(admin, "hamlet", commune)
    school = await _unit(admin, "school", commune)
    r = await admin.query("registry", "units", {"parent_id": prov, "depth": "subtree", "date": "2025-05-05"})
    assert sorted(u["unit_id"] for u in r.result["units"]) == sorted([commune, hamlet, school])


async def test_a_hamlet_cannot_hang_under_a_province(admin):
    prov = await _unit(admin, "province")
    r = await admin.send(c.RegisterUnit(name="Thôn Lạc", kind="hamlet", parent_id=prov, valid_from="2025-01-01"))
    assert r.error["code"] == "rule_violation"
    assert r.error["details"] == [{"rule": "allowed_parent", "kind": "hamlet", "parent_kind": "province"}]
