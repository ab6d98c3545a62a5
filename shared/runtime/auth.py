"""Authenticated actors (DESIGN §5): commands and queries carry a JWT from the province's identity
provider (any OIDC issuer) in the NATS header `Authorization: Bearer <token>`.

The token's signature is checked against the issuer's public keys (a JWKS file or URL), and its
`iss`, `aud` and `exp`. The actor is the token's: `sub` (id), `antq_unit` (unit; absent or empty for
a platform admin) and `antq_role`. An envelope whose actor attributes disagree with the claims is
refused with `forbidden`. A command of the durable intake is judged at the time the stream received
it (its expiry against the message's stream timestamp), not when it is processed.

Production requires a token on every command and query. The development mode may accept unsigned
commands (the envelope's actor is then taken at its word), and says so at start."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

from shared.contract.envelope import Actor
from shared.contract.errors import Forbidden

log = logging.getLogger("antq.auth")
MAX_TOKEN_BYTES = 8192  # an identity provider's access token is a few hundred bytes to a few kilobytes
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]  # never "none", never HMAC


@dataclass(frozen=True)
class Presented:
    """What a message presents: its headers and, for the durable intake, when the stream took it."""

    headers: Mapping[str, str] | None = None
    received_at: dt.datetime | None = None  # the JetStream timestamp; None: now

    def bearer(self) -> str | None:
        for key, value in (self.headers or {}).items():
            if key.lower() == "authorization" and isinstance(value, str) and value[:7].lower() == "bearer ":
                return value[7:].strip() or None
        return None


class Verifier:
    """Verifies tokens against the issuer's keys. `required`: refuse a message without one."""

    def __init__(
        self,
        issuer: str | None,
        audience: str,
        jwks_file: str | None = None,
        jwks_url: str | None = None,
        required: bool = True,
        leeway: float = 30.0,
        max_lifetime: float = 86_400.0,
    ) -> None:
        self.issuer = issuer
        self.max_lifetime = max_lifetime
        self.audience = audience
        self.required = required
        self.leeway = leeway
        self._file = Path(jwks_file) if jwks_file else None
        self._set: PyJWKSet | None = None
        self._loaded = 0.0
        self._client = PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None

    @property
    def configured(self) -> bool:
        return self.issuer is not None and (self._file is not None or self._client is not None)

    def _key(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        assert self._file is not None
        kid = jwt.get_unverified_header(token).get("kid")
        if self._set is None or time.monotonic() - self._loaded > 60:  # a rotated key file is re-read
            self._set = PyJWKSet.from_dict(json.loads(self._file.read_text()))
            self._loaded = time.monotonic()
        keys = [k for k in self._set.keys if kid is None or k.key_id == kid]
        if not keys:
            raise jwt.InvalidKeyError(f"no key {kid!r} in the issuer's key set")
        return keys[0].key

    def actor(self, presented: Presented | None, what: str) -> Actor | None:
        """The actor the token proves, or None when the message carries no token and none is required.
        Raises Forbidden for a missing (when required), invalid, expired or foreign token."""
        token = presented.bearer() if presented else None
        if token is None:
            if self.required:
                raise Forbidden(
                    f"{what} carries no token: send `Authorization: Bearer <JWT>` from the identity provider",
                    [{"rule": "token_required"}],
                )
            return None
        if not self.configured:
            raise Forbidden(f"{what} carries a token but no issuer is configured to verify it", [{"rule": "token"}])
        if len(token) > MAX_TOKEN_BYTES:
            raise Forbidden(f"{what}: the token is larger than {MAX_TOKEN_BYTES} bytes", [{"rule": "token_invalid"}])
        at = presented.received_at if presented else None
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_exp": at is None},
            )
        except jwt.ExpiredSignatureError:
            raise Forbidden(f"{what}: the token has expired", [{"rule": "token_expired"}]) from None
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            raise Forbidden(f"{what}: the token is not valid ({exc})"[:300], [{"rule": "token_invalid"}]) from None
        if at is not None and float(claims["exp"]) + self.leeway < at.timestamp():
            raise Forbidden(
                f"{what}: the token had expired when the stream received the command", [{"rule": "token_expired"}]
            )
        issued = float(claims.get("iat") or (at or dt.datetime.now(dt.UTC)).timestamp())
        if float(claims["exp"]) - issued > self.max_lifetime + self.leeway:
            raise Forbidden(
                f"{what}: the token lives longer than {self.max_lifetime:g} s (ANTQ_AUTH_MAX_TOKEN_SECONDS)",
                [{"rule": "token_invalid"}],
            )
        role = claims.get("antq_role")
        if role not in ("officer", "approver", "admin"):
            raise Forbidden(f"{what}: the token has no antq_role of officer, approver or admin", [{"rule": "token"}])
        unit = claims.get("antq_unit") or None
        if unit is None and role != "admin":
            raise Forbidden(f"{what}: the token has no antq_unit", [{"rule": "token"}])
        for claim, value in (("sub", claims["sub"]), ("antq_unit", unit)):
            if value is not None and not (isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable()):
                # the claims become the envelope's actor attributes: the same limits (no control characters)
                raise Forbidden(
                    f"{what}: the token's {claim} is not an id (1 to 128 printable characters)",
                    [{"rule": "token_invalid", "claim": claim}],
                )
        return Actor(id=str(claims["sub"]), unit=unit, role=role)


def reconcile(claimed: Actor | None, envelope: dict[str, Any], what: str) -> dict[str, Any]:
    """The envelope's actor attributes, checked against the token's claims: each one present must
    agree, and those absent are filled from the claims."""
    if claimed is None:
        return envelope
    mine = {"actorid": claimed.id, "actorunit": claimed.unit or "", "actorrole": claimed.role}
    for attr, value in mine.items():
        given = envelope.get(attr)
        if given is not None and (given or "") != value:
            raise Forbidden(
                f"{what}: the envelope's {attr} {given!r} is not the token's ({value!r})",
                [{"rule": "actor_mismatch", "attribute": attr}],
            )
    return {**envelope, **mine}


def verifier_of(settings: Any) -> Verifier | None:
    """The service's verifier: None in development without an issuer (unsigned commands, as before)."""
    if not settings.auth_issuer and settings.unsigned_accepted:
        return None
    return Verifier(
        settings.auth_issuer or None,
        settings.auth_audience,
        settings.auth_jwks_file or None,
        settings.auth_jwks_url or None,
        required=not settings.unsigned_accepted,
        leeway=settings.auth_leeway_seconds,
        max_lifetime=settings.auth_max_token_seconds,
    )
