"""Festival rules without I/O: both parts, one per unit and year, the window, a closed campaign,
point festivals designated by their level, timeliness as two facts, models launched that exist."""

from __future__ import annotations

import pytest

from services.registry import domain as d
from shared.authz import require_scope
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.unit.registry.helpers import D, campaign, plan, province, report, unit

OFFICER = Actor(id="o", unit="u1", role="officer")


def planned(**kw):
    f, _ = d.plan_festival(plan(), "f", unit(), campaign(**kw), [])
    return f


def test_both_parts_must_be_planned():
    for part in ("ceremony", "festival_part"):
        cmd = plan().model_copy(update={part: c.PartPlan(planned=False)})
        with pytest.raises(ValidationFailed, match="phần lễ") as err:
            d.plan_festival(cmd, "f", unit(), campaign(), [])
        assert err.value.details[0]["field"] == part


def test_one_festival_per_unit_and_year_unless_explicitly_allowed():
    with pytest.raises(Conflict, match="allow_additional"):
        d.plan_festival(plan(), "f2", unit(), campaign(), ["f1"])
    f, ev = d.plan_festival(plan(allow_additional=True), "f2", unit(), campaign(), ["f1"])
    assert f.additional
    assert (ev.name, ev.aggregate_version) == ("planned", 1)
    f, _ = d.plan_festival(plan(), "f1", unit(), campaign(), [])
    assert not f.additional


@pytest.mark.parametrize(
    ("day", "ok"), [(D(2025, 6, 30), False), (D(2025, 7, 1), True), (D(2025, 8, 19), True), (D(2025, 8, 20), False)]
)
def test_a_festival_is_planned_inside_the_window(day, ok):
    if ok:
        d.plan_festival(plan(day), "f", unit(), campaign(), [])
    else:
        with pytest.raises(RuleViolation, match="outside the campaign window"):
            d.plan_festival(plan(day), "f", unit(), campaign(), [])


def test_the_date_must_be_in_the_year_and_the_unit_exist_that_day():
    with pytest.raises(ValidationFailed, match="not in 2025"):
        d.plan_festival(plan().model_copy(update={"date": D(2026, 8, 1)}), "f", unit(), campaign(), [])
    with pytest.raises(RuleViolation, match="does not exist"):
        d.plan_festival(plan(), "f", unit(start=D(2025, 8, 2)), campaign(), [])


def test_the_window_of_the_units_kind_on_the_day_applies():
    schools = c.WindowException(kind="ward", window_start=D(2025, 7, 10), window_end=D(2025, 8, 19))
    becomes_ward = unit().changed_from(D(2025, 7, 1), kind="ward")
    with pytest.raises(RuleViolation, match="this unit kind"):
        d.plan_festival(plan(D(2025, 7, 5)), "f", becomes_ward, campaign(exceptions=[schools]), [])


def test_a_closed_campaign_takes_no_plan_and_no_reschedule_but_a_cancel():
    with pytest.raises(RuleViolation, match="closed on 2025-09-01: planning a festival"):
        d.plan_festival(plan(), "f", unit(), campaign(closed_on=D(2025, 9, 1)), [])
    f = planned()
    with pytest.raises(RuleViolation, match="rescheduling"):
        d.reschedule_festival(
            f, c.RescheduleFestival(festival_id="f", date=D(2025, 8, 5)), unit(), campaign(closed_on=D(2025, 9, 1))
        )
    cancelled, _ = d.cancel_festival(f, c.CancelFestival(festival_id="f", reason="mưa bão"))
    assert cancelled.status == "cancelled"


def test_a_reschedule_stays_in_the_year_and_the_window_and_keeps_a_trace():
    f = planned()
    with pytest.raises(RuleViolation, match="outside"):
        d.reschedule_festival(f, c.RescheduleFestival(festival_id="f", date=D(2025, 8, 20)), unit(), campaign())
    with pytest.raises(ValidationFailed, match="not in 2025"):
        d.reschedule_festival(f, c.RescheduleFestival(festival_id="f", date=D(2026, 8, 1)), unit(), campaign())
    new, ev = d.reschedule_festival(
        f, c.RescheduleFestival(festival_id="f", date=D(2025, 8, 5), reason="mưa"), unit(), campaign()
    )
    assert (new.date, new.venue, new.reschedules[0]["from"], ev.aggregate_version) == (
        D(2025, 8, 5),
        "Sân",
        "2025-08-01",
        2,
    )


@pytest.mark.parametrize(
    ("held", "on_time"),
    [(D(2025, 6, 30), False), (D(2025, 7, 1), True), (D(2025, 8, 19), True), (D(2025, 8, 20), False)],
)
def test_on_time_means_held_inside_the_window_and_a_late_festival_is_still_recorded(held, on_time):
    held_f, [ev, _v2] = d.report_festival(planned(), report(held), unit(), campaign(), today=D(2025, 8, 21))
    assert held_f.status == "held"
    assert held_f.on_time is on_time
    assert ev.data.on_time is on_time  # type: ignore[attr-defined]


@pytest.mark.parametrize(("today", "in_time"), [(D(2025, 8, 25), True), (D(2025, 8, 26), False)])
def test_reported_on_time_means_the_report_arrived_by_the_deadline(today, in_time):
    held_f, [ev, _v2] = d.report_festival(
        planned(), report(), unit(), campaign(report_deadline=D(2025, 8, 25)), today=today
    )
    assert (held_f.reported_on, held_f.reported_on_time) == (today, in_time)
    assert (ev.data.reported_on, ev.data.reported_on_time) == (today, in_time)  # type: ignore[attr-defined]


def test_a_report_after_the_close_is_accepted_and_counts_as_late():
    held_f, _ = d.report_festival(planned(), report(), unit(), campaign(closed_on=D(2025, 8, 20)), today=D(2025, 8, 21))
    assert held_f.status == "held"
    assert held_f.reported_on_time is False


def test_a_report_is_refused_in_the_future_in_another_year_or_twice():
    with pytest.raises(RuleViolation, match="future"):
        d.report_festival(planned(), report(D(2025, 8, 1)), unit(), campaign(), today=D(2025, 7, 31))
    with pytest.raises(ValidationFailed, match="not in 2025"):
        d.report_festival(planned(), report(D(2026, 1, 2)), unit(), campaign(), today=D(2026, 2, 1))
    held_f, _ = d.report_festival(planned(), report(), unit(), campaign(), today=D(2025, 8, 2))
    with pytest.raises(Conflict, match="is held"):
        d.report_festival(held_f, report(), unit(), campaign(), today=D(2025, 8, 2))


def model(uid="m1", unit_id="h1", launched=D(2025, 7, 1)):
    return d.MovementModel(model_id=uid, unit_id=unit_id, name="Camera", launched_on=launched)


def test_models_launched_exist_below_the_festival_unit_by_that_day():
    d.check_models_launched("u1", D(2025, 8, 1), {"m1": (model(), ["h1", "u1", "p"])})
    with pytest.raises(NotFound, match="model m9"):
        d.check_models_launched("u1", D(2025, 8, 1), {"m9": (None, [])})
    with pytest.raises(RuleViolation, match="not unit u1 or below"):
        d.check_models_launched("u1", D(2025, 8, 1), {"m1": (model(unit_id="x"), ["x", "other", "p"])})
    with pytest.raises(RuleViolation, match="after the festival"):
        d.check_models_launched("u1", D(2025, 8, 1), {"m1": (model(launched=D(2025, 8, 2)), ["h1", "u1"])})


def test_a_point_festival_is_designated_by_an_actor_of_its_level_above_the_host():
    ward = unit("w", kind="ward")
    host = ["h1", "w", "p"]
    assert d.designation("commune", Actor(id="a", unit="w", role="officer"), ward, host, D(2025, 8, 1)) == "w"
    assert d.designation("province", Actor(id="a", unit="p", role="officer"), province(), host, D(2025, 8, 1)) == "p"
    assert d.designation("ministry", Actor(id="ops", unit=None, role="admin"), None, host, D(2025, 8, 1)) is None
    refused = [
        ("province", Actor(id="a", unit="w", role="admin"), ward),  # a ward is not the province level
        ("commune", Actor(id="a", unit="p", role="admin"), province()),  # the province is not the commune level
        ("commune", Actor(id="a", unit="w2", role="officer"), unit("w2", kind="ward")),  # another ward
        ("ministry", Actor(id="a", unit="p", role="admin"), province()),  # the ministry is outside the tree
    ]
    for level, actor, actor_unit in refused:
        with pytest.raises(Forbidden, match="rule: a point festival is designated by an actor of its level"):
            d.designation(level, actor, actor_unit, host, D(2025, 8, 1))  # type: ignore[arg-type]


def test_a_point_festival_records_its_level_and_designator_and_is_the_hosts_festival():
    f, ev = d.plan_festival(plan(point_level="province"), "f", unit(), campaign(), [], designated_by="p")
    assert (f.point_level, f.designated_by, f.additional) == ("province", "p", False)
    assert (ev.data.point_level, ev.data.designated_by) == ("province", "p")  # type: ignore[attr-defined]
    with pytest.raises(Conflict, match="already has festival"):  # it is the unit's one festival of the year
        d.plan_festival(plan(point_level="province"), "f2", unit(), campaign(), ["f"], designated_by="p")
    held_f, [ev, _v2] = d.report_festival(f, report(), unit(), campaign(), today=D(2025, 8, 2))
    assert (held_f.point_level, held_f.designated_by, ev.data.designated_by) == ("province", "p", "p")  # type: ignore[attr-defined]


def test_only_a_planned_festival_is_cancelled():
    cancelled, ev = d.cancel_festival(planned(), c.CancelFestival(festival_id="f", reason="mưa"))
    assert (cancelled.cancel_reason, ev.aggregate_version) == ("mưa", 2)
    with pytest.raises(Conflict, match="is cancelled"):
        d.cancel_festival(cancelled, c.CancelFestival(festival_id="f", reason="x"))


def test_an_officer_may_plan_for_their_own_unit():
    require_scope(OFFICER, ["u1", "p"], "operate", "plan")


# ------------------------------------------------------------------------------------ festival.held v2


def funded(**kw):
    return report().model_copy(update=kw)


def test_a_report_is_published_as_v2_and_as_its_v1_twin_with_the_same_aggregate_version():
    lines = [
        c.FundingPart(source="Ngân sách xã", amount_vnd=3_000_000),
        c.FundingPart(source="Xã hội hóa", amount_vnd=2_000_000),
    ]
    held_f, [v1, v2] = d.report_festival(planned(), funded(funding=lines), unit(), campaign(), today=D(2025, 8, 2))
    assert (v1.name, v1.version, v1.superseded_by) == ("held", 1, 2)
    assert (v2.name, v2.version, v2.superseded_by) == ("held", 2, None)
    assert v1.aggregate_version == v2.aggregate_version == held_f.version
    assert isinstance(v1.data, c.FestivalHeld) and isinstance(v2.data, c.FestivalHeldV2)
    assert v2.data.cost_vnd == v1.data.cost_vnd == 5_000_000 == held_f.result["cost_vnd"]  # the lines' sum
    assert [(x.source, x.amount_vnd) for x in v2.data.funding] == [
        ("Ngân sách xã", 3_000_000),
        ("Xã hội hóa", 2_000_000),
    ]
    assert v1.data.funding_source == "Ngân sách xã; Xã hội hóa"  # v1 names the sources it cannot break down


def test_funding_lines_must_add_up_to_the_cost_and_come_one_way_only():
    lines = [c.FundingPart(source="Ngân sách xã", amount_vnd=3_000_000)]
    with pytest.raises(RuleViolation) as e:
        d.report_festival(planned(), funded(funding=lines, cost_vnd=4_000_000), unit(), campaign(), today=D(2025, 8, 2))
    assert e.value.details == [{"field": "funding", "rule": "funding_adds_up", "value": 3_000_000}]
    with pytest.raises(RuleViolation) as e:
        d.report_festival(
            planned(), funded(funding=lines, funding_source="Quỹ"), unit(), campaign(), today=D(2025, 8, 2)
        )
    assert e.value.details == [{"field": "funding_source", "rule": "one_way_of_funding"}]
    _, [_, v2] = d.report_festival(
        planned(), funded(funding=lines, cost_vnd=3_000_000), unit(), campaign(), today=D(2025, 8, 2)
    )
    assert v2.data.cost_vnd == 3_000_000


def test_one_funding_source_is_one_line_and_a_v1_event_upcasts_to_the_v2_twin():
    _, [v1, v2] = d.report_festival(
        planned(), funded(funding_source="Quỹ vì an ninh", cost_vnd=7_000_000), unit(), campaign(), today=D(2025, 8, 2)
    )
    assert [(x.source, x.amount_vnd) for x in v2.data.funding] == [("Quỹ vì an ninh", 7_000_000)]
    upcast = c.FestivalHeldV2.model_validate(c.UPCASTERS[("festival", "held", 1)](v1.data.model_dump(mode="json")))
    assert upcast == v2.data
    _, [bare, bare2] = d.report_festival(planned(), funded(), unit(), campaign(), today=D(2025, 8, 2))
    assert bare2.data.funding == [] and bare.data.funding_source is None
    assert c.UPCASTERS[("festival", "held", 1)](bare.data.model_dump(mode="json"))["funding"] == []
