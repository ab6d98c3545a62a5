"""The 2025 reform of Huế replayed on the registry from the official lineage: 9 districts and
133 commune-level units (1 Jan 2025) become 40 commune-level units under the city (1 Jul 2025).
A 2025-H1 date answers with the old tree, 1 July with the new one, and reused codes are fine."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from shared.contract import registry as c
from tests.integration.conftest import uid

REF = Path(__file__).resolve().parents[2] / "data" / "reference"


def _kind(name: str) -> str:
    return "ward" if name.startswith("Phường") else "commune"  # thị trấn (townlets) register as communes


async def test_hue_133_units_merge_into_40_with_lineage(admin):
    lineage = list(csv.DictReader((REF / "hue-units-2025-lineage.csv").open(encoding="utf-8")))
    new_units = {r["code"]: r for r in csv.DictReader((REF / "hue-units-2025.csv").open(encoding="utf-8"))}
    p = uid("hue")
    ns = p[-6:] + "."  # codes namespaced per run: other tests in this database load the real ones
    ok = lambda r: r.ok or (_ for _ in ()).throw(AssertionError(r.error))  # noqa: E731
    ok(await admin.send(c.RegisterUnit(unit_id=p, name="Thành phố Huế", kind="province", valid_from="2025-01-01")))
    districts = {}
    for name in sorted({r["old_district_2025H1"] for r in lineage}):
        districts[name] = f"{p}-d{len(districts)}"
        ok(
            await admin.send(
                c.RegisterUnit(
                    unit_id=districts[name], name=name, kind="district", parent_id=p, valid_from="2025-01-01"
                )
            )
        )
    sources = defaultdict(list)
    for r in lineage:
        old_id = f"{p}-old-{r['old_code']}"
        ok(
            await admin.send(
                c.RegisterUnit(
                    unit_id=old_id,
                    code=ns + r["old_code"],
                    name=r["old_name"],
                    kind=_kind(r["old_name"]),
                    parent_id=districts[r["old_district_2025H1"]],
                    valid_from="2025-01-01",
                )
            )
        )
        sources[r["new_code"]].append(old_id)

    for code, new in new_units.items():
        olds = sources[code]
        if olds == [f"{p}-old-{code}"] and len(olds) == 1:  # Dương Nỗ: not rearranged, only re-parented
            ok(await admin.send(c.MoveUnit(unit_id=olds[0], new_parent_id=p, effective_date="2025-07-01")))
            continue
        ok(
            await admin.send(
                c.MergeUnits(
                    source_unit_ids=olds,
                    effective_date="2025-07-01",
                    new_unit=c.NewUnit(
                        unit_id=f"{p}-new-{code}", code=ns + code, name=new["name"], kind=new["kind"], parent_id=p
                    ),
                )
            )
        )
    for d in districts.values():
        ok(await admin.send(c.CloseUnit(unit_id=d, effective_date="2025-07-01", reason="Cấp huyện kết thúc hoạt động")))

    async def children(date):
        r = await admin.query("registry", "units", {"parent_id": p, "date": date})
        return r.result["units"]

    before, after = await children("2025-06-30"), await children("2025-07-01")
    assert len(before) == 9
    assert {u["kind"] for u in before} == {"district"}
    assert len(after) == 40
    assert sum(u["kind"] == "ward" for u in after) == 21
    assert {u["code"] for u in after} == {ns + code for code in new_units}
    phu_xuan = (await admin.query("registry", "unit", {"unit_id": f"{p}-new-19753"})).result
    assert len(phu_xuan["predecessors"]) == 6
    # 19918 was old Xã Phú Xuân's code; the new Xã Phú Hồ holds it from 1 July.
    old = (await admin.query("registry", "unit", {"unit_id": f"{p}-old-19918", "date": "2025-06-01"})).result
    assert (old["name"], old["code"], old["valid_to"]) == ("Xã Phú Xuân", ns + "19918", "2025-07-01")
    assert old["successors"] == [{"unit_id": f"{p}-new-19918", "relation": "merged", "date": "2025-07-01"}]
    subtree = await admin.query("registry", "units", {"parent_id": p, "depth": "subtree", "date": "2025-03-01"})
    assert len(subtree.result["units"]) == 9 + 133
