"""`antq <service> …`: what every service of the table answers (its consumers, rebuilds)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.progress import Progress

from shared.client import Client, Reply
from shared.client.cli.common import console, err, listing, run, show, table
from shared.client.cli.words import say


def service_app(service: str, summary: str) -> typer.Typer:
    """`antq <service> …`: what every service answers (its consumers, rebuilds), for each in the table."""
    sub = typer.Typer(help=summary, no_args_is_help=True)

    @sub.command("consumers")
    def consumers() -> None:
        """The service's event consumers: pending, lag, progress."""
        result = listing(run(lambda c: c.ops(service, "consumers")))
        rows = [
            (
                r["consumer"],
                r["stream"],
                str(r["pending"]),
                str(r["lag"]),
                str(r["processed"]),
                str(r["seconds_since_progress"]),
                "stalled" if r["stalled"] else "paused" if r["paused"] else "ok",
            )
            for r in result["consumers"]
        ]
        columns = ("consumer", "stream", "pending", "lag", "processed", "since progress (s)", "state")
        console.print(table(say(f"{service} consumers", f"bộ tiêu thụ của {service}"), columns, rows))

    @sub.command("rebuild")
    def rebuild(
        consumer: str,
        wait: Annotated[bool, typer.Option(help="follow it until the swap")] = True,
    ) -> None:
        """Replay the consumer's stream from its start into fresh collections, then swap them in."""

        async def go(client: Client) -> dict[str, Any]:
            started = await client.ops(service, "rebuild", {"consumer": consumer})
            if not started.ok or not wait:
                return {"reply": started}
            with Progress(console=err) as progress:
                task = progress.add_task(f"rebuilding {service}/{consumer}", total=None)
                while True:
                    status = await client.ops(service, "rebuild-status", {"consumer": consumer})
                    state = status.result.get("state", "?")
                    progress.update(
                        task, description=f"{service}/{consumer}: {state}", completed=status.result.get("processed", 0)
                    )
                    if not status.ok or state in ("done", "failed"):
                        return {"reply": status}
                    await asyncio.sleep(0.5)

        reply: Reply = run(go)["reply"]
        show(reply)
        if reply.result.get("state") == "failed":
            raise typer.Exit(1)

    return sub
