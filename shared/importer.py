"""Load a unit tree from CSV or XLSX into the registry, idempotently, through the bus.

Each row becomes a `register-unit` command whose id is derived from the row's content, so a
second run is answered from the registry's inbox and changes nothing."""

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
from shared.contract.registry import RegisterUnit
from shared.envelope import pydantic_details
from shared.ids import stable_id

COLUMNS = ("unit_id", "code", "name", "kind", "parent_id", "valid_from", "flags")


@dataclass
class ImportReport:
    rows: int = 0
    ok: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, unit_id, reason)


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
    flags = [f.strip() for f in row.get("flags", "").replace(";", ",").split(",") if f.strip()]
    return RegisterUnit.model_validate(
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


def levels(commands: list[tuple[int, RegisterUnit]]) -> list[list[tuple[int, RegisterUnit]]]:
    """Order rows parents-first; rows of one level can be sent concurrently."""
    depth: dict[str, int] = {}
    by_id = {cmd.unit_id: cmd for _, cmd in commands if cmd.unit_id}

    def depth_of(uid: str, seen: frozenset[str] = frozenset()) -> int:
        if uid in depth:
            return depth[uid]
        cmd = by_id.get(uid)
        parent = cmd.parent_id if cmd else None
        d = 0 if parent is None or parent not in by_id or parent in seen else depth_of(parent, seen | {uid}) + 1
        depth[uid] = d
        return d

    grouped: dict[int, list[tuple[int, RegisterUnit]]] = {}
    for line, cmd in commands:
        grouped.setdefault(depth_of(cmd.unit_id) if cmd.unit_id else 0, []).append((line, cmd))
    return [grouped[k] for k in sorted(grouped)]


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

    async def send(line: int, cmd: RegisterUnit) -> None:
        payload: dict[str, Any] = cmd.model_dump(mode="json", exclude_none=True)
        command_id = stable_id("import-unit", json.dumps(payload, sort_keys=True, ensure_ascii=False))
        async with gate:
            reply = await client.send(cmd, id=command_id)
        if reply.ok:
            report.ok += 1
        else:
            err = reply.error or {}
            report.failed.append((line, cmd.unit_id or "", f"{err.get('code')}: {err.get('message')}"))
        progress(1)

    for level in levels(commands):
        await asyncio.gather(*(send(line, cmd) for line, cmd in level))
    return report
