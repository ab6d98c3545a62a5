"""Load past awards (from before the platform) from CSV or XLSX into awards through the durable intake,
idempotently, so that once-only forms and "one achievement, one award" know them.

Each row is one `import-award` command. Its award's id is derived from the row's form, nominee, year
and decision number, so sending a file again imports nothing twice: an award already imported with the
same details answers "unchanged", one with other details is refused as a conflict (the first is kept).
Every run sends its rows under new command ids, so a row refused for a passing reason (its unit not
known to awards yet) is tried again by the next run. Outcomes come back as `command.accepted|rejected`
events, read from a subscription made before the first row is sent.

Columns: award_form, nominee_kind (collective/individual), unit_id, person_id, person_name, position,
year_of_birth, year, achievement, decision_no, decision_date (YYYY-MM-DD), decided_by, register_no,
award_id (optional)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from shared.client import Client
from shared.contract.awards import ImportAward
from shared.contract.envelope import pydantic_details
from shared.contract.ids import uuid7
from shared.contract.subjects import intake_subject

ACTION = "import-award"


@dataclass
class AwardImportReport:
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, nominee, reason)

    @property
    def ok(self) -> int:
        return self.imported + self.unchanged


def to_command(row: dict[str, str]) -> ImportAward:
    kind = row.get("nominee_kind") or ("individual" if row.get("person_id") else "collective")
    person = None
    if kind == "individual":
        person = {
            "person_id": row.get("person_id", ""),
            "name": row.get("person_name", ""),
            "position": row.get("position") or None,
            "year_of_birth": int(row["year_of_birth"]) if row.get("year_of_birth", "").isdigit() else None,
        }
    return ImportAward.model_validate(
        {
            "award_id": row.get("award_id") or None,
            "award_form": row.get("award_form", ""),
            "nominee": {"kind": kind, "unit_id": row.get("unit_id", ""), "person": person},
            "year": row.get("year", ""),
            "achievement": row.get("achievement", ""),
            "decision_no": row.get("decision_no", ""),
            "decision_date": row.get("decision_date", ""),
            "decided_by": row.get("decided_by") or None,
            "register_no": row.get("register_no") or None,
        }
    )


def nominee_of(cmd: ImportAward) -> str:
    return cmd.nominee.person.person_id if cmd.nominee.person else cmd.nominee.unit_id


async def import_awards(
    client: Client,
    rows: Iterable[dict[str, str]],
    progress: Callable[[int], None] = lambda n: None,
    timeout: float = 120.0,
) -> AwardImportReport:
    report = AwardImportReport()
    waiting: dict[str, tuple[int, ImportAward]] = {}
    for line, row in enumerate(rows, start=2):
        report.rows += 1
        try:
            cmd = to_command(row)
        except (ValidationError, ValueError) as exc:
            why = (
                json.dumps(pydantic_details(exc), ensure_ascii=False) if isinstance(exc, ValidationError) else str(exc)
            )
            report.failed.append((line, row.get("person_id") or row.get("unit_id", ""), why))
            progress(1)
            continue
        waiting[uuid7()] = (line, cmd)

    def settle(cid: str, outcome: dict[str, Any]) -> None:
        if cid not in waiting:
            return
        line, cmd = waiting.pop(cid)
        if "result" in outcome:
            if outcome["result"].get("unchanged"):
                report.unchanged += 1
            else:
                report.imported += 1
        else:
            err = outcome.get("error") or {}
            report.failed.append((line, nominee_of(cmd), f"{err.get('code')}: {err.get('message')}"))
        progress(1)

    js = client.nc.jetstream()
    done = asyncio.Event()

    async def on_outcome(msg: Any) -> None:
        event = json.loads(msg.data)
        settle(str(event.get("subject")), event.get("data") or {})
        if not waiting:
            done.set()

    sub = await js.subscribe(
        "antq.awards.command.>", ordered_consumer=True, deliver_policy=DeliverPolicy.NEW, cb=on_outcome
    )
    try:
        for cid, (_, cmd) in list(waiting.items()):
            body = client.envelope("awards", ACTION, cmd, cid)
            headers = client.headers(**{"Nats-Msg-Id": cid})
            await js.publish(intake_subject("awards", ACTION), body, headers=headers)
        if waiting:
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except TimeoutError:
                for line, cmd in waiting.values():
                    report.failed.append((line, nominee_of(cmd), f"no outcome within {timeout:.0f} s"))
                    progress(1)
    finally:
        await sub.unsubscribe()
    return report
