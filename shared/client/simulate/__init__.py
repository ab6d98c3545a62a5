"""`antq simulate season`: one season through the public bus, checked against the simulator's own
figures (`scenario`), driven phase by phase (`driver`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from nats.errors import NoRespondersError

from shared.client.client import Client
from shared.client.simulate import check
from shared.client.simulate import driver as dr
from shared.client.simulate import scenario as sc
from shared.client.simulate.chaos import Chaos
from shared.contract.ids import uuid7

HELD = "vn.antq.registry.festival.held.v1"  # notifications delivers the v1 of each report


@dataclass
class Outcome:
    tree: sc.Tree
    season: sc.Season
    differences: list[str]
    failures: list[str]
    commands: int
    retries: int
    seconds: float
    settle_seconds: float
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)
    webhook_posts: int = 0
    webhook_ids: int = 0
    kills: list[tuple[str, int, float]] = field(default_factory=list)
    today: dt.date | None = None  # the services' date, which the figures were expected on

    @property
    def ok(self) -> bool:
        return not self.differences and not self.failures


class Receiver:
    """A webhook endpoint on loopback: counts posts and distinct `webhook-id`s."""

    def __init__(self) -> None:
        self.posts = 0
        self.ids: set[str] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            headers: dict[str, str] = {}
            await reader.readline()
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0") or 0))
            self.posts += 1
            if "webhook-id" in headers:
                self.ids.add(headers["webhook-id"])
            writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Receiver]:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            self.server.close()


async def read_tree(client: Client, scope: str, day: dt.date) -> sc.Tree:
    """An existing scope's subtree on `day` (the sample of Huế under `make up`): the tree is an input
    of the season, not one of its results."""
    root = dr_ok(await client.query("registry", "unit", {"unit_id": scope, "date": day.isoformat()}))
    units = {scope: sc.Unit(scope, root["name"], root["kind"], None)}
    after = None
    while True:
        params: dict[str, Any] = {"parent_id": scope, "depth": "subtree", "date": day.isoformat(), "limit": 10_000}
        page = dr_ok(await client.query("registry", "units", {**params, **({"after": after} if after else {})}))
        for u in page["units"]:
            units[u["unit_id"]] = sc.Unit(u["unit_id"], u["name"], u["kind"], u["parent_id"])
        after = page["next"]
        if after is None:
            return sc.Tree(units, scope)


def dr_ok(reply: Any) -> dict[str, Any]:
    if not reply.ok:
        raise dr.RefusedStep(f"{reply.error.get('code')}: {reply.error.get('message')}")
    result: dict[str, Any] = reply.result
    return result


async def simulate(
    client: Client,
    year: int,
    seed: int,
    scope: str | None = None,
    units: int | None = None,
    email: str | None = None,
    progress: Callable[[str, int, int], None] = lambda phase, done, total: None,
    settle_timeout: float = 300.0,
    chaos: Chaos | None = None,
) -> Outcome:
    started = time.monotonic()
    run = uuid7()[-8:]
    outcomes = dr.Outcomes()
    await outcomes.start(client)
    totals: dict[str, int] = {}
    done: dict[str, int] = {}

    def tick(phase: str, n: int) -> None:
        done[phase] = done.get(phase, 0) + n
        progress(phase, done[phase], totals.get(phase, 0))

    r = dr.Run(client, outcomes, tick)
    havoc: asyncio.Task[None] | None = None

    async def phase(name: str, steps: list[dr.Step]) -> None:
        totals[name] = totals.get(name, 0) + len(steps)
        progress(name, done.get(name, 0), totals[name])
        await r.phase(name, steps)

    try:
        if units is not None:
            tree = sc.generated(units, seed, f"sim-{run}")
            for level in dr.unit_steps(tree):
                await phase("units", level)
        else:
            assert scope is not None
            tree = await read_tree(client, scope, dt.date(year, 7, 1))
        # a generated province also merges hamlets in the middle of the season (an existing scope's tree,
        # the sample of Huế, is left as it is)
        season = sc.plan(tree, year, seed, run, mergers=units is not None)
        found = await client.query("registry", "campaign", {"year": year, "scope_unit_id": tree.root})
        if found.ok:
            raise dr.RefusedStep(
                f"{tree.root} already has a campaign for {year} ({found.result['campaign_id']}): a season is "
                "simulated on a scope and year with none (choose another --year, or --units N for a new province)"
            )
        campaign = {
            "campaign_id": f"ca-{run}",
            "year": year,
            "scope_unit_id": tree.root,
            "report_deadline": season.report_deadline.isoformat(),
            "name": f"Ngày hội toàn dân bảo vệ an ninh Tổ quốc {year} (mô phỏng {run})",
        }
        await phase("campaign", [("registry", "open-campaign", campaign)])  # through the intake: its outcome
        if r.failures:  # event carries the services' own date, the date they report on
            raise dr.RefusedStep(r.failures[0])
        today = services_today(outcomes.first_time)
        if today <= season.window[1]:
            raise dr.RefusedStep(
                f"the services' date is {today}: the {year} window ends {season.window[1]}, its festivals cannot "
                "be reported held yet (choose an earlier --year)"
            )
        async with Receiver().running() as receiver:
            recipients = {}
            hook = {"channel": "webhook", "address": f"http://127.0.0.1:{receiver.port}/antq"}
            channels = [hook, *([{"channel": "email", "address": email}] if email else [])]
            for recipient in channels:
                added = await r.ask(
                    "notifications",
                    "add-recipient",
                    {"scope_unit_id": tree.root, "events": [HELD], **recipient},
                )
                recipients[recipient["channel"]] = added["recipient_id"]
            havoc = asyncio.create_task(chaos.run()) if chaos is not None else None
            plans, reports, reviews = dr.festival_steps(season)
            await phase("festivals planned", plans)
            await phase("festivals reported", reports)
            await phase("reports reviewed", reviews)
            first, then = dr.model_steps(season)
            await phase("models", first)
            await phase("models", then)
            submitted, *decisions = dr.nomination_steps(season)
            await phase("nominations", submitted)
            await phase("merger", dr.merger_steps(season))  # with dossiers in flight across it
            for steps in decisions:
                await phase("nominations", steps)
            await phase("gifts", dr.gift_steps(season))
            if havoc is not None:  # every part killed and back before the check
                progress("chaos: the rest of the kills", 0, 0)
                await havoc
            progress("reporting settles", 0, 0)
            reported_on = sc.after(tree, season)  # today's tree: merged hamlets under their successor
            differences, settled = await check.settle(client, reported_on, season, today, settle_timeout)
            held = sum(1 for f in season.festivals.values() if f.held_on is not None)
            deliveries = await delivered(client, recipients, held, settle_timeout)
            for channel, counts in deliveries.items():
                if counts.get("sent", 0) != held:
                    differences.append(f"deliveries {channel}: expected {held} sent, the log has {counts}")
            if len(receiver.ids) != held:
                differences.append(f"webhooks: expected {held} distinct webhook-ids, received {len(receiver.ids)}")
            posts, ids = receiver.posts, len(receiver.ids)
    finally:
        if havoc is not None and not havoc.done():
            havoc.cancel()
        await outcomes.stop()
    return Outcome(
        reported_on, season, differences, r.failures, r.commands, r.retries, time.monotonic() - started, settled,
        deliveries, posts, ids, chaos.kills if chaos is not None else [], today,
    )  # fmt: skip


def services_today(stamp: str | None) -> dt.date:
    """The date, in the province's calendar, of a time the services stamped."""
    if stamp is None:
        raise dr.RefusedStep("no outcome event came back from registry: is the platform up?")
    at = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()


async def delivered(client: Client, recipients: dict[str, str], held: int, timeout: float) -> dict[str, dict[str, int]]:
    """The delivery log's counts by status for each recipient, once every expected one was sent (or the
    timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        out: dict[str, dict[str, int]] = {}
        for channel, recipient_id in recipients.items():
            counts: dict[str, int] = {}
            after = None
            while True:
                params: dict[str, Any] = {
                    "recipient_id": recipient_id,
                    "limit": 500,
                    **({"after": after} if after else {}),
                }
                try:
                    page = dr_ok(await client.query("notifications", "deliveries", params))
                except (TimeoutError, NoRespondersError):  # notifications restarting (--chaos)
                    page = {"deliveries": [], "next": None}
                    counts = {"unanswered": 1}
                for d in page["deliveries"]:
                    counts[d["status"]] = counts.get(d["status"], 0) + 1
                after = page["next"]
                if after is None:
                    break
            out[channel] = counts
        if all(c.get("sent", 0) >= held for c in out.values()) or time.monotonic() > deadline:
            return out
        await asyncio.sleep(1.0)
