"""Reporting over the bus, against the real servers: registry and awards run in-process, reporting
learns everything from their events, and a small season is checked figure by figure — including a
unit moved after the window, counted under its old parent on an August tree date and under its new
one on a September tree date."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest

from shared.client import Client, read_stream
from shared.contract import awards as a
from shared.contract import registry as r
from tests.integration.conftest import settle, uid
from tests.integration.test_awards import council_recommends


def ok(reply):
    assert reply.ok, reply.error
    return reply.result


class Season:
    """Province P: ward W1 (residential groups G1, G2), ward W2 (G3, school S). 2026 campaign on P.
    G1 holds on time with both parts (120 people); W1 holds on time, ceremony only (80); G2 plans only;
    S plans and cancels; W2 and G3 do nothing. G2 moves to W2 on 1 Sep 2026."""

    def __init__(self, admin: Client) -> None:
        self.admin = admin
        self.p, self.w1, self.w2, self.g1, self.g2, self.g3, self.s = (
            uid(k) for k in ("p", "w1", "w2", "g1", "g2", "g3", "s")
        )

    async def festival(self, unit: str, held: dict | None = None, cancel: bool = False) -> str:
        fid = ok(
            await self.admin.send(
                r.PlanFestival(
                    unit_id=unit,
                    year=2026,
                    date="2026-08-10",
                    venue="Sân",
                    ceremony=r.PartPlan(),
                    festival_part=r.PartPlan(),
                )
            )
        )["festival_id"]
        if held:
            ok(await self.admin.send(r.ReportFestival(festival_id=fid, held_on="2026-08-10", **held)))
        if cancel:
            ok(await self.admin.send(r.CancelFestival(festival_id=fid, reason="Mưa bão")))
        return fid

    async def run(self, registry, awards, reporting) -> Season:
        for unit_id, kind, parent in (
            (self.p, "province", None),
            (self.w1, "ward", self.p),
            (self.w2, "ward", self.p),
            (self.g1, "residential_group", self.w1),
            (self.g2, "residential_group", self.w1),
            (self.g3, "residential_group", self.w2),
            (self.s, "school", self.w2),
        ):
            ok(
                await self.admin.send(
                    r.RegisterUnit(
                        unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                    )
                )
            )
        self.campaign = ok(await self.admin.send(r.OpenCampaign(year=2026, scope_unit_id=self.p)))["campaign_id"]
        funding = [
            r.FundingPart(source="Ngân sách phường", amount_vnd=3_000_000),
            r.FundingPart(source="Xã hội hóa", amount_vnd=2_000_000),
        ]
        self.f1 = await self.festival(
            self.g1, {"participants": 120, "ceremony_held": True, "festival_part_held": True, "funding": funding}
        )
        held_w1 = {"participants": 80, "ceremony_held": True, "festival_part_held": False}
        await self.festival(self.w1, {**held_w1, "funding_source": "Quỹ phường"})
        self.f2 = await self.festival(self.g2)
        await self.festival(self.s, cancel=True)
        ok(await self.admin.send(r.MoveUnit(unit_id=self.g2, new_parent_id=self.w2, effective_date="2026-09-01")))
        await settle(registry, awards)
        await settle(registry, reporting)
        return self


@pytest.fixture
async def season(admin, registry, awards, reporting) -> Season:
    return await Season(admin).run(registry, awards, reporting)


def row(result: dict, unit_id: str) -> dict:
    return next(b for b in result["breakdown"] if b["unit_id"] == unit_id)


async def test_coverage_on_two_tree_dates(admin, season) -> None:
    aug = ok(
        await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p, "tree_date": "2026-08-15"})
    )
    # expected: W1, W2, G1, G2, G3, S (the province is not an expected kind)
    assert (aug["units_total"], aug["units_planned"], aug["units_held"], aug["units_held_on_time"]) == (6, 3, 2, 2)
    assert aug["coverage"] == round(2 / 6, 4) and aug["ceremony_compliance"] == 0.5
    assert aug["participants"] == 200 and aug["cost_vnd"] == 5_000_000
    assert (row(aug, season.w1)["units_total"], row(aug, season.w1)["units_planned"]) == (3, 3)  # W1, G1, G2
    assert (row(aug, season.w2)["units_total"], row(aug, season.w2)["units_planned"]) == (3, 0)  # W2, G3, S
    sep = ok(
        await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p, "tree_date": "2026-09-15"})
    )
    assert sep["units_total"] == 6 and sep["units_planned"] == 3  # the same season…
    assert (row(sep, season.w1)["units_total"], row(sep, season.w1)["units_planned"]) == (2, 2)  # …G2 has moved
    assert (row(sep, season.w2)["units_total"], row(sep, season.w2)["units_planned"]) == (4, 1)
    only_wards = ok(
        await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p, "level": ["ward"]})
    )
    assert (only_wards["units_total"], only_wards["units_held"]) == (2, 1)


async def test_seasons_lists_the_years_campaigns_and_the_roots_and_coverage_gives_the_way_up(admin, season) -> None:
    """Where a board starts: the year's campaigns with their scope's name and window, the tree's top
    units; and on any scope, the way up (root first) for its breadcrumbs."""
    seasons = ok(await admin.query("reporting", "seasons", {"year": 2026}))
    mine = [s for s in seasons["seasons"] if s["scope_unit_id"] == season.p]
    assert [(s["campaign_id"], s["scope_name"], s["closed_on"]) for s in mine] == [
        (season.campaign, f"Đơn vị {season.p}", None)
    ]
    assert mine[0]["window_start"] == "2026-07-01" and mine[0]["window_end"] == "2026-08-19"
    assert season.p in {r["unit_id"] for r in seasons["roots"]} and season.w1 not in {
        r["unit_id"] for r in seasons["roots"]
    }
    earlier = ok(await admin.query("reporting", "seasons", {"year": 2025}))["seasons"]
    assert all(s["scope_unit_id"] != season.p for s in earlier)  # no campaign of P in 2025
    group = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.g1}))
    assert group["ancestry"] == [
        {"unit_id": season.p, "name": f"Đơn vị {season.p}"},
        {"unit_id": season.w1, "name": f"Đơn vị {season.w1}"},
    ]
    assert ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p}))["ancestry"] == []


async def test_units_missing_and_unit_status(admin, season) -> None:
    missing = ok(
        await admin.query(
            "reporting", "units-missing", {"year": 2026, "scope_unit_id": season.p, "tree_date": "2026-08-15"}
        )
    )
    reasons = {u["unit_id"]: u["reason"] for u in missing["units"]}
    nothing = {season.w2: "nothing_planned", season.g3: "nothing_planned", season.s: "nothing_planned"}
    assert reasons == {**nothing, season.w1: "one_part_only"}  # W1 held its ceremony only
    assert missing["by_reason"] == {"nothing_planned": 3, "one_part_only": 1, "report_returned": 0}
    assert missing["missing_total"] == 4
    status = ok(await admin.query("reporting", "unit-status", {"year": 2026, "unit_id": season.g1}))
    assert status["festival"]["held"] and status["festival"]["both_parts"] and status["festival"]["participants"] == 120
    report = ok(await admin.query("reporting", "units-report", {"year": 2026, "scope_unit_id": season.p}))
    assert report["units_total"] == 6 and {u["unit_id"] for u in report["units"]} >= {season.g1, season.s}


async def test_a_page_of_the_units_lists_builds_the_rows_of_its_own_units_only(admin, season, monkeypatch) -> None:
    """`make bench-national`: the season report of a 100 000-unit province took 304 s of queries, as
    every page of 5 000 rows of `units-report` and `units-missing` built the rows of all 100 000 units."""
    import services.reporting.queries as queries

    built: list[str] = []
    real = queries._row
    monkeypatch.setattr(queries, "_row", lambda view, u, day, s: built.append(u) or real(view, u, day, s))
    scope = {"year": 2026, "scope_unit_id": season.p}
    whole = ok(await admin.query("reporting", "units-report", scope))
    built.clear()
    rows, after = [], None
    while True:
        page = ok(await admin.query("reporting", "units-report", {**scope, "limit": 2, "after": after}))
        rows += page["units"]
        after = page["next"]
        if after is None:
            break
    assert rows == whole["units"] and len(rows) == 6
    assert built == [u["unit_id"] for u in rows]  # each row built once, by its own page
    # the totals of units-missing count every unit; the page builds its own rows
    built.clear()
    first = ok(await admin.query("reporting", "units-missing", {**scope, "tree_date": "2026-08-15", "limit": 1}))
    assert (first["missing_total"], len(first["units"]), built) == (4, 1, [first["units"][0]["unit_id"]])
    assert first["by_reason"] == {"nothing_planned": 3, "one_part_only": 1, "report_returned": 0}
    after_first = {**scope, "tree_date": "2026-08-15", "limit": 5, "after": first["next"]}
    rest = ok(await admin.query("reporting", "units-missing", after_first))
    assert (
        rest["next"] is None and len(rest["units"]) == 3 and first["next"] not in {u["unit_id"] for u in rest["units"]}
    )


async def test_festival_held_v2_carries_the_funding_lines_beside_its_v1_twin(admin, season) -> None:
    """Registry publishes the report as festival.held v2 and as its v1 twin (marked superseded by v2, the
    same aggregate version, cause and correlation); reporting reads v2 and lists the cost by source."""
    js = admin.nc.jetstream()
    v1 = [json.loads(m.data) for m in await read_stream(js, "ANTQ_REGISTRY", "antq.registry.festival.held.v1")]
    v2 = [json.loads(m.data) for m in await read_stream(js, "ANTQ_REGISTRY", "antq.registry.festival.held.v2")]
    [twin] = [e for e in v1 if e["subject"] == season.f1]
    [newer] = [e for e in v2 if e["subject"] == season.f1]
    assert twin["supersededby"] == newer["type"] == "vn.antq.registry.festival.held.v2" and "supersededby" not in newer
    same = ("aggregateversion", "causationid", "correlationid", "actorid")
    assert [twin[k] for k in same] == [newer[k] for k in same]
    assert twin["data"]["funding_source"] == "Ngân sách phường; Xã hội hóa" and twin["data"]["cost_vnd"] == 5_000_000
    assert newer["data"]["funding"] == [
        {"source": "Ngân sách phường", "amount_vnd": 3_000_000},
        {"source": "Xã hội hóa", "amount_vnd": 2_000_000},
    ]
    report = ok(await admin.query("reporting", "units-report", {"year": 2026, "scope_unit_id": season.p}))
    by_unit = {u["unit_id"]: u for u in report["units"]}
    assert by_unit[season.g1]["funding"] == newer["data"]["funding"] and by_unit[season.g1]["cost_vnd"] == 5_000_000
    assert by_unit[season.w1]["funding"] == [{"source": "Quỹ phường", "amount_vnd": 0}]  # a source, no cost given
    assert by_unit[season.g2]["funding"] == []


async def test_awards_and_gifts_roll_up(admin, season, registry, awards, reporting) -> None:
    nid = ok(
        await admin.send(
            a.SubmitNomination(
                nominee=a.Nominee(kind="collective", unit_id=season.g1),
                award_form="giay_khen_chu_tich_ubnd_xa",
                year=2026,
                achievement="Tổ dân phố tiêu biểu",
            )
        )
    )["nomination_id"]
    ok(await admin.send(a.ApproveNomination(nomination_id=nid, decision_no="1/QĐ", decision_date="2026-08-05")))
    other = ok(
        await admin.send(
            a.SubmitNomination(
                nominee=a.Nominee(kind="collective", unit_id=season.g3),
                award_form="bang_khen_chu_tich_ubnd_tinh",
                year=2026,
                achievement="Tổ dân phố tiêu biểu",
            )
        )
    )["nomination_id"]
    ok(await admin.send(a.ReturnNomination(nomination_id=other, reason="Bổ sung")))
    person = {"person_id": uid("person"), "name": "Trần Văn Bình", "year_of_birth": 1960}
    for form, revoke in (("giay_khen_chu_tich_ubnd_xa", False), ("bang_khen_chu_tich_ubnd_tinh", True)):
        one = ok(
            await admin.send(
                a.SubmitNomination(
                    nominee=a.Nominee(kind="individual", unit_id=season.g1, person=person),
                    award_form=form,
                    year=2026,
                    achievement=f"Tổ trưởng tiêu biểu ({form})",
                )
            )
        )["nomination_id"]
        if form == "bang_khen_chu_tich_ubnd_tinh":  # the emulation council reviews it first
            await council_recommends(admin, one)
        award = ok(
            await admin.send(a.ApproveNomination(nomination_id=one, decision_no="2/QĐ", decision_date="2026-08-05"))
        )["award_id"]
        if revoke:
            cancel = a.RevokeAward(award_id=award, reason="Sai sót", decision_no="3/QĐ", decision_date="2026-08-20")
            ok(await admin.send(cancel))
    for kind, value in (("policy_family", 1_000_000), ("poor_household", 500_000)):
        ok(
            await admin.send(
                a.RecordGift(
                    unit_id=season.g1,
                    beneficiary_kind=kind,
                    recipients=2,
                    value_vnd=value,
                    funding_source="Quỹ vì người nghèo",
                    given_on="2026-08-10",
                )
            )
        )
    await settle(awards, reporting)
    summary = ok(await admin.query("reporting", "awards-summary", {"year": 2026, "scope_unit_id": season.p}))
    assert summary["nominations"] == {
        "giay_khen_chu_tich_ubnd_xa": {"approved": 2},
        "bang_khen_chu_tich_ubnd_tinh": {"returned": 1, "approved": 1},
    }
    assert summary["awards"] == {
        "giay_khen_chu_tich_ubnd_xa": {"approved": 2},
        "bang_khen_chu_tich_ubnd_tinh": {"revoked": 1},
    }
    assert summary["awards_amount_vnd"] == 1_410_000 + 710_000  # the revoked one no longer counts
    collective, individual = {"awards": 1, "amount_vnd": 1_410_000}, {"awards": 1, "amount_vnd": 710_000}
    assert summary["standing"] == {
        "by_nominee_kind": {"collective": collective, "individual": individual},
        "by_granting_level": {"commune": {"awards": 2, "amount_vnd": 2_120_000}},
        "by_form": {"giay_khen_chu_tich_ubnd_xa": {"collective": collective, "individual": individual}},
    }
    gifts = ok(await admin.query("reporting", "gifts-summary", {"year": 2026, "scope_unit_id": season.w1}))
    assert (gifts["entries"], gifts["recipients"], gifts["value_vnd"]) == (2, 4, 1_500_000)
    assert gifts["by_funding_source"] == {"Quỹ vì người nghèo": 1_500_000}
    assert gifts["by_beneficiary_kind"]["poor_household"] == {"entries": 1, "recipients": 2, "value_vnd": 500_000}


async def _topic(client: Client, predicate, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [
            json.loads(m.data) for m in await read_stream(client.nc.jetstream(), "ANTQ_REPORTING", "antq.reporting.>")
        ]
        found = [e for e in found if predicate(e)]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_every_event_names_its_cause_and_a_figure_traces_back_to_the_report_that_moved_it(
    admin, season, registry, reporting
) -> None:
    """Every event of the season (registry's, and reporting's coverage.updated) carries correlationid and
    causationid; the coverage.updated that first counts G1 as held names G1's festival.held v2 among
    what it summarises, and that event names the command that reported it."""

    def for_g1_held(e: dict) -> bool:
        return (
            e["type"] == "vn.antq.reporting.coverage.updated.v1"
            and e["data"]["scope_unit_id"] == season.g1
            and e["data"]["figures"]["units_held"] == 1
        )

    [first, *_] = await _topic(admin, for_g1_held)
    js = admin.nc.jetstream()
    [held] = [
        json.loads(m.data)
        for m in await read_stream(js, "ANTQ_REGISTRY", "antq.registry.festival.held.v2")
        if json.loads(m.data)["subject"] == season.f1
    ]
    assert held["id"] in first["data"]["caused_by"]
    assert first["causationid"] in first["data"]["caused_by"] and first["correlationid"]
    assert held["causationid"] and held["correlationid"]  # the report-festival command, in its correlation
    units = {season.p, season.w1, season.w2, season.g1, season.g2, season.g3, season.s}
    ours = [
        json.loads(m.data)
        for stream, subjects in (("ANTQ_REGISTRY", "antq.registry.>"), ("ANTQ_REPORTING", "antq.reporting.>"))
        for m in await read_stream(js, stream, subjects)
    ]
    ours = [
        e
        for e in ours
        if e.get("subject") in units or e["data"].get("unit_id") in units or e["data"].get("scope_unit_id") in units
    ]
    assert len(ours) > 20
    assert [e["type"] for e in ours if not (e.get("correlationid") and e.get("causationid"))] == []


async def test_a_unit_added_to_the_tree_is_named_as_the_cause_of_the_figures_it_changes(
    admin, season, registry, reporting
) -> None:
    """A change of the tree moves the figures without a festival: the coverage.updated of each scope
    above a new unit names the unit's registered event. The in-memory tree no longer keeps every unit's
    last event (7 MB of a province): the publisher reads those of the units it takes."""
    g4 = uid("g4")
    ok(
        await admin.send(
            r.RegisterUnit(
                unit_id=g4, name="Tổ 4", kind="residential_group", parent_id=season.w2, valid_from="2024-01-01"
            )
        )
    )
    js = admin.nc.jetstream()
    [registered] = [
        e
        for e in (json.loads(m.data) for m in await read_stream(js, "ANTQ_REGISTRY", "antq.registry.unit.>"))
        if e["subject"] == g4
    ]

    def four_under_w2(e: dict) -> bool:
        return (
            e["type"] == "vn.antq.reporting.coverage.updated.v1"
            and e["data"]["scope_unit_id"] == season.w2
            and e["data"]["figures"]["units_total"] == 4
        )

    [w2, *_] = await _topic(admin, four_under_w2)
    assert registered["id"] in w2["data"]["caused_by"]
    assert w2["causationid"] == registered["id"] and w2["correlationid"] == registered["correlationid"]


async def test_topics_coverage_updated_and_snapshots(admin, season, registry, reporting) -> None:
    def for_province(e: dict) -> bool:
        return (
            e["type"] == "vn.antq.reporting.coverage.updated.v1"
            and e["data"]["scope_unit_id"] == season.p
            and e["data"]["year"] == 2026
        )

    updates = await _topic(admin, for_province)
    assert updates, "no coverage.updated for the province"
    latest = updates[-1]["data"]["figures"]
    now = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p}))
    assert {k: now[k] for k in latest} == latest
    versions = [u["aggregateversion"] for u in updates]
    assert versions == list(range(1, len(updates) + 1)), [(u["id"], u["time"], u["data"]["figures"]) for u in updates]

    snap = ok(await admin.command("reporting", "publish-snapshot", {"year": 2026, "scope_unit_id": season.p}))
    assert snap["units_held"] == 2
    ok(await admin.send(r.CloseCampaign(campaign_id=season.campaign, closed_on="2026-09-30")))
    # a report after the close is accepted (as late) but is not in the season review's snapshot
    ok(
        await admin.send(
            r.ReportFestival(
                festival_id=season.f2, held_on="2026-08-10", participants=5, ceremony_held=True, festival_part_held=True
            )
        )
    )
    await settle(registry, reporting)
    closed = await _topic(
        admin,
        lambda e: (
            e["type"] == "vn.antq.reporting.snapshot.published.v1" and e["data"].get("campaign_id") == season.campaign
        ),
    )
    assert len(closed) == 1 and closed[0]["data"]["reason"] == "campaign.closed"
    assert closed[0]["data"]["figures"]["units_held"] == 2 and len(closed[0]["data"]["breakdown"]) == 2
    by_command = await _topic(admin, lambda e: e["subject"] == snap["snapshot_id"])
    assert len(by_command) == 1 and by_command[0]["data"]["reason"] == "command"


async def test_a_rebuild_gives_exactly_the_live_projections(admin, season, reporting) -> None:
    """The same documents, but for their stamps (`_f`: the count of the fence of the transaction that
    wrote them, which a rebuild's own fence counts differently)."""
    without_stamp = {"_f": 0}
    before = {}
    for consumer in ("units", "registry", "awards"):
        before[consumer] = {
            c: sorted(await reporting.db[c].find({}, without_stamp).to_list(), key=lambda d: str(d["_id"]))
            for c in next(x for x in reporting.definition.consumers if x.name == consumer).collections
        }
    coverage = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p}))
    for consumer in ("units", "registry", "awards"):
        started = await admin.ops("reporting", "rebuild", {"consumer": consumer})
        assert started.ok, started.error
        deadline = time.monotonic() + 60
        while True:
            status = ok(await admin.ops("reporting", "rebuild-status", {"consumer": consumer}))
            if status.get("state") in ("done", "failed") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
        assert status["state"] == "done", status
        after = {
            c: sorted(await reporting.db[c].find({}, without_stamp).to_list(), key=lambda d: str(d["_id"]))
            for c in before[consumer]
        }
        assert after == before[consumer], consumer
    assert ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.p})) == coverage


async def test_a_campaigns_expected_kinds_update_every_scope_below(admin, registry, reporting) -> None:
    p, w, g, s = uid("p"), uid("w"), uid("g"), uid("s")
    for unit_id, kind, parent in ((p, "province", None), (w, "ward", p), (g, "residential_group", w), (s, "school", w)):
        ok(
            await admin.send(
                r.RegisterUnit(unit_id=unit_id, name=unit_id, kind=kind, parent_id=parent, valid_from="2024-01-01")
            )
        )
    ok(await admin.send(r.OpenCampaign(year=2026, scope_unit_id=p, expected_kinds=["ward", "school"])))
    await settle(registry, reporting)

    def for_ward(e: dict) -> bool:
        return (
            e["type"].endswith("coverage.updated.v1") and e["data"]["scope_unit_id"] == w and e["data"]["year"] == 2026
        )

    updates = await _topic(admin, for_ward)
    assert updates and updates[-1]["data"]["figures"]["units_total"] == 2  # the ward and the school, not the group


async def test_a_scope_that_does_not_exist_on_the_tree_date_is_refused(admin, season) -> None:
    reply = await admin.query(
        "reporting", "coverage", {"year": 2026, "scope_unit_id": season.p, "tree_date": "2023-01-01"}
    )
    assert (
        not reply.ok
        and reply.error["code"] == "rule_violation"
        and reply.error["details"] == [{"field": "tree_date", "value": "2023-01-01", "rule": "unit_active"}]
    )


# ------------------------------------------------------------------------------------ edges the audit named


async def test_summaries_read_the_subtree_of_the_tree_date_and_a_revoked_award_no_longer_counts(
    admin, season, registry, awards, reporting
) -> None:
    """G2 belongs to W1 until 1 Sep 2026, then to W2: its award and gift count where it was on the date
    asked. A revoked award keeps its place in the counts, marked revoked, and its amount is taken off."""
    nid = ok(
        await admin.send(
            a.SubmitNomination(
                nominee=a.Nominee(kind="collective", unit_id=season.g2),
                award_form="giay_khen_chu_tich_ubnd_xa",
                year=2026,
                achievement="Tổ dân phố an toàn",
            )
        )
    )["nomination_id"]
    award_id = ok(
        await admin.send(a.ApproveNomination(nomination_id=nid, decision_no="9/QĐ", decision_date="2026-08-05"))
    )["award_id"]
    gift = a.RecordGift(
        unit_id=season.g2,
        beneficiary_kind="policy_family",
        recipients=1,
        value_vnd=700_000,
        funding_source="Ngân sách",
        given_on="2026-08-10",
    )
    ok(await admin.send(gift))
    await settle(awards, reporting)

    def ask(name: str, scope: str, day: str) -> dict:
        return {"year": 2026, "scope_unit_id": scope, "tree_date": day}

    for scope, day, counted in ((season.w1, "2026-08-15", True), (season.w1, "2026-09-15", False)):
        got = ok(await admin.query("reporting", "awards-summary", ask("awards-summary", scope, day)))
        assert (got["awards_amount_vnd"] == 1_410_000) is counted, (scope, day, got)
        gifts = ok(await admin.query("reporting", "gifts-summary", ask("gifts-summary", scope, day)))
        assert (gifts["value_vnd"] == 700_000) is counted, (scope, day, gifts)
    got = ok(await admin.query("reporting", "awards-summary", ask("awards-summary", season.w2, "2026-09-15")))
    assert got["awards_amount_vnd"] == 1_410_000

    ok(
        await admin.send(
            a.RevokeAward(award_id=award_id, reason="Sai sót hồ sơ", decision_no="10/QĐ", decision_date="2026-09-20")
        )
    )
    await settle(awards, reporting)
    got = ok(await admin.query("reporting", "awards-summary", ask("awards-summary", season.w2, "2026-09-15")))
    assert got["awards"] == {"giay_khen_chu_tich_ubnd_xa": {"revoked": 1}}
    assert got["awards_amount_vnd"] == 0


async def test_coverage_updated_is_not_sent_again_when_the_figures_do_not_change(
    admin, season, registry, reporting
) -> None:
    def of_w1(e: dict) -> bool:
        return e["type"] == "vn.antq.reporting.coverage.updated.v1" and e["data"]["scope_unit_id"] == season.w1

    figures = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": season.w1}))

    def current(e: dict) -> bool:  # W1's topic has caught up with its figures
        return of_w1(e) and e["data"]["figures"]["units_held"] == figures["units_held"]

    assert await _topic(admin, current)
    before = await _topic(admin, of_w1)
    # G2 (W1's on the season's tree, the report deadline of 19 Aug; W2's since 1 Sep): a rescheduled
    # festival moves no figure, so W1's coverage is not published again
    ok(await admin.send(r.RescheduleFestival(festival_id=season.f2, date="2026-08-12", reason="trùng lịch")))
    await settle(registry, reporting)
    # the publisher's round runs every 0.3 s here: three rounds have passed once a later change shows
    ok(
        await admin.send(
            r.ReportFestival(
                festival_id=season.f2, held_on="2026-08-12", participants=9, ceremony_held=True, festival_part_held=True
            )
        )
    )
    await settle(registry, reporting)
    after = await _topic(admin, lambda e: of_w1(e) and e["aggregateversion"] > len(before))
    assert len(after) == 1  # the report moved W1's figures once; the reschedule did not
    assert after[0]["data"]["figures"]["units_held"] == before[-1]["data"]["figures"]["units_held"] + 1


# ------------------------------------------------------------------------------------ across the reform


async def test_a_season_counts_a_hamlet_merged_after_it_and_a_later_tree_counts_it_under_its_successor(
    admin, registry, reporting
) -> None:
    """2025: hamlet H of ward W holds its festival in July and merges into hamlet K on 15 Oct; the
    campaign closed on 30 Sep. The season's default tree is the close date, so H counts in its own
    season; on the tree of 31 Dec its festival counts under K, not nowhere. 2024: commune C held its
    festival, and merged into N on 1 Jul 2025: 2025's year-on-year figure counts it under N."""
    p, w, h, k, c, c2, n = (uid(x) for x in ("p", "w", "h", "k", "c", "c2", "n"))
    for unit_id, kind, parent in (
        (p, "province", None),
        (w, "ward", p),
        (h, "hamlet", w),
        (k, "hamlet", w),
        (c, "commune", p),
        (c2, "commune", p),
    ):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    for year in (2024, 2025):
        ok(await admin.send(r.OpenCampaign(year=year, scope_unit_id=p, campaign_id=f"{p}-{year}")))

    async def held(unit: str, day: str) -> None:
        year = int(day[:4])
        fid = ok(
            await admin.send(
                r.PlanFestival(
                    unit_id=unit, year=year, date=day, venue="Sân", ceremony=r.PartPlan(), festival_part=r.PartPlan()
                )
            )
        )["festival_id"]
        report = r.ReportFestival(
            festival_id=fid, held_on=day, participants=50, ceremony_held=True, festival_part_held=True
        )
        ok(await admin.send(report))

    await held(c, "2024-08-10")
    await held(h, "2025-07-20")
    ok(await admin.send(r.CloseCampaign(campaign_id=f"{p}-2025", closed_on="2025-09-30")))
    ok(
        await admin.send(
            r.MergeUnits(
                source_unit_ids=[c, c2],
                effective_date="2025-07-01",
                new_unit=r.NewUnit(unit_id=n, name="Xã N", kind="commune", parent_id=p),
            )
        )
    )
    ok(await admin.send(r.MergeUnits(source_unit_ids=[h], effective_date="2025-10-15", target_unit_id=k)))
    await settle(registry, reporting)

    season = ok(await admin.query("reporting", "coverage", {"year": 2025, "scope_unit_id": w}))
    assert season["tree_date"] == "2025-09-30"  # the campaign's close date
    assert (season["units_total"], season["units_held"], season["units_held_both_parts"]) == (3, 1, 1)  # W, H, K
    later = ok(
        await admin.query("reporting", "coverage", {"year": 2025, "scope_unit_id": w, "tree_date": "2025-12-31"})
    )
    assert (later["units_total"], later["units_held"], later["participants"]) == (2, 1, 50)  # W, K (carrying H)
    report = ok(
        await admin.query("reporting", "units-report", {"year": 2025, "scope_unit_id": w, "tree_date": "2025-12-31"})
    )
    carrier = next(u for u in report["units"] if u["unit_id"] == k)
    assert carrier["held"] and carrier["carried"] == [h]

    compared = ok(await admin.query("reporting", "coverage", {"year": 2025, "scope_unit_id": p, "year_on_year": True}))
    before = compared["previous_year"]
    assert before["year"] == 2024 and compared["tree_date"] == before.get("tree_date", compared["tree_date"])
    assert before["units_held"] == 1 and before["participants"] == 50  # C's 2024 festival, under N
    assert next(b for b in before["breakdown"] if b["unit_id"] == n)["units_held"] == 1
    assert compared["units_total"] == before["units_total"]  # the same units compared


async def test_a_gift_entered_once_appears_once_whichever_entry_point_took_it(
    admin, registry, awards, reporting
) -> None:
    """Festival F1's report totals its gifts (3 recipients, 600 000 VND) and nothing else records them:
    they count once, as `unspecified`. Festival F2's report totals 2 gifts, and the ledger details them
    (record-gift naming F2): they count once, as the ledger says. A gift to an outstanding collective is
    a kind of its own."""
    p, w, h1, h2 = (uid(x) for x in ("p", "w", "h1", "h2"))
    for unit_id, kind, parent in ((p, "province", None), (w, "ward", p), (h1, "hamlet", w), (h2, "hamlet", w)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    ok(await admin.send(r.OpenCampaign(year=2026, scope_unit_id=p)))
    festivals = {}
    for unit, gifts in ((h1, {"recipients": 3, "value_vnd": 600_000}), (h2, {"recipients": 2, "value_vnd": 1_000_000})):
        fid = ok(
            await admin.send(
                r.PlanFestival(
                    unit_id=unit, year=2026, date="2026-08-10", venue="Sân", ceremony=r.PartPlan(),
                    festival_part=r.PartPlan(),
                )
            )
        )["festival_id"]  # fmt: skip
        report = r.ReportFestival(
            festival_id=fid, held_on="2026-08-10", participants=40, ceremony_held=True, festival_part_held=True,
            gifts=r.Gifts(**gifts),
        )  # fmt: skip
        ok(await admin.send(report))
        festivals[unit] = fid
    await settle(registry, awards)
    ok(
        await admin.send(
            a.RecordGift(
                unit_id=h2,
                festival_id=festivals[h2],
                beneficiary_kind="outstanding_collective",
                recipients=2,
                value_vnd=1_000_000,
                funding_source="Quỹ phường",
            )
        )
    )
    await settle(registry, reporting)
    await settle(awards, reporting)
    gifts = ok(await admin.query("reporting", "gifts-summary", {"year": 2026, "scope_unit_id": w}))
    assert (gifts["entries"], gifts["recipients"], gifts["value_vnd"]) == (2, 5, 1_600_000)
    assert gifts["by_beneficiary_kind"] == {
        "unspecified": {"entries": 1, "recipients": 3, "value_vnd": 600_000},
        "outstanding_collective": {"entries": 1, "recipients": 2, "value_vnd": 1_000_000},
    }
    assert gifts["by_funding_source"] == {"unspecified": 600_000, "Quỹ phường": 1_000_000}
    status = ok(await admin.query("reporting", "unit-status", {"year": 2026, "unit_id": h1}))
    assert (status["gifts"]["entries"], status["gifts"]["value_vnd"]) == (1, 600_000)


async def test_point_festivals_roll_up_by_the_level_that_chose_them_with_their_delegates(
    admin, registry, reporting
) -> None:
    """2024 (the tree still has districts): district D chose a point festival in commune C. 2025: the
    province's point festival at P, and two commune-level ones (one held, one planned)."""
    p, d, c, c2 = (uid(x) for x in ("p", "d", "c", "c2"))
    for unit_id, kind, parent in ((p, "province", None), (d, "district", p), (c, "commune", d), (c2, "commune", d)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    for commune in (c, c2):
        ok(await admin.send(r.MoveUnit(unit_id=commune, new_parent_id=p, effective_date="2025-07-01")))
    ok(await admin.send(r.CloseUnit(unit_id=d, effective_date="2025-07-01", reason="Kết thúc cấp huyện")))
    for year in (2024, 2025):
        ok(await admin.send(r.OpenCampaign(year=year, scope_unit_id=p)))

    async def point(unit: str, year: int, level: str, delegates: list[str] | None) -> None:
        day = f"{year}-08-10"
        fid = ok(
            await admin.send(
                r.PlanFestival(
                    unit_id=unit, year=year, date=day, venue="Sân", ceremony=r.PartPlan(), festival_part=r.PartPlan(),
                    point_level=level,
                )
            )
        )["festival_id"]  # fmt: skip
        if delegates is not None:
            report = r.ReportFestival(
                festival_id=fid, held_on=day, participants=100, ceremony_held=True, festival_part_held=True,
                delegates=delegates,
            )  # fmt: skip
            ok(await admin.send(report))

    await point(c, 2024, "district", ["Chủ tịch UBND huyện"])
    await point(p, 2025, "province", ["Thứ trưởng Bộ Công an", "Chủ tịch UBND tỉnh"])
    await point(c, 2025, "commune", ["Bí thư Đảng ủy xã"])
    await point(c2, 2025, "commune", None)
    await settle(registry, reporting)
    got = ok(await admin.query("reporting", "point-festivals", {"year": 2025, "scope_unit_id": p}))
    levels = {k: (v["festivals"], v["held"], v["delegates"]) for k, v in got["by_level"].items()}
    assert levels == {"ministry": (0, 0, 0), "province": (1, 1, 2), "district": (0, 0, 0), "commune": (2, 1, 1)}
    assert (got["festivals"], got["delegates"]) == (3, 3)
    province = got["by_level"]["province"]["items"][0]
    assert province["delegates"] == ["Thứ trưởng Bộ Công an", "Chủ tịch UBND tỉnh"] and province["unit_id"] == p
    old = ok(await admin.query("reporting", "point-festivals", {"year": 2024, "scope_unit_id": p}))
    assert (old["by_level"]["district"]["festivals"], old["by_level"]["district"]["delegates"]) == (1, 1)


async def test_the_level_above_accepts_or_returns_a_festival_report_and_coverage_counts_the_accepted(
    servers, admin, registry, reporting
) -> None:
    """Domain facts §3.2: held → reported → accepted, or returned with a reason (then reported again),
    set by an officer of an ancestor; the unit's own officer may not review its report."""
    from shared.contract.envelope import Actor

    p, w, h = (uid(x) for x in ("p", "w", "h"))
    for unit_id, kind, parent in ((p, "province", None), (w, "ward", p), (h, "residential_group", w)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    ok(await admin.send(r.OpenCampaign(year=2026, scope_unit_id=p)))
    fid = ok(
        await admin.send(
            r.PlanFestival(
                unit_id=h, year=2026, date="2026-08-10", venue="Sân", ceremony=r.PartPlan(), festival_part=r.PartPlan()
            )
        )
    )["festival_id"]
    report = r.ReportFestival(
        festival_id=fid, held_on="2026-08-10", participants=60, ceremony_held=True, festival_part_held=True
    )
    clients = {}
    for unit in (h, w):
        clients[unit] = await Client.connect(
            servers.nats_url, Actor(id=f"officer-of-{unit}", unit=unit, role="officer")
        )
    try:
        own, above = clients[h], clients[w]
        early = await above.send(r.AcceptFestivalReport(festival_id=fid))
        assert not early.ok and early.error["details"][0]["rule"] == "festival_held"  # nothing reported yet
        ok(await own.send(report))
        mine = await own.send(r.AcceptFestivalReport(festival_id=fid))
        assert not mine.ok and mine.error["code"] == "forbidden"  # a unit does not accept its own report
        assert mine.error["details"] == [{"rule": "level_above"}] and "level above" in mine.error["message"]
        assert (
            ok(await above.send(r.ReturnFestivalReport(festival_id=fid, reason="Thiếu số liệu kinh phí")))["review"]
            == "returned"
        )
        blocked = await above.send(r.AcceptFestivalReport(festival_id=fid))
        assert not blocked.ok and blocked.error["details"][0]["rule"] == "report_pending"
        await settle(registry, reporting)
        status = ok(await admin.query("reporting", "units-report", {"year": 2026, "scope_unit_id": w}))
        row_h = next(u for u in status["units"] if u["unit_id"] == h)
        assert row_h["returned"] and not row_h["accepted"]
        chased = ok(await admin.query("reporting", "units-missing", {"year": 2026, "scope_unit_id": w}))
        assert {u["unit_id"]: u["reason"] for u in chased["units"]}[h] == "report_returned"
        bad_cursor = await admin.query(
            "reporting", "units-missing", {"year": 2026, "scope_unit_id": w, "after": "nope"}
        )
        assert not bad_cursor.ok and bad_cursor.error["details"][0]["rule"] == "cursor"
        ok(await own.send(report.model_copy(update={"cost_vnd": 4_000_000})))  # reported again
        ok(await above.send(r.AcceptFestivalReport(festival_id=fid, note="Đạt yêu cầu")))
        again = await above.send(r.AcceptFestivalReport(festival_id=fid))
        assert not again.ok and again.error["code"] == "conflict"
    finally:
        for client in clients.values():
            await client.close()
    await settle(registry, reporting)
    cov = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": w}))
    assert (cov["units_held"], cov["units_accepted"], cov["cost_vnd"]) == (1, 1, 4_000_000)
    stream = await read_stream(admin.nc.jetstream(), "ANTQ_REGISTRY", "antq.registry.festival.>")
    events = [json.loads(m.data)["type"] for m in stream]
    assert "vn.antq.registry.festival.report-returned.v1" in events
    assert "vn.antq.registry.festival.report-accepted.v1" in events


async def test_models_live_as_dated_data_and_roll_up_by_scope(servers, admin, registry, reporting) -> None:
    """A model proposed (registered) at hamlet H in 2025, launched at W's festival, recognised by the
    province, replicated at K, retired in 2026; another registered at the province itself. Registry's
    `models` answers by scope, year and state on a date; coverage rolls the counts up."""
    from shared.contract.envelope import Actor

    p, w, h, k = (uid(x) for x in ("p", "w", "h", "k"))
    for unit_id, kind, parent in (
        (p, "province", None),
        (w, "ward", p),
        (h, "residential_group", w),
        (k, "residential_group", w),
    ):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    ok(await admin.send(r.OpenCampaign(year=2025, scope_unit_id=p)))
    fid = ok(
        await admin.send(
            r.PlanFestival(
                unit_id=w, year=2025, date="2025-08-10", venue="Sân", ceremony=r.PartPlan(), festival_part=r.PartPlan()
            )
        )
    )["festival_id"]
    model = ok(
        await admin.send(r.RegisterModel(unit_id=h, name="Camera an ninh tổ dân phố", launched_on="2025-07-15"))
    )["model_id"]
    ok(await admin.send(r.RegisterModel(unit_id=p, name="Tiếng kẻng an ninh", launched_on="2025-03-01")))
    ok(
        await admin.send(
            r.ReportFestival(
                festival_id=fid, held_on="2025-08-10", participants=90, ceremony_held=True, festival_part_held=True,
                models_launched=[model],
            )
        )
    )  # fmt: skip
    officer = await Client.connect(servers.nats_url, Actor(id="o", unit=w, role="officer"))
    approver = await Client.connect(servers.nats_url, Actor(id="a", unit=w, role="approver"))
    try:
        recognise = r.RecogniseModel(
            model_id=model, level="commune", decision_no="88/QĐ-UBND", recognised_on="2025-09-01"
        )
        refused = await officer.send(recognise)
        assert not refused.ok and refused.error["code"] == "forbidden"  # a decision: an approver's
        assert "a model's recognition" in refused.error["message"]
        too_high = await approver.send(recognise.model_copy(update={"level": "province"}))
        assert not too_high.ok and too_high.error["details"][0]["rule"] == "model_level"  # a ward is not a province
        assert ok(await approver.send(recognise))["state"] == "recognised"
        again = await approver.send(recognise)
        assert not again.ok and again.error["details"][0]["rule"] == "model_proposed"
        future = await officer.send(r.ReplicateModel(model_id=model, unit_id=k, replicated_on="2030-01-01"))
        assert not future.ok and future.error["details"][0]["rule"] == "not_in_future"
        later = await officer.send(r.RegisterModel(unit_id=h, name="Mô hình tương lai", launched_on="2030-01-01"))
        assert not later.ok and later.error["details"][0]["rule"] == "not_in_future"
        ok(await officer.send(r.ReplicateModel(model_id=model, unit_id=k, replicated_on="2025-10-01")))
        early = await officer.send(r.RetireModel(model_id=model, retired_on="2025-08-01", reason="x"))
        assert not early.ok and early.error["details"][0]["rule"] == "after_recognition"
        ok(await officer.send(r.RetireModel(model_id=model, retired_on="2026-03-01", reason="Không còn duy trì")))
        listed = ok(await officer.query("registry", "models", {"year": 2025}))
        assert listed["scope_unit_id"] == w and [m["model_id"] for m in listed["models"]] == [model]
        assert listed["models"][0]["state"] == "recognised" and listed["counts"]["recognised"] == 1
        now = ok(await officer.query("registry", "models", {"scope_unit_id": w, "state": "retired"}))
        assert [m["model_id"] for m in now["models"]] == [model]
        province = ok(await admin.query("registry", "models", {"scope_unit_id": p, "year": 2025, "date": "2025-08-01"}))
        assert province["counts"] == {"proposed": 2, "recognised": 0, "retired": 0}
        then = next(m for m in province["models"] if m["model_id"] == model)  # as it stood that day
        assert (then["level"], then["decision_no"], then["retired_on"], then["replications"]) == (None, None, None, 0)
        assert then["unit_name"] == f"Đơn vị {h}"
        bad = await admin.query("registry", "models", {"scope_unit_id": p, "after": "nope"})
        assert not bad.ok and bad.error["details"][0]["rule"] == "cursor"
    finally:
        await officer.close()
        await approver.close()
    await settle(registry, reporting)
    cov = ok(await admin.query("reporting", "coverage", {"year": 2025, "scope_unit_id": p, "tree_date": "2025-12-31"}))
    got = {k: cov[f"models_{k}"] for k in ("registered", "recognised", "replicated", "at_festival")}
    assert got == {"registered": 2, "recognised": 1, "replicated": 1, "at_festival": 1}
    ward = next(b for b in cov["breakdown"] if b["unit_id"] == w)
    assert (ward["models_registered"], ward["models_replicated"]) == (1, 1)  # the province's own is not W's


async def test_a_season_report_larger_than_one_message_is_read_in_smaller_pages(admin, season, reporting) -> None:
    """A province's unit rows run past one message (`reply_too_large` at 900 kB): the report asks again
    with half the page until a page fits, and still gets every row."""
    import json

    from shared.client.season_report import season as season_report

    limit = reporting.queries.max_reply_bytes
    params = {"year": 2026, "scope_unit_id": season.p}
    whole = len(json.dumps(ok(await admin.query("reporting", "units-report", params)), default=str))
    others = [
        ok(await admin.query("reporting", "coverage", {**params, "year_on_year": True})),
        ok(await admin.query("reporting", "point-festivals", params)),
        ok(await admin.query("reporting", "units-missing", params)),
    ]
    # every other answer fits; the unit rows do not
    reporting.queries.max_reply_bytes = max(len(json.dumps(x, default=str)) for x in others) + 50
    assert whole > reporting.queries.max_reply_bytes
    try:
        refused = await admin.query("reporting", "units-report", {"year": 2026, "scope_unit_id": season.p})
        assert refused.error["code"] == "reply_too_large"
        report = await season_report(admin, 2026, season.p, None)
    finally:
        reporting.queries.max_reply_bytes = limit
    listed = ok(await admin.query("reporting", "units-report", {"year": 2026, "scope_unit_id": season.p}))
    assert [u["unit_id"] for u in report["units"]] == [u["unit_id"] for u in listed["units"]]
    assert len(report["units"]) == listed["units_total"] > 2


async def test_a_coverage_breakdown_of_many_children_is_read_a_page_at_a_time(admin, season, reporting) -> None:
    """A province of 1 250 communes (`make bench-national` at 30 000 units) answered `coverage` with
    every child's row: `reply_too_large`, and the season report of the province could not be made. The
    breakdown pages (`breakdown_limit`, `breakdown_after` → `breakdown_next`), its figures unchanged, and
    the report's client reads every page."""
    import json

    from shared.client.season_report import coverage

    params = {"year": 2026, "scope_unit_id": season.p, "year_on_year": True}
    whole = ok(await admin.query("reporting", "coverage", params))
    assert len(whole["breakdown"]) == 2 and whole["breakdown_next"] is None
    first = ok(await admin.query("reporting", "coverage", {**params, "breakdown_limit": 1}))
    assert [b["unit_id"] for b in first["breakdown"]] == [season.w1] and first["breakdown_next"] == season.w1
    assert len(first["previous_year"]["breakdown"]) == 1
    assert {k: v for k, v in first.items() if "breakdown" not in k and k != "previous_year"} == {
        k: v for k, v in whole.items() if "breakdown" not in k and k != "previous_year"
    }  # the figures of the scope are the whole scope's on every page
    second = ok(
        await admin.query("reporting", "coverage", {**params, "breakdown_limit": 1, "breakdown_after": season.w1})
    )
    assert [b["unit_id"] for b in second["breakdown"]] == [season.w2] and second["breakdown_next"] is None
    wrong = await admin.query("reporting", "coverage", {**params, "breakdown_limit": 1, "breakdown_after": season.g1})
    assert wrong.error["code"] == "not_found" and wrong.error["details"][0]["field"] == "breakdown_after"

    limit = reporting.queries.max_reply_bytes
    reporting.queries.max_reply_bytes = len(json.dumps(first, default=str)) + 50  # one child's page fits, not two
    try:
        assert (await admin.query("reporting", "coverage", params)).error["code"] == "reply_too_large"
        assembled = await coverage(admin, params, limit=1000)
    finally:
        reporting.queries.max_reply_bytes = limit
    assert assembled["breakdown"] == whole["breakdown"]
    assert assembled["previous_year"]["breakdown"] == whole["previous_year"]["breakdown"]


async def test_the_season_report_in_docx_and_xlsx_carries_the_figures_the_queries_give(
    admin, registry, awards, reporting, tmp_path
) -> None:
    """A small 2025 season with a 2024 before it: the narrative DOCX (read back) and the XLSX carry the
    compliance, year-on-year, models and point-festival figures, each equal to the query's."""
    from docx import Document
    from openpyxl import load_workbook

    from shared.client.season_docx import PLACEHOLDER, key_figures, write_docx
    from shared.client.season_report import season, write_xlsx

    p, w, h1, h2 = (uid(x) for x in ("p", "w", "h1", "h2"))
    for unit_id, kind, parent in ((p, "province", None), (w, "ward", p), (h1, "hamlet", w), (h2, "hamlet", w)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Đơn vị {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    for year in (2024, 2025):
        ok(await admin.send(r.OpenCampaign(year=year, scope_unit_id=p)))

    async def held(unit: str, day: str, both: bool = True, **kw) -> str:
        fid = ok(
            await admin.send(
                r.PlanFestival(unit_id=unit, year=int(day[:4]), date=day, venue="Sân", ceremony=r.PartPlan(),
                               festival_part=r.PartPlan(), point_level=kw.pop("point_level", None))
            )
        )["festival_id"]  # fmt: skip
        report = r.ReportFestival(
            festival_id=fid, held_on=day, participants=100, ceremony_held=True, festival_part_held=both, **kw
        )
        ok(await admin.send(report))
        return fid

    await held(h1, "2024-08-10")
    model = ok(await admin.send(r.RegisterModel(unit_id=h1, name="Tổ tự quản an ninh", launched_on="2025-07-20")))
    await held(
        h1, "2025-08-10", point_level="commune", delegates=["Chủ tịch UBND phường"], models_launched=[model["model_id"]]
    )
    await held(h2, "2025-08-12", both=False)
    await settle(registry, awards)
    nid = ok(
        await admin.send(
            a.SubmitNomination(
                nominee=a.Nominee(kind="collective", unit_id=h1),
                award_form="giay_khen_chu_tich_ubnd_xa",
                year=2025,
                achievement="Thôn tiêu biểu",
            )
        )
    )["nomination_id"]  # fmt: skip
    ok(await admin.send(a.ApproveNomination(nomination_id=nid, decision_no="5/QĐ", decision_date="2025-08-15")))
    await settle(registry, reporting)
    await settle(awards, reporting)

    gathered = await season(admin, 2025, p, None)
    cov = ok(await admin.query("reporting", "coverage", {"year": 2025, "scope_unit_id": p, "year_on_year": True}))
    assert gathered["coverage"] == cov
    docx_path, xlsx_path = tmp_path / "so-ket.docx", tmp_path / "so-ket.xlsx"
    write_docx(gathered, docx_path)
    write_xlsx(gathered, xlsx_path)

    doc = Document(str(docx_path))
    text = "\n".join(para.text for para in doc.paragraphs)
    assert "Báo cáo sơ kết Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm 2025" in text and text.count(PLACEHOLDER) == 3
    tables = {t.rows[0].cells[0].text: [[c.text for c in row.cells] for row in t.rows[1:]] for t in doc.tables}
    figures = dict(tables["Chỉ tiêu"])
    assert figures == dict(key_figures(gathered))
    assert figures["Số đơn vị đã tổ chức"] == str(cov["units_held"]) == "2"
    assert figures["Tổ chức đủ phần lễ và phần hội"] == str(cov["units_held_both_parts"]) == "1"
    assert figures["Mô hình mới"] == str(cov["models_registered"]) == "1"
    assert figures["Tập thể được khen thưởng"] == "1" and figures["Ngày hội điểm"] == "1"
    missing = {row[0]: row[2] for row in tables["Đơn vị"] if len(row) == 3}
    assert missing[f"Đơn vị {h2}"] == "Chỉ tổ chức một phần" and missing[f"Đơn vị {w}"] == "Chưa đăng ký, chưa tổ chức"
    assert "so với năm 2024" in text.lower() or "So với năm 2024" in text

    book = load_workbook(xlsx_path)
    total = lambda sheet: next(row for row in book[sheet].iter_rows(values_only=True) if row[0] == "Tổng")  # noqa: E731
    assert total("Tuân thủ hai phần")[1:3] == (cov["units_held"], cov["units_held_both_parts"])
    before = cov["previous_year"]
    assert total("So sánh cùng kỳ")[1:3] == (before["units_held"], cov["units_held"]) == (1, 2)
    assert total("Mô hình")[1:5] == tuple(
        cov[k] for k in ("models_registered", "models_recognised", "models_replicated", "models_at_festival")
    )
    points = ok(await admin.query("reporting", "point-festivals", {"year": 2025, "scope_unit_id": p}))
    assert total("Ngày hội điểm")[1] == points["festivals"] == 1 and total("Ngày hội điểm")[3] == points["delegates"]
    awards_rows = list(book["Khen thưởng"].iter_rows(values_only=True))
    assert ("Tập thể", 1, 1_410_000) in [row[:3] for row in awards_rows]
    listed = next(row for row in book["Mô hình"].iter_rows() if row[0].value == "Tổ tự quản an ninh")
    assert listed[1].value == f"Đơn vị {h1}" and listed[2].value.date() == dt.date(2025, 7, 20)  # a name, a date
    assert listed[2].number_format == "DD/MM/YYYY"
    point = next(row for row in book["Ngày hội điểm"].iter_rows() if row[0].value == f"Đơn vị {h1}")
    assert point[2].value.date() == dt.date(2025, 8, 10) and point[1].value == "Cấp xã"


async def test_a_merged_communes_awards_and_gifts_count_in_its_season_under_its_successor(
    admin, registry, awards, reporting
) -> None:
    """Commune C merged into N on 1 Jul 2025: its award (decided in August) and its June gift count in
    the 2025 summaries of the province on the season's tree (a day C no longer exists)."""
    p, c, c2, n = (uid(x) for x in ("p", "c", "c2", "n"))
    for unit_id, kind, parent in ((p, "province", None), (c, "commune", p), (c2, "commune", p)):
        ok(
            await admin.send(
                r.RegisterUnit(
                    unit_id=unit_id, name=f"Xã {unit_id}", kind=kind, parent_id=parent, valid_from="2024-01-01"
                )
            )
        )
    ok(await admin.send(r.OpenCampaign(year=2025, scope_unit_id=p)))
    await settle(registry, awards)
    nid = ok(
        await admin.send(
            a.SubmitNomination(
                nominee=a.Nominee(kind="collective", unit_id=c),
                award_form="giay_khen_chu_tich_ubnd_xa",
                year=2025,
                achievement="Xã tiêu biểu 6 tháng đầu năm",
            )
        )
    )["nomination_id"]
    gift = a.RecordGift(
        unit_id=c, beneficiary_kind="policy_family", recipients=3, value_vnd=900_000, funding_source="Quỹ xã",
        given_on="2025-06-15",
    )  # fmt: skip
    ok(await admin.send(gift))
    new_unit = r.NewUnit(unit_id=n, name="Xã N", kind="commune", parent_id=p)
    ok(await admin.send(r.MergeUnits(source_unit_ids=[c, c2], effective_date="2025-07-01", new_unit=new_unit)))
    await settle(registry, awards)
    ok(await admin.send(a.ApproveNomination(nomination_id=nid, decision_no="3/QĐ", decision_date="2025-08-05")))
    await settle(registry, reporting)
    await settle(awards, reporting)
    summary = ok(await admin.query("reporting", "awards-summary", {"year": 2025, "scope_unit_id": p}))
    assert summary["tree_date"] == "2025-08-19"  # the campaign's report deadline: C no longer exists
    assert summary["awards"] == {"giay_khen_chu_tich_ubnd_xa": {"approved": 1}}
    assert summary["standing"]["by_nominee_kind"]["collective"]["awards"] == 1
    under_n = ok(await admin.query("reporting", "awards-summary", {"year": 2025, "scope_unit_id": n}))
    assert under_n["awards_amount_vnd"] == summary["awards_amount_vnd"] > 0  # its successor carries it
    gifts = ok(await admin.query("reporting", "gifts-summary", {"year": 2025, "scope_unit_id": p}))
    assert (gifts["entries"], gifts["recipients"], gifts["value_vnd"]) == (1, 3, 900_000)


async def test_a_publish_round_reads_each_fence_once_however_many_scopes_it_computes(admin, season, reporting) -> None:
    """The publisher computes the figures of every scope above a change: at one point in time (a pinned
    store) the tracking fences and the year's campaigns are read for the first scope only, and the next
    scopes walk memory. An unpinned store (a consumer's batch) reads them again for each scope."""
    from services.reporting.queries import figures_of
    from services.reporting.store import ReportingStore
    from tests import clock

    deps = reporting.definition.deps
    db, trips = deps.kit.db, deps.kit.round_trips
    cache = deps.trees(db)
    scopes = [season.w1, season.w2, season.g1, season.g2, season.g3]
    for pinned, expected_later in ((True, 0), (False, 5 * len(scopes))):
        store = ReportingStore(db, pinned=pinned)
        with trips.count() as first:
            await figures_of(store, cache, clock.today(), 2026, season.p, None, breakdown=False)
        with trips.count() as later:
            for scope in scopes:
                await figures_of(store, cache, clock.today(), 2026, scope, None, breakdown=False)
        assert first[0] >= 1 and later[0] == expected_later, (pinned, first[0], later[0])


async def test_a_round_publishes_the_highest_levels_first_and_carries_the_rest_with_their_causes(
    admin, season, registry, reporting, monkeypatch
) -> None:
    """A round computes at most MAX_SCOPES scopes (at 6 000 units one round upserted thousands of
    hamlet-level figures in one transaction and held the store for 15 s): the province and the ward go
    first, the group in a later round, and its update still names the report that moved it."""
    from services.reporting import topics

    monkeypatch.setattr(topics, "MAX_SCOPES", 2)

    def of(scope: str):
        return lambda e: e["type"] == "vn.antq.reporting.coverage.updated.v1" and e["data"]["scope_unit_id"] == scope

    counts = {s: len(await _topic(admin, of(s), timeout=0)) for s in (season.p, season.w1, season.g2)}
    held = r.ReportFestival(
        festival_id=season.f2, held_on="2026-08-10", participants=9, ceremony_held=True, festival_part_held=True
    )
    reply = ok(await admin.send(held))
    assert reply["festival_id"] == season.f2
    await settle(registry, reporting)

    async def latest(scope: str) -> dict:
        found = await _topic(admin, lambda e: of(scope)(e) and e["aggregateversion"] > counts[scope], timeout=30)
        assert found, f"no new coverage.updated for {scope}"
        return found[-1]

    p, w1, g2 = await latest(season.p), await latest(season.w1), await latest(season.g2)
    assert g2["data"]["figures"]["units_held"] == 1  # G2 (W1's on the season's tree) held, late but counted
    for scope, event in ((season.p, p), (season.w1, w1), (season.g2, g2)):
        figures = ok(await admin.query("reporting", "coverage", {"year": 2026, "scope_unit_id": scope}))
        assert event["data"]["figures"]["units_held"] == figures["units_held"], scope
    held_events = [
        json.loads(m.data)
        for m in await read_stream(admin.nc.jetstream(), "ANTQ_REGISTRY", "antq.registry.festival.held.v2")
    ]
    cause = next(e["id"] for e in held_events if e["subject"] == season.f2)
    assert cause in g2["data"]["caused_by"]  # carried to the later round with the mark
    assert cause in p["data"]["caused_by"] and cause in w1["data"]["caused_by"]
    assert g2["time"] > p["time"] and g2["time"] > w1["time"]  # the group's round came after
