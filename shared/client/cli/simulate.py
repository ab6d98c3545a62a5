"""`antq simulate season`: a whole season through the bus, checked against the simulator's own figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.progress import Progress, TaskID

from shared.client.cli.common import REFUSED, USAGE, console, err, fail, run, table
from shared.client.cli.words import kind, say
from shared.client.client import Client
from shared.client.season_docx import write_docx
from shared.client.season_report import QueryRefused, pct, season, vnd, write_xlsx
from shared.client.simulate import Outcome, simulate
from shared.client.simulate.chaos import Chaos, ChaosUnavailable
from shared.client.simulate.driver import RefusedStep

simulate_app = typer.Typer(help="Simulate a season through the public bus, and check what the services report.")


def last_season(today: dt.date) -> int:
    """The latest season whose window is over (its festivals can be reported held)."""
    return today.year if today > dt.date(today.year, 8, 19) else today.year - 1


@simulate_app.command("season")
def simulate_season(
    scope: Annotated[str | None, typer.Option(help="an existing scope, e.g. hue (the sample of `make up`)")] = None,
    units: Annotated[int | None, typer.Option(help="a generated province of about N units instead")] = None,
    year: Annotated[int | None, typer.Option(help="the season (default: the latest whose window is over)")] = None,
    seed: Annotated[int, typer.Option(help="the same seed plans the same season")] = 1,
    today: Annotated[
        str | None,
        typer.Option(help="the services' today, YYYY-MM-DD (default: today in Vietnam); decides 'reported on time'"),
    ] = None,
    email: Annotated[str | None, typer.Option(help="also an email recipient of every festival held")] = None,
    out_dir: Annotated[Path, typer.Option(help="where the season report (DOCX, XLSX) is written")] = Path("."),
    settle: Annotated[float, typer.Option(help="seconds to wait for the services to catch up")] = 300.0,
    chaos: Annotated[
        bool, typer.Option(help="kill -9 each service and the database in turn during the run (against `make up`)")
    ] = False,
    data: Annotated[
        Path, typer.Option(envvar="ANTQ_DATA_DIR", help="`make up`'s data folder (its pids.json), for --chaos")
    ] = Path(".antq-data"),
) -> None:
    """Open a campaign and run its season: festivals planned and held (some late, some with one part only,
    some cancelled, some never reported), reports accepted or returned, nominations through their paths,
    awards conferred at ceremonies and some revoked, gifts, models; a webhook (and an email) recipient.
    Then compare reporting's figures at every level, the units missing, the awards and gifts summaries and
    the delivery log with the figures the simulator computed from what it sent. Exits 1 on any difference."""
    if (scope is None) == (units is None):
        fail("give --scope (an existing scope) or --units N (a generated province), one of them", USAGE)
    if units is not None and not 30 <= units <= 200_000:
        fail("--units: between 30 and 200000", USAGE)
    try:
        day = dt.date.fromisoformat(today) if today else dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    except ValueError:
        fail(f"--today {today!r}: a date, YYYY-MM-DD", USAGE)
    season_year = year if year is not None else last_season(day)
    if dt.date(season_year, 8, 19) >= day:
        fail(f"--year {season_year}: its window is not over on {day} (festivals cannot be reported held yet)", USAGE)
    if not out_dir.is_dir():
        fail(f"--out-dir {out_dir}: no such folder", USAGE)
    try:
        havoc = Chaos(data / "pids.json") if chaos else None
    except ChaosUnavailable as exc:
        fail(str(exc), USAGE)

    async def go(client: Client) -> tuple[Outcome, dict[str, Any]]:
        tasks: dict[str, TaskID] = {}
        with Progress(console=err, transient=False) as bar:

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total or None)
                bar.update(tasks[phase], completed=done, total=total or None)

            outcome = await simulate(client, season_year, seed, day, scope, units, email, progress, settle, havoc)
        report = await season(client, season_year, outcome.tree.root, None)
        return outcome, report

    try:
        outcome, report = run(go)
    except (RefusedStep, ChaosUnavailable) as exc:
        fail(str(exc), REFUSED)
    except QueryRefused as exc:
        fail(f"the season report could not be read: {exc.reply.error}", REFUSED)
    show_outcome(outcome, report, out_dir)


def show_outcome(outcome: Outcome, report: dict[str, Any], out_dir: Path) -> None:
    cov = report["coverage"]
    rows: list[tuple[str, ...]] = [
        (
            b["name"],
            kind(b["kind"]),
            str(b["units_total"]),
            str(b["units_planned"]),
            str(b["units_held"]),
            str(b["units_held_on_time"]),
            pct(b["coverage"]),
            pct(b["ceremony_compliance"]),
            vnd(b["participants"]),
        )
        for b in cov["breakdown"]
    ]
    rows.append(
        (say("Total", "Tổng"), "", *map(str, (cov["units_total"], cov["units_planned"], cov["units_held"],
         cov["units_held_on_time"])), pct(cov["coverage"]), pct(cov["ceremony_compliance"]), vnd(cov["participants"]))
    )  # fmt: skip
    columns = ("unit", "kind", "expected", "planned", "held", "on time", "coverage", "both parts", "participants")
    title = say(
        f"Simulated season {outcome.season.year} — {cov['scope_name']}",
        f"Mùa Ngày hội mô phỏng {outcome.season.year} — {cov['scope_name']}",
    )
    console.print(table(title, columns, rows))
    stem = out_dir / f"so-ket-{outcome.season.year}-{outcome.tree.root}"
    write_docx(report, stem.with_suffix(".docx"))
    write_xlsx(report, stem.with_suffix(".xlsx"))
    fates = ", ".join(f"{n} {fate}" for fate, n in sorted(outcome.season.counts().items()))
    console.print(
        f"{len(outcome.tree.units)} units; festivals: {fates}; {len(outcome.season.nominations)} nominations, "
        f"{len(outcome.season.gifts)} gifts, {len(outcome.season.models)} models; "
        f"{len(outcome.season.mergers)} mergers on {outcome.season.year}-08-01 (with dossiers decided after them)"
    )
    console.print(
        f"{outcome.commands} commands ({outcome.retries} resent: not known yet) in {outcome.seconds:.0f} s; "
        f"reporting agreed {outcome.settle_seconds:.1f} s after the last command"
    )
    for channel, counts in outcome.deliveries.items():
        console.print(f"deliveries to the {channel} recipient: {counts}")
    if outcome.webhook_posts:
        console.print(f"webhook posts received: {outcome.webhook_posts} ({outcome.webhook_ids} distinct webhook-id)")
    for part, pid, away in outcome.kills:
        console.print(f"chaos: kill -9 {part} (pid {pid}); back in {away:.1f} s")
    console.print(f"season report: {stem.with_suffix('.docx')}  {stem.with_suffix('.xlsx')}")
    for line in outcome.failures:
        err.print(f"[red]refused[/red] {line}")
    for line in outcome.differences[:200]:
        err.print(f"[red]differs[/red] {line}")
    if not outcome.ok:
        err.print(f"[red]{len(outcome.differences)} differences, {len(outcome.failures)} refusals[/red]")
        raise typer.Exit(REFUSED)
    console.print(
        "[green]expected = reported[/green] at every level (coverage, units missing, awards, gifts, deliveries)"
    )
