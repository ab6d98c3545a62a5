"""A throwaway certificate authority, for the TLS tests and for trying compose: one CA, and server
certificates for localhost / 127.0.0.1 and the compose host names, as PEM files.

    python -m deploy.certs deploy/tls    # ca.pem, nats.pem, nats-key.pem, mongodb.pem (certificate + key)

Production uses the province's PKI instead; keys never go into the repository (deploy/tls/ is ignored)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_certs(folder: Path, names: tuple[str, ...] = ("nats",), days: int = 1) -> dict[str, Path]:
    """A CA (ca.pem) and, for each name, `<name>.pem` and `<name>-key.pem`, valid for `days`."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "antq CA (not for production)")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        alt = [x509.DNSName("localhost"), x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        paths[name] = folder / f"{name}.pem"
        paths[f"{name}-key"] = folder / f"{name}-key.pem"
        paths[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{name}-key"].write_bytes(_pem_key(key))
        paths[f"{name}-key"].chmod(0o600)
    return paths


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/tls")
    paths = make_certs(folder, ("nats", "mongodb"), days=365)
    # mongod takes its certificate and key in one file
    (folder / "mongodb.pem").write_bytes(paths["mongodb"].read_bytes() + paths["mongodb-key"].read_bytes())
    print(f"wrote a CA and certificates for nats and mongodb in {folder} (for trying compose, not production)")


if __name__ == "__main__":
    main()
