"""Fuzzing every command and query subject of every service in the table, over the bus.

Inputs come from the committed JSON Schemas (hypothesis-jsonschema draws payloads of the right
shape), then hostile values are planted in them: lone surrogates, control and bidi characters,
decomposed Vietnamese, huge strings and numbers, Mongo operators, injection strings. Raw bytes and
broken envelopes come beside them. Every input must get an answer; none may be `internal`; a
command whose id is readable is answered with that id.

CI runs ANTQ_FUZZ_EXAMPLES (default 25) payloads per subject; `make fuzz` runs more and prints
how many were tried, refused and internal."""

from __future__ import annotations

import json
import os
import random
import uuid
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import nats
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from shared.contract.services import SERVICES
from shared.contract.subjects import command_subject, command_type, query_subject

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
EXAMPLES = int(os.environ.get("ANTQ_FUZZ_EXAMPLES", "25"))
HOSTILE_TEXT = [
    "\ud800",  # a lone surrogate: valid JSON escape, not valid Unicode
    "a\udfffb",
    "\x00",
    "tab\tand\nnewline\x07bell",
    "\u202eRTL override",
    "\ufeffBOM",
    "Thua\u0300n Hoa\u0301",  # decomposed: NFC at the edge
    "𝕏 astral 😀",
    "x" * 5000,
    "ớ" * 70_000,  # a string of bytes near the payload limit
    "' OR '1'='1",
    "{{7*7}} ${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "",
    " ",
]
HOSTILE_VALUES: list[Any] = [
    {"$gt": ""},
    {"$where": "sleep(1000)"},
    [],
    None,
    True,
    -1,
    2**63,
    -(2**70),
    1e308,
    "9999-12-31",
    "0001-01-01",
    "2025-02-30",
]


def draw(schema: dict[str, Any], n: int, seed: int) -> list[Any]:
    """`n` payloads of the schema's shape (hypothesis, generate phase only: a fuzzer, not a test)."""
    out: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(from_schema(schema), st.integers(0, 2**32))
    def collect(value: Any, salt: int) -> None:
        out.append(value)

    collect()
    random.Random(seed).shuffle(out)
    return out


def plant(value: Any, rng: random.Random) -> Any:
    """The same shape with hostile values planted at some leaves (and sometimes a key)."""
    if isinstance(value, dict):
        out = {k: plant(v, rng) for k, v in value.items()}
        if rng.random() < 0.1:
            out[rng.choice(["$set", "__proto__", "\ud800", "x" * 300])] = rng.choice(HOSTILE_TEXT)
        return out
    if isinstance(value, list):
        return [plant(v, rng) for v in value]
    if rng.random() < 0.35:
        return rng.choice(HOSTILE_TEXT + HOSTILE_VALUES) if isinstance(value, str) else rng.choice(HOSTILE_VALUES)
    return value


def envelope(service: str, action: str, data: Any, rng: random.Random) -> tuple[str, bytes]:
    command_id = str(uuid.uuid4())
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": command_id,
        "source": "fuzz",
        "type": command_type(service, action),
        "datacontenttype": "application/json",
        "data": data,
        "actorid": "fuzz",
        "actorunit": "",
        "actorrole": "admin",
    }
    if rng.random() < 0.15:  # a hostile envelope attribute
        doc[rng.choice(["actorid", "actorunit", "actorrole", "subject", "time", "correlationid"])] = rng.choice(
            HOSTILE_TEXT + HOSTILE_VALUES
        )
    return command_id, json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


def raw_inputs(rng: random.Random, n: int) -> list[bytes]:
    fixed = [
        b"",
        b"{",
        b"[" * 100_000,
        b'{"a":' * 5000,
        b"\xff\xfe\xfd",
        b"null",
        b"[]",
        b'"just a string"',
        b"{}",
        b'{"specversion": "1.0"}',
        b'{"id": "\\ud800", "data": {}}',
        b'{"id": "x", "data": {"name": "\\ud800"}}',
        b"x" * 300_000,
    ]
    return fixed + [rng.randbytes(rng.randint(1, 2000)) for _ in range(n)]


async def ask(nc, subject: str, body: bytes) -> dict[str, Any] | None:
    """The reply; None for a body above the broker's max_payload, which the client cannot even send."""
    if len(body) > nc.max_payload:
        return None
    msg = await nc.request(subject, body, timeout=15)
    reply = json.loads(msg.data)
    assert isinstance(reply, dict) and isinstance(reply.get("ok"), bool), reply
    return reply


@pytest.fixture(scope="module")
async def services(servers, private_nats):
    """Every service of the table, in-process, on a broker of the module's own."""
    hosts = []
    for entry in SERVICES:
        factory = entry.load_app()
        host = factory()
        host.settings = host.settings.model_copy(
            update={
                "nats_url": private_nats,
                "mongodb_url": servers.mongodb_url,
                "mongodb_db": f"antq_{entry.name}_fuzz_{uuid.uuid4().hex[:6]}",
                "http_port": 0,
            }
        )
        await host.start()
        hosts.append(host)
    yield hosts
    for host in hosts:
        await host.stop()


async def test_every_input_gets_an_answer_and_none_is_internal(services, private_nats, capsys):
    rng = random.Random(1234)
    nc = await nats.connect(private_nats)
    tally: Counter[str] = Counter()
    per_service: dict[str, Counter[str]] = {entry.name: Counter() for entry in SERVICES}
    internal: list[str] = []

    def count(service: str, reply: dict[str, Any]) -> None:
        outcome = "refused" if not reply["ok"] else "accepted"
        for c in (tally, per_service[service]):
            c["tried"] += 1
            c[outcome] += 1
            if not reply["ok"] and reply["error"]["code"] == "internal":
                c["internal"] += 1

    try:
        for entry in SERVICES:
            subjects = [
                (command_subject(entry.name, a), SCHEMAS / entry.name / "commands" / f"{a}.json", a)
                for a in entry.commands
            ] + [
                (query_subject(entry.name, q), SCHEMAS / entry.name / "queries" / f"{q}.json", None)
                for q in entry.queries
            ]
            for subject, path, action in subjects:
                schema = json.loads(path.read_text(encoding="utf-8"))
                for i, data in enumerate(draw(schema, EXAMPLES, zlib.crc32(subject.encode()))):
                    if i % 2:
                        data = plant(data, rng)
                    if action is None:
                        command_id, body = (
                            None,
                            json.dumps(data, ensure_ascii=bool(i % 3)).encode("utf-8", "surrogatepass"),
                        )
                    else:
                        command_id, body = envelope(entry.name, action, data, rng)
                    reply = await ask(nc, subject, body)
                    if reply is None:
                        tally["unsendable"] += 1
                        continue
                    count(entry.name, reply)
                    if not reply["ok"] and reply["error"]["code"] == "internal":
                        internal.append(f"{subject}: {body[:300]!r} → {reply}")
                    if action is not None:
                        assert reply["id"] == command_id, (subject, body[:300], reply)
                for body in raw_inputs(rng, max(3, EXAMPLES // 5)):
                    reply = await ask(nc, subject, body)
                    if reply is None:
                        tally["unsendable"] += 1
                        continue
                    count(entry.name, reply)
                    if not reply["ok"] and reply["error"]["code"] == "internal":
                        internal.append(f"{subject}: {body[:300]!r} → {reply}")
    finally:
        await nc.close()
    with capsys.disabled():
        print(f"\nfuzz: {EXAMPLES} drawn per subject, every command and query subject of every service")
        print(f"  {'service':<14}{'subjects':>9}{'tried':>8}{'refused':>9}{'accepted':>10}{'internal':>10}")
        for entry in SERVICES:
            c = per_service[entry.name]
            subjects = len(entry.commands) + len(entry.queries)
            print(
                f"  {entry.name:<14}{subjects:>9}{c['tried']:>8}{c['refused']:>9}{c['accepted']:>10}{c['internal']:>10}"
            )
        print(f"  {'all':<14}{'':>9}{tally['tried']:>8}{tally['refused']:>9}{tally['accepted']:>10}{len(internal):>10}")
    assert internal == []
    assert tally["accepted"] > 0  # the drawn shapes do reach the handlers, not only the validators


def test_the_fuzzer_draws_the_shapes_of_the_committed_schemas():
    schema = json.loads((SCHEMAS / "registry" / "commands" / "register-unit.json").read_text(encoding="utf-8"))
    drawn = draw(schema, 10, 1)
    assert len(drawn) == 10
    assert all({"name", "kind", "valid_from"} <= set(d) for d in drawn)
