"""Drives a planned season through the public bus, as the province's other services would, then checks
reporting's and notifications' answers against the scenario's own expectations.

Bulk traffic goes through the durable intake (`antq.intake.<service>.<action>`), phase by phase; each
phase waits for every command's outcome event (`command.accepted` / `command.rejected`) and resubmits,
after a pause, a command refused only because its service has not learnt a unit yet (rule
`not_known_yet`), as the README tells clients to do. Interactive steps (opening the campaign, adding
recipients) use request/reply. Every id is the simulator's own, so nothing waits on a reply to go on."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.errors import NoRespondersError
from nats.js.api import DeliverPolicy

from shared.client.client import Client
from shared.client.simulate import scenario as sc
from shared.contract.ids import uuid7

SERVICES = ("registry", "awards", "notifications")
NOT_YET = ("not_known_yet",)


@dataclass
class Outcomes:
    """Every command outcome the services publish from now on, by command id."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    first_time: str | None = None  # the `time` of the first outcome: the services' own clock
    subs: list[Any] = field(default_factory=list)

    async def start(self, client: Client) -> None:
        js = client.nc.jetstream()

        async def seen(msg: Any) -> None:
            doc = json.loads(msg.data)
            data = doc.get("data") or {}
            self.first_time = self.first_time or doc.get("time")
            self.results[data.get("command_id", "")] = {"ok": doc["type"].endswith("accepted.v1"), **data}
            self.arrived.set()

        for service in SERVICES:
            self.subs.append(
                await js.subscribe(
                    f"antq.{service}.command.*.v1",
                    stream=f"ANTQ_{service.upper()}",
                    cb=seen,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.NEW,
                )
            )

    async def stop(self) -> None:
        for sub in self.subs:
            await sub.unsubscribe()


Step = tuple[str, str, dict[str, Any]]  # (service, action, payload)


@dataclass
class Run:
    client: Client
    outcomes: Outcomes
    progress: Callable[[str, int], None] = lambda phase, n: None
    failures: list[str] = field(default_factory=list)
    commands: int = 0
    retries: int = 0
    timeout: float = 600.0

    async def phase(self, name: str, steps: list[Step]) -> None:
        """Submit every step through the intake, wait for all their outcomes; retry the not-yet-known."""
        pending = list(steps)
        for attempt in range(30):
            if not pending:
                return
            ids: dict[str, Step] = {}
            for k in range(0, len(pending), 256):
                chunk = pending[k : k + 256]
                sent = await asyncio.gather(*(self.client.submit(s, a, d, id=uuid7()) for s, a, d in chunk))
                ids.update(zip(sent, chunk, strict=True))
            self.commands += len(ids)
            await self.wait(ids, name)
            again = []
            for command_id, step in ids.items():
                result = self.outcomes.results.pop(command_id)
                if result["ok"]:
                    self.progress(name, 1)
                    continue
                error = result.get("error") or {}
                rules = {d.get("rule") for d in error.get("details") or [] if isinstance(d, dict)}
                if rules & set(NOT_YET):
                    again.append(step)
                else:
                    self.failures.append(
                        f"{name}: {step[1]} {_key(step[2])} refused: {error.get('code')}: {error.get('message')}"
                    )
                    self.progress(name, 1)
            if again:
                self.retries += len(again)
                await asyncio.sleep(min(5.0, 0.5 * (attempt + 1)))
            pending = again
        self.failures.append(f"{name}: {len(pending)} commands never became known to their service")

    async def wait(self, ids: dict[str, Step], name: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not all(i in self.outcomes.results for i in ids):
            if time.monotonic() > deadline:
                missing = [i for i in ids if i not in self.outcomes.results]
                raise TimeoutError(
                    f"{name}: no outcome for {len(missing)} of {len(ids)} commands after {self.timeout:g} s"
                )
            self.outcomes.arrived.clear()
            try:
                await asyncio.wait_for(self.outcomes.arrived.wait(), 5.0)
            except TimeoutError:
                pass

    async def ask(self, service: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
        """An interactive step: request/reply, retried while its service has not learnt a unit yet."""
        command_id = uuid7()  # one command: a retry after a lost reply is the same command (idempotent)
        for attempt in range(60):
            try:
                reply = await self.client.command(service, action, data, id=command_id)
            except (TimeoutError, NoRespondersError):  # its service is restarting
                self.retries += 1
                await asyncio.sleep(1.0)
                continue
            self.commands += 1
            if reply.ok:
                return reply.result
            error = reply.error or {}
            rules = {d.get("rule") for d in error.get("details") or [] if isinstance(d, dict)}
            if not rules & set(NOT_YET):
                details = json.dumps(error.get("details") or [], ensure_ascii=False)[:500]
                raise RefusedStep(f"{action} refused: {error.get('code')}: {error.get('message')} {details}")
            self.retries += 1
            command_id = uuid7()  # refused for now: asked again as a new command
            await asyncio.sleep(min(2.0, 0.2 * (attempt + 1)))
        raise RefusedStep(f"{action}: its service never learnt the units it names")


class RefusedStep(Exception):
    pass


def _key(data: dict[str, Any]) -> str:
    for k in ("festival_id", "nomination_id", "award_id", "gift_id", "model_id", "unit_id"):
        if k in data:
            return str(data[k])
    return ""


# ---------------------------------------------------------------------------------- the season's steps


def unit_steps(tree: sc.Tree) -> list[list[Step]]:
    """Registration, level by level (a parent before its children)."""
    levels: list[list[Step]] = []
    frontier = [tree.root]
    while frontier:
        level: list[Step] = []
        for unit_id in frontier:
            u = tree.units[unit_id]
            data = {
                "unit_id": u.unit_id,
                "name": u.name,
                "kind": u.kind,
                "valid_from": "2024-01-01",
                "flags": ["illustrative"],
            }
            if u.parent_id:
                data["parent_id"] = u.parent_id
            level.append(("registry", "register-unit", data))
        levels.append(level)
        frontier = [c for unit_id in frontier for c in tree.children.get(unit_id, [])]
    return levels


def festival_steps(season: sc.Season) -> tuple[list[Step], list[Step], list[Step]]:
    plans: list[Step] = []
    reports: list[Step] = []
    reviews: list[Step] = []
    for f in season.festivals.values():
        plans.append(
            (
                "registry",
                "plan-festival",
                {
                    "festival_id": f.festival_id,
                    "unit_id": f.unit_id,
                    "year": season.year,
                    "date": f.date.isoformat(),
                    "venue": "Nhà văn hóa",
                    "ceremony": {},
                    "festival_part": {},
                },
            )
        )
        if f.fate == "cancelled":
            reports.append(("registry", "cancel-festival", {"festival_id": f.festival_id, "reason": "Mưa bão"}))
        elif f.held_on is not None:
            report: dict[str, Any] = {
                "festival_id": f.festival_id,
                "held_on": f.held_on.isoformat(),
                "participants": f.participants,
                "ceremony_held": True,
                "festival_part_held": f.fate != "one_part",
                "cost_vnd": f.cost_vnd,
            }
            reports.append(("registry", "report-festival", report))
            if f.review == "accepted":
                reviews.append(("registry", "accept-festival-report", {"festival_id": f.festival_id}))
            elif f.review == "returned":
                reason = "Thiếu biên bản, bổ sung số liệu"
                reviews.append(("registry", "return-festival-report", {"festival_id": f.festival_id, "reason": reason}))
    return plans, reports, reviews


def model_steps(season: sc.Season) -> tuple[list[Step], list[Step]]:
    first, then = [], []
    for m in season.models:
        first.append(
            (
                "registry",
                "register-model",
                {
                    "model_id": m.model_id,
                    "unit_id": m.unit_id,
                    "name": "Tổ tự quản an ninh trật tự",
                    "launched_on": m.launched_on.isoformat(),
                },
            )
        )
        for unit_id in m.replicated_at:
            then.append(
                (
                    "registry",
                    "replicate-model",
                    {"model_id": m.model_id, "unit_id": unit_id, "replicated_on": f"{season.year}-08-20"},
                )
            )
        if m.recognised_on is not None:
            recognise = {
                "model_id": m.model_id,
                "level": "commune",
                "decision_no": "12/QĐ-UBND",
                "recognised_on": m.recognised_on.isoformat(),
            }
            then.append(("registry", "recognise-model", recognise))
    return first, then


def nomination_steps(season: sc.Season) -> list[list[Step]]:
    y = season.year
    submit: list[Step] = []
    returned: list[Step] = []
    resubmitted: list[Step] = []
    decided: list[Step] = []
    conferred: list[Step] = []
    revoked: list[Step] = []
    for n in season.nominations:
        nominee = {"kind": "collective", "unit_id": n.unit_id}
        submit.append(
            (
                "awards",
                "submit-nomination",
                {
                    "nomination_id": n.nomination_id,
                    "nominee": nominee,
                    "award_form": sc.FORM,
                    "year": y,
                    "achievement": "Tập thể tiêu biểu trong phong trào",
                },
            )
        )
        if n.path in ("returned", "returned_then_approved"):
            returned.append(
                (
                    "awards",
                    "return-nomination",
                    {"nomination_id": n.nomination_id, "reason": "Bổ sung báo cáo thành tích"},
                )
            )
        if n.path == "returned_then_approved":
            resubmitted.append(
                ("awards", "resubmit-nomination", {"nomination_id": n.nomination_id, "note": "Đã bổ sung"})
            )
        if n.award_id is not None:
            decision = {
                "nomination_id": n.nomination_id,
                "award_id": n.award_id,
                "decision_no": f"{len(decided) + 1}/QĐ-UBND",
                "decision_date": f"{y}-07-05",
            }
            decided.append(("awards", "approve-nomination", decision))
        elif n.path == "rejected":
            decided.append(
                ("awards", "reject-nomination", {"nomination_id": n.nomination_id, "reason": "Chưa đủ tiêu chuẩn"})
            )
        if n.conferred_at is not None and n.conferred_on is not None:
            confer = {"award_id": n.award_id, "conferred_on": n.conferred_on.isoformat(), "festival_id": n.conferred_at}
            conferred.append(("awards", "confer-award", confer))
            if n.revoked:
                revoke = {
                    "award_id": n.award_id,
                    "reason": "Phát hiện sai sót hồ sơ",
                    "decision_no": "99/QĐ-UBND",
                    "decision_date": f"{y}-09-15",
                }
                revoked.append(("awards", "revoke-award", revoke))
    return [submit, returned, resubmitted, decided, conferred, revoked]


def merger_steps(season: sc.Season) -> list[Step]:
    return [
        (
            "registry",
            "merge-units",
            {
                "source_unit_ids": list(m.sources),
                "effective_date": m.effective.isoformat(),
                "new_unit": {
                    "unit_id": m.into.unit_id,
                    "name": m.into.name,
                    "kind": m.into.kind,
                    "parent_id": m.into.parent_id,
                    "flags": ["illustrative"],
                },
            },
        )
        for m in season.mergers
    ]


def gift_steps(season: sc.Season) -> list[Step]:
    return [
        (
            "awards",
            "record-gift",
            {
                "gift_id": g.gift_id,
                "unit_id": g.unit_id,
                "beneficiary_kind": g.beneficiary_kind,
                "recipients": g.recipients,
                "value_vnd": g.value_vnd,
                "funding_source": g.funding_source,
                "given_on": g.given_on.isoformat(),
            },
        )
        for g in season.gifts
    ]
