"""`make docs`: write the AsyncAPI 3 documents (from the running apps' brokers) and the JSON
Schemas of every payload into docs/, where tests compare them with the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from shared.contract.envelope import OUTCOME_EVENTS, CloudEvent
from shared.contract.services import SERVICES
from shared.runtime.bus import Reply
from shared.runtime.settings import DEV_NATS_URL

ROOT = Path(__file__).resolve().parents[2] / "docs"


def schemas() -> dict[str, dict[str, Any]]:
    """Relative path under docs/schemas → JSON Schema, for every service in the table."""
    out: dict[str, dict[str, Any]] = {
        "envelope.json": CloudEvent.model_json_schema(),
        "reply.json": Reply.model_json_schema(),
    }
    for entry in SERVICES:
        for action, model in entry.commands.items():
            out[f"{entry.name}/commands/{action}.json"] = model.model_json_schema(mode="validation")
        outcomes = {(a, e, 1): m for (a, e), m in OUTCOME_EVENTS.items()}
        for (aggregate, event, major), model in {**entry.all_events(), **outcomes}.items():
            path = f"{entry.name}/events/{aggregate}.{event}.v{major}.json"
            out[path] = model.model_json_schema(mode="serialization")
        for name, model in entry.queries.items():
            out[f"{entry.name}/queries/{name}.json"] = model.model_json_schema(mode="validation")
    return out


def asyncapi() -> dict[str, dict[str, Any]]:
    """Each service's AsyncAPI 3 document, from its app (loaded through the table's registration)."""
    out = {}
    for entry in SERVICES:
        host = entry.load_app()()
        # an explicit URL, so the document does not depend on the environment it is generated in
        host.settings = host.settings.model_copy(update={"nats_url": DEV_NATS_URL})
        out[entry.name] = host.asyncapi()
    return out


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
