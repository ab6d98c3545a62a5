"""Every form has a certificate template that renders with the context it is given: the paragraphs of
a Giấy khen, a Bằng khen and the medal's certificate, in their styles, with the awardee as it was."""

from __future__ import annotations

import datetime as dt

from services.awards import certificates
from services.awards.domain.model import Award
from services.awards.rules import load
from shared.contract import awards as c

CAT = load()


def award(form: str, person: bool = True, register_no: str | None = None) -> Award:
    p = c.PersonFact(person_id="p1", name="Lê Thị Hoa", position="Tổ trưởng") if person else None
    nominee = c.NomineeFact(kind="individual" if person else "collective", unit_id="h", person=p)
    return Award(
        award_id="a1", nomination_id="n1", award_form=form, nominee=nominee, nominee_key="k", unit_id="h",
        unit_name="Tổ dân phố 5 (cũ)", year=2026, achievement="Phát hiện, tố giác tội phạm", decision_no="12/QĐ-UBND",
        decision_date=dt.date(2026, 8, 5), decided_by=c.Authority(kind="unit", unit_id="w", name="x"),
        recorded_by="o", amount_vnd=None, amount_unconfirmed=False, register_no=register_no,
        created_at=dt.datetime(2026, 8, 5, tzinfo=dt.UTC), sort_key="k",
    )  # fmt: skip


def test_every_form_renders_its_certificate():
    for form in CAT.forms:
        assert form.certificate, form.code
        lines = certificates.render(award(form.code), form, "Phường Thuận Hóa", "Thành phố Huế")
        styles = [x["style"] for x in lines]
        assert styles[:2] == ["heading", "motto"] and "title" in styles and "name" in styles, form.code
        assert {"style": "name", "text": "Lê Thị Hoa"} in lines
        assert {"style": "small", "text": "Quyết định số 12/QĐ-UBND ngày 05/08/2026"} in lines


def test_the_wording_follows_the_granting_level_and_a_collective_is_named_as_it_was():
    xa = CAT.form("giay_khen_chu_tich_ubnd_xa")
    lines = certificates.render(award(xa.code, person=False), xa, "Phường Thuận Hóa", "Thành phố Huế")
    texts = [x["text"] for x in lines]
    assert "CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG THUẬN HÓA" in texts and "TẶNG GIẤY KHEN" in texts
    assert {"style": "name", "text": "Tổ dân phố 5 (cũ)"} in lines
    assert "Thành phố Huế, ngày 5 tháng 8 năm 2026" in texts
    police = CAT.form("giay_khen_giam_doc_cong_an_tinh")
    texts = [x["text"] for x in certificates.render(award(police.code), police, "Công an thành phố Huế", None)]
    assert "GIÁM ĐỐC CÔNG AN THÀNH PHỐ HUẾ" in texts and "Tổ trưởng, Tổ dân phố 5 (cũ)" in texts
    medal = CAT.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
    texts = [x["text"] for x in certificates.render(award(medal.code, register_no="SV-9"), medal, None, None)]
    assert "BỘ TRƯỞNG BỘ CÔNG AN" in texts and "Số sổ vàng: SV-9" in texts
