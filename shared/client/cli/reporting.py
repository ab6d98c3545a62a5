"""`antq reporting …`: coverage, and the season report as a file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.client import Client, Reply
from shared.client.cli.common import Opts, answer, console, err, listing, run, show, table
from shared.client.cli.words import kind, number, reason, say
from shared.client.season_docx import write_docx
from shared.client.season_report import QueryRefused, coverage, dmy, pct, season, write_csv, write_xlsx

TREE_DATE_HELP = "the tree of YYYY-MM-DD (default: the season's: its campaign's close date, else its report deadline)"
WRITERS: dict[str, Callable[[dict[str, Any], Path], None]] = {"docx": write_docx, "xlsx": write_xlsx, "csv": write_csv}


def commands(reporting_app: typer.Typer) -> None:
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

        async def whole(client: Client) -> Reply:  # every page of the breakdown
            try:
                return Reply(True, None, await coverage(client, params), None)
            except QueryRefused as exc:
                return exc.reply

        result = listing(run(whole))

        def row(name: str, kind: str, f: dict[str, Any]) -> tuple[str, ...]:
            counts = (f["units_total"], f["units_planned"], f["units_held"], f["units_held_on_time"])
            return (
                name,
                kind,
                *map(str, counts),
                pct(f["coverage"]),
                pct(f["ceremony_compliance"]),
                number(f["participants"]),
            )

        rows = [row(b["name"], kind(b["kind"]), b) for b in result["breakdown"]]
        rows.append(row(say("Total", "Tổng"), "", result))
        columns = ("unit", "kind", "expected", "planned", "held", "on time", "coverage", "both parts", "participants")
        title = say(
            f"Festival {year} — {result['scope_name']}, on the unit tree of {result['tree_date']}",
            f"Ngày hội {year} — {result['scope_name']}, cây đơn vị ngày {dmy(result['tree_date'])}",
        )
        console.print(table(title, columns, rows))

    @reporting_app.command("missing")
    def reporting_missing(
        year: Annotated[int, typer.Option()],
        scope: Annotated[str, typer.Option(help="scope unit id")],
        tree_date: Annotated[str | None, typer.Option(help=TREE_DATE_HELP)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the units as JSON")] = False,
    ) -> None:
        """The units still to chase (units-missing): nothing planned, one part only, or the report returned."""
        params: dict[str, Any] = {"year": year, "scope_unit_id": scope, "limit": 5000}
        if tree_date:
            params["tree_date"] = tree_date
        units: list[dict[str, Any]] = []

        async def go(client: Any) -> dict[str, Any]:
            after = None
            while True:
                page = answer(
                    await client.query("reporting", "units-missing", {**params, **({"after": after} if after else {})})
                )
                units.extend(page["units"])
                after = page["next"]
                if after is None:
                    return page

        last = run(go)
        if as_json or Opts.json:
            console.print_json(json.dumps(units, ensure_ascii=False))
            return
        rows = [(u["unit_id"], u["name"], kind(u["kind"]), u.get("parent_name") or "", reason(u["reason"]))
                for u in units]  # fmt: skip
        title = say(
            f"Units still missing, {year}, on the unit tree of {last['tree_date']}",
            f"Đơn vị chưa hoàn thành, năm {year}, cây đơn vị ngày {dmy(last['tree_date'])}",
        )
        console.print(table(title, ("unit_id", "unit", "kind", "parent", "reason"), rows, ids=1))
        by_reason = ", ".join(f"{n} {reason(k)}" for k, n in last["by_reason"].items())
        console.print(say(f"{len(units)} units: ", f"{len(units)} đơn vị: ") + by_reason)

    @reporting_app.command("unit-status")
    def reporting_unit_status(
        year: Annotated[int, typer.Option()],
        unit: Annotated[str, typer.Option(help="unit id")],
    ) -> None:
        """One unit's year: its festivals, models, nominations, awards and gifts (JSON)."""
        show(run(lambda c: c.query("reporting", "unit-status", {"year": year, "unit_id": unit})))

    @reporting_app.command("export")
    def reporting_export(
        year: Annotated[int, typer.Option()],
        scope: Annotated[str, typer.Option(help="scope unit id")],
        out: Annotated[Path, typer.Option(help="FILE.docx, FILE.xlsx or FILE.csv")],
        tree_date: Annotated[str | None, typer.Option(help=TREE_DATE_HELP)] = None,
        format_: Annotated[
            str | None, typer.Option("--format", help="docx | xlsx | csv (default: from the file's suffix)")
        ] = None,
    ) -> None:
        """The season report (sơ kết / tổng kết): the narrative as DOCX; XLSX with a sheet per level, compliance,
        year on year, models, point festivals, awards and gifts; or the unit rows as CSV."""
        kind = (format_ or out.suffix.lstrip(".")).lower()
        if kind not in WRITERS:
            err.print("--format (or the suffix of --out) must be docx, xlsx or csv")
            raise typer.Exit(2)
        if out.suffix.lower() != f".{kind}":
            err.print(f"--out {out.name} does not end in .{kind}")
            raise typer.Exit(2)
        if not out.resolve().parent.is_dir():
            err.print(f"--out: the folder {out.resolve().parent} does not exist")
            raise typer.Exit(2)
        try:
            report = run(lambda c: season(c, year, scope, tree_date))
        except QueryRefused as exc:
            show(exc.reply)
            return
        WRITERS[kind](report, out)
        cov = report["coverage"]
        console.print(f"{out}: {len(report['units'])} units, {cov['units_held']} held ({cov['coverage']:.0%})")
