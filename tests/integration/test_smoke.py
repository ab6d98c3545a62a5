from shared.contract import registry as c
from tests.integration.conftest import uid


async def test_register_and_query(admin):
    p = uid("prov")
    r = await admin.send(c.RegisterUnit(unit_id=p, name="Thành phố Huế", kind="province", valid_from="2025-07-01"))
    assert r.ok, r
    q = await admin.query("registry", "unit", {"unit_id": p, "date": "2025-08-01"})
    assert q.ok and q.result["name"] == "Thành phố Huế", q
