"""Apply an official reorganisation of the tree through the bus, from its lineage files: old
commune-level units merge into new ones, a unit that continues unchanged moves up, and the
abolished level (the districts) closes. Huế's reform of 1 Jul 2025 is the worked case
(`data/reference/hue-units-2025*.csv`).

Idempotent: every command has an id derived from the reform, so a rerun gets the same answers and
changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.client.client import Client
from shared.contract import registry as c
from shared.contract.ids import stable_id


@dataclass
class ReformReport:
    merged: int = 0
    moved: int = 0
    closed: int = 0
    unchanged: int = 0  # already as the reform leaves them (a rerun changes nothing)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (what, reason)


async def _unit_on(client: Client, unit_id: str, day: dt.date) -> dict[str, Any] | None:
    """The unit as registry answers for `day`, or None when it does not exist."""
    reply = await client.query("registry", "unit", {"unit_id": unit_id, "date": day.isoformat()})
    return reply.result if reply.ok else None


def reason(error: dict[str, object] | None) -> str:
    error = error or {}
    return f"{error.get('code')}: {error.get('message')}"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(f)]


async def apply_reform(
    client: Client,
    lineage: list[dict[str, str]],
    new_units: list[dict[str, str]],
    date: dt.date,
    parent_id: str,
    old_prefix: str,
    new_prefix: str,
    close_kind: str = "district",
    progress: Callable[[int], None] = lambda n: None,
) -> ReformReport:
    """`lineage` rows: old_code, old_name, new_code; `new_units` rows: code, name, kind. Old units are
    `<old_prefix><old_code>`, new ones `<new_prefix><code>` under `parent_id`; a new unit with one
    predecessor of the same code and name continues it (it already has the new id, and moves)."""
    report = ReformReport()
    sources: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in lineage:
        sources[row["new_code"]].append(row)
    for new in new_units:
        olds = sources.get(new["code"], [])
        key = stable_id("reform", date.isoformat(), parent_id, new["code"])
        continuing = len(olds) == 1 and (olds[0]["old_code"], olds[0]["old_name"]) == (new["code"], new["name"])
        if continuing:
            cmd: c.MoveUnit | c.MergeUnits = c.MoveUnit(
                unit_id=new_prefix + new["code"], new_parent_id=parent_id, effective_date=date
            )
        else:
            cmd = c.MergeUnits(
                source_unit_ids=[old_prefix + o["old_code"] for o in olds],
                effective_date=date,
                new_unit=c.NewUnit(
                    unit_id=new_prefix + new["code"],
                    code=new["code"],
                    name=new["name"],
                    kind=new["kind"],
                    parent_id=parent_id,
                ),
            )
        now = await _unit_on(client, new_prefix + new["code"], date)
        if now is not None and now["status"] == "active" and (not continuing or now["parent_id"] == parent_id):
            report.unchanged += 1  # formed (or moved) already
            progress(1)
            continue
        reply = await client.send(cmd, id=key)
        if reply.ok:
            report.moved += continuing
            report.merged += not continuing
        else:
            report.failed.append((new["code"], reason(reply.error)))
        progress(1)
    before = (date - dt.timedelta(days=1)).isoformat()
    level = await client.query("registry", "units", {"parent_id": parent_id, "date": before, "kinds": [close_kind]})
    for unit in level.result.get("units", []) if level.ok else []:
        now = await _unit_on(client, unit["unit_id"], date)
        if now is not None and now["status"] == "closed":
            report.unchanged += 1
            continue
        reply = await client.send(
            c.CloseUnit(unit_id=unit["unit_id"], effective_date=date, reason=f"{close_kind} level abolished"),
            id=stable_id("reform-close", date.isoformat(), unit["unit_id"]),
        )
        if reply.ok:
            report.closed += 1
        else:
            report.failed.append((unit["unit_id"], reason(reply.error)))
    return report
