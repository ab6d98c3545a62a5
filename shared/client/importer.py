"""Load a unit tree from CSV or XLSX into the registry through the bus, idempotently.

Each row's unit is looked up first: a unit already there with the same attributes is left alone,
one that differs is reported, a missing one is registered. Running an import twice gives the same
state, and a row that failed once (say its parent was missing) succeeds on a later run.

A row without a unit_id gets one derived from its parent, kind, name and valid_from: correcting
such a row's name makes it a new unit. Rows that may be corrected later should carry a unit_id."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.client import Client
from shared.contract.envelope import pydantic_details
from shared.contract.ids import stable_id, uuid7
from shared.contract.registry import RegisterUnit


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, unit_id, reason)

    @property
    def ok(self) -> int:
        return self.created + self.unchanged


def read_rows(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        values = [[("" if v is None else str(v)).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
        header, body = values[0], values[1:]
        return [dict(zip(header, row, strict=False)) for row in body if any(row)]
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


def to_command(row: dict[str, str]) -> RegisterUnit:
    """A row as a register-unit command; a row without unit_id gets one derived from its content."""
    flags = sorted({f.strip() for f in row.get("flags", "").replace(";", ",").split(",") if f.strip()})
    cmd = RegisterUnit.model_validate(
        {
            "unit_id": row.get("unit_id") or None,
            "code": row.get("code") or None,
            "name": row.get("name", ""),
            "kind": row.get("kind", ""),
            "parent_id": row.get("parent_id") or None,
            "valid_from": row.get("valid_from", ""),
            "flags": flags,
        }
    )
    if cmd.unit_id is None:
        derived = stable_id("unit", cmd.parent_id or "", cmd.kind, cmd.name, cmd.valid_from.isoformat())
        cmd = cmd.model_copy(update={"unit_id": derived})
    return cmd


def levels(commands: list[tuple[int, RegisterUnit]]) -> list[list[tuple[int, RegisterUnit]]]:
    """Order rows parents-first; rows of one level can be sent concurrently."""
    by_id = {cmd.unit_id: cmd for _, cmd in commands}
    depth: dict[str, int] = {}

    def depth_of(uid: str, seen: frozenset[str] = frozenset()) -> int:
        if uid not in depth:
            parent = by_id[uid].parent_id
            inside = parent is not None and parent in by_id and parent not in seen
            depth[uid] = depth_of(parent, seen | {uid}) + 1 if inside else 0  # type: ignore[arg-type]
        return depth[uid]

    grouped: dict[int, list[tuple[int, RegisterUnit]]] = {}
    for line, cmd in commands:
        grouped.setdefault(depth_of(cmd.unit_id or ""), []).append((line, cmd))
    return [grouped[k] for k in sorted(grouped)]


def differences(cmd: RegisterUnit, unit: dict[str, Any]) -> list[str]:
    """What the registry holds for the unit on the row's valid_from, compared with the row."""
    want = {
        "name": cmd.name,
        "code": cmd.code,
        "kind": cmd.kind,
        "parent_id": cmd.parent_id,
        "valid_from": cmd.valid_from.isoformat(),
        "flags": sorted(cmd.flags),
    }
    have = {k: unit.get(k) for k in want}
    have["flags"] = sorted(have["flags"] or [])
    return [f"{k}: registry has {have[k]!r}, file has {want[k]!r}" for k in want if have[k] != want[k]]


async def import_units(
    client: Client,
    rows: Iterable[dict[str, str]],
    concurrency: int = 16,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportReport:
    report = ImportReport()
    commands: list[tuple[int, RegisterUnit]] = []
    for line, row in enumerate(rows, start=2):
        report.rows += 1
        try:
            commands.append((line, to_command(row)))
        except ValidationError as exc:
            report.failed.append((line, row.get("unit_id", ""), json.dumps(pydantic_details(exc), ensure_ascii=False)))
            progress(1)
    gate = asyncio.Semaphore(concurrency)

    async def one(line: int, cmd: RegisterUnit) -> None:
        async with gate:
            found = await client.query("registry", "unit", {"unit_id": cmd.unit_id, "date": cmd.valid_from.isoformat()})
            if found.ok:
                diff = differences(cmd, found.result)
                if diff:
                    report.failed.append((line, cmd.unit_id or "", "differs from the registry: " + "; ".join(diff)))
                else:
                    report.unchanged += 1
                return
            reply = await client.send(cmd, id=uuid7())  # the lookup above is what makes a rerun safe
        if reply.ok:
            report.created += 1
        else:
            err = reply.error or {}
            report.failed.append((line, cmd.unit_id or "", f"{err.get('code')}: {err.get('message')}"))

    async def tracked(line: int, cmd: RegisterUnit) -> None:
        try:
            await one(line, cmd)
        finally:
            progress(1)

    for level in levels(commands):
        await asyncio.gather(*(tracked(line, cmd) for line, cmd in level))
    return report
