"""What each awards command decides once everything is read, and in which order a sender hears it: who
may act (role and scope in one step), what exists (not known yet, not active that day), then the rules."""

from __future__ import annotations

import datetime as dt

import pytest

from services.awards import domain as d
from services.awards.domain import decisions as x
from services.awards.rules import load
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation

TODAY = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
CAT = load()
XA = CAT.form("giay_khen_chu_tich_ubnd_xa")
MEDAL = CAT.form("ky_niem_chuong_bao_ve_an_ninh_to_quoc")
P = d.Ancestor("p", "province", "Thành phố Huế")
W = d.Ancestor("w", "ward", "Phường Thuận Hóa")
H = d.Ancestor("h", "residential_group", "Tổ dân phố 1")
CHAIN = [H, W, P]
OFFICER = Actor(id="o", unit="w", role="officer")
STRANGER = Actor(id="s", unit="elsewhere", role="officer")
APPROVER = Actor(id="a", unit="w", role="approver")
ADMIN = Actor(id="root", unit=None, role="admin")
FEST = d.KnownFestival("f1", "w", dt.date(2026, 8, 10), "held", 2026)
FREE = [(None, False)]


def rule(e: pytest.ExceptionInfo) -> str:
    return str(e.value.details[0].get("rule"))


def submit(**kw):
    cmd = c.SubmitNomination.model_validate(
        {
            "nominee": {"kind": "individual", "unit_id": "h", "person": {"person_id": "p1", "name": "Lê Văn A"}},
            "award_form": "giay_khen_chu_tich_ubnd_xa",
            "year": 2026,
            "achievement": "Thành tích",
            **kw.pop("cmd", {}),
        }
    )
    args = {
        "form": XA,
        "day": TODAY,
        "chain": CHAIN,
        "police": None,
        "festival": None,
        "taken": False,
        "held": FREE,
        "actor": OFFICER,
        "permission": "operate",
        **kw,
    }
    return x.submission(
        cmd,
        "n1",
        args["form"],
        args["day"],
        args["chain"],
        args["police"],
        args["festival"],
        args["taken"],
        args["held"],
        args["actor"],
        args["permission"],
        TODAY,
        NOW,
    )


def test_a_unit_not_known_yet_is_not_found_and_one_not_active_is_a_rule_violation():
    with pytest.raises(NotFound) as e:
        submit(chain=None)
    assert rule(e) == "not_known_yet"
    with pytest.raises(RuleViolation) as e:
        submit(chain=[])
    assert rule(e) == "unit_active"


def test_a_nomination_is_refused_out_of_scope_before_its_rules_are_read():
    with pytest.raises(Forbidden) as e:
        submit(actor=STRANGER, taken=True, festival=None, cmd={"festival_id": "nope"})
    assert rule(e) == "scope"
    n, event = submit()
    assert (n.grantor.unit_id, event.name) == ("w", "submitted")


def test_a_submission_checks_its_festival_then_its_id_then_the_keys_it_would_hold():
    with pytest.raises(NotFound):
        submit(cmd={"festival_id": "f9"})
    with pytest.raises(Conflict):
        submit(cmd={"festival_id": "f1"}, festival=FEST, taken=True)
    earlier, _ = submit()
    with pytest.raises(RuleViolation) as e:
        submit(held=[(earlier, True)])
    assert rule(e) == "one_achievement_one_award" and e.value.details[0]["nomination_id"] == "n1"
    team = {"role": "security_team_member", "years_in_force": 16, "sex": "male"}
    medal, _ = submit(form=MEDAL, cmd={"award_form": MEDAL.code, "eligibility": team})
    with pytest.raises(RuleViolation) as e:
        submit(form=MEDAL, cmd={"award_form": MEDAL.code, "eligibility": team}, held=[(None, False), (medal, False)])
    assert rule(e) == "once_only" and "nomination_id" not in e.value.details[0]


def test_only_the_granting_authority_decides_and_a_missing_nomination_reads_the_same():
    n, _ = submit()
    with pytest.raises(Forbidden) as e:  # the role first: an officer never decides
        x.decider(OFFICER, None, None, None, None, "n9", TODAY, "approve")
    assert rule(e) == "role:decide"
    with pytest.raises(Forbidden) as missing:
        x.decider(Actor(id="b", unit="other", role="approver"), None, None, None, None, "n9", TODAY, "approve")
    with pytest.raises(Forbidden) as there:
        x.decider(Actor(id="b", unit="other", role="approver"), n, XA, CHAIN, None, "n1", TODAY, "approve")
    assert missing.value.details == there.value.details == [{"rule": "granting_authority"}]
    with pytest.raises(NotFound):  # a platform admin is told it does not exist
        x.decider(ADMIN, None, None, None, None, "n9", TODAY, "approve")
    assert x.decider(APPROVER, n, XA, CHAIN, None, "n1", TODAY, "approve").unit_id == "w"
    with pytest.raises(RuleViolation):  # the form has left the rules file: said, not crashed
        x.decider(APPROVER, n, None, CHAIN, None, "n1", TODAY, "approve")
    with pytest.raises(NotFound):
        x.decider(APPROVER, n, XA, None, None, "n1", TODAY, "approve")


def test_an_approval_refuses_a_taken_award_id():
    n, _ = submit()
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1/QĐ", decision_date=dt.date(2026, 8, 5))
    authority = x.decider(APPROVER, n, XA, CHAIN, None, "n1", TODAY, "approve")
    with pytest.raises(Conflict):
        x.approval(n, cmd, "a1", True, XA, CAT, authority, APPROVER, TODAY, NOW)
    _, award, _ = x.approval(n, cmd, "a1", False, XA, CAT, authority, APPROVER, TODAY, NOW)
    assert award.decided_by.unit_id == "w"


def approved():
    n, _ = submit()
    cmd = c.ApproveNomination(nomination_id="n1", decision_no="1/QĐ", decision_date=dt.date(2026, 8, 5))
    authority = x.decider(APPROVER, n, XA, CHAIN, None, "n1", TODAY, "approve")
    return x.approval(n, cmd, "a1", False, XA, CAT, authority, APPROVER, TODAY, NOW)[1]


def test_an_award_is_presented_by_an_officer_of_the_awardee_or_of_the_deciding_unit():
    award = approved()
    cmd = c.ConferAward(award_id="a1", conferred_on=dt.date(2026, 8, 10), festival_id="f1")
    with pytest.raises(Forbidden):
        x.conferral(award, cmd, CHAIN, FEST, XA, STRANGER, "operate", TODAY)
    with pytest.raises(Forbidden):
        x.conferral(None, cmd, None, None, None, STRANGER, "operate", TODAY)
    with pytest.raises(NotFound):
        x.conferral(None, cmd, None, None, None, ADMIN, "operate", TODAY)
    deciding_only = [d.Ancestor("h2", "residential_group", "Tổ 2"), d.Ancestor("v", "ward", "Phường V"), P]
    moved = cmd.model_copy(update={"festival_id": None})
    conferred, _ = x.conferral(award, moved, deciding_only, None, XA, OFFICER, "operate", TODAY)  # W decided it
    assert conferred.presented_by == (XA.grantor.presented_by or award.decided_by.name)
    named = moved.model_copy(update={"presented_by": "Bí thư"})
    by, _ = x.conferral(award, named, CHAIN, None, XA, OFFICER, "operate", TODAY)
    assert by.presented_by == "Bí thư"


def test_a_revocation_is_the_deciding_authoritys_and_refused_the_same_when_missing():
    award = approved()
    cmd = c.RevokeAward(award_id="a1", reason="sai", decision_no="2/QĐ", decision_date=dt.date(2026, 9, 1))
    with pytest.raises(Forbidden) as e:
        x.revocation(award, cmd, CHAIN, OFFICER, TODAY)
    assert rule(e) == "role:decide"
    other = Actor(id="b", unit="other", role="approver")
    with pytest.raises(Forbidden) as there:
        x.revocation(award, cmd, CHAIN, other, TODAY)
    with pytest.raises(Forbidden) as missing:
        x.revocation(None, cmd, None, other, TODAY)
    assert there.value.details == missing.value.details
    revoked, _ = x.revocation(award, cmd, CHAIN, APPROVER, TODAY)
    assert revoked.status == "revoked"


def test_a_gift_is_read_on_its_day_in_scope_at_a_festival_of_its_unit_or_above():
    cmd = c.RecordGift(
        unit_id="h",
        beneficiary_kind="poor_household",
        recipients=1,
        value_vnd=1,
        funding_source="Quỹ",
        festival_id="f1",
    )
    assert x.gift_day(cmd, FEST, TODAY) == FEST.date
    assert x.gift_day(cmd.model_copy(update={"festival_id": None}), None, TODAY) == TODAY
    assert x.gift_day(cmd.model_copy(update={"given_on": dt.date(2026, 7, 2)}), FEST, TODAY) == dt.date(2026, 7, 2)
    with pytest.raises(NotFound):
        x.gift(cmd, "g1", False, None, FEST, OFFICER, "operate", TODAY, NOW)
    with pytest.raises(Forbidden):
        x.gift(cmd, "g1", False, CHAIN, FEST, STRANGER, "operate", TODAY, NOW)
    with pytest.raises(NotFound):
        x.gift(cmd, "g1", False, CHAIN, None, OFFICER, "operate", TODAY, NOW)
    with pytest.raises(Conflict):
        x.gift(cmd, "g1", True, CHAIN, FEST, OFFICER, "operate", TODAY, NOW)
    gift, event = x.gift(cmd, "g1", False, CHAIN, FEST, OFFICER, "operate", TODAY, NOW)
    assert (gift.given_on, event.name) == (FEST.date, "recorded")


def test_a_resubmission_is_in_scope_and_a_corrected_achievement_must_still_be_new():
    n, _ = submit()
    returned, _ = d.return_(n, c.ReturnNomination(nomination_id="n1", reason="thiếu"), APPROVER, TODAY)
    cmd = c.ResubmitNomination(nomination_id="n1", achievement="Thành tích khác")
    with pytest.raises(Forbidden):
        x.resubmission(returned, cmd, XA, CHAIN, None, [], STRANGER, "operate", TODAY)
    with pytest.raises(Forbidden):
        x.resubmission(None, cmd, None, None, None, [], STRANGER, "operate", TODAY)
    with pytest.raises(NotFound):
        x.resubmission(None, cmd, None, None, None, [], ADMIN, "operate", TODAY)
    other, _ = submit(cmd={"achievement": "Thành tích khác"})
    with pytest.raises(RuleViolation) as e:
        x.resubmission(returned, cmd, XA, CHAIN, None, [(other, True)], OFFICER, "operate", TODAY)
    assert rule(e) == "one_achievement_one_award"
    again, _ = x.resubmission(returned, cmd, XA, CHAIN, None, FREE, OFFICER, "operate", TODAY)
    assert again.achievement == "Thành tích khác"
