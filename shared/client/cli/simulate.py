"""`antq simulate season`: a whole season through the bus, checked against the simulator's own figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.progress import Progress, TaskID

from shared.client.cli.common import REFUSED, USAGE, Opts, console, err, fail, run, table
from shared.client.cli.words import kind, number, say
from shared.client.client import Client
from shared.client.season_docx import write_docx
from shared.client.season_report import QueryRefused, pct, season, write_xlsx
from shared.client.simulate import HELD, Outcome, simulate
from shared.client.simulate.chaos import Chaos, ChaosUnavailable
from shared.client.simulate.driver import RefusedStep
from shared.contract.notifications import AddRecipient

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
    day = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()  # checked again on the services' own date
    season_year = year if year is not None else last_season(day)
    if not season_year >= 2005:
        fail(f"--year {season_year}: the festival began in 2005", USAGE)
    if dt.date(season_year, 8, 19) >= day:
        fail(f"--year {season_year}: its window is not over on {day} (festivals cannot be reported held yet)", USAGE)
    if not out_dir.is_dir():
        fail(f"--out-dir {out_dir}: no such folder", USAGE)
    if not 0 < settle <= 3600:
        fail("--settle: more than 0 and at most 3600 seconds", USAGE)
    if email is not None:  # checked as notifications will, before anything is sent
        try:
            AddRecipient.model_validate({"scope_unit_id": "x", "events": [HELD], "channel": "email", "address": email})
        except ValidationError as exc:
            fail(f"--email {email!r}: {exc.errors()[0]['msg']}", USAGE)
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

            outcome = await simulate(client, season_year, seed, scope, units, email, progress, settle, havoc)
        report = await season(client, season_year, outcome.tree.root, None)
        return outcome, report

    try:
        outcome, report = run(go)
    except (RefusedStep, ChaosUnavailable) as exc:
        fail(str(exc), REFUSED)
    except QueryRefused as exc:
        fail(f"the season report could not be read: {exc.reply.error}", REFUSED)
    show_outcome(outcome, report, out_dir)


FATES_VI = {
    "both_parts": "đủ hai phần",
    "one_part": "một phần",
    "late": "tổ chức muộn",
    "cancelled": "hủy",
    "unreported": "không báo cáo",
}


def summary(outcome: Outcome, stem: Path) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "year": outcome.season.year,
        "scope_unit_id": outcome.tree.root,
        "units": len(outcome.tree.units),
        "festivals": outcome.season.counts(),
        "nominations": len(outcome.season.nominations),
        "gifts": len(outcome.season.gifts),
        "models": len(outcome.season.models),
        "mergers": len(outcome.season.mergers),
        "commands": outcome.commands,
        "resent": outcome.retries,
        "seconds": round(outcome.seconds, 1),
        "settle_seconds": round(outcome.settle_seconds, 1),
        "services_date": outcome.today.isoformat() if outcome.today else None,
        "deliveries": outcome.deliveries,
        "webhook_posts": outcome.webhook_posts,
        "webhook_ids": outcome.webhook_ids,
        "kills": [{"part": p, "pid": pid, "back_after_seconds": round(t, 1)} for p, pid, t in outcome.kills],
        "report": [str(stem.with_suffix(".docx")), str(stem.with_suffix(".xlsx"))],
        "refusals": outcome.failures,
        "differences": outcome.differences,
    }


def show_outcome(outcome: Outcome, report: dict[str, Any], out_dir: Path) -> None:
    cov = report["coverage"]
    stem = out_dir / f"so-ket-{outcome.season.year}-{outcome.tree.root}"
    write_docx(report, stem.with_suffix(".docx"))
    write_xlsx(report, stem.with_suffix(".xlsx"))
    if Opts.json:
        console.print_json(json.dumps(summary(outcome, stem), ensure_ascii=False))
        raise typer.Exit(0 if outcome.ok else REFUSED)
    rows: list[tuple[str, ...]] = [
        (
            b["name"],
            kind(b["kind"]),
            *(number(b[k]) for k in ("units_total", "units_planned", "units_held", "units_held_on_time")),
            pct(b["coverage"]),
            pct(b["ceremony_compliance"]),
            number(b["participants"]),
        )
        for b in [*cov["breakdown"], {**cov, "name": say("Total", "Tổng"), "kind": ""}]
    ]
    columns = ("unit", "kind", "expected", "planned", "held", "on time", "coverage", "both parts", "participants")
    title = say(
        f"Simulated season {outcome.season.year} — {cov['scope_name']}",
        f"Mùa Ngày hội mô phỏng {outcome.season.year} — {cov['scope_name']}",
    )
    console.print(table(title, columns, rows))
    s = outcome.season
    fates = sorted(s.counts().items())
    console.print(
        say(
            f"{len(outcome.tree.units)} units; festivals: {', '.join(f'{n} {f}' for f, n in fates)}; "
            f"{len(s.nominations)} nominations, {len(s.gifts)} gifts, {len(s.models)} models; "
            f"merger(s) on {s.year}-08-01: {len(s.mergers)} (with dossiers decided after them)",
            f"{len(outcome.tree.units)} đơn vị; Ngày hội: {', '.join(f'{n} {FATES_VI.get(f, f)}' for f, n in fates)}; "
            f"{len(s.nominations)} đề nghị khen thưởng, {len(s.gifts)} lượt tặng quà, {len(s.models)} mô hình; "
            f"sáp nhập ngày 01/08/{s.year}: {len(s.mergers)} (hồ sơ quyết định sau sáp nhập)",
        )
    )
    agreed = outcome.ok or not outcome.differences
    took = f"{outcome.settle_seconds:.1f}"
    en_sent = f"{outcome.commands} commands ({outcome.retries} resent: not known yet) in {outcome.seconds:.0f} s; "
    vi_sent = f"{outcome.commands} lệnh ({outcome.retries} gửi lại) trong {outcome.seconds:.0f} giây; "
    if agreed:
        console.print(
            say(
                en_sent + f"reporting agreed {took} s after the last command",
                vi_sent + f"số liệu báo cáo khớp {took} giây sau lệnh cuối",
            )
        )
    else:
        console.print(
            say(
                en_sent + f"reporting still differed {took} s after the last command",
                vi_sent + f"số liệu báo cáo vẫn khác {took} giây sau lệnh cuối",
            )
        )
    for channel, counts in outcome.deliveries.items():
        console.print(
            say(f"deliveries to the {channel} recipient: {counts}", f"gửi tới người nhận {channel}: {counts}")
        )
    if outcome.webhook_posts:
        console.print(
            say(
                f"webhook posts received: {outcome.webhook_posts} ({outcome.webhook_ids} distinct webhook-id)",
                f"webhook nhận được: {outcome.webhook_posts} ({outcome.webhook_ids} webhook-id khác nhau)",
            )
        )
    for part, pid, away in outcome.kills:
        console.print(say(f"chaos: kill -9 {part} (pid {pid}); back in {away:.1f} s",
                          f"chaos: kill -9 {part} (pid {pid}); chạy lại sau {away:.1f} giây"))  # fmt: skip
    console.print(
        say("season report: ", "báo cáo sơ kết: ") + f"{stem.with_suffix('.docx')}  {stem.with_suffix('.xlsx')}"
    )
    for line in outcome.failures:
        err.print(f"[red]refused[/red] {line}")
    for line in outcome.differences[:200]:
        err.print(f"[red]differs[/red] {line}")
    if not outcome.ok:
        err.print(f"[red]{len(outcome.differences)} differences, {len(outcome.failures)} refusals[/red]")
        raise typer.Exit(REFUSED)
    console.print(
        say(
            "[green]expected = reported[/green] at every level (coverage, units missing, awards, gifts, deliveries)",
            "[green]expected = reported[/green]: số liệu dự kiến khớp số liệu báo cáo ở mọi cấp "
            "(tỷ lệ tổ chức, đơn vị chưa hoàn thành, khen thưởng, tặng quà, thông báo)",
        )
    )
