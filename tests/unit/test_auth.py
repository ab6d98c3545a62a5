"""Authenticated actors: a token's signature, issuer, audience and expiry are checked against the
issuer's JWKS; the actor comes from the claims and the envelope must agree with them."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest

from shared.client.tokens import Issuer
from shared.contract.envelope import Actor
from shared.contract.errors import Forbidden
from shared.runtime.auth import Presented, Verifier, reconcile

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Issuer:
    return Issuer.create(tmp_path_factory.mktemp("issuer"), issuer="https://id.hue.gov.vn")


@pytest.fixture(scope="module")
def verifier(issuer, tmp_path_factory) -> Verifier:
    folder = tmp_path_factory.mktemp("jwks")
    (folder / "jwks.json").write_text(json.dumps(issuer.jwks()))
    return Verifier(issuer.issuer, "antq", jwks_file=str(folder / "jwks.json"), leeway=5)


def bearer(token: str, at: dt.datetime | None = None) -> Presented:
    return Presented({"Authorization": f"Bearer {token}"}, at)


def refused(verifier: Verifier, presented: Presented | None, rule: str) -> None:
    with pytest.raises(Forbidden) as exc:
        verifier.actor(presented, "command c1")
    assert exc.value.details[0]["rule"] == rule, exc.value.message


def test_a_valid_token_gives_the_actor(verifier, issuer):
    assert verifier.actor(bearer(issuer.token("can-bo-1", "hue-19753", "officer")), "c") == Actor(
        id="can-bo-1", unit="hue-19753", role="officer"
    )
    assert verifier.actor(bearer(issuer.token("root", None, "admin")), "c") == Actor(id="root", unit=None, role="admin")
    # the header name is case-insensitive, as NATS headers may arrive
    token = issuer.token("a", "u", "approver")
    assert verifier.actor(Presented({"authorization": f"bearer {token}"}), "c") is not None


def test_no_token_is_refused_where_required_and_allowed_in_development(verifier, issuer):
    refused(verifier, None, "token_required")
    refused(verifier, Presented({"Authorization": "Basic eDp5"}), "token_required")
    lenient = Verifier(issuer.issuer, "antq", jwks_file=verifier._file and str(verifier._file), required=False)
    assert lenient.actor(None, "c") is None


def test_expired_foreign_and_forged_tokens_are_refused(verifier, issuer, tmp_path):
    refused(verifier, bearer(issuer.token("a", "u", "officer", ttl=-60)), "token_expired")
    refused(verifier, bearer(issuer.token("a", "u", "officer", audience="other")), "token_invalid")
    other = Issuer.create(tmp_path / "other", issuer=issuer.issuer)  # same name, another key
    refused(verifier, bearer(other.token("a", "u", "officer")), "token_invalid")
    stranger = Issuer(issuer.key, issuer.kid, issuer="https://evil.example")
    refused(verifier, bearer(stranger.token("a", "u", "officer")), "token_invalid")
    unsigned = jwt.encode(
        {"iss": issuer.issuer, "aud": "antq", "sub": "a", "exp": NOW.timestamp() + 600, "antq_role": "admin"},
        key=None,
        algorithm="none",
    )
    refused(verifier, bearer(unsigned), "token_invalid")
    hmac = jwt.encode(
        {"iss": issuer.issuer, "aud": "antq", "sub": "a", "exp": NOW.timestamp() + 600, "antq_role": "admin"},
        key="a-public-key-used-as-a-secret-is-the-classic-confusion",
        algorithm="HS256",
        headers={"kid": issuer.kid},
    )
    refused(verifier, bearer(hmac), "token_invalid")
    refused(verifier, bearer(issuer.token("a", None, "officer")), "token")  # an officer of no unit
    refused(verifier, bearer(issuer.token("a", "u", "superuser")), "token")


def test_the_intake_judges_expiry_at_the_stream_time(verifier, issuer):
    issued = NOW - dt.timedelta(hours=2)
    token = issuer.token("a", "u", "officer", ttl=600, now=issued)  # expired an hour and 50 minutes ago
    # the stream took the command while the token was valid: still accepted when processed now
    assert verifier.actor(bearer(token, issued + dt.timedelta(minutes=5)), "c") is not None
    # taken after it expired: refused, whenever it is processed
    refused(verifier, bearer(token, issued + dt.timedelta(minutes=11)), "token_expired")
    refused(verifier, bearer(token), "token_expired")  # by request/reply: now


def test_the_envelope_must_agree_with_the_claims():
    actor = Actor(id="can-bo-1", unit="w1", role="officer")
    filled = reconcile(actor, {"actorid": None, "actorunit": None, "actorrole": None}, "c")
    assert filled == {"actorid": "can-bo-1", "actorunit": "w1", "actorrole": "officer"}
    assert (
        reconcile(actor, {"actorid": "can-bo-1", "actorunit": "w1", "actorrole": "officer"}, "c")["actorunit"] == "w1"
    )
    for attr, value in (("actorid", "someone-else"), ("actorunit", "w2"), ("actorrole", "admin"), ("actorunit", "")):
        with pytest.raises(Forbidden, match=attr):
            reconcile(actor, {"actorid": None, "actorunit": None, "actorrole": None, attr: value}, "c")
    admin = Actor(id="root", unit=None, role="admin")
    assert reconcile(admin, {"actorid": "root", "actorunit": "", "actorrole": "admin"}, "c")["actorunit"] == ""
    assert reconcile(None, {"actorid": "x"}, "c") == {"actorid": "x"}  # unsigned (development)


def test_oversized_and_long_lived_tokens_are_refused(verifier, issuer):
    refused(verifier, bearer(issuer.token("a", "u", "officer", ttl=30 * 365 * 86400)), "token_invalid")
    refused(verifier, bearer(issuer.token("a", "u", "officer", padding="x" * 9000)), "token_invalid")
    assert verifier.actor(bearer(issuer.token("a", "u", "officer", ttl=86000)), "c") is not None


@pytest.mark.parametrize(
    ("sub", "unit"),
    [("officer\tg1", "g1"), ("officer\ng1", "g1"), ("x" * 129, "g1"), ("officer", "g\x001"), ("officer", "u" * 129)],
)
def test_a_token_whose_actor_is_not_an_id_is_refused_not_crashed_on(verifier, issuer, sub, unit):
    """The claims become the envelope's actor attributes: a control character or an over-long id in a
    validly signed token is refused as an invalid token, before anything reads it as an actor."""
    refused(verifier, bearer(issuer.token(sub, unit, "officer")), "token_invalid")
