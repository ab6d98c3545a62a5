"""`antq describe SERVICE NAME`: a command's or query's payload at hand — its fields, types, limits and
an example — read from the committed JSON Schemas (docs/schemas/, generated from the contract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shared.client.cli.common import USAGE, console, fail

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
SAMPLES = {  # strings a pattern constrains, by the pattern
    "^[A-Za-z0-9][A-Za-z0-9._:\\-]*$": "hue-19753",
    "^[a-z][a-z0-9_]{0,79}$": "giay_khen_chu_tich_ubnd_xa",
    "^[a-z][a-z0-9_]{0,39}$": "key_area",
    "^[0-9a-f-]{32,36}$": "01a2496b-3a9c-7000-994c-1979c02a8b36",
    "^[A-Za-z0-9.\\-]+$": "12.2025",
    "^whsec_[A-Za-z0-9+/=]{32,88}$": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk=",
}


EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {  # where a rule spans fields, which a schema cannot say
    ("registry", "update-unit"): {"unit_id": "hue-19753", "effective_date": "2025-08-10", "name": "Phường Phú Xuân"},
    ("registry", "merge-units"): {
        "source_unit_ids": ["hue-old-19756"],
        "target_unit_id": "hue-19753",
        "effective_date": "2025-07-01",
    },
    ("registry", "campaign"): {"year": 2025, "scope_unit_id": "hue"},
    ("awards", "awards"): {"unit_id": "hue-19753", "year": 2025},
    ("awards", "history"): {"nominee": {"kind": "collective", "unit_id": "hue-19753"}},
    ("awards", "gifts"): {"unit_id": "hue-19753", "year": 2025},
    ("awards", "attach-file"): {
        "nomination_id": "01a2496b-3a9c-7000-994c-1979c02a8b36",
        "kind": "to_trinh",
        "name": "To-trinh-khen-thuong.pdf",
        "media_type": "application/pdf",
        "size": 182044,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "upload": "5b1f0e6c9d3a4f7e8a2b1c0d9e8f7a6b/To-trinh-khen-thuong.pdf",
    },
    ("awards", "decision"): {"decision_no": "12/QĐ-UBND", "unit_id": "hue-19753", "year": 2026},
    ("notifications", "add-recipient"): {
        "scope_unit_id": "hue",
        "events": ["vn.antq.registry.festival.*"],
        "channel": "email",
        "address": "ban-chi-dao@example.vn",
    },
}


def schema_of(service: str, name: str) -> tuple[str, dict[str, Any]]:
    for kind in ("commands", "queries"):
        path = SCHEMAS / service / kind / f"{name}.json"
        if path.is_file():
            return kind[:-1] if kind == "commands" else "query", json.loads(path.read_text(encoding="utf-8"))
    services = sorted(p.name for p in SCHEMAS.iterdir() if p.is_dir()) if SCHEMAS.is_dir() else []
    if service not in services:
        fail(f"no service {service!r}: the services are {', '.join(services)}", USAGE)
    names = sorted(p.stem for kind in ("commands", "queries") for p in (SCHEMAS / service / kind).glob("*.json"))
    fail(f"{service} has no command or query {name!r}; it has: {', '.join(names)}", USAGE)


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _variants(node: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a field (`X | None` is an anyOf with null)."""
    node = _resolve(node, root)
    options = node.get("anyOf") or node.get("oneOf")
    if not options:
        return [node]
    return [_resolve(o, root) for o in options if o.get("type") != "null"]


def type_of(node: dict[str, Any], root: dict[str, Any]) -> str:
    parts = []
    for v in _variants(node, root):
        if "enum" in v:
            parts.append(" | ".join(json.dumps(e, ensure_ascii=False) for e in v["enum"]))
        elif "const" in v:
            parts.append(json.dumps(v["const"], ensure_ascii=False))
        elif v.get("type") == "array":
            parts.append(f"list of {type_of(v.get('items', {}), root)}")
        elif v.get("type") == "object" or "properties" in v:
            parts.append(v.get("title", "object"))
        else:
            parts.append(v.get("format") or v.get("type", "any"))
    return " or ".join(parts)


def limits_of(node: dict[str, Any], root: dict[str, Any]) -> str:
    words = {
        "minLength": "≥ {} chars",
        "maxLength": "≤ {} chars",
        "minimum": "≥ {}",
        "exclusiveMinimum": "> {}",
        "maximum": "≤ {}",
        "exclusiveMaximum": "< {}",
        "minItems": "≥ {} items",
        "maxItems": "≤ {} items",
        "pattern": "matches {}",
    }
    out = [w.format(v[k]) for v in _variants(node, root) for k, w in words.items() if k in v]
    if "default" in node:
        out.append(f"default {json.dumps(node['default'], ensure_ascii=False)}")
    return "; ".join(out)


def example_of(node: dict[str, Any], root: dict[str, Any], name: str = "") -> Any:
    """A value the schema accepts: the field's own example, else one built from its type and limits."""
    node = _resolve(node, root)
    if node.get("examples"):
        return node["examples"][0]
    v = _variants(node, root)[0]
    if v.get("examples"):
        return v["examples"][0]
    if "enum" in v:
        return v["enum"][0]
    if "const" in v:
        return v["const"]
    kind = v.get("type")
    if kind == "object" or "properties" in v:
        return {k: example_of(p, root, k) for k, p in v.get("properties", {}).items() if k in v.get("required", [])}
    if kind == "array":
        return [example_of(v.get("items", {}), root, name) for _ in range(v.get("minItems", 0))]
    if kind == "integer" or kind == "number":
        return max(v.get("minimum", 0), v.get("exclusiveMinimum", -1) + 1, 1 if "year" not in name else 2025)
    if kind == "boolean":
        return True
    if v.get("format") == "date":
        return "2025-08-10"
    if v.get("format") == "date-time":
        return "2025-08-10T08:00:00+07:00"
    if "pattern" in v:
        return SAMPLES.get(v["pattern"], "x")
    return "example" if v.get("minLength", 1) <= 7 else "an example, long enough"


def commands(app: typer.Typer) -> None:
    @app.command("describe")
    def describe(
        service: Annotated[str, typer.Argument(help="registry, awards, notifications or reporting")],
        name: Annotated[str, typer.Argument(help="a command (e.g. report-festival) or a query (e.g. coverage)")],
    ) -> None:
        """A command's or query's payload: its fields, types, limits and an example to start from."""
        kind, schema = schema_of(service, name)
        console.print(f"[bold]{service} {name}[/bold] ({kind}): {schema.get('description', '').strip()}")
        table = Table()
        for col in ("field", "type", "required", "limits", "what"):
            table.add_column(col, overflow="fold", no_wrap=col == "field")
        required = set(schema.get("required", []))
        for field, node in schema.get("properties", {}).items():
            what = _resolve(node, schema).get("description") or node.get("description") or ""
            table.add_row(
                field, type_of(node, schema), "yes" if field in required else "", limits_of(node, schema), what
            )
            for v in _variants(node, schema):
                inner = _resolve(v.get("items", v), schema) if v.get("type") == "array" else v
                for sub, subnode in inner.get("properties", {}).items():
                    mark = "yes" if sub in set(inner.get("required", [])) else ""
                    sub_what = _resolve(subnode, schema).get("description") or ""
                    table.add_row(
                        f"  {field}.{sub}", type_of(subnode, schema), mark, limits_of(subnode, schema), sub_what
                    )
        console.print(table)
        example = json.dumps(EXAMPLES.get((service, name)) or example_of(schema, schema), ensure_ascii=False)
        verb = "command" if kind == "command" else "query"
        console.print(f"example: antq {verb} {service} {name} '{example}'", soft_wrap=True)
