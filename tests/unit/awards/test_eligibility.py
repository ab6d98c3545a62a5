"""The medal's written conditions as data (Thông tư 20/2025/TT-BCA, and 11/2021 before 28 Apr 2025): each
refusal names the condition and quotes it; what is not confirmed is flagged, never silently passed."""

from __future__ import annotations

import datetime as dt

import pytest

from services.awards.domain import eligibility
from services.awards.domain.model import Award
from services.awards.rules import load
from shared.contract import awards as c
from shared.contract.errors import RuleViolation

CAT = load()
MEDAL = CAT.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
XA = CAT.form("giay_khen_chu_tich_ubnd_xa")
DAY = dt.date(2026, 7, 20)
AUTHORITY = c.Authority(kind="unit", unit_id="w", name="Chủ tịch UBND cấp xã")


def prior_award(person_id: str = "p1", status: str = "approved") -> Award:
    nominee = c.NomineeFact(kind="individual", unit_id="h", person=c.PersonFact(person_id=person_id, name="A"))
    return Award(
        award_id="a1", nomination_id="n0", award_form="giay_khen_giam_doc_cong_an_tinh", nominee=nominee,
        nominee_key=f"person:{person_id}", unit_id="h", year=2022, achievement="x", decision_no="1/QĐ",
        decision_date=dt.date(2022, 8, 1), decided_by=AUTHORITY, recorded_by="o", amount_vnd=None,
        amount_unconfirmed=True, status=status, created_at=dt.datetime(2022, 8, 1, tzinfo=dt.UTC), sort_key="k",
    )  # fmt: skip


def check(day: dt.date = DAY, prior: dict | None = None, **facts) -> list[str]:
    return eligibility.check(MEDAL, c.Eligibility.model_validate(facts), day, "p1", prior or {})


def refusal(**kw) -> tuple[str, str]:
    with pytest.raises(RuleViolation) as e:
        check(**kw)
    return e.value.details[0]["rule"], e.value.message


def test_a_form_without_written_conditions_needs_no_facts():
    assert eligibility.check(XA, None, DAY, "p1", {}) == []


def test_a_leader_needs_ten_years_in_post_and_a_prior_commendation():
    rule, message = refusal(role="leader")
    assert rule == "eligibility:years_in_post" and "at least 10 years in post" in message
    assert "Thông tư 20/2025/TT-BCA" in message
    rule, message = refusal(role="leader", years_in_post=7)
    assert rule == "eligibility:years_in_post" and "years_in_post is 7" in message
    rule, message = refusal(role="leader", years_in_post=12)
    assert rule == "eligibility:prior_commendations" and "prior commendation" in message
    ok = check(role="leader", years_in_post=12, prior={"a1": prior_award()},
               prior_commendations=[{"award_id": "a1"}])  # fmt: skip
    assert "declared_facts" in ok and "rule:prior_commendations" in ok
    elsewhere = check(role="leader", years_in_post=12,
                      prior_commendations=[{"decision_no": "15/QĐ-CAT", "decision_date": "2019-08-01"}])  # fmt: skip
    assert "prior_commendation:15/QĐ-CAT" in elsewhere  # counted, and flagged: the platform cannot verify it
    future = [{"decision_no": "9/QĐ", "decision_date": "2030-01-01"}]
    assert refusal(role="leader", years_in_post=12, prior_commendations=future)[0] == "eligibility:prior"
    rule, _ = refusal(role="leader", years_in_post=12, prior_commendations=[{"award_id": "a9"}])
    assert rule == "eligibility:prior"
    for wrong in (prior_award(person_id="p2"), prior_award(status="revoked")):
        rule, _ = refusal(
            role="leader", years_in_post=12, prior={"a1": wrong}, prior_commendations=[{"award_id": "a1"}]
        )
        assert rule == "eligibility:prior"


def test_a_security_team_member_needs_fifteen_years_a_man_ten_a_woman():
    rule, message = refusal(role="security_team_member", years_in_force=11)
    assert rule == "eligibility:sex" and "15 years" in message
    assert check(role="security_team_member", years_in_force=11, sex="female")
    rule, message = refusal(role="security_team_member", years_in_force=11, sex="male")
    assert rule == "eligibility:years_in_force" and "at least 15 years in the grassroots security team (men)" in message


def test_exclusions_and_deferrals_are_named():
    base = {"role": "security_team_member", "years_in_force": 20, "sex": "male"}
    assert refusal(**base, prosecuted=True)[0] == "eligibility:prosecuted"
    rule, message = refusal(**base, holds_excluding_award=True)
    assert rule == "eligibility:holds_excluding_award" and "Chiến sĩ vẻ vang" in message
    rule, message = refusal(**base, pending_discipline=True)
    assert rule == "eligibility:pending_discipline" and message.startswith(MEDAL.name + ": deferred")
    assert refusal(role=None)[0] == "eligibility:role"
    # an incident in the area led excludes a leader; a team member leads no area
    leader = {
        "role": "leader",
        "years_in_post": 12,
        "prior_commendations": [{"decision_no": "1", "decision_date": "2020-01-01"}],
    }
    assert refusal(**leader, incident_in_area=True)[0] == "eligibility:incident_in_area"
    assert check(**base, incident_in_area=True)


def test_the_rule_of_the_day_applies_and_the_2021_terms_are_flagged_unconfirmed():
    before = dt.date(2024, 8, 1)  # Thông tư 11/2021: 5 years in post (the reference has not read its text)
    flags = check(
        day=before,
        role="leader",
        years_in_post=6,
        prior_commendations=[{"decision_no": "1", "decision_date": "2020-01-01"}],
    )
    assert "rule:years_in_post" in flags
    rule, message = refusal(day=before, role="leader", years_in_post=4)
    assert rule == "eligibility:years_in_post" and "Thông tư 11/2021/TT-BCA" in message
    with pytest.raises(RuleViolation):  # the same six years do not meet the 2025 rule
        check(role="leader", years_in_post=6, prior_commendations=[{"decision_no": "1", "decision_date": "2020-01-01"}])
