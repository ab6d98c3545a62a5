"""`make docs`: write the AsyncAPI 3 documents (from the running apps' brokers) and the JSON
Schemas of every payload into docs/, where tests compare them with the code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from shared.contract import registry
from shared.contract.envelope import CloudEvent
from shared.runtime.bus import Reply
from shared.runtime.settings import DEV_NATS_URL

ROOT = Path(__file__).resolve().parents[2] / "docs"

# service → (commands, events, queries)
Models = Mapping[Any, type[BaseModel]]
CONTRACTS: dict[str, tuple[Models, Models, Models]] = {
    "registry": (registry.COMMANDS, registry.EVENTS, registry.QUERIES),
}


def schemas() -> dict[str, dict[str, Any]]:
    """Relative path under docs/schemas → JSON Schema."""
    out: dict[str, dict[str, Any]] = {
        "envelope.json": CloudEvent.model_json_schema(),
        "reply.json": Reply.model_json_schema(),
    }
    for service, (commands, events, queries) in CONTRACTS.items():
        for action, model in commands.items():
            out[f"{service}/commands/{action}.json"] = model.model_json_schema(mode="validation")
        for (aggregate, event), model in events.items():
            out[f"{service}/events/{aggregate}.{event}.v1.json"] = model.model_json_schema(mode="serialization")
        for name, model in queries.items():
            out[f"{service}/queries/{name}.json"] = model.model_json_schema(mode="validation")
    return out


def asyncapi() -> dict[str, dict[str, Any]]:
    from services.registry.app import RegistrySettings
    from services.registry.app import create as create_registry

    # explicit URL so the document does not depend on the environment it is generated in
    return {"registry": create_registry(RegistrySettings(nats_url=DEV_NATS_URL)).asyncapi()}


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write() -> list[Path]:
    written = []
    for rel, schema in schemas().items():
        path = ROOT / "schemas" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(schema), encoding="utf-8")
        written.append(path)
    for service, doc in asyncapi().items():
        base = ROOT / "asyncapi"
        base.mkdir(parents=True, exist_ok=True)
        (base / f"{service}.json").write_text(dump(doc), encoding="utf-8")
        (base / f"{service}.yaml").write_text(yaml.safe_dump(doc, sort_keys=True, allow_unicode=True), encoding="utf-8")
        written += [base / f"{service}.json", base / f"{service}.yaml"]
    return written


if __name__ == "__main__":
    for p in write():
        print(p.relative_to(ROOT.parent))  # noqa: T201
