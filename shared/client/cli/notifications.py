"""`antq notifications …`: the delivery log, recipients."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shared.client.cli.common import console, listing, run, table
from shared.client.cli.words import say


def commands(notifications_app: typer.Typer) -> None:
    @notifications_app.command("deliveries")
    def notifications_deliveries(
        recipient: Annotated[str | None, typer.Option(help="recipient id")] = None,
        event: Annotated[str | None, typer.Option(help="event id: the notifications it caused")] = None,
        status: Annotated[
            str | None, typer.Option(help="pending, sending, sent, failed, collected (digest), digested")
        ] = None,
        limit: int = 100,
        after: Annotated[str | None, typer.Option(help="the `next` cursor of the previous page")] = None,
    ) -> None:
        """The delivery log, newest first: what was sent to whom, attempts and the last error."""
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("recipient_id", recipient), ("event_id", event), ("status", status), ("after", after)):
            if value is not None:
                params[key] = value
        result = listing(run(lambda c: c.query("notifications", "deliveries", params)))
        rows = [
            (
                d["created_at"][:19] if d["created_at"] else "",
                d["recipient_id"],
                d["channel"],
                d["kind"],
                d["event_type"].removeprefix("vn.antq."),
                str(len(d["event_ids"])),
                d["status"],
                str(d["attempts"]),
                (d["last_error"] or "")[:50],
            )
            for d in result["deliveries"]
        ]
        columns = (
            "created (UTC)",
            "recipient",
            "channel",
            "kind",
            "type",
            "events",
            "status",
            "attempts",
            "last error",
        )
        console.print(table(say("deliveries", "nhật ký gửi"), columns, rows))
        if result["next"]:
            console.print(f"more: --after {result['next']}")

    @notifications_app.command("recipients")
    def notifications_recipients(
        scope: Annotated[str | None, typer.Option(help="scope unit id")] = None,
        channel: Annotated[str | None, typer.Option(help="email or webhook")] = None,
        limit: int = 100,
    ) -> None:
        """Recipients (never their secrets)."""
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("scope_unit_id", scope), ("channel", channel)):
            if value is not None:
                params[key] = value
        result = listing(run(lambda c: c.query("notifications", "recipients", params)))
        rows = [
            (
                x["recipient_id"],
                x["scope_unit_id"],
                x["channel"],
                x["address"],
                x["mode"],
                x["language"],
                ", ".join(x["events"]),
                x["status"] + (" (rotating)" if x["secret_rotating"] else ""),
            )
            for x in result["recipients"]
        ]
        columns = ("recipient", "scope", "channel", "address", "mode", "lang", "events", "status")
        console.print(table(say("recipients", "người nhận"), columns, rows))
