"""`antq simulate season` and `antq token` refuse bad options before anything is sent (exit 2): no
platform runs here, so a command that tried to send would exit 3 (cannot reach NATS) instead."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shared.client.cli import app

NOWHERE = {"ANTQ_NATS_URL": "nats://127.0.0.1:9", "COLUMNS": "200"}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ([], "give --scope (an existing scope) or --units N"),
        (["--units", "60", "--scope", "hue"], "give --scope (an existing scope) or --units N"),
        (["--units", "5"], "--units: between 30 and 200000"),
        (["--units", "60", "--year", "1999"], "the festival began in 2005"),
        (["--units", "60", "--year", "2999"], "its window is not over"),
        (["--units", "60", "--year", "2024", "--settle", "-1"], "--settle: more than 0"),
        (["--units", "60", "--year", "2024", "--email", "not an email"], "--email 'not an email'"),
        (["--units", "60", "--year", "2024", "--out-dir", "/no/such/folder"], "--out-dir"),
        (["--units", "60", "--year", "2024", "--chaos", "--data", "/no/such/folder"], "--chaos runs against"),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(args, said, tmp_path):
    r = CliRunner().invoke(app, ["simulate", "season", *args], env=NOWHERE)
    assert r.exit_code == 2, r.output
    assert said in " ".join(r.output.split())


@pytest.mark.parametrize("ttl", ["0", "-5", "86401", "999999"])
def test_a_token_the_platform_would_refuse_is_not_issued(ttl, tmp_path):
    from shared.client.tokens import Issuer

    Issuer.create(tmp_path)
    args = ["token", "--actor-id", "x", "--role", "admin", "--ttl", ttl]
    r = CliRunner().invoke(app, args, env={**NOWHERE, "ANTQ_ISSUER_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "--ttl" in r.output
