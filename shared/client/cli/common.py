"""What every part of `antq` shares: the connection options, running a call, printing replies and tables."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from nats.errors import NoRespondersError
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shared.client import Client, Reply
from shared.client.cli.words import heading
from shared.client.season_report import vnd
from shared.client.tokens import Issuer
from shared.contract.envelope import Actor
from shared.contract.services import SERVICES

SERVICE_NAMES = frozenset(entry.name for entry in SERVICES)

T = TypeVar("T")
__all__ = ["Opts", "answer", "console", "err", "fail", "listing", "parse_json", "run", "show", "table", "vnd"]
console = Console()
err = Console(stderr=True)


class Opts:
    nats_url: str = os.environ.get("ANTQ_NATS_URL", "nats://127.0.0.1:4222")
    actor: Actor = Actor(id="cli", unit=None, role="admin")
    timeout: float = 10.0
    token: str | None = None
    issuer_dir: Path = Path(".antq-data/issuer")
    json: bool = False  # `antq --json …`: listings print the query's answer as JSON


def token_source() -> str | Callable[[], str] | None:
    """What the CLI signs with: ANTQ_TOKEN as given; else, where `make up` created its development
    issuer, a fresh short token for the CLI's actor on each request; else nothing (unsigned)."""
    if Opts.token:
        return Opts.token
    if (Opts.issuer_dir / "private.pem").exists():
        issuer = Issuer.load(Opts.issuer_dir)
        actor = Opts.actor
        return lambda: issuer.token(actor.id, actor.unit, actor.role, ttl=300)
    return None


# Exit codes (README "The command line"): what went wrong, told apart by a script.
REFUSED = 1  # the platform answered with a refusal (or the thing asked for does not exist)
USAGE = 2  # a bad option, argument or payload: nothing was sent
UNREACHABLE = 3  # NATS cannot be reached, no service answers the subject, or no reply came in time
UNEXPECTED = 4  # a defect of the CLI: one line here, the traceback with ANTQ_DEBUG=1


def fail(message: str, code: int) -> NoReturn:
    """One or two lines on stderr, then the exit code: never a traceback."""
    err.print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)


async def _quiet(*_: Any) -> None:
    """nats-py logs every connection error with a traceback; the CLI says it once, in a line."""


def run(fn: Callable[[Client], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            client = await Client.connect(
                Opts.nats_url,
                Opts.actor,
                source="antq/cli",
                timeout=Opts.timeout,
                token=token_source(),
                max_reconnect_attempts=2,
                connect_timeout=3,
                error_cb=_quiet,
                disconnected_cb=_quiet,
                closed_cb=_quiet,
            )
        except Exception as exc:
            fail(
                f"cannot reach NATS at {Opts.nats_url} ({type(exc).__name__}): is the platform up (`make up`)? "
                "Set --nats-url or ANTQ_NATS_URL to another server.",
                UNREACHABLE,
            )
        try:
            return await fn(client)
        except TimeoutError:
            fail(f"no reply in {Opts.timeout:g} s: is the service running? (--timeout waits longer)", UNREACHABLE)
        except NoRespondersError:
            services = ", ".join(sorted(SERVICE_NAMES))
            fail(f"no service answers: check the service's name ({services}) and that it runs", UNREACHABLE)
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    return asyncio.run(go())


def show(reply: Reply) -> None:
    if reply.ok:
        console.print_json(json.dumps(reply.result, ensure_ascii=False))
        return
    e = reply.error or {}
    err.print(f"[red]{e.get('code')}[/red]: {e.get('message')}")
    for d in e.get("details", []):
        err.print(f"  - {json.dumps(d, ensure_ascii=False)}")
    raise typer.Exit(1)


def parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object")
    return value


def _whole(values: Sequence[str]) -> bool:
    """A column of ids, codes, amounts or dates: values without spaces, which must never be cut."""
    return all(" " not in v for v in values)


def table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[str | Text]], ids: int = 0) -> RenderableType:
    """Rows as a table headed in the chosen language (`words.heading`; columns are named in English),
    whose ids, codes, amounts and dates (the first `ids` columns, and every column without spaces) are
    never cut: the other columns fold. When the whole columns alone do not fit the terminal, each row is
    shown as a block of `column: value` lines instead (the detail view). A cell given as rich `Text`
    keeps its style (a status colour)."""
    columns = tuple(heading(c) for c in columns)
    texts = [[v.plain if isinstance(v, Text) else str(v) for v in row] for row in rows]
    whole = [i for i in range(len(columns)) if i < ids or (texts and _whole([r[i] for r in texts]))]
    need = sum(max(len(columns[i]), *(len(r[i]) for r in texts)) for i in whole) if texts else 0
    need += 8 * (len(columns) - len(whole)) + 3 * len(columns) + 1
    if texts and need > console.width:
        label = max(len(c) for c in columns)
        blocks: list[RenderableType] = [Text(title, style="bold")]
        for row in texts:
            lines = [f"{col.ljust(label)}  {value}" for col, value in zip(columns, row, strict=True) if value]
            blocks.append(Text("\n".join(lines) + "\n"))
        return Group(*blocks)
    out = Table(title=title)
    for i, col in enumerate(columns):
        out.add_column(col, no_wrap=i in whole, overflow="fold")
    for row, given in zip(texts, rows, strict=True):
        out.add_row(*(g if isinstance(g, Text) else t for t, g in zip(row, given, strict=True)))
    return out


def listing(reply: Reply) -> dict[str, Any]:
    """A listing's answer; with `antq --json`, printed whole as JSON instead of a table (and done)."""
    result = answer(reply)
    if Opts.json:
        console.print_json(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(0)
    return result


def answer(reply: Reply) -> dict[str, Any]:
    if not reply.ok:
        show(reply)  # prints the error and exits non-zero
    return reply.result


def run_import(label: str, rows: Sequence[Any], load: Callable[[Client, Callable[[int], None]], Awaitable[T]]) -> T:
    """An import with a progress bar over its rows: `load(client, advance)` calls `advance(n)` per n rows."""
    from rich.progress import Progress

    async def go(client: Client) -> T:
        started = time.perf_counter()
        with Progress(console=err) as progress:
            task = progress.add_task(label, total=len(rows))
            out = await load(client, lambda n: progress.advance(task, n))
        seconds = time.perf_counter() - started
        err.print(f"{len(rows):,} rows in {seconds:.1f} s ({len(rows) / max(seconds, 1e-3):,.0f} rows/s)")
        return out

    return run(go)


def refused_rows(failed: Sequence[tuple[int, str, str]]) -> None:
    """The refused rows of an import (the first 50), then exit 1 if there were any."""
    for line, what, reason in failed[:50]:
        err.print(f"  line {line} ({what}): {reason}")
    if failed:
        raise typer.Exit(1)
