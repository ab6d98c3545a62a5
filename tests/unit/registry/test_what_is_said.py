"""What the registry says, exactly: the details a client reads from each refusal (the field, the
window, the campaign), the facts each event carries, and the state a command leaves. A client
relies on these as much as on the error codes."""

from __future__ import annotations

import pytest

from services.registry import domain as d
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from tests.unit.registry.helpers import D, campaign, plan, province, report, unit

SCHOOLS = c.WindowException(kind="school", window_start=D(2025, 5, 15), window_end=D(2025, 6, 30))


def said(excinfo: pytest.ExceptionInfo, *phrases: str) -> list:
    for phrase in phrases:
        assert phrase in excinfo.value.message, (phrase, excinfo.value.message)
    return excinfo.value.details


def planned(cp=None, **kw):
    f, _ = d.plan_festival(plan(**kw), "f", unit(), cp or campaign(), [])
    return f


# ------------------------------------------------------------------------------------ campaigns


def test_a_date_outside_the_window_names_the_window_and_whose_it_is():
    with pytest.raises(RuleViolation) as e:
        campaign().check_date("commune", D(2025, 8, 20), "festival date")
    assert said(e, "festival date 2025-08-20", "2025-07-01 – 2025-08-19", "of campaign cp") == [
        {"field": "date", "rule": "window", "window_start": "2025-07-01", "window_end": "2025-08-19"}
    ]
    assert "for this unit kind" not in e.value.message
    with pytest.raises(RuleViolation) as e:
        campaign(exceptions=[SCHOOLS]).check_date("school", D(2025, 7, 2), "festival date")
    assert said(e, "2025-05-15 – 2025-06-30 (the window for this unit kind)")[0]["window_start"] == "2025-05-15"


def test_a_closed_campaign_says_when_and_which():
    with pytest.raises(RuleViolation) as e:
        campaign(closed_on=D(2025, 9, 1)).require_open("rescheduling a festival")
    assert said(e, "campaign cp was closed on 2025-09-01: rescheduling a festival") == [
        {"rule": "campaign_open", "campaign_id": "cp", "closed_on": "2025-09-01"}
    ]


def test_a_campaign_below_that_is_wider_says_how_and_names_both():
    upper = campaign(exceptions=[SCHOOLS], report_deadline=D(2025, 8, 25))
    cmd = c.OpenCampaign(
        year=2025,
        scope_unit_id="w",
        window_start=D(2025, 6, 30),
        window_end=D(2025, 8, 20),
        report_deadline=D(2025, 8, 26),
        exceptions=[c.WindowException(kind="school", window_start=D(2025, 5, 1), window_end=D(2025, 6, 30))],
    )
    with pytest.raises(RuleViolation) as e:
        d.open_campaign(cmd, "w-cp", unit("w", kind="ward"), upper, [])
    details = said(
        e,
        "campaign w-cp (scope w) may only narrow campaign cp (scope p) above it: ",
        "window 2025-06-30 – 2025-08-20 is not within 2025-07-01 – 2025-08-19",
        "; the school window 2025-05-01 – 2025-06-30 is not within 2025-05-15 – 2025-06-30",
        "; report deadline 2025-08-26 is after 2025-08-25",
    )
    assert details == [{"rule": "nested_campaign", "inner": "w-cp", "outer": "cp"}]


def test_a_campaign_without_a_scope_kind_is_checked_against_the_main_window():
    inner = campaign(
        campaign_id="x", scope_unit_id="x", scope_kind=None, window_start=D(2025, 5, 20), window_end=D(2025, 6, 1)
    )
    with pytest.raises(RuleViolation, match="not within 2025-07-01 – 2025-08-19"):
        d.open_campaign(c.OpenCampaign(year=2025, scope_unit_id="p"), "top", province(), None, [inner])
    schools = campaign(exceptions=[SCHOOLS])
    d.open_campaign(c.OpenCampaign(year=2025, scope_unit_id="p", exceptions=[SCHOOLS]), "top", province(), None, [])
    assert schools.window_for("") == (D(2025, 7, 1), D(2025, 8, 19))


def test_the_window_a_kind_is_held_in_decides_inside():
    cp = campaign(exceptions=[SCHOOLS])
    assert cp.inside("school", D(2025, 6, 1)) and not cp.inside("ward", D(2025, 6, 1))


def test_closing_says_which_rule_and_which_field():
    cp = campaign()
    with pytest.raises(RuleViolation) as e:
        d.close_campaign(cp, c.CloseCampaign(campaign_id="cp", closed_on=D(2025, 6, 30)), today=D(2025, 9, 1))
    assert said(e, "closed_on 2025-06-30 is before the window opens (2025-07-01)") == [
        {"field": "closed_on", "rule": "close_after_window_opens"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.close_campaign(cp, c.CloseCampaign(campaign_id="cp", closed_on=D(2025, 9, 2)), today=D(2025, 9, 1))
    assert said(e, "closed_on 2025-09-02 is in the future (today is 2025-09-01)") == [
        {"field": "closed_on", "rule": "not_in_future"}
    ]
    closed, ev = d.close_campaign(cp, c.CloseCampaign(campaign_id="cp", closed_on=D(2025, 7, 1)), today=D(2025, 7, 1))
    assert closed.closed_on == D(2025, 7, 1)  # the day the window opens is a day it may close
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "campaign_id": "cp",
        "year": 2025,
        "scope_unit_id": "p",
        "closed_on": "2025-07-01",
    }


def test_an_opened_campaign_carries_its_window_its_kinds_and_the_campaign_above():
    cmd = c.OpenCampaign(year=2025, scope_unit_id="w", expected_kinds=["hamlet"], name="Đợt 2025", exceptions=[SCHOOLS])
    cp, ev = d.open_campaign(cmd, "w-cp", unit("w", kind="ward"), campaign(exceptions=[SCHOOLS]), [])
    assert (cp.scope_kind, cp.expected_kinds, cp.name) == ("ward", ["hamlet"], "Đợt 2025")
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "campaign_id": "w-cp",
        "year": 2025,
        "scope_unit_id": "w",
        "window_start": "2025-07-01",
        "window_end": "2025-08-19",
        "report_deadline": "2025-08-25",
        "exceptions": [{"kind": "school", "window_start": "2025-05-15", "window_end": "2025-06-30"}],
        "name": "Đợt 2025",
        "expected_kinds": ["hamlet"],
        "upper_campaign_id": "cp",
    }
    assert (ev.subject, ev.aggregate_version) == ("w-cp", 1)


# ------------------------------------------------------------------------------------ festivals


def test_planning_says_which_part_and_which_field():
    with pytest.raises(ValidationFailed) as e:
        d.plan_festival(plan().model_copy(update={"ceremony": c.PartPlan(planned=False)}), "f", unit(), campaign(), [])
    assert said(e, "phần lễ", "phần hội") == [{"field": "ceremony", "message": "must be planned"}]
    with pytest.raises(ValidationFailed) as e:
        d.plan_festival(plan().model_copy(update={"date": D(2026, 8, 1)}), "f", unit(), campaign(), [])
    assert said(e, "date 2026-08-01 is not in 2025") == [{"field": "date"}]
    with pytest.raises(Conflict) as e:
        d.plan_festival(plan(), "f2", unit(), campaign(), ["f1", "f0"])
    assert said(e, "unit u1 already has festival f1 in 2025") == [
        {"rule": "one_festival_per_year", "festival_id": "f1"},
        {"rule": "one_festival_per_year", "festival_id": "f0"},
    ]
    with pytest.raises(RuleViolation, match="festival date 2025-08-20"):
        d.plan_festival(plan(D(2025, 8, 20)), "f", unit(), campaign(), [])


def test_a_planned_festival_carries_what_was_planned():
    cmd = plan(title="Ngày hội tổ 1", point_level="commune").model_copy(
        update={"festival_part": c.PartPlan(items=["kéo co"])}
    )
    f, ev = d.plan_festival(cmd, "f", unit(), campaign(), [], designated_by="w")
    assert (f.title, f.unit_kind, f.campaign_id, f.status, f.version) == (
        "Ngày hội tổ 1",
        "commune",
        "cp",
        "planned",
        1,
    )
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "festival_id": "f",
        "campaign_id": "cp",
        "unit_id": "u1",
        "year": 2025,
        "date": "2025-08-01",
        "venue": "Sân",
        "ceremony": {"planned": True, "items": []},
        "festival_part": {"planned": True, "items": ["kéo co"]},
        "point_level": "commune",
        "designated_by": "w",
    }
    plain, _ = d.plan_festival(plan(), "g", unit(), campaign(), [], designated_by="w")
    assert plain.designated_by is None  # a designator without a point level designates nothing


def test_a_reschedule_says_what_it_refuses_and_records_the_move():
    f = planned()
    with pytest.raises(ValidationFailed) as e:
        d.reschedule_festival(f, c.RescheduleFestival(festival_id="f", date=D(2026, 8, 1)), unit(), campaign())
    assert said(e, "date 2026-08-01 is not in 2025") == [{"field": "date"}]
    with pytest.raises(RuleViolation, match="new festival date 2025-08-20"):
        d.reschedule_festival(f, c.RescheduleFestival(festival_id="f", date=D(2025, 8, 20)), unit(), campaign())
    with pytest.raises(RuleViolation, match="does not exist on 2025-08-05"):
        d.reschedule_festival(
            f,
            c.RescheduleFestival(festival_id="f", date=D(2025, 8, 5)),
            unit().closed_on(D(2025, 8, 3), "x"),
            campaign(),
        )
    moved = unit().changed_from(D(2025, 8, 3), kind="ward")
    wards = c.WindowException(kind="ward", window_start=D(2025, 7, 1), window_end=D(2025, 8, 4))
    with pytest.raises(RuleViolation, match="for this unit kind"):  # the kind on the new date decides
        d.reschedule_festival(
            f, c.RescheduleFestival(festival_id="f", date=D(2025, 8, 5)), moved, campaign(exceptions=[wards])
        )
    new, ev = d.reschedule_festival(
        f,
        c.RescheduleFestival(festival_id="f", date=D(2025, 8, 5), venue="Nhà văn hóa", reason="mưa"),
        unit(),
        campaign(),
    )
    assert (new.date, new.venue, new.version) == (D(2025, 8, 5), "Nhà văn hóa", 2)
    assert new.reschedules == [{"from": "2025-08-01", "to": "2025-08-05", "reason": "mưa"}]
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "festival_id": "f",
        "unit_id": "u1",
        "year": 2025,
        "from_date": "2025-08-01",
        "date": "2025-08-05",
        "venue": "Nhà văn hóa",
        "reason": "mưa",
    }
    cancelled, _ = d.cancel_festival(f, c.CancelFestival(festival_id="f", reason="x"))
    with pytest.raises(Conflict, match="festival f is cancelled; cannot reschedule it"):
        d.reschedule_festival(cancelled, c.RescheduleFestival(festival_id="f", date=D(2025, 8, 5)), unit(), campaign())


def test_a_report_says_what_it_refuses_and_carries_every_result():
    f = planned()
    with pytest.raises(ValidationFailed) as e:
        d.report_festival(f, report(D(2026, 1, 2)), unit(), campaign(), today=D(2026, 2, 1))
    assert said(e, "held_on 2026-01-02 is not in 2025") == [{"field": "held_on"}]
    with pytest.raises(RuleViolation) as e:
        d.report_festival(f, report(D(2025, 8, 2)), unit(), campaign(), today=D(2025, 8, 1))
    assert said(e, "held_on 2025-08-02 is in the future (today is 2025-08-01)") == [
        {"field": "held_on", "rule": "not_in_future"}
    ]
    with pytest.raises(RuleViolation, match="does not exist on 2025-08-01"):
        d.report_festival(f, report(), unit().closed_on(D(2025, 7, 31), "x"), campaign(), today=D(2025, 8, 2))
    cmd = report(
        cost_vnd=15_000_000,
        funding_source="ngân sách xã",
        activities=["kéo co"],
        models_launched=["m1"],
        gifts=c.Gifts(recipients=3, value_vnd=1_500_000),
        delegates=["Chủ tịch xã"],
    )
    held_f, [ev, _v2] = d.report_festival(f, cmd, unit(), campaign(), today=D(2025, 8, 2))
    assert held_f.result is not None and held_f.result["held_on"] == "2025-08-01"  # stored as JSON
    assert "festival_id" not in held_f.result
    assert (held_f.status, held_f.version, held_f.reported_on) == ("held", 2, D(2025, 8, 2))
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "festival_id": "f",
        "campaign_id": "cp",
        "unit_id": "u1",
        "year": 2025,
        "held_on": "2025-08-01",
        "on_time": True,
        "reported_on": "2025-08-02",
        "reported_on_time": True,
        "participants": 10,
        "ceremony_held": True,
        "festival_part_held": True,
        "cost_vnd": 15_000_000,
        "funding_source": "ngân sách xã",
        "activities": ["kéo co"],
        "models_launched": ["m1"],
        "gifts": {"recipients": 3, "value_vnd": 1_500_000},
        "point_level": None,
        "delegates": ["Chủ tịch xã"],
        "designated_by": None,
    }
    with pytest.raises(Conflict, match="festival f is held; cannot report it held"):
        d.report_festival(held_f, report(), unit(), campaign(), today=D(2025, 8, 2))


def test_on_time_follows_the_window_of_the_units_kind_and_a_point_level_may_come_with_the_report():
    schools = campaign(exceptions=[SCHOOLS])
    f, _ = d.plan_festival(plan(D(2025, 6, 1)), "f", unit(kind="school"), schools, [])
    held_f, _ = d.report_festival(f, report(D(2025, 6, 1)), unit(kind="school"), schools, today=D(2025, 8, 2))
    assert held_f.on_time is True  # inside the schools' window, outside the main one
    later, [ev, _v2] = d.report_festival(
        planned(), report(point_level="province"), unit(), campaign(), today=D(2025, 8, 2), designated_by="p"
    )
    assert (later.point_level, later.designated_by, ev.data.designated_by) == ("province", "p", "p")  # type: ignore[union-attr]
    kept, _ = d.report_festival(
        planned(point_level="commune"), report(), unit(), campaign(), today=D(2025, 8, 2), designated_by="x"
    )
    assert kept.point_level == "commune"


def test_models_launched_say_which_and_why():
    def model(**kw):
        return d.MovementModel(**{"model_id": "m1", "unit_id": "h1", "name": "M", "launched_on": D(2025, 7, 1), **kw})

    with pytest.raises(NotFound) as e:
        d.check_models_launched("u1", D(2025, 8, 1), {"m9": (None, [])})
    assert said(e, "model m9 does not exist") == [{"field": "models_launched", "value": "m9"}]
    with pytest.raises(RuleViolation) as e:
        d.check_models_launched("u1", D(2025, 8, 1), {"m1": (model(unit_id="x"), ["x", "p"])})
    assert said(e, "model m1 belongs to unit x, which is not unit u1 or below it on 2025-08-01") == [
        {"field": "models_launched", "value": "m1", "rule": "model_of_unit"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.check_models_launched("u1", D(2025, 8, 1), {"m1": (model(launched_on=D(2025, 8, 2)), ["h1", "u1"])})
    assert said(e, "model m1 is launched on 2025-08-02, after the festival (2025-08-01)") == [
        {"field": "models_launched", "value": "m1", "rule": "model_launched_before"}
    ]
    d.check_models_launched("u1", D(2025, 8, 1), {"m1": (model(launched_on=D(2025, 8, 1)), ["h1", "u1"])})  # that day


def test_a_designation_refusal_names_the_level():
    with pytest.raises(Forbidden) as e:
        d.designation(
            "province", Actor(id="a", unit="w", role="admin"), unit("w", kind="ward"), ["h", "w", "p"], D(2025, 8, 1)
        )
    assert said(e, "actor a of unit w may not designate a province-level point festival") == [
        {"rule": "point_level", "point_level": "province"}
    ]
    with pytest.raises(Forbidden, match="commune-level"):
        d.designation("commune", Actor(id="a", unit="x", role="admin"), None, ["h", "w"], D(2025, 8, 1))
    assert (
        d.designation(
            "commune", Actor(id="a", unit="t", role="admin"), unit("t", kind="township"), ["h", "t"], D(2025, 8, 1)
        )
        == "t"
    )


def test_a_cancelled_festival_carries_its_reason():
    cancelled, ev = d.cancel_festival(planned(), c.CancelFestival(festival_id="f", reason="mưa bão"))
    assert ev.data.model_dump(mode="json") == {"festival_id": "f", "unit_id": "u1", "year": 2025, "reason": "mưa bão"}  # type: ignore[union-attr]
    assert (ev.subject, ev.aggregate_version, cancelled.version) == ("f", 2, 2)


# ------------------------------------------------------------------------------------ movement models


def test_a_model_and_its_replication_carry_what_was_registered():
    cmd = c.RegisterModel(
        unit_id="u1",
        name="Camera an ninh",
        category="ANTT",
        description="Lắp camera",
        launched_on=D(2025, 7, 2),
        festival_id="f",
    )
    m, ev = d.register_model(cmd, "m", unit(), "p", ["u1", "p"])
    assert (m.category, m.description, m.festival_id) == ("ANTT", "Lắp camera", "f")
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "model_id": "m",
        "unit_id": "u1",
        "name": "Camera an ninh",
        "category": "ANTT",
        "launched_on": "2025-07-02",
        "festival_id": "f",
    }
    rep = c.ReplicateModel(model_id="m", unit_id="u2", replicated_on=D(2025, 7, 2), festival_id="g")
    new, record, ev = d.replicate_model(
        m, rep, unit("u2"), None, "p", ["u2", "p"]
    )  # the launch day; an ancestor's festival
    assert (record.replicated_on, record.festival_id) == (D(2025, 7, 2), "g")
    assert ev.data.model_dump(mode="json") == {  # type: ignore[union-attr]
        "model_id": "m",
        "unit_id": "u2",
        "origin_unit_id": "u1",
        "replicated_on": "2025-07-02",
        "festival_id": "g",
    }
    assert (new.version, ev.aggregate_version) == (2, 2)


def test_a_models_festival_refusal_names_the_field():
    with pytest.raises(NotFound) as e:
        d.register_model(
            c.RegisterModel(unit_id="u1", name="M", launched_on=D(2025, 7, 2), festival_id="f"),
            "m",
            unit(),
            None,
            ["u1"],
        )
    assert said(e, "festival f does not exist") == [{"field": "festival_id", "value": "f"}]
    with pytest.raises(RuleViolation) as e:
        d.register_model(
            c.RegisterModel(unit_id="u1", name="M", launched_on=D(2025, 7, 2), festival_id="f"),
            "m",
            unit(),
            "x",
            ["u1", "p"],
        )
    assert said(e, "festival f is of unit x, neither this unit nor one of its ancestors") == [
        {"field": "festival_id", "value": "f", "rule": "festival_of_unit_or_ancestor"}
    ]
    d.register_model(
        c.RegisterModel(unit_id="u1", name="M", launched_on=D(2025, 7, 2), festival_id="f"), "m", unit(), "u1"
    )
