"""Reporting's one command: publish a snapshot of a scope's figures now."""

from __future__ import annotations

from services.reporting.deps import Reporting
from services.reporting.store import ReportingStore
from services.reporting.topics import snapshot
from shared.authz import require_scope
from shared.contract import reporting as c
from shared.contract.events import DomainEvent
from shared.runtime.pipeline import CommandSpec, Handled
from shared.runtime.pipeline import Context as BaseContext

Context = BaseContext[ReportingStore, Reporting]


async def publish_snapshot(cmd: c.PublishSnapshot, ctx: Context) -> Handled:
    ancestry = await ctx.store.units.ancestry(cmd.scope_unit_id, cmd.tree_date or ctx.today)
    require_scope(
        ctx.actor, ancestry or [cmd.scope_unit_id], ctx.permission, f"publish a snapshot of {cmd.scope_unit_id}"
    )
    snap = await snapshot(
        ctx.store,
        ctx.deps.trees(ctx.store.db),
        ctx.today,
        cmd.year,
        cmd.scope_unit_id,
        cmd.tree_date,
        "command",
        None,
        ctx.now,
    )
    return Handled(
        {"snapshot_id": snap.snapshot_id, "tree_date": snap.tree_date.isoformat(), **snap.figures.model_dump()},
        [DomainEvent("snapshot", "published", snap.snapshot_id, snap, 1)],
    )


COMMANDS: list[CommandSpec] = [
    CommandSpec("publish-snapshot", c.PublishSnapshot, publish_snapshot, "Publish a scope's figures now."),
]
