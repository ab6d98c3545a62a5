"""Tokens for the development issuer of the embedded mode, and for tests.

`make up` creates an issuer key under `.antq-data/issuer/` (an EC P-256 private key, and the JWKS
of its public half, which the services read): `antq token …` and the CLI sign with it. In
production tokens come from the province's identity provider; nothing here is used there."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

DEV_ISSUER = "antq-dev"
AUDIENCE = "antq"


class Issuer:
    def __init__(self, key: ec.EllipticCurvePrivateKey, kid: str, issuer: str = DEV_ISSUER) -> None:
        self.key = key
        self.kid = kid
        self.issuer = issuer

    @classmethod
    def create(cls, folder: Path, issuer: str = DEV_ISSUER) -> Issuer:
        """The issuer kept in `folder` (private.pem, jwks.json), created on first use."""
        folder.mkdir(parents=True, exist_ok=True)
        pem = folder / "private.pem"
        if not pem.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            tmp = pem.with_suffix(".tmp")
            tmp.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            tmp.chmod(0o600)
            tmp.rename(pem)
        found = cls.load(folder, issuer)
        (folder / "jwks.json").write_text(json.dumps(found.jwks(), indent=2))
        return found

    @classmethod
    def load(cls, folder: Path, issuer: str = DEV_ISSUER) -> Issuer:
        key = serialization.load_pem_private_key((folder / "private.pem").read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(key, uuid.uuid5(uuid.NAMESPACE_OID, public.hex()).hex[:16], issuer)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def token(
        self,
        actor_id: str,
        unit: str | None,
        role: str,
        ttl: float = 3600.0,
        audience: str = AUDIENCE,
        now: dt.datetime | None = None,
        **claims: Any,
    ) -> str:
        issued = now or dt.datetime.now(dt.UTC)
        body = {
            "iss": self.issuer,
            "aud": audience,
            "sub": actor_id,
            "iat": int(issued.timestamp()),
            "exp": int((issued + dt.timedelta(seconds=ttl)).timestamp()),
            "antq_role": role,
            **({"antq_unit": unit} if unit else {}),
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid})
