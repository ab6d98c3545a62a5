"""What each decision says when it refuses, exactly (the details a client reads, and the ids and days a
refusal names), and what it passes on: the tree day, the festival, the year, the person, the presenter.

Beside test_decisions.py (which checks the order a sender hears the checks in)."""

from __future__ import annotations

import datetime as dt

import pytest

from services.awards import domain as d
from services.awards.domain import decisions as x
from services.awards.rules import AmountRow, BaseSalary, load
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation

TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
CAT = load()
XA = CAT.form("giay_khen_chu_tich_ubnd_xa")
POLICE_FORM = CAT.form("giay_khen_giam_doc_cong_an_tinh")
MINISTER = CAT.form("bang_khen_bo_truong_bo_cong_an")
MEDAL = CAT.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
P = d.Ancestor("p", "province", "Thành phố Huế")
W = d.Ancestor("w", "ward", "Phường Thuận Hóa")
H = d.Ancestor("h", "residential_group", "Tổ dân phố 1")
CA = d.Ancestor("ca", "agency", "Công an thành phố", ("provincial_police",))
CHAIN = [H, W, P]
OFFICER = Actor(id="o", unit="w", role="officer")
STRANGER = Actor(id="s", unit="elsewhere", role="officer")
APPROVER = Actor(id="a", unit="w", role="approver")
PROVINCE = Actor(id="pa", unit="p", role="approver")
POLICE = Actor(id="ca1", unit="ca", role="approver")
ADMIN = Actor(id="root", unit=None, role="admin")
FEST = d.KnownFestival("f1", "w", dt.date(2026, 8, 10), "held", 2026)


def said(e: pytest.ExceptionInfo[DomainError], *phrases: str) -> list:
    """The details, once the message is checked to name each of `phrases` (ids and days, not wording)."""
    assert isinstance(e.value.message, str)
    for phrase in phrases:
        assert phrase in e.value.message, (phrase, e.value.message)
    return e.value.details


def nomination_cmd(**kw) -> c.SubmitNomination:
    return c.SubmitNomination.model_validate(
        {
            "nominee": {"kind": "individual", "unit_id": "h", "person": {"person_id": "p1", "name": "Lê Văn A"}},
            "award_form": XA.code,
            "year": 2026,
            "achievement": "Thành tích",
            **kw,
        }
    )


def submitted(form=XA, chain=CHAIN, police=None, festival=None, taken=False, held=((None, False),), actor=OFFICER,
              day=TODAY, **kw):  # fmt: skip
    if form.eligibility and "eligibility" not in kw:  # the medal's facts: a team member long enough in it
        kw["eligibility"] = {"role": "security_team_member", "years_in_force": 16, "sex": "male"}
    cmd = nomination_cmd(award_form=form.code, **kw)
    return x.submission(cmd, "n1", form, day, chain, police, festival, taken, list(held), actor, "operate", TODAY, NOW)


def returned(**kw):
    n, _ = submitted(**kw)
    return d.return_(n, c.ReturnNomination(nomination_id="n1", reason="thiếu"), APPROVER, TODAY)[0]


def approved(form=XA, chain=CHAIN, police=None, actor=APPROVER):
    n, _ = submitted(form=form, chain=chain, police=police)
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1/QĐ", decision_date=dt.date(2026, 8, 5))
    authority = x.decider(actor, n, form, chain, police, "n1", TODAY, "approve nomination n1")
    return x.approval(n, cmd, "a1", False, form, CAT, authority, actor, TODAY, NOW)[1]


# ------------------------------------------------------------------------------------ the unit on the day


def test_an_unknown_and_an_inactive_unit_are_said_with_the_field_the_value_and_the_day():
    with pytest.raises(NotFound) as e:
        x.known_chain(None, "h", TODAY)
    assert said(e, "unit h") == [{"rule": "not_known_yet", "field": "nominee.unit_id", "value": "h"}]
    with pytest.raises(RuleViolation) as e:
        x.known_chain([], "h", TODAY)
    assert said(e, "unit h", "2026-11-29") == [{"field": "nominee.unit_id", "value": "h", "rule": "unit_active"}]
    with pytest.raises(RuleViolation) as e:  # a submission reads the tree on the day it is given
        submitted(chain=[], day=dt.date(2025, 6, 30))
    assert said(e, "unit h", "2025-06-30")[0]["value"] == "h"


def test_a_gift_names_its_unit_field_and_the_day_it_counts_on():
    cmd = c.RecordGift(unit_id="h", beneficiary_kind="poor_household", recipients=1, value_vnd=1, funding_source="Q")
    with pytest.raises(NotFound) as e:
        x.gift(cmd, "g1", False, None, None, OFFICER, "operate", TODAY, NOW)
    assert said(e, "unit h") == [{"rule": "not_known_yet", "field": "unit_id", "value": "h"}]
    with pytest.raises(RuleViolation) as e:  # no festival, no given_on: today
        x.gift(cmd, "g1", False, [], None, OFFICER, "operate", TODAY, NOW)
    assert said(e, "2026-11-29") == [{"field": "unit_id", "value": "h", "rule": "unit_active"}]
    at = cmd.model_copy(update={"festival_id": "f1"})
    with pytest.raises(RuleViolation) as e:  # at a festival: the festival's day
        x.gift(at, "g1", False, [], FEST, OFFICER, "operate", TODAY, NOW)
    said(e, "2026-08-10")
    with pytest.raises(Forbidden) as e:
        x.gift(cmd, "g1", False, CHAIN, None, STRANGER, "operate", TODAY, NOW)
    assert said(e, "record a gift for unit h") == [{"rule": "scope"}]
    with pytest.raises(Conflict) as e:
        x.gift(cmd, "g7", True, CHAIN, None, OFFICER, "operate", TODAY, NOW)
    assert said(e, "gift g7") == [{"field": "gift_id"}]
    gift, event = x.gift(at, "g1", False, CHAIN, FEST, OFFICER, "operate", TODAY, NOW)
    assert (gift.festival_id, event.data.festival_id) == ("f1", "f1")
    assert "recorded_by" not in event.data.model_dump() and "sort_key" not in event.data.model_dump()


# ------------------------------------------------------------------------------------ nominations


def test_a_submission_names_what_it_refuses():
    with pytest.raises(Forbidden) as e:
        submitted(actor=STRANGER)
    assert said(e, "nominate for unit h") == [{"rule": "scope"}]
    with pytest.raises(Conflict) as e:
        submitted(taken=True)
    assert said(e, "nomination n1") == [{"field": "nomination_id"}]
    with pytest.raises(RuleViolation) as e:  # the festival is checked against the nomination's year
        submitted(festival=d.KnownFestival("f1", "w", dt.date(2028, 8, 10), "planned", 2028), festival_id="f1")
    assert said(e)[0]["rule"] == "festival_year"


def test_the_grantor_is_read_with_the_police_agency_and_named_when_missing():
    n, _ = submitted(form=POLICE_FORM, chain=[H, W, P], police=CA)
    assert n.grantor.unit_id == "ca"
    with pytest.raises(RuleViolation) as e:
        submitted(form=POLICE_FORM, chain=[H, W, P], police=None)
    assert said(e, "unit h") == [{"rule": "grantor", "award_form": POLICE_FORM.code, "level": "provincial_police"}]
    with pytest.raises(RuleViolation) as e:
        d.grantor_of(POLICE_FORM, [], None)
    said(e, "unit ?")


def test_a_provincial_agency_is_the_one_directly_under_the_province_and_not_its_police():
    form = CAT.form("giay_khen_thu_truong_co_quan_chuyen_mon_tinh")
    health = d.Ancestor("so_y_te", "agency", "Sở Y tế")
    school = d.Ancestor("school", "school", "Trường")
    assert d.grantor_of(form, [school, health, P], None).unit_id == "so_y_te"
    assert d.grantor_of(form, [health, P], None).unit_id == "so_y_te"
    with pytest.raises(RuleViolation):
        d.grantor_of(form, [school, CA, P], None)  # the police agency grants its own form
    with pytest.raises(RuleViolation):
        d.grantor_of(form, [health, d.Ancestor("x", "agency", "X"), P][1:2], None)  # not under a province


def test_once_only_and_duplicates_name_the_person_and_the_earlier_nomination_when_visible():
    earlier, _ = submitted(form=MEDAL)
    with pytest.raises(RuleViolation) as e:
        submitted(form=MEDAL, held=[(None, False), (earlier, True)])
    assert said(e, "person p1", "nomination n1") == [
        {"rule": "once_only", "award_form": MEDAL.code, "nomination_id": "n1"}
    ]
    with pytest.raises(RuleViolation) as e:
        submitted(held=[(earlier, False)])
    assert said(e, "records you may not see") == [{"rule": "one_achievement_one_award"}]


def test_a_resubmission_names_what_it_refuses_and_rereads_the_festival_and_the_person():
    back = returned()
    cmd = c.ResubmitNomination(nomination_id="n1", achievement="Thành tích khác")
    with pytest.raises(Forbidden) as e:
        x.resubmission(back, cmd, XA, CHAIN, None, [], STRANGER, "operate", TODAY)
    assert said(e, "resubmit nomination n1") == [{"rule": "scope"}]
    with pytest.raises(NotFound) as e:
        x.resubmission(None, cmd, None, None, None, [], ADMIN, "operate", TODAY)
    assert said(e, "nomination n1") == [{"field": "nomination_id", "value": "n1"}]
    with pytest.raises(Forbidden) as e:
        x.resubmission(None, cmd, None, None, None, [], STRANGER, "operate", TODAY)
    said(e, "resubmit nomination n1")
    with pytest.raises(RuleViolation) as e:
        x.resubmission(back, cmd, XA, [], None, [], OFFICER, "operate", TODAY)
    said(e, "unit h", "2026-11-29")
    moved = cmd.model_copy(update={"festival_id": "f2"})
    late = d.KnownFestival("f2", "w", dt.date(2028, 8, 10), "planned", 2028)
    with pytest.raises(RuleViolation) as e:  # the nomination's year still bounds its festival
        x.resubmission(back, moved, XA, CHAIN, late, [], OFFICER, "operate", TODAY)
    assert said(e)[0]["rule"] == "festival_year"
    with pytest.raises(RuleViolation) as e:
        x.resubmission(back, moved, XA, CHAIN, d.KnownFestival("f2", "x", TODAY, "held", 2026), [], OFFICER,
                       "operate", TODAY)  # fmt: skip
    assert said(e)[0]["rule"] == "festival_of_unit_or_ancestor"
    unchanged, _ = x.resubmission(back, cmd, XA, CHAIN, None, [], OFFICER, "operate", TODAY)  # no new keys
    assert unchanged.achievement == "Thành tích khác"
    medal_back = returned(form=MEDAL)
    other, _ = submitted(form=MEDAL)
    with pytest.raises(RuleViolation) as e:
        x.resubmission(medal_back, cmd, MEDAL, CHAIN, None, [(None, False), (other, True)], OFFICER, "operate", TODAY)
    assert said(e, "person p1")[0]["rule"] == "once_only"


def test_a_decider_names_what_it_refuses():
    n, _ = submitted()
    with pytest.raises(Forbidden) as e:
        x.decider(OFFICER, n, XA, CHAIN, None, "n1", TODAY, "approve nomination n1")
    assert said(e, "approve nomination n1") == [{"rule": "role:decide", "role": "officer"}]
    with pytest.raises(Forbidden) as e:
        x.decider(Actor(id="b", unit="x", role="approver"), None, None, None, None, "n9", TODAY, "reject n9")
    assert said(e, "reject n9") == [{"rule": "granting_authority"}]
    with pytest.raises(NotFound) as e:
        x.decider(ADMIN, None, None, None, None, "n9", TODAY, "reject n9")
    assert said(e, "nomination n9") == [{"field": "nomination_id", "value": "n9"}]
    with pytest.raises(RuleViolation) as e:
        x.decider(APPROVER, n, None, CHAIN, None, "n1", TODAY, "approve nomination n1")
    assert said(e, XA.code) == [{"rule": "form_exists", "field": "award_form", "value": XA.code}]
    with pytest.raises(RuleViolation) as e:
        x.decider(APPROVER, n, XA, [], None, "n1", dt.date(2026, 8, 5), "approve nomination n1")
    said(e, "unit h", "2026-08-05")
    with pytest.raises(Forbidden) as e:
        x.decider(Actor(id="b", unit="x", role="approver"), n, XA, CHAIN, None, "n1", TODAY, "approve nomination n1")
    said(e, "approve nomination n1")


def test_a_decision_of_the_police_or_outside_the_province_is_the_police_agencys_or_the_provinces():
    n, _ = submitted(form=POLICE_FORM, police=CA)
    assert x.decider(POLICE, n, POLICE_FORM, CHAIN, CA, "n1", TODAY, "approve").unit_id == "ca"
    minister, _ = submitted(form=MINISTER)
    assert x.decider(PROVINCE, minister, MINISTER, CHAIN, None, "n1", TODAY, "approve").kind == "outside"
    with pytest.raises(Forbidden):
        x.decider(APPROVER, minister, MINISTER, CHAIN, None, "n1", TODAY, "approve")


def test_an_approval_names_a_taken_award_id():
    n, _ = submitted()
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1/QĐ", decision_date=dt.date(2026, 8, 5))
    authority = x.decider(APPROVER, n, XA, CHAIN, None, "n1", TODAY, "approve")
    with pytest.raises(Conflict) as e:
        x.approval(n, cmd, "a7", True, XA, CAT, authority, APPROVER, TODAY, NOW)
    assert said(e, "award a7") == [{"field": "award_id"}]


# ------------------------------------------------------------------------------------ awards


def test_a_conferral_names_what_it_refuses_and_carries_its_festival_and_presenter():
    award = approved()
    cmd = c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 10), festival_id="f1")
    with pytest.raises(Forbidden) as e:
        x.conferral(award, cmd, CHAIN, FEST, XA, STRANGER, "operate", TODAY)
    assert said(e, "confer award a1") == [{"rule": "scope"}]
    with pytest.raises(Forbidden) as e:
        x.conferral(None, cmd, None, None, None, STRANGER, "operate", TODAY)
    said(e, "confer award a1")
    with pytest.raises(NotFound) as e:
        x.conferral(None, cmd, None, None, None, ADMIN, "operate", TODAY)
    assert said(e, "award a1") == [{"field": "award_id", "value": "a1"}]
    with pytest.raises(RuleViolation) as e:
        x.conferral(award, cmd, [], FEST, XA, OFFICER, "operate", TODAY)
    said(e, "unit h", "2026-08-10")
    with pytest.raises(NotFound) as e:
        x.conferral(award, cmd, CHAIN, None, XA, OFFICER, "operate", TODAY)
    said(e, "festival f1")
    with pytest.raises(RuleViolation) as e:  # a festival of another unit
        x.conferral(award, cmd, CHAIN, d.KnownFestival("f1", "x", cmd.conferred_on, "held", 2026), XA, OFFICER,
                    "operate", TODAY)  # fmt: skip
    assert said(e)[0]["rule"] == "festival_of_unit_or_ancestor"
    conferred, event = x.conferral(award, cmd, CHAIN, FEST, None, OFFICER, "operate", TODAY)
    assert (conferred.festival_id, event.data.festival_id) == ("f1", "f1")
    assert conferred.presented_by == award.decided_by.name  # no form left: the deciding authority
    today = cmd.model_copy(update={"conferred_on": TODAY, "festival_id": None})
    assert x.conferral(award, today, CHAIN, None, XA, OFFICER, "operate", TODAY)[0].conferred_on == TODAY


def test_an_outside_award_is_presented_by_whom_the_form_names():
    award = approved(form=MINISTER, actor=PROVINCE)
    cmd = c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 10))
    conferred, _ = x.conferral(award, cmd, CHAIN, None, MINISTER, OFFICER, "operate", TODAY)
    assert conferred.presented_by == MINISTER.grantor.presented_by == "Giám đốc Công an tỉnh (thừa ủy quyền)"


def test_a_revocation_names_what_it_refuses_and_reads_the_province_for_an_outside_award():
    award = approved()
    cmd = c.RevokeAward(award_id="a1", reason="sai", decision_no="2/QĐ", decision_date=dt.date(2026, 9, 1))
    with pytest.raises(Forbidden) as e:
        x.revocation(award, cmd, CHAIN, OFFICER, TODAY)
    assert said(e, "revoke award a1") == [{"rule": "role:decide", "role": "officer"}]
    with pytest.raises(Forbidden) as e:
        x.revocation(None, cmd, None, Actor(id="b", unit="x", role="approver"), TODAY)
    assert said(e, "revoke award a1") == [{"rule": "granting_authority"}]
    with pytest.raises(NotFound) as e:
        x.revocation(None, cmd, None, ADMIN, TODAY)
    assert said(e, "award a1") == [{"field": "award_id", "value": "a1"}]
    with pytest.raises(Forbidden) as e:
        x.revocation(award, cmd, CHAIN, Actor(id="b", unit="x", role="approver"), TODAY)
    said(e, "revoke award a1")
    outside = approved(form=MINISTER, actor=PROVINCE)
    revoked, _ = x.revocation(outside, cmd, CHAIN, PROVINCE, TODAY)
    assert revoked.status == "revoked"
    with pytest.raises(Forbidden):  # the province is read from the chain; no chain, no province
        x.revocation(outside, cmd, None, PROVINCE, TODAY)


# ------------------------------------------------------------------------------------ the workflow's own words


def test_each_event_names_its_aggregate_and_subject_and_a_wrong_status_names_the_step():
    n, submitted_event = submitted()
    back, ret = d.return_(n, c.ReturnNomination(nomination_id="n1", reason="thiếu"), APPROVER, TODAY)
    again, res = d.resubmit(back, c.ResubmitNomination(nomination_id="n1", achievement="Khác"), OFFICER, TODAY)
    no, rej = d.reject(again, c.RejectNomination(nomination_id="n1", reason="không"), APPROVER, TODAY)
    award = approved()
    cmd = c.RevokeAward(award_id="a1", reason="sai", decision_no="2/QĐ", decision_date=dt.date(2026, 9, 1))
    _, rev = d.revoke(award, cmd, APPROVER, TODAY)
    assert [(e.aggregate, e.name, e.subject) for e in (submitted_event, ret, res, rej, rev)] == [
        ("nomination", "submitted", "n1"),
        ("nomination", "returned", "n1"),
        ("nomination", "resubmitted", "n1"),
        ("nomination", "rejected", "n1"),
        ("award", "revoked", "a1"),
    ]
    n2, _ = submitted()
    _, _, approved_event = x.approval(
        n2,
        c.ApproveNomination(nomination_id="n1", decision_no="1/QĐ", decision_date=dt.date(2026, 8, 5)),
        "a1",
        False,
        XA,
        CAT,
        x.decider(APPROVER, n2, XA, CHAIN, None, "n1", TODAY, "approve"),
        APPROVER,
        TODAY,
        NOW,
    )
    assert (approved_event.aggregate, approved_event.subject) == ("nomination", "n1")
    for step, call in (
        ("rejected", lambda: d.reject(no, c.RejectNomination(nomination_id="n1", reason="x"), APPROVER, TODAY)),
        (
            "approved",
            lambda: d.approve(
                no,
                c.ApproveNomination(nomination_id="n1", decision_no="1", decision_date=dt.date(2026, 8, 5)),
                "a2",
                XA,
                CAT,
                n.grantor,
                APPROVER,
                TODAY,
                NOW,
            ),
        ),
    ):
        with pytest.raises(Conflict) as e:
            call()
        assert said(e, f"can be {step}") == [{"field": "status", "value": "rejected"}]


def in_force(form, start: dt.date, end: dt.date):
    return form.model_copy(update={"in_force": form.in_force.model_copy(update={"from_": start, "to": end})})


def test_a_form_in_force_from_the_first_day_of_a_year_counts_for_that_year():
    # a form that begins on 1 Jan 2026 and has ended: a 2026 nomination is read on its last day
    form = in_force(XA, dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    cat = CAT.model_copy(update={"forms": [form]})
    assert d.check_form(cat, XA.code, "individual", 2026, TODAY) == (form, dt.date(2026, 1, 1))
    late = cat.model_copy(update={"forms": [in_force(XA, dt.date(2026, 1, 2), dt.date(2026, 1, 2))]})
    assert d.check_form(late, XA.code, "individual", 2026, TODAY)[1] == dt.date(2026, 1, 2)
    with pytest.raises(RuleViolation) as e:
        d.check_form(cat, XA.code, "individual", 2025, TODAY)
    said(e, "2026-01-01")
    with pytest.raises(RuleViolation) as e:
        d.check_form(CAT, MEDAL.code, "collective", 2026, TODAY)
    assert said(e, "individual", "collective") == [{"field": "nominee.kind", "value": "collective", "rule": "form_for"}]


# ------------------------------------------------------------------------------------ amounts


def test_an_amount_needs_a_row_a_multiple_and_a_salary_in_force_on_the_day():
    day = dt.date(2026, 8, 5)
    assert XA.amount("individual", day, [s for s in CAT.base_salary if s.from_ > day]) is None  # no salary yet
    assert XA.amount("individual", day, CAT.base_salary) is not None


def test_a_form_is_unconfirmed_when_its_data_or_any_amount_is():
    day = dt.date(2026, 8, 5)
    salaries = [BaseSalary.model_validate({"from": "2024-07-01", "vnd": 2_340_000, "source": "NĐ 73/2024"})]
    row = AmountRow.model_validate(
        {"from": "2024-01-01", "individual": "1", "collective": "2", "source": "NĐ 152/2025"}
    )
    sure = XA.model_copy(update={"amounts": [row], "unconfirmed": []})
    assert sure.view(day, salaries)["unconfirmed"] is False
    assert sure.model_copy(update={"unconfirmed": ["amounts"]}).view(day, salaries)["unconfirmed"] is True
    unsure_row = row.model_copy(update={"unconfirmed": ["collective"]})
    assert sure.model_copy(update={"amounts": [unsure_row]}).view(day, salaries)["unconfirmed"] is True
    assert sure.model_copy(update={"amounts": []}).view(day, salaries)["unconfirmed"] is True  # no amount at all
