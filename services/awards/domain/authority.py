"""Who grants and who decides (DESIGN §2): the granting authority of a form for a nominee, from the
nominee's ancestry on the day; the province's police agency; the decider's check.

Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.awards.domain.model import Ancestor
from services.awards.rules import Form
from shared.authz import is_platform_admin, require_role
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import Forbidden, RuleViolation
from shared.contract.registry import COMMUNE_LEVEL

POLICE_FLAG = "provincial_police"


def province_of(chain: Sequence[Ancestor]) -> str | None:
    """The province at the top of a nominee's ancestry, if the chain reaches one."""
    return chain[-1].unit_id if chain and chain[-1].kind == "province" else None


def police_of(agencies: Iterable[Ancestor]) -> Ancestor | None:
    """The province's police agency among the units directly under it: the one flagged provincial_police."""
    return next((u for u in agencies if POLICE_FLAG in u.flags), None)


def grantor_of(form: Form, chain: Sequence[Ancestor], police: Ancestor | None) -> c.Authority:
    """Who grants `form` to a nominee whose ancestry (nominee's unit first) is `chain`.

    commune: the commune-level unit containing the nominee; district: the district; province: the
    province; provincial_agency: the agency directly under the province that contains the nominee;
    provincial_police: the province's police agency; outside: the authority named by the data."""
    g = form.grantor
    if g.outside:
        return c.Authority(kind="outside", name=g.name, level="outside")
    found: Ancestor | None = None
    if g.level == "commune":
        found = next((u for u in chain if u.kind in COMMUNE_LEVEL), None)
    elif g.level in ("district", "province"):
        found = next((u for u in chain if u.kind == g.level), None)
    elif g.level == "provincial_agency":
        found = next(
            (
                u
                for i, u in enumerate(chain[:-1])
                if u.kind == "agency" and chain[i + 1].kind == "province" and POLICE_FLAG not in u.flags
            ),
            None,
        )
    elif g.level == "provincial_police":
        found = police
    if found is None:
        where = chain[0].unit_id if chain else "?"
        raise RuleViolation(
            f"{form.code} is granted by {g.name}, and unit {where} has no such authority above it on that date",
            [{"rule": "grantor", "award_form": form.code, "level": g.level}],
        )
    return c.Authority(kind="unit", unit_id=found.unit_id, name=f"{g.name} ({found.name})", level=g.level)


def require_decider(actor: Actor, grantor: c.Authority, province_id: str | None, what: str) -> None:
    """Decisions (approve, reject, return, revoke) are the granting authority's: an approver or admin
    of that unit; for a form granted outside the province, of the province, which records the outside
    decision. A platform admin may do everything (DESIGN §2)."""
    require_role(actor, "decide", what)
    if is_platform_admin(actor):
        return
    authority = grantor.unit_id if grantor.kind == "unit" else province_id
    if authority is None or actor.unit != authority:
        raise Forbidden(
            f"actor {actor.id} of unit {actor.unit} may not {what}: rule: only an approver or admin of the "
            "granting authority decides (for a form granted outside the province: of the province)",
            [{"rule": "granting_authority"}],
        )
