"""Who the CLI acts as: the token's actor when it has one, the flags' otherwise; flags that disagree
with the token, unknown roles and tokens that are not JWTs are refused before anything is sent."""

from __future__ import annotations

import base64
import json

import pytest

from shared.client.cli.identity import IdentityError, actor_of


def token(**claims) -> str:
    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'EdDSA'})}.{part(claims)}.c2ln"


def test_with_a_token_the_cli_acts_as_the_tokens_actor():
    t = token(sub="u-1", antq_unit="hue-19753", antq_role="officer")
    actor = actor_of("cli", "", "admin", t)  # the flags at their defaults
    assert (actor.id, actor.unit, actor.role) == ("u-1", "hue-19753", "officer")
    same = actor_of("u-1", "hue-19753", "officer", t)  # flags that agree are fine
    assert same == actor
    admin = actor_of("cli", "", "admin", token(sub="ops", antq_role="admin"))
    assert (admin.unit, admin.role) == (None, "admin")


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (("cli", "hue-19754", "admin"), "--actor-unit 'hue-19754' disagrees"),
        (("cli", "", "approver"), "--actor-role 'approver' disagrees"),
        (("someone", "", "admin"), "--actor-id 'someone' disagrees"),
    ],
)
def test_flags_that_disagree_with_the_token_are_refused(flags, said):
    with pytest.raises(IdentityError) as e:
        actor_of(*flags, token(sub="u-1", antq_unit="hue-19753", antq_role="officer"))
    assert said in str(e.value)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("cli", "", "aprover", None), "is not a role"),
        (("cli", "", "officer", None), "--actor-unit is required"),
        (("cli", "", "admin", "\u00b7garbage\u00b7"), "not a JWT"),
        (("cli", "", "admin", "a.b.c"), "cannot be read"),
        (("cli", "", "admin", token(antq_role="admin")), "no `sub`"),
        (("cli", "", "admin", token(sub="x", antq_role="boss")), "no antq_role"),
    ],
)
def test_what_cannot_act_is_said_in_a_sentence(args, said):
    with pytest.raises(IdentityError) as e:
        actor_of(*args)
    assert said in str(e.value)
