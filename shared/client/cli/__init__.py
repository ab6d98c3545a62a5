"""`antq`: the command line of the platform, a thin shell over the typed client. One module per
service (`antq <service> …`), the dead letters, raw commands and queries, development tokens."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from shared.client.cli import awards, describe, notifications, registry, reporting
from shared.client.cli.common import UNEXPECTED, USAGE, Opts, err, fail, parse_json, run, show
from shared.client.cli.dlq import dlq_app
from shared.client.cli.identity import IdentityError, actor_of
from shared.client.cli.services import service_app
from shared.client.cli.simulate import simulate_app
from shared.client.cli.status import status_command
from shared.client.cli.words import LANGS, Lang
from shared.client.tokens import Issuer
from shared.contract.services import SERVICES

app = typer.Typer(help="ANTQ festival platform command line.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(dlq_app, name="dlq")


@app.callback()
def main_options(
    nats_url: Annotated[str, typer.Option(envvar="ANTQ_NATS_URL", help="NATS server")] = Opts.nats_url,
    actor_id: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_ID")] = "cli",
    actor_unit: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_UNIT", help="empty only for admin")] = "",
    actor_role: Annotated[str, typer.Option(envvar="ANTQ_ACTOR_ROLE")] = "admin",
    timeout: Annotated[float, typer.Option(help="seconds to wait for a reply")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="listings print their answer as JSON")] = False,
    lang: Annotated[
        str, typer.Option("--lang", envvar="ANTQ_LANG", help="tables in vi (the province's language) or en")
    ] = "vi",
    token: Annotated[
        str | None, typer.Option(envvar="ANTQ_TOKEN", help="a JWT from the identity provider, sent on every request")
    ] = None,
    issuer_dir: Annotated[
        Path, typer.Option(envvar="ANTQ_ISSUER_DIR", help="the development issuer of `make up` (signs if present)")
    ] = Path(os.environ.get("ANTQ_DATA_DIR", ".antq-data")) / "issuer",
) -> None:
    Opts.nats_url = nats_url
    try:
        Opts.actor = actor_of(actor_id, actor_unit, actor_role, token)
    except IdentityError as exc:
        fail(str(exc), USAGE)
    Opts.timeout = timeout
    Opts.json = as_json
    if lang not in LANGS:
        fail(f"--lang {lang!r}: choose one of {', '.join(LANGS)}", USAGE)
    Lang.current = lang
    Opts.token = token
    Opts.issuer_dir = issuer_dir


@app.command("command")
def command(
    service: str,
    action: str,
    data: Annotated[str, typer.Argument(help="JSON object")],
    id: Annotated[str | None, typer.Option(help="idempotency key")] = None,
) -> None:
    """Send any command and print the reply (`antq describe SERVICE ACTION` shows its payload)."""
    show(run(lambda c: c.command(service, action, parse_json(data), id)))


@app.command("query")
def query(service: str, name: str, params: Annotated[str, typer.Argument(help="JSON object")] = "{}") -> None:
    """Ask any query and print the result."""
    show(run(lambda c: c.query(service, name, parse_json(params))))


@app.command("token")
def token_command(
    actor_id: Annotated[str, typer.Option("--actor-id", help="the token's sub")],
    role: Annotated[str, typer.Option(help="officer, approver or admin")],
    unit: Annotated[str | None, typer.Option(help="the actor's unit (none: a platform admin)")] = None,
    ttl: Annotated[
        float, typer.Option(help="seconds until it expires (at most 86400: the services refuse longer-lived tokens)")
    ] = 3600.0,
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
    if not 0 < ttl <= 86_400:
        err.print("[red]--ttl: more than 0 and at most 86400 seconds (ANTQ_AUTH_MAX_TOKEN_SECONDS)[/red]")
        raise typer.Exit(2)
    print(Issuer.load(Opts.issuer_dir).token(actor_id, unit, role, ttl=ttl))


describe.commands(app)
app.command("status")(status_command)
app.add_typer(simulate_app, name="simulate")

SERVICE_APPS = {entry.name: service_app(entry.name, entry.summary) for entry in SERVICES}
for _name, _sub in SERVICE_APPS.items():
    app.add_typer(_sub, name=_name)

registry.commands(SERVICE_APPS["registry"])
awards.commands(SERVICE_APPS["awards"])
notifications.commands(SERVICE_APPS["notifications"])
reporting.commands(SERVICE_APPS["reporting"])


def main() -> None:
    """Every failure is a line or two and an exit code (common.py): an error the CLI did not foresee is
    a defect, said in one line (ANTQ_DEBUG=1 shows its traceback)."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("ANTQ_DEBUG"):
            raise
        err.print(f"[red]unexpected error: {type(exc).__name__}: {str(exc)[:300]}[/red]")
        err.print("a defect of the CLI: ANTQ_DEBUG=1 shows the traceback to report")
        sys.exit(UNEXPECTED)
