"""Who the CLI acts as: the actor flags, or, with a token, the token's own claims (read, not verified:
the services verify it). Flags that disagree with the token are refused before anything is sent."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from shared.contract.envelope import Actor

ROLES = ("officer", "approver", "admin")
DEFAULTS = ("cli", "", "admin")  # the flags' defaults: a flag left at its default says nothing
JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class IdentityError(ValueError):
    """What is wrong with the actor flags or the token, in a sentence."""


def claims_of(token: str) -> dict[str, Any]:
    if len(token) > 8192 or not JWT.match(token):
        raise IdentityError("the token is not a JWT (three base64url parts separated by dots)")
    body = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise IdentityError("the token's claims cannot be read (its middle part is not base64url JSON)") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        raise IdentityError("the token names no actor (no `sub` claim)")
    return claims


def actor_of(actor_id: str, unit: str, role: str, token: str | None) -> Actor:
    """The actor of every request: the token's, when there is one; else the flags'."""
    if role not in ROLES:
        raise IdentityError(f"--actor-role {role!r} is not a role: use officer, approver or admin")
    if token is None:
        if not unit and role != "admin":
            raise IdentityError("--actor-unit is required unless --actor-role is admin")
        return Actor(id=actor_id, unit=unit or None, role=role)
    claims = claims_of(token)
    mine = (str(claims["sub"]), str(claims.get("antq_unit") or ""), str(claims.get("antq_role") or ""))
    if mine[2] not in ROLES:
        raise IdentityError("the token has no antq_role of officer, approver or admin")
    given = (actor_id, unit, role)
    for name, flag, claim, default in zip(("id", "unit", "role"), given, mine, DEFAULTS, strict=True):
        if flag != default and flag != claim:
            raise IdentityError(
                f"--actor-{name} {flag!r} disagrees with the token's {claim or 'none'!r}: the token says who acts "
                "(drop the --actor-* flags, or use a token for that actor)"
            )
    return Actor(id=mine[0], unit=mine[1] or None, role=mine[2])
