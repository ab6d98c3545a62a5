"""The committed contract documents match the code, and no payload changed incompatibly."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from shared.contract.compat import breaking_changes
from shared.runtime import docs

ROOT = docs.ROOT.parent
COMMITTED = docs.ROOT / "schemas"
CURRENT = docs.schemas()


def _direction(rel: str) -> str:
    return "outbound" if "/events/" in rel else "inbound"


@pytest.mark.parametrize("rel", sorted(str(p.relative_to(COMMITTED)) for p in COMMITTED.rglob("*.json")))
def test_no_committed_payload_changed_incompatibly(rel):
    assert rel in CURRENT, f"{rel} was removed from the contract (a new major version needs a new subject)"
    old = json.loads((COMMITTED / rel).read_text(encoding="utf-8"))
    direction = "outbound" if rel in ("envelope.json", "reply.json") else _direction(rel)
    assert breaking_changes(old, CURRENT[rel], direction) == []  # type: ignore[arg-type]


def test_committed_schemas_and_asyncapi_are_up_to_date():
    stale = [
        rel
        for rel, schema in CURRENT.items()
        if not (COMMITTED / rel).exists() or (COMMITTED / rel).read_text(encoding="utf-8") != docs.dump(schema)
    ]
    for service, doc in docs.asyncapi().items():
        path = docs.ROOT / "asyncapi" / f"{service}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != docs.dump(doc):
            stale.append(str(path))
    assert stale == [], "run `make docs` and commit the result"


def test_compat_checker_catches_the_usual_breaks():
    old = {
        "type": "object",
        "properties": {"a": {"type": "string", "maxLength": 10}, "b": {"type": "integer"}},
        "required": ["a"],
    }
    assert breaking_changes(old, old, "inbound") == []
    removed = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 10}}, "required": ["a"]}
    assert breaking_changes(old, removed, "inbound") == ["b: removed"]
    required = {**old, "required": ["a", "b"]}
    assert breaking_changes(old, required, "inbound") == ["b: newly required"]
    assert breaking_changes(old, required, "outbound") == []
    narrowed = {**old, "properties": {**old["properties"], "a": {"type": "string", "maxLength": 5}}}
    assert breaking_changes(old, narrowed, "inbound") == ["a: maxLength lowered from 10 to 5"]
    retyped = {**old, "properties": {**old["properties"], "b": {"type": "string"}}}
    assert breaking_changes(old, retyped, "outbound") == ["b: may now be ['string'], which consumers do not expect"]
    optional_added = {**old, "properties": {**old["properties"], "c": {"type": "string"}}}
    assert breaking_changes(old, optional_added, "inbound") == []


def test_every_error_code_is_listed_and_documented_in_the_readme():
    from shared.contract import errors

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    codes = {cls.code for cls in subclasses(errors.DomainError)} | {"internal"}
    assert codes == set(errors.ERROR_CODES)
    readme = (docs.ROOT.parent / "README.md").read_text(encoding="utf-8")
    assert [code for code in errors.ERROR_CODES if f"| `{code}` |" not in readme] == []


ASYNCAPI_CLI = ROOT / "tools" / "asyncapi" / "node_modules" / ".bin" / "asyncapi"


def test_every_committed_asyncapi_document_is_valid_under_the_official_cli():
    """The official AsyncAPI CLI (`make test` installs it, pinned) accepts each document: one it rejects is
    a broken contract, however the checks above see it. (The documents are checked side by side.)"""
    assert ASYNCAPI_CLI.exists(), "the AsyncAPI CLI is missing: `make test` installs it (npm ci in tools/asyncapi)"
    env = {**os.environ, "ASYNCAPI_METRICS": "false", "DO_NOT_TRACK": "1"}
    documents = sorted((ROOT / "docs" / "asyncapi").iterdir())
    assert len(documents) == 8  # JSON and YAML of each service

    def start(doc):
        return subprocess.Popen(
            [str(ASYNCAPI_CLI), "validate", str(doc), "--fail-severity", "error"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )

    # The CLI creates its log directory on first use, and two first uses at once race on its mkdir
    # (EEXIST, seen on a fresh clone): the first document runs alone, the rest side by side.
    first, rest = documents[0], documents[1:]
    refused = {}

    def finish(name, proc):
        out, _ = proc.communicate(timeout=300)
        if proc.returncode != 0:
            refused[name] = out[-3000:]

    finish(first.name, start(first))
    for name, proc in {doc.name: start(doc) for doc in rest}.items():
        finish(name, proc)
    assert refused == {}


def test_a_new_major_of_an_event_is_a_new_document_and_its_older_major_stays_as_it_was():
    """festival.held v2 replaced v1's one funding_source with funding lines: on v1's subject that would
    have broken v1's consumers (the checker says so), so it is a new major with a document of its own,
    and v1's document still reads as it was committed."""
    v1_path, v2_path = "registry/events/festival.held.v1.json", "registry/events/festival.held.v2.json"
    committed_v1 = json.loads((COMMITTED / v1_path).read_text(encoding="utf-8"))
    assert breaking_changes(committed_v1, CURRENT[v1_path], "outbound") == []
    assert "funding_source: removed" in breaking_changes(committed_v1, CURRENT[v2_path], "outbound")
    assert (COMMITTED / v2_path).exists()
    broken = json.loads(json.dumps(CURRENT[v1_path]))
    del broken["properties"]["funding_source"]
    assert breaking_changes(committed_v1, broken, "outbound") == ["funding_source: removed"]
