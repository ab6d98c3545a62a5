"""`antq`: the command line of the platform, a thin shell over the typed client.

Imports, queries, raw commands, and the dead-letter stream (list and replay)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from shared.client import Client, Reply, read_stream
from shared.client.importer import import_units, read_rows
from shared.client.reform import ReformReport, apply_reform, read_csv
from shared.contract.envelope import Actor
from shared.contract.services import SERVICES
from shared.contract.subjects import DLQ

T = TypeVar("T")
app = typer.Typer(help="ANTQ festival platform command line.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: list and replay.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console()
err = Console(stderr=True)


class Opts:
    nats_url: str = os.environ.get("ANTQ_NATS_URL", "nats://127.0.0.1:4222")
    actor: Actor = Actor(id="cli", unit=None, role="admin")
    timeout: float = 10.0


@app.callback()
def main_options(
    nats_url: Annotated[str, typer.Option(envvar="ANTQ_NATS_URL", help="NATS server")] = Opts.nats_url,
    actor_id: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_ID")] = "cli",
    actor_unit: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_UNIT", help="empty only for admin")] = "",
    actor_role: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_ROLE")] = "admin",
    timeout: Annotated[float, typer.Option(help="seconds to wait for a reply")] = 10.0,
) -> None:
    Opts.nats_url = nats_url
    Opts.actor = Actor(id=actor_id, unit=actor_unit or None, role=actor_role)
    Opts.timeout = timeout


def run(fn: Callable[[Client], Awaitable[T]]) -> T:
    async def go() -> T:
        try:
            client = await Client.connect(
                Opts.nats_url,
                Opts.actor,
                source="antq/cli",
                timeout=Opts.timeout,
                max_reconnect_attempts=2,
                connect_timeout=3,
            )
        except Exception as exc:
            err.print(f"[red]cannot reach NATS at {Opts.nats_url}: {exc}[/red]")
            raise typer.Exit(2) from None
        try:
            return await fn(client)
        except TimeoutError:
            err.print("[red]no reply in time: is the service running?[/red]")
            raise typer.Exit(2) from None
        finally:
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


@app.command("command")
def command(
    service: str,
    action: str,
    data: Annotated[str, typer.Argument(help="JSON object")],
    id: Annotated[str | None, typer.Option(help="idempotency key")] = None,
) -> None:
    """Send any command and print the reply."""
    show(run(lambda c: c.command(service, action, parse_json(data), id)))


@app.command("query")
def query(service: str, name: str, params: Annotated[str, typer.Argument(help="JSON object")] = "{}") -> None:
    """Ask any query and print the result."""
    show(run(lambda c: c.query(service, name, parse_json(params))))


def service_app(service: str, summary: str) -> typer.Typer:
    """`antq <service> …`: what every service answers (its consumers, rebuilds), for each in the table."""
    sub = typer.Typer(help=summary, no_args_is_help=True)

    @sub.command("consumers")
    def consumers() -> None:
        """The service's event consumers: pending, lag, progress."""
        reply = run(lambda c: c.ops(service, "consumers"))
        if not reply.ok:
            show(reply)
        table = Table(title=f"{service} consumers")
        for col in ("consumer", "stream", "pending", "lag", "processed", "since progress (s)", "state"):
            table.add_column(col)
        for r in reply.result["consumers"]:
            state = "stalled" if r["stalled"] else "paused" if r["paused"] else "ok"
            table.add_row(
                r["consumer"],
                r["stream"],
                str(r["pending"]),
                str(r["lag"]),
                str(r["processed"]),
                str(r["seconds_since_progress"]),
                state,
            )
        console.print(table)

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


SERVICE_APPS = {entry.name: service_app(entry.name, entry.summary) for entry in SERVICES}
for _name, _sub in SERVICE_APPS.items():
    app.add_typer(_sub, name=_name)
registry_app = SERVICE_APPS["registry"]


@registry_app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV or XLSX with columns unit_id, code, name, kind, parent_id, valid_from, flags",
        ),
    ],
    concurrency: int = 16,
) -> None:
    """Load a unit tree (idempotent: running it twice gives the same state)."""
    rows = read_rows(file)

    async def go(client: Client) -> Any:
        with Progress(console=err) as progress:
            task = progress.add_task(f"importing {file.name}", total=len(rows))
            return await import_units(client, rows, concurrency, lambda n: progress.advance(task, n))

    report = run(go)
    console.print(
        f"{report.rows} rows: [green]{report.created} created[/green], {report.unchanged} unchanged, "
        f"[red]{len(report.failed)} refused[/red]"
    )
    for line, unit_id, reason in report.failed[:50]:
        err.print(f"  line {line} ({unit_id}): {reason}")
    if report.failed:
        raise typer.Exit(1)


@registry_app.command("reform")
def reform(
    lineage: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: old_code, old_name, new_code")],
    new_units: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: code, name, kind")],
    date: Annotated[str, typer.Option(help="effective date, YYYY-MM-DD")] = "2025-07-01",
    parent: Annotated[str, typer.Option(help="the unit the new units hang under")] = "hue",
    old_prefix: Annotated[str, typer.Option(help="id of an old unit = prefix + its old code")] = "hue-old-",
    new_prefix: Annotated[str, typer.Option(help="id of a new unit = prefix + its code")] = "hue-",
) -> None:
    """Apply an official reorganisation from its lineage files: merges into the new units, and the
    end of the district level (idempotent: a rerun changes nothing)."""
    rows, units = read_csv(lineage), read_csv(new_units)

    async def go(client: Client) -> ReformReport:
        with Progress(console=err) as progress:
            task = progress.add_task(f"reform of {date}", total=len(units))
            return await apply_reform(
                client,
                rows,
                units,
                dt.date.fromisoformat(date),
                parent,
                old_prefix,
                new_prefix,
                progress=lambda n: progress.advance(task, n),
            )

    report = run(go)
    console.print(
        f"{len(units)} new units: [green]{report.merged} formed by merger, {report.moved} moved[/green], "
        f"{report.closed} {'unit' if report.closed == 1 else 'units'} of the abolished level closed, "
        f"[red]{len(report.failed)} refused[/red]"
    )
    for what, why in report.failed[:50]:
        err.print(f"  {what}: {why}")
    if report.failed:
        raise typer.Exit(1)


@registry_app.command("unit")
def unit(unit_id: str, date: Annotated[str | None, typer.Option(help="as of YYYY-MM-DD")] = None) -> None:
    """Show one unit with its history and lineage."""
    show(
        run(lambda c: c.query("registry", "unit", {"unit_id": unit_id, "date": date} if date else {"unit_id": unit_id}))
    )


@registry_app.command("units")
def units(
    parent: Annotated[str | None, typer.Option(help="parent unit id; omit for the provinces")] = None,
    date: Annotated[str | None, typer.Option(help="as of YYYY-MM-DD")] = None,
    subtree: Annotated[bool, typer.Option(help="the whole subtree, not only children")] = False,
    limit: int = 1000,
) -> None:
    """List units as of a date."""
    params: dict[str, Any] = {"depth": "subtree" if subtree else "children", "limit": limit}
    if parent:
        params["parent_id"] = parent
    if date:
        params["date"] = date
    reply = run(lambda c: c.query("registry", "units", params))
    if not reply.ok:
        show(reply)
    table = Table(title=f"units as of {reply.result['as_of']}")
    for col in ("unit_id", "code", "name", "kind", "parent_id", "flags"):
        table.add_column(col)
    for u in reply.result["units"]:
        table.add_row(u["unit_id"], u["code"] or "", u["name"], u["kind"], u["parent_id"] or "", ",".join(u["flags"]))
    console.print(table)
    console.print(
        f"{len(reply.result['units'])} units" + (f"; more after {reply.result['next']}" if reply.result["next"] else "")
    )


awards_app = SERVICE_APPS["awards"]


def _vnd(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", ".")


def _table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    return table


def _answer(reply: Reply) -> dict[str, Any]:
    if not reply.ok:
        show(reply)  # prints the error and exits non-zero
    return reply.result


@awards_app.command("rules")
def awards_rules(
    date: Annotated[str | None, typer.Option(help="in force on YYYY-MM-DD (default today)")] = None,
) -> None:
    """The award forms in force on a date, with their grantor, amounts and UNCONFIRMED flags."""
    result = _answer(run(lambda c: c.query("awards", "rules", {"date": date} if date else {})))
    rows = []
    for f in result["forms"]:
        amount = f["amount"]
        rows.append(
            (
                f["code"],
                f["name"],
                f["grantor"]["name"] + (" (forwarded)" if f["forwarded"] else ""),
                f"{f['in_force_from']} → {f['in_force_to'] or ''}",
                ", ".join(f["for"]),
                "yes" if f["once_only"] else "",
                " / ".join(f"{k}: {_vnd(a['vnd']) if a else '—'}" for k, a in amount.items()),
                "UNCONFIRMED" if f["unconfirmed"] else "",
            )
        )
    columns = ("code", "name", "grantor", "in force", "for", "once", "amount (VND)", "flags")
    console.print(_table(f"award forms in force on {result['date']} (rules {result['rules_version']})", columns, rows))


@awards_app.command("nominations")
def awards_nominations(
    unit: Annotated[str, typer.Option(help="unit id: its subtree's nominations")],
    year: Annotated[int | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="submitted, returned, resubmitted, approved, rejected")] = None,
    form: Annotated[str | None, typer.Option(help="award form code")] = None,
    limit: int = 100,
) -> None:
    """Nominations of a unit's subtree, newest first."""
    params: dict[str, Any] = {"unit_id": unit, "limit": limit}
    for key, value in (("year", year), ("status", status), ("award_form", form)):
        if value is not None:
            params[key] = value
    result = _answer(run(lambda c: c.query("awards", "nominations", params)))
    rows = [
        (
            n["nomination_id"],
            n["nominee"]["person"]["name"] if n["nominee"].get("person") else n["nominee"]["unit_id"],
            n["nominee"]["unit_id"],
            n["award_form"],
            str(n["year"]),
            n["status"],
            n["achievement"][:60],
        )
        for n in result["items"]
    ]
    columns = ("nomination", "nominee", "unit", "form", "year", "status", "achievement")
    console.print(_table(f"nominations under {unit}", columns, rows))
    if result["next"]:
        console.print(f"more after {result['next']}")


@awards_app.command("history")
def awards_history(
    unit: Annotated[str | None, typer.Option(help="a collective: its unit id")] = None,
    person: Annotated[str | None, typer.Option(help="an individual: the person_id")] = None,
) -> None:
    """A nominee's nominations and awards, newest first."""
    if (unit is None) == (person is None):
        err.print("give --unit (a collective) or --person (an individual)")
        raise typer.Exit(2)
    nominee = (
        {"kind": "collective", "unit_id": unit} if unit else {"kind": "individual", "person": {"person_id": person}}
    )
    result = _answer(run(lambda c: c.query("awards", "history", {"nominee": nominee})))
    nominations = [
        (n["nomination_id"], n["award_form"], str(n["year"]), n["status"], n["submitted_on"], n["achievement"][:60])
        for n in result["nominations"]
    ]
    columns = ("nomination", "form", "year", "status", "submitted", "achievement")
    console.print(_table(f"nominations of {result['nominee_key']}", columns, nominations))
    awards = [
        (
            a["award_id"],
            a["award_form"],
            f"{a['decision_no']} ({a['decision_date']})",
            a["decided_by"]["name"],
            a["status"],
            a["conferred_on"] or "",
            _vnd(a["amount_vnd"]),
        )
        for a in result["awards"]
    ]
    award_columns = ("award", "form", "decision", "decided by", "status", "conferred", "amount (VND)")
    console.print(_table(f"awards of {result['nominee_key']}", award_columns, awards))


@awards_app.command("gifts")
def awards_gifts(
    unit: Annotated[str | None, typer.Option(help="unit id: its subtree's gifts")] = None,
    festival: Annotated[str | None, typer.Option(help="festival id")] = None,
    year: Annotated[int | None, typer.Option()] = None,
    limit: int = 100,
) -> None:
    """Gifts and visits of a unit's subtree or a festival, with totals."""
    params: dict[str, Any] = {"limit": limit}
    for key, value in (("unit_id", unit), ("festival_id", festival), ("year", year)):
        if value is not None:
            params[key] = value
    result = _answer(run(lambda c: c.query("awards", "gifts", params)))
    rows = [
        (
            g["gift_id"],
            g["unit_id"],
            g["beneficiary_kind"],
            str(g["recipients"]),
            _vnd(g["value_vnd"]),
            g["funding_source"],
            g["given_on"],
            g["festival_id"] or "",
        )
        for g in result["items"]
    ]
    columns = ("gift", "unit", "beneficiaries", "recipients", "value (VND)", "funding", "given on", "festival")
    console.print(_table("gifts", columns, rows))
    t = result["totals"]
    console.print(f"{t['entries']} entries, {t['recipients']} recipients, {_vnd(t['value_vnd'])} VND")


async def _dead_letters(client: Client, service: str | None, limit: int) -> list[tuple[int, dict[str, Any]]]:
    subject = f"antq.dlq.{service}.>" if service else "antq.dlq.>"
    msgs = await read_stream(client.nc.jetstream(), DLQ.name, subject, limit)
    return [(m.metadata.sequence.stream, json.loads(m.data)) for m in msgs]


@dlq_app.command("list")
def dlq_list(service: Annotated[str | None, typer.Option()] = None, limit: int = 100) -> None:
    """List dead letters: where they came from and why they failed."""
    letters = run(lambda c: _dead_letters(c, service, limit))
    table = Table(title="dead letters")
    for col in ("seq", "consumer", "subject", "reason", "error", "failed_at"):
        table.add_column(col)
    for seq, d in letters:
        table.add_row(
            str(seq), f"{d['service']}/{d['consumer']}", d["subject"], d["reason"], d["error"][:80], d["failed_at"]
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(seq: int) -> None:
    """Publish a dead letter's original message again to its original subject."""

    async def go(client: Client) -> str:
        js = client.nc.jetstream()
        msg = await js.get_msg(DLQ.name, seq)
        record = json.loads(msg.data or b"{}")
        text = record.get("body")
        body = text.encode() if text is not None else base64.b64decode(record["body_base64"])
        ack = await js.publish(record["subject"], body, headers={"Nats-Msg-Id": f"replay:{DLQ.name}:{seq}"})
        return f"replayed dead letter {seq} to {record['subject']} (stream {ack.stream}, seq {ack.seq})"

    console.print(run(go))


def main() -> None:
    app()
