"""`antq awards …`: the rules in force, nominations, a nominee's history, gifts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args

import typer
from pydantic import ValidationError

from shared.client.cli.common import (
    USAGE,
    answer,
    console,
    err,
    fail,
    listing,
    refused_rows,
    run,
    run_import,
    table,
    vnd,
)
from shared.client.cli.words import say
from shared.contract import awards as c


def commands(awards_app: typer.Typer) -> None:
    @awards_app.command("rules")
    def awards_rules(
        date: Annotated[str | None, typer.Option(help="in force on YYYY-MM-DD (default today)")] = None,
    ) -> None:
        """The award forms in force on a date, with their grantor, amounts and UNCONFIRMED flags."""
        result = listing(run(lambda c: c.query("awards", "rules", {"date": date} if date else {})))
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
                    " / ".join(f"{k}: {vnd(a['vnd']) if a else '—'}" for k, a in amount.items()),
                    "UNCONFIRMED" if f["unconfirmed"] else "",
                )
            )
        columns = ("code", "name", "grantor", "in force", "for", "once", "amount (VND)", "flags")
        console.print(
            table(
                say(
                    f"award forms in force on {result['date']} (rules {result['rules_version']})",
                    f"hình thức khen thưởng có hiệu lực ngày {result['date']} (quy định {result['rules_version']})",
                ),
                columns,
                rows,
            )
        )

    @awards_app.command("nominations")
    def awards_nominations(
        unit: Annotated[str, typer.Option(help="unit id: its subtree's nominations")],
        year: Annotated[int | None, typer.Option()] = None,
        status: Annotated[str | None, typer.Option(help="submitted, returned, resubmitted, approved, rejected")] = None,
        form: Annotated[str | None, typer.Option(help="award form code")] = None,
        overdue: Annotated[bool, typer.Option("--overdue", help="only open dossiers past their due date")] = False,
        limit: int = 100,
    ) -> None:
        """Nominations of a unit's subtree, newest first."""
        params: dict[str, Any] = {"unit_id": unit, "limit": limit, **({"overdue": True} if overdue else {})}
        for key, value in (("year", year), ("status", status), ("award_form", form)):
            if value is not None:
                params[key] = value
        result = listing(run(lambda c: c.query("awards", "nominations", params)))
        rows = [
            (
                n["nomination_id"],
                n["nominee"]["person"]["name"] if n["nominee"].get("person") else n["nominee"]["unit_id"],
                n["nominee"]["unit_id"],
                n["award_form"],
                str(n["year"]),
                n["status"],
                n.get("due_on") or "",
                n["achievement"],
            )
            for n in result["items"]
        ]
        columns = ("nomination", "nominee", "unit", "form", "year", "status", "due on", "achievement")
        console.print(table(say(f"nominations under {unit}", f"đề nghị khen thưởng thuộc {unit}"), columns, rows))
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
        result = listing(run(lambda c: c.query("awards", "history", {"nominee": nominee})))
        nominations = [
            (n["nomination_id"], n["award_form"], str(n["year"]), n["status"], n["submitted_on"], n["achievement"])
            for n in result["nominations"]
        ]
        columns = ("nomination", "form", "year", "status", "submitted", "achievement")
        console.print(
            table(
                say(f"nominations of {result['nominee_key']}", f"đề nghị của {result['nominee_key']}"),
                columns,
                nominations,
            )
        )
        awards = [
            (
                a["award_id"],
                a["award_form"],
                f"{a['decision_no']} ({a['decision_date']})",
                a["decided_by"]["name"],
                a["status"] + (" (imported)" if a.get("imported") else ""),
                a["conferred_on"] or "",
                vnd(a["amount_vnd"]),
            )
            for a in result["awards"]
        ]
        award_columns = ("award", "form", "decision", "decided by", "status", "conferred", "amount (VND)")
        console.print(
            table(
                say(f"awards of {result['nominee_key']}", f"khen thưởng của {result['nominee_key']}"),
                award_columns,
                awards,
            )
        )

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
        result = listing(run(lambda c: c.query("awards", "gifts", params)))
        rows = [
            (
                g["gift_id"],
                g["unit_id"],
                g["beneficiary_kind"],
                str(g["recipients"]),
                vnd(g["value_vnd"]),
                g["funding_source"],
                g["given_on"],
                g["festival_id"] or "",
            )
            for g in result["items"]
        ]
        columns = ("gift", "unit", "beneficiaries", "recipients", "value (VND)", "funding", "given on", "festival")
        console.print(table(say("gifts", "thăm hỏi, tặng quà"), columns, rows))
        t = result["totals"]
        console.print(f"{t['entries']} entries, {t['recipients']} recipients, {vnd(t['value_vnd'])} VND")

    @awards_app.command("decide")
    def awards_decide(
        nomination: Annotated[str, typer.Argument(help="the nomination's id")],
        verdict: Annotated[str, typer.Argument(help="approve, return or reject")],
        decision_no: Annotated[str | None, typer.Option(help="the decision's number, e.g. 12/QĐ-UBND")] = None,
        decision_date: Annotated[str | None, typer.Option(help="the decision's date, YYYY-MM-DD")] = None,
        reason: Annotated[str | None, typer.Option(help="why it is returned or rejected")] = None,
    ) -> None:
        """Decide a nomination as its granting authority: approve (decision number and date), return (a
        reason) or reject (a reason). What is missing is asked for."""
        if verdict not in ("approve", "return", "reject"):
            fail(f"{verdict!r} is not a decision: use approve, return or reject", USAGE)
        try:
            if verdict == "approve":
                number = decision_no or typer.prompt("Số quyết định (decision number, e.g. 12/QĐ-UBND)")
                day = decision_date or typer.prompt("Ngày quyết định (decision date, YYYY-MM-DD)")
                cmd: Any = c.ApproveNomination(nomination_id=nomination, decision_no=number, decision_date=day)
            else:
                why = reason or typer.prompt("Lý do (reason)")
                kind = c.ReturnNomination if verdict == "return" else c.RejectNomination
                cmd = kind(nomination_id=nomination, reason=why)
        except ValidationError as exc:
            first = exc.errors()[0]
            fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", USAGE)
        result = answer(run(lambda client: client.send(cmd)))
        done = {"approve": "approved", "return": "returned", "reject": "rejected"}[verdict]
        extra = f": award {result['award_id']}, {vnd(result.get('amount_vnd'))} VND" if verdict == "approve" else ""
        console.print(f"nomination {nomination} {done}{extra}")

    @awards_app.command("record-decision")
    def awards_record_decision(
        nominations: Annotated[list[str], typer.Argument(help="the nominations the decision approves")],
        decision_no: Annotated[str, typer.Option(help="the decision's number, e.g. 12/QĐ-UBND")],
        decision_date: Annotated[str, typer.Option(help="the decision's date, YYYY-MM-DD")],
        signer: Annotated[str, typer.Option(help="who signed it, e.g. 'Nguyễn Văn B, Chủ tịch UBND phường'")],
        title: Annotated[str | None, typer.Option(help="Về việc … (the decision's subject)")] = None,
    ) -> None:
        """One decision approving many nominations at once: all of them, or none (each refused one is named
        with its reason)."""
        try:
            cmd = c.RecordDecision(
                decision_no=decision_no,
                decision_date=decision_date,
                signer=signer,
                title=title,
                nominations=[c.DecisionItem(nomination_id=n) for n in nominations],
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", USAGE)
        result = answer(run(lambda client: client.send(cmd)))
        rows = [(x["nomination_id"], x["award_id"], vnd(x.get("amount_vnd"))) for x in result["awards"]]
        console.print(table(say(f"decision {result['decision_id']}", f"quyết định {result['decision_id']}"),
                            ("nomination", "award", "amount (VND)"), rows))  # fmt: skip

    @awards_app.command("decision")
    def awards_decision(
        decision_id: Annotated[str, typer.Argument(help="the decision's id, as record-decision answered it")],
        out: Annotated[Path | None, typer.Option(help="write its annex to this .docx or .xlsx file")] = None,
    ) -> None:
        """A decision and its awards; with --out, its annex "Danh sách tập thể, cá nhân được khen thưởng"."""
        from shared.client import annex

        if out is not None and out.suffix.lower() not in (".docx", ".xlsx"):
            fail(f"{out.name}: the annex is written as .docx or .xlsx", USAGE)

        async def both(client: Any) -> tuple[Any, Any]:
            found = await client.query("awards", "decision", {"decision_id": decision_id})
            day = (found.result or {}).get("decision_date") if found.ok else None
            return found, await client.query("awards", "rules", {"date": day} if day else {})

        reply, rules = run(both)
        decision = listing(reply)
        forms = {f["code"]: f["name"] for f in (rules.result or {}).get("forms", [])} if rules.ok else {}
        found = annex.rows(decision, forms)
        shown = [(r[0], r[1], r[3], r[4], r[6]) for kind in ("collective", "individual") for r in found[kind]]
        console.print(annex.subtitle(decision))
        console.print(
            table(say("annex", "danh sách khen thưởng"), ("no", "name", "unit", "form", "amount (VND)"), shown)
        )
        if out is not None:
            annex.write(decision, out, forms)
            console.print(f"annex written: {out}")

    @awards_app.command("attach")
    def awards_attach(
        nomination: Annotated[str, typer.Argument(help="the nomination's id")],
        file: Annotated[Path, typer.Argument(help="a PDF, JPEG, PNG, DOCX or XLSX file", exists=True, dir_okay=False)],
        kind: Annotated[
            str, typer.Option(help="to_trinh, bao_cao_thanh_tich, bien_ban, bien_ban_hoi_dong, photo or other")
        ] = "other",
    ) -> None:
        """Attach a file to a nomination's dossier: it is uploaded to the antq-uploads object store, then
        attach-file names it (awards checks it and keeps it)."""
        kinds = get_args(c.AttachmentKind)
        if kind not in kinds:
            fail(f"{kind!r} is not a kind of file: use {', '.join(kinds)}", USAGE)
        data = file.read_bytes()

        async def go(client: Any) -> Any:
            ref = await client.upload(data, file.name)
            return await client.command("awards", "attach-file", {"nomination_id": nomination, "kind": kind, **ref})

        result = answer(run(go))
        console.print(f"{file.name} attached to nomination {nomination}: attachment {result['attachment_id']}")

    attachment_app = typer.Typer(help="A dossier's files.", no_args_is_help=True)
    awards_app.add_typer(attachment_app, name="attachment")

    @attachment_app.command("get")
    def attachment_get(
        nomination: Annotated[str, typer.Argument(help="the nomination's id")],
        attachment: Annotated[str, typer.Argument(help="the attachment's id (listed with the nomination)")],
        out: Annotated[Path | None, typer.Option(help="where to write it (default: its name, here)")] = None,
    ) -> None:
        """Download a file of a dossier (only an actor who may read the nomination may)."""
        from shared.client.client import AttachmentError

        async def go(client: Any) -> Any:
            try:
                return await client.download(nomination, attachment)
            except AttachmentError as exc:
                return exc

        got = run(go)
        if isinstance(got, AttachmentError):
            fail(f"{got.error.get('code')}: {got.error.get('message')}", 1)
        found, data = got
        target = out or Path(Path(found["name"]).name)
        target.write_bytes(data)
        console.print(f"{found['name']} ({len(data)} bytes, SHA-256 checked) written to {target}")

    @awards_app.command("import")
    def awards_import(
        file: Annotated[
            Path,
            typer.Argument(
                exists=True,
                dir_okay=False,
                help="CSV or XLSX: award_form, nominee_kind, unit_id, person_id, person_name, position, year, "
                "achievement, decision_no, decision_date, decided_by, register_no",
            ),
        ],
        timeout: Annotated[float, typer.Option(help="seconds to wait for the last outcome")] = 120.0,
    ) -> None:
        """Load past awards through the durable intake (idempotent: running it twice imports nothing twice);
        once-only forms and "one achievement, one award" then know them."""
        from shared.client.award_import import import_awards
        from shared.client.importer import read_rows

        rows = read_rows(file)
        report = run_import(f"importing {file.name}", rows, lambda c, advance: import_awards(c, rows, advance, timeout))
        console.print(
            f"{report.rows} rows: [green]{report.imported} imported[/green], {report.unchanged} unchanged, "
            f"[red]{len(report.failed)} refused[/red]"
        )
        refused_rows(report.failed)

    @awards_app.command("search")
    def awards_search(
        text: Annotated[str, typer.Argument(help="words of the name, with or without diacritics: 'nguyen van a'")],
        unit: Annotated[str | None, typer.Option(help="within this unit's subtree (default: yours)")] = None,
        history: Annotated[bool, typer.Option("--history", help="and the history of the one person found")] = False,
    ) -> None:
        """Find people nominated, by name without diacritics; their history is `history --person ID`."""
        params: dict[str, Any] = {"text": text, **({"unit_id": unit} if unit else {})}
        result = listing(run(lambda c: c.query("awards", "nominees", params)))
        rows = [
            (p["person_id"], p["name"], p.get("position") or "", p["unit_id"], str(p["nominations"]), str(p["awards"]))
            for p in result["items"]
        ]
        columns = ("person", "name", "position", "unit", "nominations", "awards")
        console.print(table(say(f"people named {text!r}", f"người có tên {text!r}"), columns, rows))
        if history and len(result["items"]) == 1:
            awards_history(unit=None, person=result["items"][0]["person_id"])
        elif history:
            err.print(f"{len(result['items'])} people found: --history shows one; narrow the search")

    @awards_app.command("certificate")
    def awards_certificate(
        award: Annotated[str, typer.Argument(help="the award's id")],
        out: Annotated[Path, typer.Option(help="the certificate's file: .pdf or .docx")],
    ) -> None:
        """Print an award's certificate (Giấy khen, Bằng khen, the medal's) from its form's template."""
        from shared.client import certificate

        if out.suffix.lower() not in (".pdf", ".docx"):
            fail(f"{out.name}: a certificate is written as .pdf or .docx", USAGE)
        found = answer(run(lambda c: c.query("awards", "certificate", {"award_id": award})))
        try:
            certificate.write(found["lines"], out)
        except certificate.FontMissing as exc:
            fail(str(exc), 1)
        console.print(f"{found['form_name']} for award {award} written to {out}")
