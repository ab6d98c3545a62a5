"""What awards says and records, exactly: the details a client reads from each refusal (the rule, the
field, the value), the key facts each refusal names, every field each event carries and the state a
command leaves. A client relies on these as much as on the error codes."""

from __future__ import annotations

import datetime as dt

import pytest

from services.awards import domain as d
from services.awards.domain import attachments, dossier
from services.awards.rules import load
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, DomainError, NotFound, RuleViolation

TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
CAT = load()
OFFICER = Actor(id="o", unit="w", role="officer")
P = d.Ancestor("p", "province", "Thành phố Huế")
W = d.Ancestor("w", "ward", "Phường Thuận Hóa")
H = d.Ancestor("h", "residential_group", "Tổ dân phố 1")
AUTHORITY = c.Authority(kind="unit", unit_id="w", name="Chủ tịch UBND cấp xã (Phường Thuận Hóa)")
FEST = d.KnownFestival("f1", "w", dt.date(2026, 8, 10), "held", 2026)


def form(code: str = "giay_khen_chu_tich_ubnd_xa"):
    f = CAT.form(code)
    assert f is not None
    return f


def said(e: pytest.ExceptionInfo[DomainError], *phrases: str) -> list:
    for phrase in phrases:
        assert phrase in e.value.message, (phrase, e.value.message)
    return e.value.details


def nominated(**kw):
    cmd = c.SubmitNomination.model_validate(
        {
            "nominee": {
                "kind": "individual",
                "unit_id": "h",
                "person": {"person_id": "p1", "name": "Lê Thị Hoa", "position": "Tổ trưởng", "year_of_birth": 1970},
            },
            "award_form": "giay_khen_chu_tich_ubnd_xa",
            "year": 2026,
            "achievement": "Thành tích  xuất sắc",
            "festival_id": "f1",
            **kw,
        }
    )
    return d.submit(cmd, "n1", form(cmd.award_form), AUTHORITY, OFFICER, TODAY, NOW)


def approved():
    n, _ = nominated()
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="12/QĐ-UBND", decision_date=dt.date(2026, 8, 5))
    return d.approve(n, cmd, "a1", form(), CAT, AUTHORITY, OFFICER, TODAY, NOW, ["k"], "Tổ dân phố H")


# ------------------------------------------------------------------------------------ refusals


def test_what_check_form_says():
    with pytest.raises(RuleViolation) as e:
        d.check_form(CAT, "bang_vang", "individual", 2026, TODAY)
    assert said(e, "award form bang_vang does not exist", "giay_khen_chu_tich_ubnd_xa") == [
        {"field": "award_form", "value": "bang_vang", "rule": "form_exists"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.check_form(CAT, "giay_khen_chu_tich_ubnd_xa", "individual", 2027, TODAY)
    assert said(e, "year 2027 is in the future", "today is 2026-11-29") == [
        {"field": "year", "value": 2027, "rule": "year_not_in_future"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.check_form(CAT, "giay_khen_chu_tich_ubnd_huyen", "individual", 2026, TODAY)
    assert said(e, "not in force today nor in 2026", "2023-01-01", "2025-06-30") == [
        {"field": "award_form", "value": "giay_khen_chu_tich_ubnd_huyen", "rule": "form_in_force"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.check_form(CAT, "ky_niem_chuong_bao_ve_an_ninh_to_quoc", "collective", 2026, TODAY)
    assert said(e, "is for individual nominees, not collective") == [
        {"field": "nominee.kind", "value": "collective", "rule": "form_for"}
    ]
    f, day = d.check_form(CAT, "giay_khen_chu_tich_ubnd_huyen", "collective", 2025, TODAY)
    assert (f.code, day) == ("giay_khen_chu_tich_ubnd_huyen", dt.date(2025, 6, 30))
    assert d.check_form(CAT, "giay_khen_chu_tich_ubnd_xa", "individual", 2026, TODAY)[1] == TODAY


def test_what_the_festival_checks_say():
    with pytest.raises(NotFound) as e:
        d.check_festival(None, "f9", ["h"])
    assert said(e, "festival f9 is not known to awards (yet)") == [
        {"rule": "not_known_yet", "field": "festival_id", "value": "f9"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.check_festival(d.KnownFestival("f2", "w", TODAY, "cancelled", 2026), "f2", ["w"])
    assert said(e, "festival f2 was cancelled") == [{"field": "festival_id", "rule": "cancelled"}]
    with pytest.raises(RuleViolation) as e:
        d.check_festival(FEST, "f1", ["h", "w"], 2024)
    assert said(e, "festival f1 is of 2026", "for 2024", "of 2024 or 2025") == [
        {"field": "festival_id", "rule": "festival_year"}
    ]
    assert d.check_festival(FEST, "f1", ["h", "w"], 2025) is FEST  # the next year's festival
    assert d.check_festival(FEST, "f1", ["h", "w"], 2026) is FEST
    with pytest.raises(RuleViolation) as e:
        d.check_festival(FEST, "f1", ["c", "p"], 2026)
    assert said(e, "festival f1 is of unit w", "neither the unit nor one of its ancestors") == [
        {"field": "festival_id", "value": "f1", "rule": "festival_of_unit_or_ancestor"}
    ]


def test_what_a_state_that_refuses_says():
    n, _ = nominated()
    returned, _ = d.return_(n, c.ReturnNomination(nomination_id="n1", reason="thiếu"), OFFICER, TODAY)
    with pytest.raises(Conflict) as e:
        d.return_(returned, c.ReturnNomination(nomination_id="n1", reason="x"), OFFICER, TODAY)
    assert said(e, "nomination n1 is returned", "submitted or resubmitted", "can be returned") == [
        {"field": "status", "value": "returned"}
    ]
    with pytest.raises(Conflict) as e:
        d.resubmit(n, c.ResubmitNomination(nomination_id="n1"), OFFICER, TODAY)
    assert said(e, "nomination n1 is submitted", "that is returned can be resubmitted") == [
        {"field": "status", "value": "submitted"}
    ]
    _, award, _ = approved()
    conferred, _ = d.confer(award, c.ConferAward(award_id="a1", conferred_on=FEST.date), None, "x", TODAY)
    with pytest.raises(Conflict) as e:
        d.confer(conferred, c.ConferAward(award_id="a1", conferred_on=FEST.date), None, "x", TODAY)
    assert said(e, "award a1 is conferred", "only an approved award") == [{"field": "status", "value": "conferred"}]
    cmd = c.RevokeAward(award_id="a1", reason="sai", decision_no="2", decision_date=dt.date(2026, 9, 1))
    revoked, _ = d.revoke(award, cmd, OFFICER, TODAY)
    with pytest.raises(Conflict) as e:
        d.revoke(revoked, cmd, OFFICER, TODAY)
    assert said(e, "award a1 is already revoked") == [{"field": "status", "value": "revoked"}]


def test_what_a_resubmission_with_another_person_says():
    collective, _ = nominated(nominee={"kind": "collective", "unit_id": "h"})
    back, _ = d.return_(collective, c.ReturnNomination(nomination_id="n1", reason="x"), OFFICER, TODAY)
    person = c.Person(person_id="p1", name="X")
    with pytest.raises(RuleViolation) as e:
        d.resubmit(back, c.ResubmitNomination(nomination_id="n1", person=person), OFFICER, TODAY)
    assert said(e, "a collective nominee has no person") == [{"field": "person", "rule": "same_nominee"}]
    n, _ = nominated()
    back, _ = d.return_(n, c.ReturnNomination(nomination_id="n1", reason="x"), OFFICER, TODAY)
    other = c.Person(person_id="p2", name="X")
    with pytest.raises(RuleViolation) as e:
        d.resubmit(back, c.ResubmitNomination(nomination_id="n1", person=other), OFFICER, TODAY)
    assert said(e, "the person_id (who is nominated) cannot change") == [
        {"field": "person.person_id", "rule": "same_nominee"}
    ]


def test_what_the_dates_of_a_decision_say():
    n, _ = nominated()
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1", decision_date=dt.date(2026, 11, 30))
    with pytest.raises(RuleViolation) as e:
        d.approve(n, cmd, "a1", form(), CAT, AUTHORITY, OFFICER, TODAY, NOW)
    assert said(e, "decision_date 2026-11-30 is in the future (today is 2026-11-29)") == [
        {"field": "decision_date", "rule": "not_in_future"}
    ]
    early = cmd.model_copy(update={"decision_date": dt.date(2025, 12, 31)})
    with pytest.raises(RuleViolation) as e:
        d.approve(n, early, "a1", form(), CAT, AUTHORITY, OFFICER, TODAY, NOW)
    assert said(e, "decision_date 2025-12-31 is before the nomination's year 2026") == [
        {"field": "decision_date", "rule": "decision_in_or_after_year"}
    ]
    old, _ = nominated(award_form="giay_khen_chu_tich_ubnd_huyen", year=2025)
    late = cmd.model_copy(update={"decision_date": dt.date(2025, 7, 1)})
    with pytest.raises(RuleViolation) as e:
        d.approve(old, late, "a1", form("giay_khen_chu_tich_ubnd_huyen"), CAT, AUTHORITY, OFFICER, TODAY, NOW)
    assert said(e, "not in force on the decision date 2025-07-01", "2023-01-01 to 2025-06-30") == [
        {"field": "decision_date", "rule": "form_in_force"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.reject(
            n, c.RejectNomination(nomination_id="n1", reason="x", decision_date=dt.date(2026, 12, 1)), OFFICER, TODAY
        )
    assert said(e, "decision_date 2026-12-01 is in the future") == [{"field": "decision_date", "rule": "not_in_future"}]


def test_what_a_conferral_and_a_revocation_say():
    _, award, _ = approved()
    with pytest.raises(RuleViolation) as e:
        d.confer(award, c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 11, 30)), None, None, TODAY)
    assert said(e, "conferred_on 2026-11-30 is in the future", "today is 2026-11-29") == [
        {"field": "conferred_on", "rule": "not_in_future"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.confer(award, c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 4)), None, None, TODAY)
    assert said(e, "conferred_on 2026-08-04 is before the decision (2026-08-05)") == [
        {"field": "conferred_on", "rule": "after_decision"}
    ]
    at = c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 11), festival_id="f1")
    with pytest.raises(RuleViolation) as e:
        d.confer(award, at, FEST, None, TODAY)
    assert said(e, "conferred at festival f1 is conferred on its date 2026-08-10, not 2026-08-11") == [
        {"field": "conferred_on", "rule": "festival_date"}
    ]
    cmd = c.RevokeAward(award_id="a1", reason="sai", decision_no="2", decision_date=dt.date(2026, 8, 4))
    with pytest.raises(RuleViolation) as e:
        d.revoke(award, cmd, OFFICER, TODAY)
    assert said(e, "decision_date 2026-08-04 is before the award's decision (2026-08-05)") == [
        {"field": "decision_date", "rule": "after_decision"}
    ]
    with pytest.raises(RuleViolation) as e:
        d.revoke(award, cmd.model_copy(update={"decision_date": dt.date(2026, 12, 1)}), OFFICER, TODAY)
    assert said(e, "decision_date 2026-12-01 is in the future") == [{"field": "decision_date", "rule": "not_in_future"}]


def test_what_a_gift_in_the_future_says():
    cmd = c.RecordGift(
        unit_id="h",
        beneficiary_kind="other",
        recipients=1,
        value_vnd=1,
        funding_source="Quỹ",
        given_on=dt.date(2026, 11, 30),
    )
    with pytest.raises(RuleViolation) as e:
        d.record_gift(cmd, "g1", None, OFFICER, TODAY, NOW)
    assert said(e, "given_on 2026-11-30 is in the future") == [{"field": "given_on", "rule": "not_in_future"}]


# ------------------------------------------------------------------------------------ what is recorded


def test_what_a_submission_records():
    n, e = nominated()
    nominee = {
        "kind": "individual",
        "unit_id": "h",
        "person": {"person_id": "p1", "name": "Lê Thị Hoa", "position": "Tổ trưởng", "year_of_birth": 1970},
    }
    assert n.model_dump(mode="json", exclude={"created_at", "sort_key"}) == {
        "nomination_id": "n1",
        "nominee": nominee,
        "nominee_key": "person:p1",
        "award_form": "giay_khen_chu_tich_ubnd_xa",
        "year": 2026,
        "achievement": "Thành tích  xuất sắc",
        "achievement_key": "thành tích xuất sắc",
        "festival_id": "f1",
        "grantor": AUTHORITY.model_dump(mode="json"),
        "forwarded": False,
        "status": "submitted",
        "submitted_on": "2026-11-29",
        "submitted_by": "o",
        "steps": [{"event": "submitted", "on": "2026-11-29", "actor_id": "o", "reason": None, "note": None}],
        "decision_no": None,
        "decision_date": None,
        "award_id": None,
        "imported": False,
        "eligibility": None,
        "eligibility_unverified": [],
        "attachments": [],
        "due_on": None,
        "due_unconfirmed": False,
        "overdue_on": None,
        "council": None,
        "version": 1,
    }
    assert n.sort_key == d.sort_key(TODAY, NOW, "n1")
    assert (e.aggregate, e.name, e.subject, e.aggregate_version) == ("nomination", "submitted", "n1", 1)
    assert e.data.model_dump(mode="json") == {
        "nomination_id": "n1",
        "nominee": nominee,
        "award_form": "giay_khen_chu_tich_ubnd_xa",
        "year": 2026,
        "achievement": "Thành tích  xuất sắc",
        "festival_id": "f1",
        "grantor": AUTHORITY.model_dump(mode="json"),
        "forwarded": False,
        "submitted_on": "2026-11-29",
        "due_on": None,  # the handler passes the processing time (tested with the catalogue)
    }
    medal, _ = nominated(award_form="ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    assert medal.forwarded is True
    collective, _ = nominated(nominee={"kind": "collective", "unit_id": "h"})
    assert collective.nominee_key == "unit:h"


def test_what_a_return_and_a_resubmission_record():
    n, _ = nominated()
    returned, e = d.return_(n, c.ReturnNomination(nomination_id="n1", reason="thiếu biên bản"), OFFICER, TODAY)
    assert (returned.status, returned.version, e.aggregate_version, e.name) == ("returned", 2, 2, "returned")
    assert returned.steps[-1].model_dump(mode="json") == {
        "event": "returned",
        "on": "2026-11-29",
        "actor_id": "o",
        "reason": "thiếu biên bản",
        "note": None,
    }
    assert e.data.model_dump(mode="json") == {
        "nomination_id": "n1",
        "reason": "thiếu biên bản",
        "returned_on": "2026-11-29",
    }
    person = c.Person(person_id="p1", name="Lê Thị Hoa", position="Tổ phó")
    cmd = c.ResubmitNomination(
        nomination_id="n1", note="đã bổ sung", achievement="Thành tích mới", person=person, festival_id="f2"
    )
    again, e = d.resubmit(returned, cmd, OFFICER, TODAY)
    assert (again.status, again.version, e.aggregate_version, e.name) == ("resubmitted", 3, 3, "resubmitted")
    assert (again.achievement, again.achievement_key, again.festival_id) == ("Thành tích mới", "thành tích mới", "f2")
    assert again.nominee.person is not None and again.nominee.person.position == "Tổ phó"
    assert again.steps[-1].model_dump(mode="json") == {
        "event": "resubmitted",
        "on": "2026-11-29",
        "actor_id": "o",
        "reason": None,
        "note": "đã bổ sung",
    }
    assert e.data.model_dump(mode="json") == {
        "nomination_id": "n1",
        "note": "đã bổ sung",
        "achievement": "Thành tích mới",
        "person": {"person_id": "p1", "name": "Lê Thị Hoa", "position": "Tổ phó", "year_of_birth": None},
        "festival_id": "f2",
        "resubmitted_on": "2026-11-29",
        "due_on": None,
    }
    back, _ = d.return_(again, c.ReturnNomination(nomination_id="n1", reason="x"), OFFICER, TODAY)
    same, e = d.resubmit(back, c.ResubmitNomination(nomination_id="n1"), OFFICER, TODAY)
    assert (same.achievement, same.festival_id, same.nominee) == (again.achievement, "f2", again.nominee)
    assert (e.data.achievement, e.data.festival_id, e.data.note) == ("Thành tích mới", "f2", None)


def test_what_an_approval_records():
    n, award, e = approved()
    assert (n.status, n.version, n.decision_no, n.decision_date, n.award_id, n.grantor) == (
        "approved",
        2,
        "12/QĐ-UBND",
        dt.date(2026, 8, 5),
        "a1",
        AUTHORITY,
    )
    assert n.steps[-1].model_dump(mode="json") == {
        "event": "approved",
        "on": "2026-11-29",
        "actor_id": "o",
        "reason": None,
        "note": "12/QĐ-UBND",
    }
    assert award.model_dump(mode="json", exclude={"created_at", "sort_key", "nominee"}) == {
        "award_id": "a1",
        "nomination_id": "n1",
        "award_form": "giay_khen_chu_tich_ubnd_xa",
        "nominee_key": "person:p1",
        "unit_id": "h",
        "unit_name": "Tổ dân phố H",
        "successor_unit_ids": ["k"],
        "year": 2026,
        "achievement": "Thành tích  xuất sắc",
        "decision_no": "12/QĐ-UBND",
        "decision_date": "2026-08-05",
        "decided_by": AUTHORITY.model_dump(mode="json"),
        "recorded_by": "o",
        "signer": None,  # set by a decision over many (record-decision)
        "imported": False,
        "register_no": None,
        "decision_id": None,
        "amount_vnd": 710_000,
        "amount_unconfirmed": True,  # a 2026 decision: the rounding under Decree 152 is UNCONFIRMED
        "amount_at_most": False,
        "status": "approved",
        "conferred_on": None,
        "festival_id": None,
        "presented_by": None,
        "revocation": None,
        "version": 0,
    }
    assert award.sort_key == d.sort_key(dt.date(2026, 8, 5), NOW, "a1")
    assert (e.name, e.subject, e.aggregate_version) == ("approved", "n1", 2)
    assert e.data.model_dump(mode="json", exclude={"nominee"}) == {
        "nomination_id": "n1",
        "award_id": "a1",
        "award_form": "giay_khen_chu_tich_ubnd_xa",
        "year": 2026,
        "decision_no": "12/QĐ-UBND",
        "decision_date": "2026-08-05",
        "decided_by": AUTHORITY.model_dump(mode="json"),
        "recorded_by": "o",
        "amount_vnd": 710_000,
        "amount_unconfirmed": True,
        "amount_at_most": False,
        "nominee_unit_name": "Tổ dân phố H",
        "successor_unit_ids": ["k"],
        "decision_id": None,
        "signer": None,
    }
    medal, _ = nominated(award_form="ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1", decision_date=dt.date(2024, 6, 1))
    medal = medal.model_copy(update={"year": 2024})
    _, no_amount, _ = d.approve(
        medal, cmd, "a2", form("ky_niem_chuong_bao_ve_an_ninh_to_quoc"), CAT, AUTHORITY, OFFICER, TODAY, NOW
    )
    assert (no_amount.amount_vnd, no_amount.amount_unconfirmed) == (None, True)  # no amount in the data then


def test_what_a_rejection_records():
    n, _ = nominated()
    cmd = c.RejectNomination(
        nomination_id="n1", reason="chưa đủ", decision_no="3/QĐ", decision_date=dt.date(2026, 9, 1)
    )
    new, e = d.reject(n, cmd, OFFICER, TODAY)
    assert (new.status, new.version, new.decision_no, new.decision_date) == ("rejected", 2, "3/QĐ", dt.date(2026, 9, 1))
    assert new.steps[-1].model_dump(mode="json") == {
        "event": "rejected",
        "on": "2026-11-29",
        "actor_id": "o",
        "reason": "chưa đủ",
        "note": None,
    }
    assert (e.name, e.aggregate_version) == ("rejected", 2)
    assert e.data.model_dump(mode="json") == {
        "nomination_id": "n1",
        "reason": "chưa đủ",
        "decision_no": "3/QĐ",
        "decision_date": "2026-09-01",
    }
    undated, _ = d.reject(n, c.RejectNomination(nomination_id="n1", reason="x"), OFFICER, TODAY)
    assert undated.decision_date is None


def test_what_a_conferral_and_a_revocation_record():
    _, award, _ = approved()
    cmd = c.ConferAward(award_id="a1", conferred_on=FEST.date, festival_id="f1")
    conferred, e = d.confer(award, cmd, FEST, "Chủ tịch UBND phường", TODAY)
    assert (conferred.status, conferred.conferred_on, conferred.festival_id, conferred.presented_by) == (
        "conferred",
        FEST.date,
        "f1",
        "Chủ tịch UBND phường",
    )
    assert (conferred.version, e.aggregate, e.name, e.subject, e.aggregate_version) == (
        1,
        "award",
        "conferred",
        "a1",
        1,
    )
    assert e.data.model_dump(mode="json", exclude={"nominee"}) == {
        "award_id": "a1",
        "nomination_id": "n1",
        "award_form": "giay_khen_chu_tich_ubnd_xa",
        "conferred_on": "2026-08-10",
        "festival_id": "f1",
        "presented_by": "Chủ tịch UBND phường",
    }
    cmd = c.RevokeAward(award_id="a1", reason="gian dối", decision_no="2/QĐ", decision_date=dt.date(2026, 9, 1))
    revoked, e = d.revoke(conferred, cmd, OFFICER, TODAY)
    assert revoked.status == "revoked" and revoked.version == 2
    assert revoked.revocation is not None and revoked.revocation.model_dump(mode="json") == {
        "reason": "gian dối",
        "decision_no": "2/QĐ",
        "decision_date": "2026-09-01",
        "actor_id": "o",
    }
    assert (e.name, e.aggregate_version) == ("revoked", 2)
    assert e.data.model_dump(mode="json") == {
        "award_id": "a1",
        "nomination_id": "n1",
        "reason": "gian dối",
        "decision_no": "2/QĐ",
        "decision_date": "2026-09-01",
    }
    same_day, _ = d.revoke(award, cmd.model_copy(update={"decision_date": award.decision_date}), OFFICER, TODAY)
    assert same_day.status == "revoked"  # on the award's decision day itself


def test_what_a_gift_records():
    cmd = c.RecordGift(
        unit_id="h",
        beneficiary_kind="martyr_family",
        recipients=3,
        value_vnd=1_500_000,
        funding_source="Quỹ đền ơn đáp nghĩa",
        festival_id="f1",
        note="tặng quà",
    )
    gift, e = d.record_gift(cmd, "g1", FEST, OFFICER, TODAY, NOW)
    assert gift.model_dump(mode="json", exclude={"created_at", "sort_key"}) == {
        "gift_id": "g1",
        "unit_id": "h",
        "beneficiary_kind": "martyr_family",
        "recipients": 3,
        "value_vnd": 1_500_000,
        "funding_source": "Quỹ đền ơn đáp nghĩa",
        "festival_id": "f1",
        "given_on": "2026-08-10",
        "year": 2026,
        "note": "tặng quà",
        "recorded_by": "o",
    }
    assert gift.sort_key == d.sort_key(FEST.date, NOW, "g1")
    assert (e.aggregate, e.name, e.subject, e.aggregate_version) == ("gift", "recorded", "g1", 1)
    assert e.data.model_dump(mode="json") == {
        k: v for k, v in gift.model_dump(mode="json").items() if k not in ("recorded_by", "created_at", "sort_key")
    }
    today_gift, _ = d.record_gift(cmd.model_copy(update={"festival_id": None}), "g2", None, OFFICER, TODAY, NOW)
    assert today_gift.given_on == TODAY


def test_keys_and_sort_keys():
    n, _ = nominated(award_form="ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    assert d.keys(n, once_only=True) == [
        "achievement:person:p1|2026|thành tích xuất sắc",
        "once:ky_niem_chuong_bao_ve_an_ninh_to_quoc|p1",
    ]
    assert d.keys(n, once_only=False) == ["achievement:person:p1|2026|thành tích xuất sắc"]
    collective, _ = nominated(nominee={"kind": "collective", "unit_id": "h"})
    assert d.keys(collective, once_only=True) == ["achievement:unit:h|2026|thành tích xuất sắc"]
    assert d.sort_key(dt.date(2026, 8, 5), dt.datetime(2026, 8, 5, 10, 0, 1, 5, tzinfo=dt.UTC), "x") == (
        "2026-08-05|20260805T100001.000005|x"
    )
    assert d.province_of([H, W, P]) == "p" and d.province_of([H, W]) is None and d.province_of([]) is None
    police = d.Ancestor("pa", "agency", "Công an", ("provincial_police",))
    assert d.police_of([d.Ancestor("s", "agency", "Sở"), police]) is police
    assert d.police_of([d.Ancestor("s", "agency", "Sở")]) is None


def test_what_the_rules_query_shows_of_a_form():
    view = form().view(dt.date(2025, 7, 1), CAT.base_salary, CAT.rounding)
    assert view == {
        "code": "giay_khen_chu_tich_ubnd_xa",
        "name": form().name,
        "aliases": form().aliases,
        "grantor": {"level": "commune", "outside": False, "name": "Chủ tịch UBND cấp xã"},
        "forwarded": False,
        "in_force_from": "2023-01-01",
        "in_force_to": None,
        "for": ["collective", "individual"],
        "once_only": False,
        "amount": {
            "collective": {
                "vnd": 1_410_000,
                "multiple": "0.6",
                "base_salary_vnd": 2_340_000,
                "unconfirmed": True,
                "at_most": False,
            },
            "individual": {  # the rounding from 1 Jul 2025 is UNCONFIRMED
                "vnd": 710_000,
                "multiple": "0.3",
                "base_salary_vnd": 2_340_000,
                "unconfirmed": True,
                "at_most": False,
            },
        },
        "basis": form().basis,
        "unconfirmed": True,
        "unconfirmed_fields": form().unconfirmed,
    }
    district = CAT.form("giay_khen_chu_tich_ubnd_huyen")
    assert district is not None
    assert district.view(dt.date(2025, 6, 1), CAT.base_salary)["in_force_to"] == "2025-06-30"
    medal = CAT.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    assert medal is not None
    shown = medal.view(dt.date(2024, 6, 1), CAT.base_salary)
    assert shown["amount"] == {"individual": None} and shown["unconfirmed"] is True and shown["forwarded"] is True


def test_a_decision_over_many_is_one_authoritys_and_refused_whole_with_each_reason():

    one = approved()
    n2, award2, e2 = approved()
    n2 = n2.model_copy(update={"nomination_id": "n2"})
    other = c.Authority(kind="unit", unit_id="c", name="Chủ tịch UBND cấp xã (Xã C)")
    award2 = award2.model_copy(update={"award_id": "a2", "nomination_id": "n2", "decided_by": other})
    cmd = c.RecordDecision(
        decision_no="7/QĐ-UBND",
        decision_date=dt.date(2026, 8, 5),
        signer="Trần Văn B",
        nominations=[c.DecisionItem(nomination_id=x) for x in ("n1", "n2", "n3")],
    )
    gone = {"nomination_id": "n3", "code": "not_found", "rule": None, "message": "nomination n3 does not exist"}
    with pytest.raises(RuleViolation) as refused:
        dossier.decision(cmd, [one, (n2, award2, e2)], [gone], None, OFFICER, NOW)
    assert [(x["nomination_id"], x.get("rule") or x["code"]) for x in refused.value.details] == [
        ("n2", "one_authority"),
        ("n3", "not_found"),
    ]
    assert "2 of 3 nominations" in refused.value.message
    forbidden = {"nomination_id": "n2", "code": "forbidden", "rule": "granting_authority", "message": "…"}
    with pytest.raises(DomainError) as only_forbidden:
        dossier.decision(cmd, [one], [forbidden], None, OFFICER, NOW)
    assert only_forbidden.value.code == "forbidden"

    cmd = cmd.model_copy(update={"nominations": cmd.nominations[:1]})
    decision, out, event = dossier.decision(cmd, [one], [], None, OFFICER, NOW)
    assert decision.decision_id == "w:2026:7-QD-UBND" and decision.decided_by == AUTHORITY
    ((_, award, approval),) = out
    assert (award.signer, award.decision_id) == ("Trần Văn B", "w:2026:7-QD-UBND")
    assert (approval.data.decision_id, approval.data.signer) == ("w:2026:7-QD-UBND", "Trần Văn B")
    assert (event.aggregate, event.name, event.subject) == ("decision", "recorded", "w:2026:7-QD-UBND")
    assert [x.nomination_id for x in event.data.nominations] == ["n1"]
    with pytest.raises(Conflict):
        dossier.decision(cmd, [one], [], decision, OFFICER, NOW)
    outside = c.Authority(kind="outside", level="outside", name="Bộ trưởng Bộ Công an")
    assert d.decision_id(outside, "123/QĐ-BCA", dt.date(2025, 8, 1)) == "outside-Bo-truong-Bo-Cong-an:2025:123-QD-BCA"
    # one number of an authority in a year is one decision of one date
    assert dossier.check_number(None, "7/QĐ", dt.date(2026, 8, 5), "single") is True
    single = {"via": "single", "date": "2026-08-05"}
    assert dossier.check_number(single, "7/QĐ", dt.date(2026, 8, 5), "single") is False  # one more of its list
    for used, day, via in (
        (single, dt.date(2026, 8, 6), "single"),
        (single, dt.date(2026, 8, 5), "decision"),
        ({"via": "decision", "date": "2026-08-05"}, dt.date(2026, 8, 5), "single"),
    ):
        with pytest.raises(Conflict) as e:
            dossier.check_number(used, "7/QĐ", day, via)
        assert e.value.details[0]["rule"] == "decision_number"


def test_a_dossier_takes_allowed_files_within_its_limits_while_it_is_open():
    n, _ = nominated()
    limits = d.FileLimits(file_bytes=20 * 2**20, dossier_bytes=50 * 2**20, files=4)

    def attach(n, size=1000, media_type="application/pdf", attachment_id="f1", actor=OFFICER, name="a.pdf", sha=None):
        digest = sha or format(abs(hash(attachment_id)), "x").rjust(64, "0")[:64]
        cmd = c.AttachFile(nomination_id="n1", kind="to_trinh", name=name, media_type=media_type, size=size,
                           sha256=digest, upload="u/a.pdf")  # fmt: skip
        return attachments.attachment(n, cmd, attachment_id, [H, W, P], limits, actor, "operate", TODAY)

    def rule(exc) -> str:
        return exc.value.details[0]["rule"]

    one, e = attach(n)
    assert [a.attachment_id for a in one.attachments] == ["f1"] and one.version == n.version + 1
    assert (e.name, e.aggregate_version) == ("attached", one.version)
    with pytest.raises(Conflict) as twice:  # the same content twice in one dossier
        attach(one, attachment_id="f2", sha=one.attachments[0].sha256)
    assert rule(twice) == "attachment_repeated"
    for name, said in (
        ("a.jpg", "name_matches_type"),
        ("b/a.pdf", "file_name"),
        ("a\\b.pdf", "file_name"),
        ("..", "file_name"),
    ):
        with pytest.raises(RuleViolation) as bad:
            attach(n, name=name)
        assert rule(bad) == said, name
    assert attach(n, name="ẢNH NGÀY HỘI.JPEG", media_type="image/jpeg")[0].attachments[0].name == "ẢNH NGÀY HỘI.JPEG"
    with pytest.raises(RuleViolation) as big:
        attach(n, size=20 * 2**20 + 1)
    assert rule(big) == "file_size" and "20.0 MB; a file may be at most 20 MB" in big.value.message
    with pytest.raises(RuleViolation) as exe:
        attach(n, media_type="application/x-msdownload")
    assert rule(exe) == "media_type_allowed"
    two, _ = attach(one, size=20 * 2**20, attachment_id="f2")
    three, _ = attach(two, size=20 * 2**20, attachment_id="f3")
    with pytest.raises(RuleViolation) as full:  # 40 MB and 1000 bytes held
        attach(three, size=10 * 2**20, attachment_id="f4")
    assert rule(full) == "dossier_size" and "at most 50 MB" in full.value.message
    four, _ = attach(three, size=1, attachment_id="f4")
    with pytest.raises(RuleViolation) as many:
        attach(four, size=1, attachment_id="f5")
    assert rule(many) == "dossier_files"
    with pytest.raises(Conflict):
        attach(one, attachment_id="f1")
    decided = one.model_copy(update={"status": "approved"})
    with pytest.raises(Conflict) as closed:
        attach(decided, attachment_id="f9")
    assert rule(closed) == "dossier_open"
    stranger = Actor(id="x", unit="c", role="officer")
    with pytest.raises(DomainError) as out:
        attach(n, actor=stranger)
    assert out.value.code == "forbidden"
