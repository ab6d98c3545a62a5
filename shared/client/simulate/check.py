"""The simulator's check: reporting's and notifications' answers against the season's expected figures."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from nats.errors import NoRespondersError

from shared.client.client import Client
from shared.client.simulate import expected as ex
from shared.client.simulate import scenario as sc


async def differences(client: Client, tree: sc.Tree, season: sc.Season, today: dt.date) -> list[str]:
    """Every way reporting's answers differ from the scenario's own figures (empty: expected = reported)."""
    out: list[str] = []
    y = season.year
    scopes = set(tree.scopes())
    for scope in tree.scopes():
        reply = await client.query("reporting", "coverage", {"year": y, "scope_unit_id": scope})
        if not reply.ok:
            out.append(f"coverage {scope}: {reply.error}")
            continue
        got = reply.result
        rows = {r["unit_id"]: r for r in got.get("breakdown", [])}
        for unit_id, figures in [(scope, got), *((c, rows.get(c, {})) for c in tree.children.get(scope, []))]:
            if unit_id != scope and unit_id in scopes:
                continue  # a scope below is compared on its own answer (its row says the same)
            want = ex.figures(tree, season, today, unit_id)
            for k, v in want.items():
                if figures.get(k) != v:
                    out.append(f"coverage {unit_id} {k}: expected {v}, reported {figures.get(k)}")
    for scope in [tree.root, *(c for c in tree.children.get(tree.root, []))]:
        listed: dict[str, str] = {}
        after = None
        while True:
            params: dict[str, Any] = {
                "year": y,
                "scope_unit_id": scope,
                "limit": 2000,
                **({"after": after} if after else {}),
            }
            reply = await client.query("reporting", "units-missing", params)
            if not reply.ok:
                out.append(f"units-missing {scope}: {reply.error}")
                break
            listed.update({u["unit_id"]: u["reason"] for u in reply.result["units"]})
            after = reply.result["next"]
            if after is None:
                break
        want_missing = ex.missing(tree, season, today, scope)
        for unit_id in sorted(set(want_missing) | set(listed)):
            if want_missing.get(unit_id) != listed.get(unit_id):
                out.append(f"units-missing {scope} {unit_id}: expected {want_missing.get(unit_id)}, "
                           f"reported {listed.get(unit_id)}")  # fmt: skip
    inside = tree.subtree(tree.root)
    summary = await client.query("reporting", "awards-summary", {"year": y, "scope_unit_id": tree.root})
    gifts = await client.query("reporting", "gifts-summary", {"year": y, "scope_unit_id": tree.root})
    if not summary.ok or not gifts.ok:
        return [*out, f"summaries: {summary.error or gifts.error}"]
    want_awards = ex.awards(season, inside)
    for what in ("nominations", "awards"):
        got_status = summary.result[what].get(sc.FORM, {})
        for status in sorted(set(want_awards[what]) | set(got_status)):
            want_n, got_n = want_awards[what].get(status, 0), got_status.get(status, 0)
            if want_n != got_n:
                out.append(f"awards-summary {what} {status}: expected {want_n}, reported {got_n}")
    for k, v in ex.gifts(season, inside).items():
        if gifts.result.get(k) != v:
            out.append(f"gifts-summary {k}: expected {v}, reported {gifts.result.get(k)}")
    return out


async def settle(
    client: Client, tree: sc.Tree, season: sc.Season, today: dt.date, timeout: float
) -> tuple[list[str], float]:
    """Compare until reporting agrees or `timeout` passes: (the differences left, seconds waited)."""
    started = time.monotonic()
    while True:
        try:
            found = await differences(client, tree, season, today)
        except (TimeoutError, NoRespondersError) as exc:  # a service restarting (--chaos): ask again
            found = [f"no answer yet: {type(exc).__name__}"]
        waited = time.monotonic() - started
        if not found or waited > timeout:
            return found, waited
        await asyncio.sleep(1.0)
