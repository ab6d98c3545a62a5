"""Who may do and read what (DESIGN §2): the permissions of each role, the scope rule "an actor of the
unit or of an ancestor at the date", and the same rule for reads. One place, applied by every service.

Pure: the caller passes the target's ancestry at the relevant date."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from shared.contract.envelope import Actor, Role
from shared.contract.errors import Forbidden

Permission = Literal["operate", "decide", "restructure", "campaign"]

# What each role of a unit may do in that unit's subtree (DESIGN §2's table).
GRANTS: dict[Role, frozenset[Permission]] = {
    "officer": frozenset({"operate"}),
    "approver": frozenset({"operate", "decide"}),
    "admin": frozenset({"operate", "decide", "restructure", "campaign"}),
}
DESCRIBED: dict[Permission, str] = {
    "operate": "operational data (units below their own, festivals, models, nominations, gifts)",
    "decide": "decisions (on awards: approve, reject, return, revoke; a model's recognition)",
    "restructure": "structural changes (move, merge, split, close units)",
    "campaign": "campaigns (open, close)",
}


def is_platform_admin(actor: Actor) -> bool:
    """An admin without a unit: a platform operator, who may do everything."""
    return actor.role == "admin" and not actor.unit


def lowest_role(permission: Permission) -> Role:
    return next(role for role in ("officer", "approver", "admin") if permission in GRANTS[role])


def require_role(actor: Actor, permission: Permission, what: str) -> None:
    """Refuse early, before any data is read, when the actor's role never grants the permission."""
    if permission in GRANTS[actor.role]:
        return
    raise Forbidden(
        f"actor {actor.id} ({actor.role}) may not {what}: rule: {DESCRIBED[permission]} need the role "
        f"{lowest_role(permission)} or above",
        [{"rule": f"role:{permission}", "role": actor.role}],
    )


def require_scope(
    actor: Actor, ancestry: Sequence[str], permission: Permission, what: str, *, changes_unit: bool = False
) -> None:
    """The actor must hold `permission` and belong to the target unit or one of its ancestors.

    `ancestry` is the target unit followed by its ancestors at the date of the change; it is empty
    when the target does not exist that day. The refusal reads the same either way, so an actor
    without authority learns nothing about units outside their subtree. `changes_unit`: the
    command changes the target unit itself, which only an admin may do to their own unit."""
    require_role(actor, permission, what)
    if is_platform_admin(actor):
        return
    if not ancestry or actor.unit not in ancestry:
        raise Forbidden(
            f"actor {actor.id} of unit {actor.unit} may not {what}: rule: only an actor of the unit or of one "
            "of its ancestors may act on it",
            [{"rule": "scope"}],
        )
    if changes_unit and ancestry[0] == actor.unit and actor.role != "admin":
        raise Forbidden(
            f"actor {actor.id} may not {what}: rule: nobody but an admin changes the unit they belong to",
            [{"rule": "own_unit"}],
        )


ROLES: tuple[Role, ...] = ("officer", "approver", "admin")  # each grants what the one before it does


def require_read(
    actor: Actor,
    ancestry: Sequence[str],
    what: str,
    *,
    above: Sequence[str] | None = None,
    role: Role = "officer",
) -> None:
    """Reads are authorised like writes (DESIGN §2): the target (whose ancestry on the tree date is
    `ancestry`, empty when it does not exist) must be in the actor's subtree, or, for what governs the
    actor (a campaign, an ancestor's record or festival), on the actor's own path up (`above`: the
    actor's unit and its ancestors). `role`: the least role that reads it (recipients' addresses are
    an admin's). An unknown target is refused exactly like one out of scope."""
    if is_platform_admin(actor):
        return
    if ROLES.index(actor.role) < ROLES.index(role):
        raise Forbidden(
            f"actor {actor.id} ({actor.role}) may not read {what}: rule: it is read by the role {role} or above",
            [{"rule": f"read:{role}", "role": actor.role}],
        )
    if ancestry and (actor.unit in ancestry or (above is not None and ancestry[0] in above)):
        return
    raise Forbidden(
        f"actor {actor.id} of unit {actor.unit} may not read {what}: rule: only an actor of the unit or of one of "
        "its ancestors reads it",
        [{"rule": "scope"}],
    )


def require_platform_admin(actor: Actor, what: str) -> None:
    """Some acts have no unit above them to be of (a new province): only a platform admin does them."""
    if not is_platform_admin(actor):
        raise Forbidden(
            f"actor {actor.id} may not {what}: rule: only a platform admin (admin without a unit) may",
            [{"rule": "platform_admin"}],
        )
