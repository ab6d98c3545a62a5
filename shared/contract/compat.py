"""Breaking-change detection between two JSON Schemas of one payload (DESIGN §3: within a major
version only optional fields are added).

Inbound payloads (commands, queries) break producers when a field disappears, becomes required,
or accepts less; outbound payloads (events) break consumers when a field disappears, stops being
guaranteed, or changes type."""

from __future__ import annotations

from typing import Any, Literal

Direction = Literal["inbound", "outbound"]
Schema = dict[str, Any]


def _resolve(schema: Schema, root: Schema) -> Schema:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})  # type: ignore[no-any-return]
    return schema


def _types(schema: Schema, root: Schema) -> set[str]:
    schema = _resolve(schema, root)
    if "type" in schema:
        t = schema["type"]
        return set(t) if isinstance(t, list) else {t}
    out: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []):
            out |= _types(sub, root)
    if "$ref" in schema or "properties" in schema:
        out.add("object")
    return out


def breaking_changes(
    old: Schema,
    new: Schema,
    direction: Direction,
    path: str = "",
    old_root: Schema | None = None,
    new_root: Schema | None = None,
    depth: int = 0,
) -> list[str]:
    old_root, new_root = old_root or old, new_root or new
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    problems: list[str] = []
    if depth > 12:
        return problems
    here = path or "<root>"
    old_t, new_t = _types(old, old_root), _types(new, new_root)
    if old_t and new_t:
        if direction == "inbound" and not old_t <= new_t:
            problems.append(f"{here}: accepts {sorted(old_t)} before, {sorted(new_t)} now")
        if direction == "outbound" and not new_t <= old_t:
            problems.append(f"{here}: may now be {sorted(new_t - old_t)}, which consumers do not expect")
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum is not None and new_enum is not None:
        if direction == "inbound" and set(map(str, old_enum)) - set(map(str, new_enum)):
            problems.append(f"{here}: no longer accepts {sorted(set(map(str, old_enum)) - set(map(str, new_enum)))}")
        if direction == "outbound" and set(map(str, new_enum)) - set(map(str, old_enum)):
            problems.append(f"{here}: may now carry {sorted(set(map(str, new_enum)) - set(map(str, old_enum)))}")
    if direction == "inbound":
        for bound in ("maxLength", "maximum", "maxItems"):
            if bound in old and bound in new and new[bound] < old[bound]:
                problems.append(f"{here}: {bound} lowered from {old[bound]} to {new[bound]}")
        for bound in ("minLength", "minimum", "minItems"):
            if bound in old and bound in new and new[bound] > old[bound]:
                problems.append(f"{here}: {bound} raised from {old[bound]} to {new[bound]}")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for name in old_props:
        if name not in new_props:
            problems.append(f"{path}.{name}".lstrip(".") + ": removed")
    if direction == "inbound":
        for name in sorted(new_req - old_req):
            problems.append(f"{path}.{name}".lstrip(".") + ": newly required")
    else:
        for name in sorted(old_req - new_req):
            problems.append(f"{path}.{name}".lstrip(".") + ": no longer always present")
    for name, old_sub in old_props.items():
        if name in new_props:
            problems += breaking_changes(
                old_sub, new_props[name], direction, f"{path}.{name}".lstrip("."), old_root, new_root, depth + 1
            )
    if "items" in old and "items" in new and isinstance(old["items"], dict) and isinstance(new["items"], dict):
        problems += breaking_changes(old["items"], new["items"], direction, f"{here}[]", old_root, new_root, depth + 1)
    return problems
