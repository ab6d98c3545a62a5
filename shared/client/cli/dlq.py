"""`antq dlq …`: dead letters, listed and replayed."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import typer
from nats.js.errors import NotFoundError

from shared.client import Client, read_stream
from shared.client.cli.common import REFUSED, Opts, console, fail, run, table
from shared.client.cli.words import say
from shared.contract.subjects import DLQ

dlq_app = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)


async def _dead_letters(client: Client, service: str | None, limit: int) -> list[tuple[int, dict[str, Any]]]:
    subject = f"antq.dlq.{service}.>" if service else "antq.dlq.>"
    msgs = await read_stream(client.nc.jetstream(), DLQ.name, subject, limit)
    return [(m.metadata.sequence.stream, json.loads(m.data)) for m in msgs]


@dlq_app.command("list")
def dlq_list(service: Annotated[str | None, typer.Option()] = None, limit: int = 100) -> None:
    """List dead letters: where they came from and why they failed."""
    letters = run(lambda c: _dead_letters(c, service, limit))
    if Opts.json:
        console.print_json(json.dumps([{"seq": seq, **d} for seq, d in letters], ensure_ascii=False))
        return
    rows = [
        (str(seq), f"{d['service']}/{d['consumer']}", d["subject"], d["reason"], d["error"], d["failed_at"])
        for seq, d in letters
    ]
    console.print(
        table(
            say("dead letters", "thư chết (dead letters)"),
            ("seq", "consumer", "subject", "reason", "error", "failed_at"),
            rows,
            ids=1,
        )
    )


@dlq_app.command("replay")
def dlq_replay(seq: int) -> None:
    """Publish a dead letter's original message again to its original subject."""

    async def go(client: Client) -> str:
        js = client.nc.jetstream()
        try:
            msg = await js.get_msg(DLQ.name, seq)
        except NotFoundError:
            fail(f"no dead letter {seq} in {DLQ.name}: `antq dlq list` shows them", REFUSED)
        record = json.loads(msg.data or b"{}")
        text = record.get("body")
        body = text.encode() if text is not None else base64.b64decode(record["body_base64"])
        ack = await js.publish(record["subject"], body, headers={"Nats-Msg-Id": f"replay:{DLQ.name}:{seq}"})
        return f"replayed dead letter {seq} to {record['subject']} (stream {ack.stream}, seq {ack.seq})"

    console.print(run(go))
