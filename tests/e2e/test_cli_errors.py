"""The CLI as a new user meets it: every failure is one or two lines saying what happened and what to
do, never a traceback, and the exit code tells failures apart (1 refused, 2 usage, 3 unreachable)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ANTQ = str(Path(sys.executable).parent / "antq")


def antq(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "120", **(env or {})}
    full.pop("ANTQ_DEBUG", None)
    return subprocess.run([ANTQ, *args], env=full, capture_output=True, text=True, timeout=60)


def short(r: subprocess.CompletedProcess[str], code: int, said: str) -> None:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == code, (r.returncode, r.stderr, r.stdout)
    assert "Traceback" not in r.stderr + r.stdout and len(lines) <= 2, r.stderr
    assert said in " ".join(r.stderr.split()), r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_letter_that_does_not_exist(servers):
    short(antq("dlq", "replay", "7", env={"ANTQ_NATS_URL": servers.nats_url}), 1, "no dead letter 7")


def test_a_misspelled_service(servers):
    r = antq("command", "regisrty", "plan-festival", "{}", env={"ANTQ_NATS_URL": servers.nats_url})
    short(r, 3, "no service answers: check the service's name")


def test_a_misspelled_role(servers):
    short(antq("--actor-role", "aprover", "query", "registry", "units"), 2, "'aprover' is not a role")


def test_the_platform_down():
    r = antq("query", "registry", "units", env={"ANTQ_NATS_URL": f"nats://127.0.0.1:{free_port()}"})
    short(r, 3, "cannot reach NATS at")


def test_a_garbage_token(servers):
    r = antq("query", "registry", "units", env={"ANTQ_NATS_URL": servers.nats_url, "ANTQ_TOKEN": "\u00b7\u00b7\u00b7"})
    short(r, 2, "the token is not a JWT")


def test_actor_flags_that_disagree_with_the_token_are_refused_before_sending():
    import base64
    import json

    claims = base64.urlsafe_b64encode(json.dumps({"sub": "u", "antq_unit": "a", "antq_role": "officer"}).encode())
    token = f"eyJhbGciOiJFZERTQSJ9.{claims.decode().rstrip('=')}.c2ln"
    r = antq(
        "--actor-unit", "b", "query", "registry", "units", env={"ANTQ_TOKEN": token, "ANTQ_NATS_URL": "nats://x:1"}
    )
    short(r, 2, "--actor-unit 'b' disagrees with the token's 'a'")
