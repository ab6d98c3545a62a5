"""The award rules file: loaded and checked by its schema, in force by date, amounts by the base
salary of the decision date rounded up to 10,000 VND (property-based over form × kind × date)."""

from __future__ import annotations

import datetime as dt
import json
import math
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.awards.rules import RULES_FILE, Catalogue, load, parse, round_up

SCHEMA = RULES_FILE.with_name("award-forms.schema.json")
CODES = {
    "giay_khen_chu_tich_ubnd_xa",
    "giay_khen_chu_tich_ubnd_huyen",
    "giay_khen_thu_truong_co_quan_chuyen_mon_tinh",
    "giay_khen_giam_doc_cong_an_tinh",
    "bang_khen_chu_tich_ubnd_tinh",
    "bang_khen_bo_truong_bo_cong_an",
    "ky_niem_chuong_bao_ve_an_ninh_to_quoc",
}
days = st.dates(dt.date(2023, 1, 1), dt.date(2028, 12, 31))


def test_the_file_has_the_public_codes_and_matches_its_committed_schema() -> None:
    catalogue = load()
    assert {f.code for f in catalogue.forms} == CODES
    assert json.loads(SCHEMA.read_text()) == Catalogue.model_json_schema(by_alias=True), "regenerate the schema"
    as_json = json.loads(json.dumps(yaml.safe_load(RULES_FILE.read_text()), default=str))  # YAML dates → ISO
    jsonschema.validate(as_json, json.loads(SCHEMA.read_text()))


def test_what_the_reference_says_of_each_form() -> None:
    c = load()
    district = c.form("giay_khen_chu_tich_ubnd_huyen")
    assert district.in_force.to == dt.date(2025, 6, 30)
    assert district.in_force_on(dt.date(2025, 6, 30)) and not district.in_force_on(dt.date(2025, 7, 1))
    medal = c.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    assert medal.once_only and medal.for_ == ["individual"] and medal.grantor.outside
    assert [f.code for f in c.forms if f.once_only] == [medal.code]
    assert c.form("bang_khen_bo_truong_bo_cong_an").grantor.outside
    assert c.form("giay_khen_giam_doc_cong_an_tinh").grantor.level == "provincial_police"
    assert c.form("bang_khen_chu_tich_ubnd_tinh").grantor.level == "province"
    assert c.form("giay_khen_chu_tich_ubnd_xa").grantor.level == "commune"


@pytest.mark.parametrize(
    ("code", "day", "kind", "vnd", "unconfirmed"),
    [
        ("giay_khen_chu_tich_ubnd_xa", "2025-06-30", "individual", 360_000, False),  # 0.15 × 2,340,000 = 351,000
        # 0.3 × 2,340,000 = 702,000: from 1 Jul 2025 the rounding (Decree 152 keeping Decree 98's) is UNCONFIRMED
        ("giay_khen_chu_tich_ubnd_xa", "2025-07-01", "individual", 710_000, True),
        ("giay_khen_chu_tich_ubnd_xa", "2025-07-01", "collective", 1_410_000, True),  # 2× (unconfirmed)
        ("bang_khen_chu_tich_ubnd_tinh", "2025-07-01", "individual", 3_510_000, True),  # exact: no rounding
        ("bang_khen_chu_tich_ubnd_tinh", "2025-03-01", "individual", 2_340_000, True),  # 1.0× before Decree 152
        ("giay_khen_chu_tich_ubnd_xa", "2025-01-01", "individual", 360_000, False),  # the 2025 salary is confirmed
        ("giay_khen_chu_tich_ubnd_xa", "2024-12-31", "individual", 360_000, True),  # its date from 1 Jul 2024 is not
        ("giay_khen_chu_tich_ubnd_huyen", "2023-08-19", "individual", 540_000, True),  # 2023: Decree 91/2017, flagged
        ("giay_khen_chu_tich_ubnd_huyen", "2023-03-01", "individual", 450_000, True),  # 0.3 × 1,490,000 = 447,000
        ("bang_khen_chu_tich_ubnd_tinh", "2025-06-30", "individual", 2_340_000, True),
        ("giay_khen_chu_tich_ubnd_xa", "2024-06-30", "individual", 270_000, True),  # 0.15 × 1,800,000 (2023 salary)
        ("ky_niem_chuong_bao_ve_an_ninh_to_quoc", "2025-08-01", "individual", 1_410_000, True),
    ],
)
def test_amounts_on_the_edges(code: str, day: str, kind: str, vnd: int, unconfirmed: bool) -> None:
    c = load()
    amount = c.amount(c.form(code), kind, dt.date.fromisoformat(day))  # type: ignore[arg-type]
    assert amount is not None and (amount.vnd, amount.unconfirmed) == (vnd, unconfirmed)


def test_no_amount_where_the_data_has_none() -> None:
    c = load()
    assert c.amount(c.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc"), "individual", dt.date(2025, 6, 30)) is None
    assert c.amount(c.form("giay_khen_chu_tich_ubnd_xa"), "individual", dt.date(2022, 12, 31)) is None


def test_the_medals_multiple_is_a_cap_and_2023_is_covered_but_flagged() -> None:
    c = load()
    medal = c.amount(c.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc"), "individual", dt.date(2025, 8, 1))
    assert medal is not None and medal.at_most and medal.unconfirmed  # ≤ 0.6×, not exactly 0.6×
    district = c.form("giay_khen_chu_tich_ubnd_huyen")
    assert district.in_force_on(dt.date(2023, 6, 1)) and "in_force" in district.unconfirmed_on(dt.date(2023, 6, 1))
    assert "in_force" not in district.unconfirmed_on(dt.date(2024, 1, 1))
    view = district.view(dt.date(2023, 6, 1), c.base_salary, c.rounding)
    assert view["unconfirmed"] is True and "in_force" in view["unconfirmed_fields"]


@given(vnd=st.fractions(min_value=0, max_value=10**9))
def test_rounding_is_up_to_the_next_ten_thousand(vnd: Fraction) -> None:
    out = round_up(vnd)
    assert out % 10_000 == 0 and vnd <= out < vnd + 10_000


@given(day=days, data=st.data())
def test_amount_is_the_multiple_of_the_base_salary_of_the_decision_date(day: dt.date, data: st.DataObject) -> None:
    c = load()
    form = data.draw(st.sampled_from(c.forms))
    kind = data.draw(st.sampled_from(form.for_))
    amount = c.amount(form, kind, day)
    row = next((r for r in form.amounts if r.covers(day)), None)
    if row is None or getattr(row, kind) is None:
        assert amount is None
        return
    salary = [s for s in c.base_salary if s.from_ <= day][-1]
    assert amount is not None and amount.base_salary_vnd == salary.vnd
    assert amount.vnd == math.ceil(Fraction(getattr(row, kind)) * salary.vnd / 10_000) * 10_000
    rounding = next(r for r in c.rounding if r.covers(day))
    early = form.in_force.confirmed_from is not None and day < form.in_force.confirmed_from
    assert amount.unconfirmed == (kind in row.unconfirmed or salary.unconfirmed or rounding.unconfirmed or early)


@given(day=days)
def test_in_force_is_exactly_the_forms_whose_period_covers_the_day(day: dt.date) -> None:
    c = load()
    expected = {f.code for f in c.forms if f.in_force.from_ <= day and (f.in_force.to is None or day <= f.in_force.to)}
    assert {f.code for f in c.in_force(day)} == expected


def _doc() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["forms"].append(d["forms"][0]), "form codes repeat"),
        (lambda d: d["forms"][0]["amounts"].__setitem__(0, {**d["forms"][0]["amounts"][0], "to": None}), "overlap"),
        (lambda d: d["forms"][6]["amounts"][0].__setitem__("collective", "1.0"), "not for collectives"),
        (lambda d: d["forms"][0]["grantor"].__setitem__("outside", True), "either a level"),
        (lambda d: d["forms"][0].__setitem__("surprise", 1), "Extra inputs"),
        (lambda d: d["forms"][0]["amounts"][0].__setitem__("individual", "a lot"), "pattern"),
        (lambda d: d["base_salary"].reverse(), "date order"),
        (lambda d: d["forms"][1]["in_force"].__setitem__("to", dt.date(2020, 1, 1)), "ends before it starts"),
    ],
)
def test_a_bad_rules_file_is_refused_when_loaded(change, message: str) -> None:
    doc = _doc()
    change(doc)
    with pytest.raises(ValidationError, match=message):
        parse(yaml.safe_dump(doc, allow_unicode=True))


def test_the_service_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "forms.yaml"
    bad.write_text("version: '1'\nbase_salary: []\nforms: []\n")
    with pytest.raises(ValidationError):
        load(bad)


def test_a_new_base_salary_applies_from_its_first_day() -> None:
    """The decision of 1 Jul 2024 is paid on the salary of 1 Jul 2024 (2 340 000), not the one before."""
    c = load()
    form = c.form("bang_khen_chu_tich_ubnd_tinh")
    assert form is not None
    first_day = c.amount(form, "individual", dt.date(2024, 7, 1))
    day_before = c.amount(form, "individual", dt.date(2024, 6, 30))
    assert first_day is not None and day_before is not None
    assert (first_day.base_salary_vnd, day_before.base_salary_vnd) == (2_340_000, 1_800_000)
