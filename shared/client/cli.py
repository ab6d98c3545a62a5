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
from shared.client.tokens import Issuer
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
    token: str | None = None
    issuer_dir: Path = Path(".antq-data/issuer")


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


@app.callback()
def main_options(
    nats_url: Annotated[str, typer.Option(envvar="ANTQ_NATS_URL", help="NATS server")] = Opts.nats_url,
    actor_id: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_ID")] = "cli",
    actor_unit: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_UNIT", help="empty only for admin")] = "",
    actor_role: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_ROLE")] = "admin",
    timeout: Annotated[float, typer.Option(help="seconds to wait for a reply")] = 10.0,
    token: Annotated[
        str | None, typer.Option(envvar="ANTQ_TOKEN", help="a JWT from the identity provider, sent on every request")
    ] = None,
    issuer_dir: Annotated[
        Path, typer.Option(envvar="ANTQ_ISSUER_DIR", help="the development issuer of `make up` (signs if present)")
    ] = Path(os.environ.get("ANTQ_DATA_DIR", ".antq-data")) / "issuer",
) -> None:
    Opts.nats_url = nats_url
    Opts.actor = Actor(id=actor_id, unit=actor_unit or None, role=actor_role)
    Opts.timeout = timeout
    Opts.token = token
    Opts.issuer_dir = issuer_dir


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


@app.command("token")
def token_command(
    actor_id: Annotated[str, typer.Option("--actor-id", help="the token's sub")],
    role: Annotated[str, typer.Option(help="officer, approver or admin")],
    unit: Annotated[str | None, typer.Option(help="the actor's unit (none: a platform admin)")] = None,
    ttl: Annotated[float, typer.Option(help="seconds until it expires")] = 3600.0,
) -> None:
    """Print a token signed by `make up`'s development issuer (.antq-data/issuer), for a client to send
    as `Authorization: Bearer <token>`. Production tokens come from the province's identity provider."""
    if role not in ("officer", "approver", "admin"):
        err.print("[red]--role is officer, approver or admin[/red]")
        raise typer.Exit(2)
    if unit is None and role != "admin":
        err.print("[red]--unit is required unless --role admin[/red]")
        raise typer.Exit(2)
    if not (Opts.issuer_dir / "private.pem").exists():
        err.print(f"[red]no development issuer in {Opts.issuer_dir}: `make up` creates it[/red]")
        raise typer.Exit(2)
    print(Issuer.load(Opts.issuer_dir).token(actor_id, unit, role, ttl=ttl))


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


notifications_app = SERVICE_APPS["notifications"]


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
    result = _answer(run(lambda c: c.query("notifications", "deliveries", params)))
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
    columns = ("created (UTC)", "recipient", "channel", "kind", "type", "events", "status", "attempts", "last error")
    console.print(_table("deliveries", columns, rows))
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
    result = _answer(run(lambda c: c.query("notifications", "recipients", params)))
    rows = [
        (
            x["recipient_id"],
            x["scope_unit_id"],
            x["channel"],
            x["address"],
            x["mode"],
            x["language"],
            ", ".join(x["events"])[:60],
            x["status"] + (" (rotating)" if x["secret_rotating"] else ""),
        )
        for x in result["recipients"]
    ]
    columns = ("recipient", "scope", "channel", "address", "mode", "lang", "events", "status")
    console.print(_table("recipients", columns, rows))


reporting_app = SERVICE_APPS["reporting"]
TREE_DATE_HELP = "the tree of YYYY-MM-DD (default: the year's last day, or today while it runs)"
LEVELS = {  # the season report's sheets: one per level of the tree (Excel allows 31 characters a name)
    "Cấp huyện": ("district",),
    "Cấp xã": ("commune", "ward", "special_zone", "township"),
    "Thôn, tổ dân phố": ("hamlet", "residential_group"),
    "Cơ quan, DN, trường học": ("agency", "enterprise", "school"),
}
KIND_VI = {
    "province": "Tỉnh, thành phố",
    "district": "Huyện, quận, thị xã",
    "commune": "Xã",
    "ward": "Phường",
    "special_zone": "Đặc khu",
    "township": "Thị trấn",
    "hamlet": "Thôn, ấp",
    "residential_group": "Tổ dân phố",
    "agency": "Cơ quan",
    "enterprise": "Doanh nghiệp",
    "school": "Trường học",
}
STATUS_VI = {
    "submitted": "Đã đề nghị",
    "returned": "Trả lại bổ sung",
    "resubmitted": "Đề nghị lại",
    "approved": "Đã có quyết định",
    "rejected": "Không khen thưởng",
    "conferred": "Đã trao",
    "revoked": "Đã thu hồi",
}
BENEFICIARY_VI = {
    "policy_family": "Gia đình chính sách",
    "martyr_family": "Gia đình liệt sĩ",
    "force_member_family_in_hardship": "Gia đình cán bộ, chiến sĩ khó khăn",
    "poor_household": "Hộ nghèo",
    "other": "Khác",
}
UNIT_HEADINGS = (
    "Mã",
    "Đơn vị",
    "Loại",
    "Đơn vị cấp trên",
    "Đã đăng ký",
    "Ngày dự kiến",
    "Đã tổ chức",
    "Ngày tổ chức",
    "Đúng hạn",
    "Báo cáo đúng hạn",
    "Đủ phần lễ và phần hội",
    "Số người tham gia",
    "Kinh phí (VND)",
)
FIGURE_HEADINGS = (
    ("units_total", "Số đơn vị"),
    ("units_planned", "Đã đăng ký"),
    ("units_held", "Đã tổ chức"),
    ("units_held_on_time", "Đúng hạn"),
    ("units_reported_on_time", "Báo cáo đúng hạn"),
    ("coverage", "Tỷ lệ tổ chức"),
    ("ceremony_compliance", "Tỷ lệ đủ hai phần"),
    ("participants", "Số người tham gia"),
    ("cost_vnd", "Kinh phí (VND)"),
)


def _dmy(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def _day(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso) if iso else None


def _yes(flag: bool) -> str:
    return "Có" if flag else "Không"


def _pct(x: float) -> str:
    return f"{x:.0%}"


@reporting_app.command("coverage")
def reporting_coverage(
    year: Annotated[int, typer.Option()],
    scope: Annotated[str, typer.Option(help="scope unit id")],
    tree_date: Annotated[str | None, typer.Option(help=TREE_DATE_HELP)] = None,
) -> None:
    """Coverage of a scope, with a row per child unit."""
    params: dict[str, Any] = {"year": year, "scope_unit_id": scope}
    if tree_date:
        params["tree_date"] = tree_date
    result = _answer(run(lambda c: c.query("reporting", "coverage", params)))

    def row(name: str, kind: str, f: dict[str, Any]) -> tuple[str, ...]:
        counts = (f["units_total"], f["units_planned"], f["units_held"], f["units_held_on_time"])
        return (
            name,
            kind,
            *map(str, counts),
            _pct(f["coverage"]),
            _pct(f["ceremony_compliance"]),
            _vnd(f["participants"]),
        )

    rows = [row(b["name"], KIND_VI.get(b["kind"], b["kind"]), b) for b in result["breakdown"]]
    rows.append(row("Tổng", "", result))
    columns = (
        "Đơn vị",
        "Loại",
        "Số đơn vị",
        "Đã đăng ký",
        "Đã tổ chức",
        "Đúng hạn",
        "Tỷ lệ",
        "Đủ hai phần",
        "Người tham gia",
    )
    title = f"Ngày hội {year} — {result['scope_name']}, cây đơn vị ngày {_dmy(result['tree_date'])}"
    console.print(_table(title, columns, rows))


async def _season(client: Client, year: int, scope: str, tree_date: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"year": year, "scope_unit_id": scope}
    if tree_date:
        params["tree_date"] = tree_date
    out: dict[str, Any] = {}
    for name in ("coverage", "awards-summary", "gifts-summary"):
        out[name] = _answer(await client.query("reporting", name, params))
    try:  # the forms' names, from awards (the report still comes out, with codes, if awards does not answer)
        rules = await client.query("awards", "rules", {"date": out["coverage"]["tree_date"]})
        out["forms"] = {f["code"]: f["name"] for f in rules.result.get("forms", [])} if rules.ok else {}
    except Exception:
        out["forms"] = {}
    units: list[dict[str, Any]] = []
    after = None
    while True:
        page_params = {**params, "limit": 5000, **({"after": after} if after else {})}
        page = _answer(await client.query("reporting", "units-report", page_params))
        units += page["units"]
        after = page["next"]
        if after is None:
            return {**out, "units": units}


def _unit_row(u: dict[str, Any], as_dates: bool) -> list[Any]:
    day = _day if as_dates else _dmy
    return [
        u["code"] or "",
        u["name"],
        KIND_VI.get(u["kind"], u["kind"]),
        u.get("parent_name") or u["parent_id"] or "",
        _yes(u["planned"]),
        day(u["planned_date"]),
        _yes(u["held"]),
        day(u["held_on"]),
        _yes(u["held_on_time"]),
        _yes(u["reported_on_time"]),
        _yes(u["both_parts"]),
        u["participants"],
        u["cost_vnd"],
    ]


def write_xlsx(season: dict[str, Any], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    cov = season["coverage"]
    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    ws.append([f"Báo cáo sơ kết Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm {cov['year']}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Đơn vị: {cov['scope_name']}", f"Cây đơn vị ngày {_dmy(cov['tree_date'])}"])
    ws.append([])
    ws.append(["Đơn vị", *(h for _, h in FIGURE_HEADINGS)])
    first = ws.max_row + 1
    for b in cov["breakdown"]:
        ws.append([b["name"], *(b[k] for k, _ in FIGURE_HEADINGS)])
    last = ws.max_row
    ws.append(["Tổng", *(cov[k] for k, _ in FIGURE_HEADINGS)])
    for cells in ws.iter_rows(min_row=first, max_row=ws.max_row):
        for cell, (k, _) in zip(cells[1:], FIGURE_HEADINGS, strict=True):
            cell.number_format = "0%" if k in ("coverage", "ceremony_compliance") else "#,##0"
    if cov["breakdown"]:
        chart = BarChart()
        chart.title = "Tỷ lệ đơn vị đã tổ chức Ngày hội"
        chart.y_axis.title = "Tỷ lệ"
        chart.y_axis.number_format = "0%"
        column = 1 + [k for k, _ in FIGURE_HEADINGS].index("coverage") + 1
        chart.add_data(Reference(ws, min_col=column, min_row=first - 1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        chart.width, chart.height = 24, 10
        ws.add_chart(chart, f"A{ws.max_row + 3}")
    for title, kinds in LEVELS.items():
        rows = [u for u in season["units"] if u["kind"] in kinds]
        if not rows:
            continue
        sheet = wb.create_sheet(title)
        sheet.append(list(UNIT_HEADINGS))
        for u in rows:
            sheet.append(_unit_row(u, as_dates=True))
        for cells in sheet.iter_rows(min_row=2):
            cells[-1].number_format = cells[-2].number_format = "#,##0"
            cells[5].number_format = cells[7].number_format = "DD/MM/YYYY"
    awards, forms = season["awards-summary"], season.get("forms", {})
    sheet = wb.create_sheet("Khen thưởng")
    tables = (
        (
            "Đề nghị khen thưởng",
            awards["nominations"],
            ("submitted", "returned", "resubmitted", "approved", "rejected"),
        ),
        ("Khen thưởng", awards["awards"], ("approved", "conferred", "revoked")),
    )
    for title, counts, statuses in tables:
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append(["Hình thức", *(STATUS_VI[x] for x in statuses), "Tổng"])
        for form, by_status in sorted(counts.items()):
            values = [by_status.get(x, 0) for x in statuses]
            sheet.append([forms.get(form, form), *values, sum(values)])
        sheet.append([])
    sheet.append(["Tổng tiền thưởng (VND)", awards["awards_amount_vnd"]])
    sheet.cell(sheet.max_row, 2).number_format = "#,##0"
    gifts = season["gifts-summary"]
    sheet = wb.create_sheet("Quà tặng")
    sheet.append(["Nguồn kinh phí", "Giá trị (VND)"])
    for source, value in sorted(gifts["by_funding_source"].items()):
        sheet.append([source, value])
    sheet.append([])
    sheet.append(["Đối tượng", "Số lượt", "Số người nhận", "Giá trị (VND)"])
    for kind, v in sorted(gifts["by_beneficiary_kind"].items()):
        sheet.append([BENEFICIARY_VI.get(kind, kind), v["entries"], v["recipients"], v["value_vnd"]])
    sheet.append(["Tổng", gifts["entries"], gifts["recipients"], gifts["value_vnd"]])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells[1:]:
            cell.number_format = "#,##0"
    wb.save(path)


def write_csv(season: dict[str, Any], path: Path) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8-sig") as f:  # the BOM lets spreadsheet programs read UTF-8
        out = csv.writer(f)
        out.writerow(UNIT_HEADINGS)
        for u in season["units"]:
            row = _unit_row(u, as_dates=False)
            row[-2], row[-1] = _vnd(row[-2]), _vnd(row[-1])
            out.writerow(row)


@reporting_app.command("export")
def reporting_export(
    year: Annotated[int, typer.Option()],
    scope: Annotated[str, typer.Option(help="scope unit id")],
    out: Annotated[Path, typer.Option(help="FILE.xlsx or FILE.csv")],
    tree_date: Annotated[str | None, typer.Option(help=TREE_DATE_HELP)] = None,
) -> None:
    """The season report (sơ kết / tổng kết): XLSX with a sheet per level, awards, gifts and a chart; or CSV."""
    if out.suffix.lower() not in (".xlsx", ".csv"):
        err.print("--out must end in .xlsx or .csv")
        raise typer.Exit(2)
    if not out.resolve().parent.is_dir():
        err.print(f"--out: the folder {out.resolve().parent} does not exist")
        raise typer.Exit(2)
    season = run(lambda c: _season(c, year, scope, tree_date))
    (write_xlsx if out.suffix.lower() == ".xlsx" else write_csv)(season, out)
    cov = season["coverage"]
    console.print(f"{out}: {len(season['units'])} units, {cov['units_held']} held ({cov['coverage']:.0%})")


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
