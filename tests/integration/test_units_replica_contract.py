"""Contract test of the shared units replica: random tree operations go through registry, its
stream is replayed into the pure replica, and the replica answers as registry's `unit` and `units`
queries do on every date where something changed."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.contract import registry as c
from shared.contract.subjects import event_type
from shared.replicas.units import UnitsView, apply
from tests.integration.conftest import stream_events
from tests.integration.tree_ops import random_operations

MODELS = {event_type("registry", a, n): (n, m) for (a, n), m in c.EVENTS.items() if a == "unit"}


def replay(events: list[dict], units: set[str]) -> UnitsView:
    view = UnitsView([])
    for e in events:
        if e["type"] in MODELS and e["subject"] in units:
            name, model = MODELS[e["type"]]
            view.put(apply(view.unit(e["subject"]), name, model.model_validate(e["data"]), e["aggregateversion"]))
    return view


def change_dates(view: UnitsView) -> list[dt.date]:
    days = set()
    for r in view.records.values():
        for v in r.versions:
            days |= {v.valid_from, v.valid_from - dt.timedelta(days=1), v.valid_to - dt.timedelta(days=1), v.valid_to}
    return sorted(d for d in days if d.year < 9000)


@pytest.mark.parametrize("seed", [18, 22, 23])  # between them: every unit event, a split that closes its source
async def test_the_replica_answers_as_registry_does_on_every_changed_date(admin, seed):
    root, units, accepted = await random_operations(admin, seed, steps=40)
    assert accepted >= 5
    events = await stream_events(admin, "antq.registry.unit.>")
    view = replay(events, units)
    assert len({e["type"] for e in events if e["subject"] in units}) >= 5  # the seed exercises the tree
    assert set(view.records) == units
    for day in change_dates(view):
        iso = day.isoformat()
        for uid in sorted(units):
            got = (await admin.query("registry", "unit", {"unit_id": uid, "date": iso})).result
            record = view.unit(uid)
            shown = record.shown(day)
            mine = {
                "status": record.status(day),
                "kind": record.kind,
                "code": shown.code,
                "name": shown.name,
                "parent_id": shown.parent_id,
                "flags": shown.flags,
                "ancestors": view.ancestry(uid, day)[1:],
                "version": record.version,
                "predecessors": [p.model_dump(mode="json") for p in record.predecessors],
                "successors": [s.model_dump(mode="json") for s in record.successors],
            }
            assert {k: got[k] for k in mine} == mine, (uid, iso)
            children = await admin.query("registry", "units", {"parent_id": uid, "date": iso, "limit": 10000})
            assert [u["unit_id"] for u in children.result["units"]] == [r.unit_id for r in view.children(uid, day)]
        subtree = await admin.query(
            "registry", "units", {"parent_id": root, "date": iso, "depth": "subtree", "limit": 10000}
        )
        assert [u["unit_id"] for u in subtree.result["units"]] == sorted(r.unit_id for r in view.subtree(root, day))
