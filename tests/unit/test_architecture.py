"""The shape of the code (CONVENTIONS §1–2): no import circle, `shared/` knows no service, each layer
of `shared/` imports only what lies beneath it, and no module outgrows 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services")
MAX_LINES = 400
# what each part of shared/ may import (besides the standard library and third parties)
LAYERS = {
    "shared.contract": ("shared.contract",),
    "shared.authz": ("shared.contract",),
    "shared.replicas": ("shared.contract", "shared.replicas", "shared.runtime"),
    "shared.runtime": ("shared.contract", "shared.authz", "shared.runtime"),
    "shared.client": ("shared.contract", "shared.client", "shared.authz"),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """Every project module `path` imports, at any depth of the file (a function's imports count)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    out.add(full)
                elif base in known:
                    out.add(base)
    return out - {name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, name, known) for name, path in known.items()}


def test_no_module_imports_itself_through_others():
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_shared_imports_no_service_and_each_layer_only_what_lies_beneath():
    problems = []
    for name, deps in graph().items():
        if not name.startswith("shared."):
            continue
        for dep in deps:
            if dep.startswith("services"):
                problems.append(f"{name} imports the service module {dep}")
                continue
            layer = next((p for p in LAYERS if name == p or name.startswith(p + ".")), None)
            if layer is None:
                continue
            allowed = LAYERS[layer]
            if not any(dep == a or dep.startswith(a + ".") for a in allowed):
                problems.append(f"{name} ({layer}) imports {dep}")
    assert problems == []


def test_no_service_imports_another():
    problems = []
    for name, deps in graph().items():
        if name.startswith("services."):
            mine = name.split(".")[1]
            problems += [f"{name} imports {d}" for d in deps if d.startswith("services.") and d.split(".")[1] != mine]
    assert problems == []


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}
