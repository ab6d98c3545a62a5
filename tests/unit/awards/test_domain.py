"""Awards' rules, pure: the granting authority (property-based over actor × form × tree × date),
the workflow's states, one achievement one award, once-only forms, confer and revoke."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.awards import domain as d
from services.awards.rules import load
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation

TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
CAT = load()
P = d.Ancestor("p", "province", "Thành phố Huế")
POLICE = d.Ancestor("pa", "agency", "Công an thành phố Huế", ("provincial_police",))
DEPT = d.Ancestor("s", "agency", "Sở Văn hóa")
DISTRICT = d.Ancestor("dist", "district", "Quận Thuận Hóa")
WARD = d.Ancestor("w", "ward", "Phường Thuận Hóa")
HAMLET = d.Ancestor("h", "residential_group", "Tổ dân phố 1")
CHAINS = {
    "hamlet under ward": [HAMLET, WARD, P],
    "ward": [WARD, P],
    "hamlet under old ward under district": [HAMLET, WARD, DISTRICT, P],
    "department": [DEPT, P],
    "province": [P],
}
officer = Actor(id="o", unit="w", role="officer")


def form(code: str):
    f = CAT.form(code)
    assert f is not None
    return f


# ------------------------------------------------------------------------------------ authority


@pytest.mark.parametrize(
    ("code", "chain", "expected"),
    [
        ("giay_khen_chu_tich_ubnd_xa", "hamlet under ward", "w"),
        ("giay_khen_chu_tich_ubnd_xa", "ward", "w"),
        ("giay_khen_chu_tich_ubnd_huyen", "hamlet under old ward under district", "dist"),
        ("giay_khen_thu_truong_co_quan_chuyen_mon_tinh", "department", "s"),
        ("giay_khen_giam_doc_cong_an_tinh", "hamlet under ward", "pa"),
        ("bang_khen_chu_tich_ubnd_tinh", "hamlet under ward", "p"),
        ("bang_khen_chu_tich_ubnd_tinh", "province", "p"),
    ],
)
def test_the_granting_unit_of_each_level(code: str, chain: str, expected: str) -> None:
    got = d.grantor_of(form(code), CHAINS[chain], POLICE)
    assert (got.kind, got.unit_id) == ("unit", expected)
    assert got.name.startswith(form(code).grantor.name)


@pytest.mark.parametrize(
    ("code", "chain"),
    [
        ("giay_khen_chu_tich_ubnd_xa", "department"),
        ("giay_khen_chu_tich_ubnd_xa", "province"),
        ("giay_khen_chu_tich_ubnd_huyen", "hamlet under ward"),
        ("giay_khen_thu_truong_co_quan_chuyen_mon_tinh", "hamlet under ward"),
    ],
)
def test_no_granting_unit_above_the_nominee_is_a_rule_violation(code: str, chain: str) -> None:
    with pytest.raises(RuleViolation, match="has no such authority") as e:
        d.grantor_of(form(code), CHAINS[chain], POLICE)
    assert e.value.details[0]["rule"] == "grantor"


def test_the_police_form_needs_the_provinces_police_agency() -> None:
    with pytest.raises(RuleViolation):
        d.grantor_of(form("giay_khen_giam_doc_cong_an_tinh"), CHAINS["ward"], None)


def test_forms_granted_outside_are_forwarded_to_the_named_authority() -> None:
    for code in ("bang_khen_bo_truong_bo_cong_an", "ky_niem_chuong_bao_ve_an_ninh_to_quoc"):
        got = d.grantor_of(form(code), CHAINS["hamlet under ward"], None)
        assert got == c.Authority(kind="outside", unit_id=None, name="Bộ trưởng Bộ Công an", level="outside")


roles = st.sampled_from(["officer", "approver", "admin"])
units = st.sampled_from([None, "p", "pa", "s", "w", "h", "dist", "elsewhere"])


@given(
    role=roles,
    unit=units,
    code=st.sampled_from(sorted(f.code for f in CAT.forms)),
    chain=st.sampled_from(sorted(CHAINS)),
)
def test_only_an_approver_of_the_granting_authority_decides(role: str, unit: str | None, code: str, chain: str) -> None:
    """Property: for every actor × form × nominee, the decision is allowed exactly when the actor is a
    platform admin, or an approver/admin of the granting unit (of the province for forms granted outside)."""
    if role != "admin" and unit is None:
        return  # not a valid actor (the envelope refuses it)
    actor = Actor(id="a", unit=unit, role=role)  # type: ignore[arg-type]
    try:
        authority = d.grantor_of(form(code), CHAINS[chain], POLICE)
    except RuleViolation:
        return
    authority_unit = authority.unit_id if authority.kind == "unit" else "p"
    allowed = (role == "admin" and unit is None) or (role in ("approver", "admin") and unit == authority_unit)
    if allowed:
        d.require_decider(actor, authority, "p", "decide")
        return
    with pytest.raises(Forbidden) as e:
        d.require_decider(actor, authority, "p", "decide")
    assert e.value.details[0]["rule"] in ("granting_authority", "role:decide")


@given(
    day=st.dates(dt.date(2023, 1, 1), dt.date(2028, 12, 31)),
    code=st.sampled_from(sorted(f.code for f in CAT.forms)),
    kind=st.sampled_from(["collective", "individual"]),
)
def test_a_form_is_accepted_exactly_when_in_force_and_for_the_nominee_kind(day: dt.date, code: str, kind: str) -> None:
    """Property: submitted on `day` for that day's year, a form is accepted exactly when it is for the
    kind and in force on the day, or earlier that year (then it is read on its last day in force)."""
    f = form(code)
    start, end = max(f.in_force.from_, dt.date(day.year, 1, 1)), min(f.in_force.to or day, day)
    if kind in f.for_ and start <= end:
        expected_day = day if f.in_force_on(day) else end
        assert d.check_form(CAT, code, kind, day.year, day) == (f, expected_day)
        return
    with pytest.raises(RuleViolation) as e:
        d.check_form(CAT, code, kind, day.year, day)
    assert e.value.details[0]["rule"] == ("form_for" if start <= end else "form_in_force")


def test_a_form_that_ended_is_still_recorded_for_a_year_it_was_in_force() -> None:
    """The district chairman's Giấy khen ended on 30 Jun 2025: a 2025 nomination entered in 2026 is read
    on 30 Jun 2025 (its authority, on that day's tree); a 2026 one is refused."""
    assert d.check_form(CAT, "giay_khen_chu_tich_ubnd_huyen", "collective", 2025, TODAY)[1] == dt.date(2025, 6, 30)
    assert d.check_form(CAT, "giay_khen_chu_tich_ubnd_huyen", "collective", 2024, TODAY)[1] == dt.date(2024, 12, 31)
    with pytest.raises(RuleViolation, match="not in force today nor in 2026"):
        d.check_form(CAT, "giay_khen_chu_tich_ubnd_huyen", "collective", 2026, TODAY)
    with pytest.raises(RuleViolation, match="year 2027 is in the future"):
        d.check_form(CAT, "giay_khen_chu_tich_ubnd_xa", "collective", 2027, TODAY)


def test_an_unknown_form_is_said_not_to_exist_and_the_forms_are_named() -> None:
    with pytest.raises(RuleViolation, match="award form huan_chuong does not exist") as e:
        d.check_form(CAT, "huan_chuong", "individual", 2026, TODAY)
    assert "giay_khen_chu_tich_ubnd_xa" in e.value.message and e.value.details[0]["rule"] == "form_exists"


# ------------------------------------------------------------------------------------ keys


def test_invisible_and_compatibility_characters_do_not_make_a_new_achievement() -> None:
    a = "Bắt giữ đối tượng trộm cắp tài sản"
    for variant in (
        a + "\u200b",  # zero-width space
        "\ufeff" + a,  # BOM
        a.replace(" ", "\u00a0"),  # no-break spaces
        a.replace(" ", "\u3000"),  # ideographic spaces
        "Ｂắt giữ đối tượng trộm cắp tài sản",  # fullwidth B
        a.replace("trộm", "trộ\u200dm"),  # zero-width joiner inside a word
    ):
        assert d.achievement_key(variant) == d.achievement_key(a), repr(variant)


def test_the_achievement_is_compared_after_nfc_casefold_and_spacing() -> None:
    a = "Thành tích xuất sắc  trong phong trào"
    assert d.achievement_key(a) == d.achievement_key(
        unicodedata.normalize("NFD", "  THÀNH TÍCH xuất sắc trong\tphong trào ")
    )
    assert d.achievement_key(a) != d.achievement_key("Thành tích xuất sắc trong phong trào năm 2025")


def test_nominee_keys() -> None:
    assert d.nominee_key("collective", "w", None) == "unit:w"
    assert d.nominee_key("individual", "w", "p-1") == d.nominee_key("individual", "h", "p-1") == "person:p-1"


def test_duplicate_and_once_only_refusals_name_the_earlier_nomination_only_to_who_may_see_it() -> None:
    n, _ = _submitted()
    with pytest.raises(RuleViolation, match=n.nomination_id):
        d.refuse_duplicate(n)
    for refuse in (
        lambda: d.refuse_duplicate(n, visible=False),
        lambda: d.refuse_once_only(form("ky_niem_chuong_bao_ve_an_ninh_to_quoc"), "p-1", n, visible=False),
    ):
        with pytest.raises(RuleViolation, match="records you may not see") as e:
            refuse()
        assert n.nomination_id not in e.value.message and "nomination_id" not in e.value.details[0]
    d.refuse_duplicate(None)
    medal = form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    with pytest.raises(RuleViolation, match="once per person"):
        d.refuse_once_only(medal, "p-1", n)
    d.refuse_once_only(medal, "p-1", None)
    d.refuse_once_only(form("giay_khen_chu_tich_ubnd_xa"), "p-1", n)  # not once-only


# ------------------------------------------------------------------------------------ workflow


def _submitted(code: str = "giay_khen_chu_tich_ubnd_xa"):
    cmd = c.SubmitNomination(
        nominee=c.Nominee(kind="individual", unit_id="h", person=c.Person(person_id="p-1", name="Lê Thị Hoa")),
        award_form=code,
        year=2026,
        achievement="Thành tích xuất sắc",
    )
    authority = d.grantor_of(form(code), CHAINS["hamlet under ward"], POLICE)
    return d.submit(cmd, "n1", form(code), authority, officer, TODAY, NOW)


def _approve(n, day=dt.date(2026, 8, 5)):
    cmd = c.ApproveNomination(nomination_id=n.nomination_id, decision_no="1/QĐ", decision_date=day)
    return d.approve(n, cmd, "a1", form(n.award_form), CAT, n.grantor, officer, TODAY, NOW)


def test_submit_records_the_nominee_grantor_and_event() -> None:
    n, event = _submitted()
    assert (n.status, n.version, n.nominee_key, n.grantor.unit_id) == ("submitted", 1, "person:p-1", "w")
    assert (event.aggregate, event.name, event.subject, event.aggregate_version) == ("nomination", "submitted", "n1", 1)
    assert event.data.forwarded is False and event.data.submitted_on == TODAY


def test_return_resubmit_approve_and_the_states_that_refuse() -> None:
    n, _ = _submitted()
    returned, e1 = d.return_(n, c.ReturnNomination(nomination_id="n1", reason="thiếu hồ sơ"), officer, TODAY)
    assert (returned.status, returned.version, e1.aggregate_version) == ("returned", 2, 2)
    with pytest.raises(Conflict, match="returned"):
        _approve(returned)
    with pytest.raises(Conflict):
        d.return_(returned, c.ReturnNomination(nomination_id="n1", reason="x"), officer, TODAY)
    with pytest.raises(RuleViolation, match="person_id"):
        d.resubmit(
            returned,
            c.ResubmitNomination(nomination_id="n1", person=c.Person(person_id="other", name="X")),
            officer,
            TODAY,
        )
    again, _ = d.resubmit(
        returned,
        c.ResubmitNomination(
            nomination_id="n1",
            achievement="Thành tích mới",
            person=c.Person(person_id="p-1", name="Lê Thị Hoa", position="Tổ phó"),
        ),
        officer,
        TODAY,
    )
    assert (again.status, again.achievement_key, again.nominee.person.position) == (
        "resubmitted",
        "thành tích mới",
        "Tổ phó",
    )
    with pytest.raises(Conflict):
        d.resubmit(again, c.ResubmitNomination(nomination_id="n1"), officer, TODAY)
    approved, award, e3 = _approve(again)
    assert (approved.status, approved.award_id, award.amount_vnd, e3.aggregate_version) == (
        "approved",
        "a1",
        710_000,
        4,
    )
    assert [s.event for s in approved.steps] == ["submitted", "returned", "resubmitted", "approved"]
    for act in (
        lambda: _approve(approved),
        lambda: d.reject(approved, c.RejectNomination(nomination_id="n1", reason="x"), officer, TODAY),
        lambda: d.return_(approved, c.ReturnNomination(nomination_id="n1", reason="x"), officer, TODAY),
    ):
        with pytest.raises(Conflict):
            act()


def test_a_decision_is_not_in_the_future_and_the_form_must_be_in_force_on_its_date() -> None:
    n, _ = _submitted()
    with pytest.raises(RuleViolation, match="in the future"):
        _approve(n, TODAY + dt.timedelta(days=1))
    _approve(n, TODAY)  # today is fine
    district = d.submit(
        c.SubmitNomination(
            nominee=c.Nominee(kind="collective", unit_id="h"),
            award_form="giay_khen_chu_tich_ubnd_huyen",
            year=2025,
            achievement="x",
        ),
        "n2",
        form("giay_khen_chu_tich_ubnd_huyen"),
        d.grantor_of(form("giay_khen_chu_tich_ubnd_huyen"), CHAINS["hamlet under old ward under district"], None),
        officer,
        dt.date(2025, 6, 1),
        NOW,
    )[0]
    _approve(district, dt.date(2025, 6, 30))
    with pytest.raises(RuleViolation, match="not in force on the decision date 2025-07-01"):
        _approve(district, dt.date(2025, 7, 1))


def test_reject_and_its_decision_date() -> None:
    n, _ = _submitted()
    with pytest.raises(RuleViolation):
        d.reject(
            n,
            c.RejectNomination(nomination_id="n1", reason="x", decision_date=TODAY + dt.timedelta(days=1)),
            officer,
            TODAY,
        )
    rejected, e = d.reject(n, c.RejectNomination(nomination_id="n1", reason="không đủ tiêu chuẩn"), officer, TODAY)
    assert (rejected.status, e.data.reason) == ("rejected", "không đủ tiêu chuẩn")


FEST = d.KnownFestival("f1", "w", dt.date(2026, 8, 10), "held", 2026)


def test_confer_on_the_festivals_date_not_before_the_decision_and_once() -> None:
    n, _ = _submitted()
    _, award, _ = _approve(n)
    with pytest.raises(RuleViolation, match="conferred on its date"):
        d.confer(
            award, c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 11), festival_id="f1"), FEST, None, TODAY
        )
    with pytest.raises(RuleViolation, match="before the decision"):
        d.confer(award, c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 4)), None, None, TODAY)
    conferred, e = d.confer(
        award, c.ConferAward(award_id="a1", conferred_on=FEST.date, festival_id="f1"), FEST, "Chủ tịch", TODAY
    )
    assert (conferred.status, conferred.festival_id, e.aggregate_version, e.data.presented_by) == (
        "conferred",
        "f1",
        1,
        "Chủ tịch",
    )
    with pytest.raises(Conflict):
        d.confer(conferred, c.ConferAward(award_id="a1", conferred_on=FEST.date), None, None, TODAY)


def test_revoke_keeps_the_award_once_and_after_its_decision() -> None:
    n, _ = _submitted()
    _, award, _ = _approve(n)
    cmd = c.RevokeAward(award_id="a1", reason="gian dối", decision_no="2/QĐ", decision_date=dt.date(2026, 9, 1))
    with pytest.raises(RuleViolation, match="before the award's decision"):
        d.revoke(award, cmd.model_copy(update={"decision_date": dt.date(2026, 8, 1)}), officer, TODAY)
    revoked, e = d.revoke(award, cmd, officer, TODAY)
    assert (revoked.status, revoked.revocation.decision_no, e.aggregate_version) == ("revoked", "2/QĐ", 1)
    with pytest.raises(Conflict, match="already revoked"):
        d.revoke(revoked, cmd, officer, TODAY)
    with pytest.raises(Conflict):
        d.confer(revoked, c.ConferAward(award_id="a1", conferred_on=TODAY), None, None, TODAY)


def test_festival_references() -> None:
    assert d.check_festival(FEST, "f1", ["h", "w", "p"]) is FEST
    with pytest.raises(NotFound, match="not known to awards"):
        d.check_festival(None, "f9", ["h"])
    with pytest.raises(RuleViolation, match="neither the unit nor one of its ancestors"):
        d.check_festival(FEST, "f1", ["c", "p"])
    with pytest.raises(RuleViolation, match="cancelled"):
        d.check_festival(d.KnownFestival("f2", "w", TODAY, "cancelled", 2026), "f2", ["w"])


def test_gift_dates() -> None:
    cmd = c.RecordGift(
        unit_id="h",
        beneficiary_kind="martyr_family",
        recipients=3,
        value_vnd=1_500_000,
        funding_source="Quỹ",
        festival_id="f1",
    )
    gift, e = d.record_gift(cmd, "g1", FEST, officer, TODAY, NOW)
    assert (gift.given_on, gift.year, e.data.value_vnd) == (FEST.date, 2026, 1_500_000)
    plain, _ = d.record_gift(cmd.model_copy(update={"festival_id": None}), "g2", None, officer, TODAY, NOW)
    assert plain.given_on == TODAY
    with pytest.raises(RuleViolation, match="in the future"):
        d.record_gift(
            cmd.model_copy(update={"given_on": TODAY + dt.timedelta(days=1)}), "g3", None, officer, TODAY, NOW
        )


def test_nominee_shape_is_validated() -> None:
    with pytest.raises(ValueError, match="needs person"):
        c.Nominee(kind="individual", unit_id="h")
    with pytest.raises(ValueError, match="has no person"):
        c.Nominee(kind="collective", unit_id="h", person=c.Person(person_id="x", name="X"))


def test_confer_is_not_recorded_in_the_future() -> None:
    n, _ = _submitted()
    _, award, _ = _approve(n)
    with pytest.raises(RuleViolation, match="in the future"):
        d.confer(award, c.ConferAward(award_id="a1", conferred_on=TODAY + dt.timedelta(days=1)), None, None, TODAY)


def test_years_hold_together() -> None:
    """A decision is not before the nomination's year; a nomination's festival is of its year or the next."""
    n, _ = _submitted()
    with pytest.raises(RuleViolation, match="before the nomination's year 2026"):
        _approve(n, dt.date(2025, 12, 31))
    fest_2025 = d.KnownFestival("f0", "w", dt.date(2025, 8, 1), "held", 2025)
    with pytest.raises(RuleViolation, match="of 2024 or 2025") as e:
        d.check_festival(FEST, "f1", ["h", "w"], 2024)
    assert e.value.details[0]["rule"] == "festival_year"
    assert d.check_festival(FEST, "f1", ["h", "w"], 2025) is FEST  # next year's festival
    assert d.check_festival(fest_2025, "f0", ["h", "w"], 2025) is fest_2025


def test_the_police_agency_is_not_a_provincial_specialised_agency() -> None:
    with pytest.raises(RuleViolation):
        d.grantor_of(form("giay_khen_thu_truong_co_quan_chuyen_mon_tinh"), [POLICE, P], POLICE)


def test_the_decision_records_the_authority_of_its_date_on_the_nomination() -> None:
    n, _ = _submitted()
    moved = c.Authority(kind="unit", unit_id="w2", name="Chủ tịch UBND cấp xã (Phường 2)")
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1/QĐ", decision_date=dt.date(2026, 8, 5))
    approved, award, _ = d.approve(n, cmd, "a1", form(n.award_form), CAT, moved, officer, TODAY, NOW)
    assert approved.grantor == moved == award.decided_by


def test_a_collective_resubmitted_with_a_person_is_told_so() -> None:
    cmd = c.SubmitNomination(
        nominee=c.Nominee(kind="collective", unit_id="h"),
        award_form="giay_khen_chu_tich_ubnd_xa",
        year=2026,
        achievement="x",
    )
    n, _ = d.submit(
        cmd, "n3", form(cmd.award_form), c.Authority(kind="unit", unit_id="w", name="x"), officer, TODAY, NOW
    )
    returned, _ = d.return_(n, c.ReturnNomination(nomination_id="n3", reason="x"), officer, TODAY)
    with pytest.raises(RuleViolation, match="a collective nominee has no person"):
        d.resubmit(
            returned, c.ResubmitNomination(nomination_id="n3", person=c.Person(person_id="p", name="P")), officer, TODAY
        )


def test_lists_sort_newest_first_by_date_then_arrival_whatever_the_ids() -> None:
    early = d.sort_key(dt.date(2026, 8, 1), NOW, "zzz")
    later_same_day = d.sort_key(dt.date(2026, 8, 1), NOW + dt.timedelta(microseconds=1), "aaa")
    next_day = d.sort_key(dt.date(2026, 8, 2), NOW - dt.timedelta(days=30), "aaa")
    assert sorted([early, next_day, later_same_day], reverse=True) == [next_day, later_same_day, early]


def test_a_township_is_a_commune_level_granting_authority() -> None:
    """Thị trấn (township), in trees before 1 Jul 2025: its chairman grants the commune-level Giấy khen."""
    township = d.Ancestor("tt", "township", "Thị trấn Thuận An")
    hamlet = d.Ancestor("h", "residential_group", "Tổ dân phố 2")
    got = d.grantor_of(form("giay_khen_chu_tich_ubnd_xa"), [hamlet, township, DISTRICT, P], POLICE)
    assert (got.kind, got.unit_id) == ("unit", "tt")


def test_an_award_is_conferred_on_its_decision_day_itself() -> None:
    n, _ = _submitted()
    _, award, _ = _approve(n)
    conferred, _ = d.confer(award, c.ConferAward(award_id="a1", conferred_on=award.decision_date), None, None, TODAY)
    assert conferred.conferred_on == award.decision_date


def test_a_gift_counts_in_the_year_it_was_given_not_the_year_it_is_recorded() -> None:
    cmd = c.RecordGift(
        unit_id="h",
        beneficiary_kind="poor_household",
        recipients=1,
        value_vnd=500_000,
        funding_source="Quỹ",
        given_on=dt.date(2025, 12, 30),
    )
    gift, e = d.record_gift(cmd, "g1", None, officer, TODAY, NOW)  # recorded in 2026
    assert (gift.year, e.data.year) == (2025, 2025)
