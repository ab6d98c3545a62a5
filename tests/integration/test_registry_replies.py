"""What registry's handlers answer, pinned where mutation testing of the handlers found nothing
checking it: the result of each command, the campaign found by year and scope, and the whole forest
as one subtree."""

from __future__ import annotations

from shared.contract import registry as c
from tests.integration.conftest import uid
from tests.integration.test_registry_rules import Tree, ok, plan


async def test_each_command_answers_what_it_did(admin) -> None:
    tree = await Tree(admin).build()
    fid = ok(await admin.send(plan(tree.w)))["festival_id"]
    assert ok(await admin.send(c.CancelFestival(festival_id=fid, reason="Mưa bão"))) == {"festival_id": fid}
    model = ok(await admin.send(c.RegisterModel(unit_id=tree.w, name="Camera an ninh", launched_on="2025-07-02")))
    replicated = ok(
        await admin.send(c.ReplicateModel(model_id=model["model_id"], unit_id=tree.c, replicated_on="2025-07-03"))
    )
    assert replicated == {"model_id": model["model_id"], "unit_id": tree.c}
    moved = ok(await admin.send(c.MoveUnit(unit_id=tree.h2, new_parent_id=tree.w, effective_date="2025-09-01")))
    assert moved == {"unit_id": tree.h2}
    a, b = uid("a"), uid("b")
    split = ok(
        await admin.send(
            c.SplitUnit(
                unit_id=tree.c,
                effective_date="2025-10-01",
                parts=[
                    c.SplitPart(unit_id=a, name="Xã A", kind="commune", parent_id=tree.p),
                    c.SplitPart(unit_id=b, name="Xã B", kind="commune", parent_id=tree.p),
                ],
            )
        )
    )
    assert split == {"unit_id": tree.c, "part_unit_ids": [a, b]}


async def test_a_campaign_is_found_by_year_and_scope(admin) -> None:
    tree = await Tree(admin).build()
    found = ok(await admin.query("registry", "campaign", {"year": 2025, "scope_unit_id": tree.p}))
    assert found["campaign_id"] == tree.campaign
    missing = await admin.query("registry", "campaign", {"year": 2024, "scope_unit_id": tree.p})
    assert not missing.ok and missing.error["code"] == "not_found"


async def test_the_whole_forest_is_one_subtree(admin) -> None:
    tree = await Tree(admin).build(campaign=False)
    every = ok(
        await admin.query(
            "registry", "units", {"depth": "subtree", "date": "2025-08-01", "name_contains": tree.h2, "limit": 10_000}
        )
    )
    assert [u["unit_id"] for u in every["units"]] == [tree.h2]


async def test_requests_are_answered_without_a_worker_thread_each(admin, monkeypatch) -> None:
    """A handler parameter of type `NatsMessage` made FastStream resolve it in a worker thread for every
    request (8% of registry's CPU under load, a thread hand-off each): the decoder hands the bytes and
    headers over instead (shared.runtime.bus `Request`), so no command or query leaves the event loop."""
    import anyio.to_thread

    handed_off = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):  # type: ignore[no-untyped-def]
        handed_off.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    tree = await Tree(admin).build(campaign=False)
    found = ok(await admin.query("registry", "units", {"parent_id": tree.p, "date": "2025-08-01"}))
    assert found["units"]
    assert handed_off == []
