"""Movement models without I/O (launch date, festival references, replication), the roles of
DESIGN §2 and the scope rule, and Vietnamese text at the edge."""

from __future__ import annotations

import pytest

from services.registry import domain as d
from shared.authz import require_platform_admin, require_role, require_scope
from shared.contract import registry as c
from shared.contract.envelope import Actor
from shared.contract.errors import Conflict, Forbidden, NotFound, RuleViolation
from shared.contract.text import fold, nfc
from tests.unit.registry.helpers import D, unit


def register(launched=D(2025, 7, 2), festival_id=None):
    return c.RegisterModel(unit_id="u1", name="Camera an ninh", launched_on=launched, festival_id=festival_id)


def test_a_model_is_launched_while_its_unit_exists():
    with pytest.raises(RuleViolation, match="does not exist on 2024-12-31"):
        d.register_model(register(D(2024, 12, 31)), "m", unit())
    m, ev = d.register_model(register(), "m", unit())
    assert (m.unit_id, ev.aggregate_version) == ("u1", 1)


def test_a_models_festival_is_of_its_unit_or_an_ancestor():
    d.register_model(register(festival_id="f"), "m", unit(), "p", ["u1", "p"])
    with pytest.raises(RuleViolation, match="neither this unit nor one of its ancestors"):
        d.register_model(register(festival_id="f"), "m", unit(), "other", ["u1", "p"])
    with pytest.raises(NotFound, match="festival f does not exist"):
        d.register_model(register(festival_id="f"), "m", unit(), None, ["u1", "p"])


def test_replication_is_elsewhere_once_and_not_before_the_launch():
    m, _ = d.register_model(register(), "m", unit())
    rep = c.ReplicateModel(model_id="m", unit_id="u2", replicated_on=D(2025, 8, 1))
    new, record, ev = d.replicate_model(m, rep, unit("u2"), None)
    assert (new.replications, record.unit_id, ev.aggregate_version) == (1, "u2", 2)
    with pytest.raises(Conflict, match="already replicated"):
        d.replicate_model(new, rep, unit("u2"), record)
    with pytest.raises(RuleViolation, match="cannot be replicated there"):
        d.replicate_model(m, rep.model_copy(update={"unit_id": "u1"}), unit("u1"), None)
    with pytest.raises(RuleViolation, match="before the model's launch"):
        d.replicate_model(m, rep.model_copy(update={"replicated_on": D(2025, 7, 1)}), unit("u2"), None)
    with pytest.raises(RuleViolation, match="neither this unit"):
        d.replicate_model(m, rep.model_copy(update={"festival_id": "f"}), unit("u2"), None, "x", ["u2", "p"])


ADMIN, APPROVER, OFFICER = (Actor(id="a", unit="w", role=r) for r in ("admin", "approver", "officer"))  # type: ignore[arg-type]
PLATFORM = Actor(id="ops", unit=None, role="admin")


@pytest.mark.parametrize(
    ("actor", "granted"),
    [
        (OFFICER, {"operate"}),
        (APPROVER, {"operate", "decide"}),
        (ADMIN, {"operate", "decide", "restructure", "campaign"}),
        (PLATFORM, {"operate", "decide", "restructure", "campaign"}),
    ],
)
def test_each_role_grants_what_design_section_2_says(actor, granted):
    for permission in ("operate", "decide", "restructure", "campaign"):
        if permission in granted:
            require_role(actor, permission, "x")
        else:
            with pytest.raises(Forbidden, match=r"need the role (approver|admin) or above") as err:
                require_role(actor, permission, "x")
            assert err.value.details == [{"rule": f"role:{permission}", "role": actor.role}]


def test_an_actor_acts_on_their_unit_and_below_only():
    require_scope(OFFICER, ["h", "w", "p"], "operate", "x")
    require_scope(OFFICER, ["w", "p"], "operate", "x")
    for ancestry in (["p"], ["x", "p"], []):
        with pytest.raises(Forbidden, match="only an actor of the unit or of one of its ancestors") as err:
            require_scope(OFFICER, ancestry, "operate", "x")
        assert err.value.details == [{"rule": "scope"}]
    require_scope(PLATFORM, [], "restructure", "x")  # an admin without a unit: everything


def test_nobody_but_an_admin_changes_the_unit_they_belong_to():
    for actor in (OFFICER, APPROVER):
        with pytest.raises(Forbidden, match="nobody but an admin changes the unit they belong to"):
            require_scope(actor, ["w", "p"], "operate", "update", changes_unit=True)
        require_scope(actor, ["h", "w"], "operate", "update", changes_unit=True)  # a unit below: fine
    require_scope(ADMIN, ["w", "p"], "operate", "update", changes_unit=True)


def test_a_refusal_reads_the_same_whether_or_not_the_target_exists():
    with pytest.raises(Forbidden) as missing:
        require_scope(OFFICER, [], "operate", "update unit x")
    with pytest.raises(Forbidden) as elsewhere:
        require_scope(OFFICER, ["x", "other"], "operate", "update unit x")
    assert missing.value.message == elsewhere.value.message


def test_only_a_platform_admin_registers_a_province():
    require_platform_admin(PLATFORM, "register a province")
    with pytest.raises(Forbidden, match="only a platform admin"):
        require_platform_admin(ADMIN, "register a province")


def test_names_are_one_form_and_match_without_diacritics():
    typed_apart = "Thua\u0323\u0302n Ho\u0301a"  # combining marks, as some keyboards send them
    assert nfc(typed_apart) == "Thuận Hóa"
    assert c.NewUnit(name=typed_apart, kind="ward", parent_id="p").name == "Thuận Hóa"
    assert fold("Thuận Hóa") == fold(typed_apart) == "thuan hoa"
    assert "thuan hoa" in fold("Phường Thuận Hóa")
    assert fold("Đông  Ba") == "dong ba"
