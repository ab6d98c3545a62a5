"""`antq registry …`: imports, reforms, units."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from shared.client import Client
from shared.client.calendar import ics
from shared.client.cli.common import Opts, answer, console, err, listing, refused_rows, run, run_import, show, table
from shared.client.cli.words import day, kind, say
from shared.client.importer import import_units, read_rows
from shared.client.reform import ReformReport, apply_reform, read_csv


def commands(registry_app: typer.Typer) -> None:
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
        report = run_import(
            f"importing {file.name}", rows, lambda c, advance: import_units(c, rows, concurrency, advance)
        )
        console.print(
            f"{report.rows} rows: [green]{report.created} created[/green], {report.unchanged} unchanged, "
            f"[red]{len(report.failed)} refused[/red]"
        )
        refused_rows(report.failed)

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
        if report.unchanged and not (report.merged or report.moved or report.closed or report.failed):
            console.print(
                f"nothing changed: the reform of {date} is already applied ({report.unchanged} units as it left them)"
            )
        else:
            console.print(
                f"{len(units)} new units: [green]{report.merged} formed by merger, {report.moved} moved[/green], "
                f"{report.closed} {'unit' if report.closed == 1 else 'units'} of the abolished level closed, "
                f"{report.unchanged} already as the reform leaves them, [red]{len(report.failed)} refused[/red]"
            )
        for what, why in report.failed[:50]:
            err.print(f"  {what}: {why}")
        if report.failed:
            raise typer.Exit(1)

    @registry_app.command("unit")
    def unit(unit_id: str, date: Annotated[str | None, typer.Option(help="as of YYYY-MM-DD")] = None) -> None:
        """Show one unit with its history and lineage."""
        show(
            run(
                lambda c: c.query(
                    "registry", "unit", {"unit_id": unit_id, "date": date} if date else {"unit_id": unit_id}
                )
            )
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
        result = listing(run(lambda c: c.query("registry", "units", params)))
        rows = [
            (u["unit_id"], u["code"] or "", u["name"], kind(u["kind"]), u["parent_id"] or "", ",".join(u["flags"]))
            for u in result["units"]
        ]
        columns = ("unit_id", "code", "name", "kind", "parent_id", "flags")
        console.print(
            table(say(f"units as of {result['as_of']}", f"Đơn vị ngày {day(result['as_of'])}"), columns, rows, ids=1)
        )
        console.print(f"{len(result['units'])} units" + (f"; more after {result['next']}" if result["next"] else ""))

    @registry_app.command("festivals")
    @registry_app.command("calendar")
    def calendar(
        scope: Annotated[str | None, typer.Option(help="the unit whose subtree's festivals are listed")] = None,
        from_date: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
        to_date: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD")] = None,
        year: Annotated[int | None, typer.Option(help="only this year's festivals")] = None,
        ics_file: Annotated[Path | None, typer.Option("--ics", help="also write an iCalendar feed here")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the festivals as JSON")] = False,
    ) -> None:
        """The festivals of a scope between two dates, by date; `--ics` writes a feed an office subscribes to."""
        params: dict[str, Any] = {"limit": 10_000}
        for key, value in (("scope_unit_id", scope), ("from_date", from_date), ("to_date", to_date), ("year", year)):
            if value is not None:
                params[key] = value
        if not (scope or from_date or to_date):
            params["from_date"] = f"{year or dt.date.today().year}-01-01"  # calendar mode: a range or a scope
        festivals: list[dict[str, Any]] = []

        async def go(client: Client) -> None:
            after = None
            while True:
                page = answer(
                    await client.query("registry", "festivals", {**params, **({"after": after} if after else {})})
                )
                festivals.extend(page["festivals"])
                after = page["next"]
                if after is None:
                    return

        run(go)
        if ics_file is not None:
            name = f"Ngày hội toàn dân bảo vệ an ninh Tổ quốc – {scope or 'toàn bộ'}"
            ics_file.write_text(ics(festivals, name, dt.datetime.now(dt.UTC)), encoding="utf-8", newline="")
            err.print(f"{len(festivals)} festivals written to {ics_file}")
        if as_json or Opts.json:
            console.print_json(json.dumps(festivals, ensure_ascii=False))
            return
        rows = [
            (
                (f.get("result") or {}).get("held_on") or f["date"],
                f["festival_id"],
                f["unit_id"],
                f.get("unit_name") or "",
                f["status"],
                f.get("point_level") or "",
                f.get("venue") or "",
            )
            for f in festivals
        ]
        columns = ("date", "festival_id", "unit_id", "unit", "status", "point", "venue")
        console.print(
            table(
                say(f"festivals{f' of {scope}' if scope else ''}", f"Ngày hội{f' thuộc {scope}' if scope else ''}"),
                columns,
                rows,
                ids=3,
            )
        )
        console.print(f"{len(festivals)} festivals")
