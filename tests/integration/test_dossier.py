"""The dossier as commendation offices keep it (issue 21), over the bus against the real servers: one
decision for many awardees and its annex; files attached through the uploads object store."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient

from shared.client.client import AttachmentError
from shared.contract import awards as a
from tests.integration.conftest import uid, wait_events
from tests.integration.test_awards import DECISION_DAY, Tree, acting, nominate, ok, person, refused

ANTQ = str(Path(sys.executable).parent / "antq")


@pytest.fixture
async def tree(admin, registry, awards) -> Tree:
    return await Tree(admin).build(registry, awards)


async def antq(servers, *args: str, unit: str = "", role: str = "admin") -> tuple[int, str, str]:
    """The CLI as its own process (the services run in this event loop: never block it)."""
    env = {
        **os.environ,
        "ANTQ_NATS_URL": servers.nats_url,
        "ANTQ_ACTOR_ID": f"{role}-cli",
        "ANTQ_ACTOR_UNIT": unit,
        "ANTQ_ACTOR_ROLE": role,
        "COLUMNS": "250",
    }
    proc = await asyncio.create_subprocess_exec(
        ANTQ, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def decision(no: str, *nomination_ids: str, day: str = DECISION_DAY) -> a.RecordDecision:
    return a.RecordDecision(
        decision_no=no,
        decision_date=day,
        signer="Trần Văn Bình, Chủ tịch UBND phường",
        title="Về việc khen thưởng thành tích Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm 2026",
        nominations=[a.DecisionItem(nomination_id=n) for n in nomination_ids],
    )


async def test_one_decision_approves_many_nominations_atomically_or_refuses_it_whole(
    servers, tree, awards, tmp_path
) -> None:
    async with (
        acting(servers, tree.w, "officer") as officer,
        acting(servers, tree.w, "approver") as approver,
        acting(servers, tree.c, "officer") as other_commune,
    ):
        names = ["Nguyễn Văn An", "Lê Thị Bích"]
        ids = [ok(await officer.send(nominate(tree, nominee={"kind": "individual", "unit_id": tree.h,
                                                               "person": person(name=n)})))["nomination_id"]
               for n in names]  # fmt: skip
        group = nominate(tree, nominee={"kind": "collective", "unit_id": tree.h})
        ids.append(ok(await officer.send(group))["nomination_id"])
        # one the ward's approver does not decide (commune C's chairman does), one returned
        elsewhere = ok(
            await other_commune.send(
                nominate(tree, nominee={"kind": "collective", "unit_id": tree.c}, achievement="Xã điển hình")
            )
        )["nomination_id"]
        returned = ok(await officer.send(nominate(tree, achievement="Phát hiện tội phạm")))["nomination_id"]
        ok(await approver.send(a.ReturnNomination(nomination_id=returned, reason="Thiếu tờ trình")))

        no = f"{uid('qd')}/QĐ-UBND"
        err = refused(await approver.send(decision(no, *ids, elsewhere, returned)), "rule_violation")
        assert "2 of 5 nominations" in err["message"] and "nothing was approved" in err["message"]
        assert [(x["nomination_id"], x["code"]) for x in err["details"]] == [
            (elsewhere, "forbidden"),
            (returned, "conflict"),
        ]
        for nid in ids:  # nothing was approved: the three are still open
            assert ok(await officer.query("awards", "nomination", {"nomination_id": nid}))["status"] == "submitted"

        done = ok(await approver.send(decision(no, *ids)))
        assert done["decided_by"]["unit_id"] == tree.w and len(done["awards"]) == 3
        assert [x["nomination_id"] for x in done["awards"]] == ids
        decision_id = done["decision_id"]
        assert decision_id.startswith(f"{tree.w}:2026:") and decision_id.endswith("-QD-UBND")
        for x in done["awards"]:
            award = ok(await officer.query("awards", "award", {"award_id": x["award_id"]}))
            assert award["decision_no"] == no and award["decision_id"] == decision_id
            assert award["signer"] == "Trần Văn Bình, Chủ tịch UBND phường"

        # a decision is recorded once; one nomination at a time still works
        fourth = ok(await officer.send(nominate(tree, achievement="Tổ an ninh tự quản")))["nomination_id"]
        refused(await approver.send(decision(no, fourth)), "conflict", "decision_recorded_once")
        # nor may approve-nomination add to it: its list is closed
        late = a.ApproveNomination(nomination_id=fourth, decision_no=no, decision_date=DECISION_DAY)
        refused(await approver.send(late), "conflict", "decision_number")
        single_no = f"{uid('qd')}/QĐ-UBND"
        single = a.ApproveNomination(nomination_id=fourth, decision_no=single_no, decision_date=DECISION_DAY)
        ok(await approver.send(single))
        # a number approve-nomination used is not recorded again as a whole decision, nor with another date
        fifth = ok(await officer.send(nominate(tree, achievement="Tổ hòa giải")))["nomination_id"]
        refused(await approver.send(decision(single_no, fifth)), "conflict", "decision_number")
        other_day = a.ApproveNomination(nomination_id=fifth, decision_no=single_no, decision_date="2026-08-06")
        refused(await approver.send(other_day), "conflict", "decision_number")

        read = ok(await officer.query("awards", "decision", {"decision_id": decision_id}))
        assert [x["award_id"] for x in read["awards"]] == [x["award_id"] for x in done["awards"]]
        by_number = ok(await officer.query("awards", "decision", {"decision_no": no, "unit_id": tree.w, "year": 2026}))
        assert by_number["decision_id"] == decision_id
        refused(await other_commune.query("awards", "decision", {"decision_id": decision_id}), "forbidden")

    def mine(e: dict) -> bool:
        return (e["subject"] in ids and e["type"].endswith("nomination.approved.v1")) or e["subject"] == decision_id

    events = await wait_events(tree.admin, mine, 4, subject="antq.awards.>", stream="ANTQ_AWARDS")
    kinds = [e["type"].removeprefix("vn.antq.awards.") for e in events]
    assert kinds == ["nomination.approved.v1"] * 3 + ["decision.recorded.v1"]
    assert all(e["data"]["decision_id"] == decision_id for e in events)
    named = [n["nomination_id"] for n in events[-1]["data"]["nominations"]]
    assert named == ids and events[-1]["data"]["signer"].startswith("Trần Văn Bình")

    # the annex, from the command line, as DOCX and XLSX
    for suffix in ("docx", "xlsx"):
        out = tmp_path / f"annex.{suffix}"
        code, stdout, stderr = await antq(servers, "awards", "decision", decision_id, "--out", str(out))
        assert code == 0, stderr + stdout
        assert "Lê Thị Bích" in stdout and out.exists()
    from docx import Document
    from openpyxl import load_workbook

    doc = Document(str(tmp_path / "annex.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "DANH SÁCH TẬP THỂ, CÁ NHÂN ĐƯỢC KHEN THƯỞNG" in text and f"Quyết định số {no}" in text
    assert "Về việc khen thưởng thành tích Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm 2026" in text
    assert round(doc.sections[0].page_width.mm) == 210
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    people = [r for r in cells if r[1] in names]
    assert [r[0] for r in people] == ["1", "2"] and all(r[6] == "710.000" for r in people)
    assert any(r[1] == f"Đơn vị {tree.h}" for r in cells)  # the collective, as it was named
    sheet = load_workbook(tmp_path / "annex.xlsx").active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert sum(1 for r in rows if r[1] in names and r[6] == 710_000) == 2
    assert any(r[0] and "II. CÁ NHÂN (2)" in str(r[0]) for r in rows)
    # out of scope, the CLI says so and writes nothing
    code, _, stderr = await antq(servers, "awards", "decision", decision_id, "--out", str(tmp_path / "x.docx"),
                                 unit=tree.c, role="officer")  # fmt: skip
    assert code == 1 and "forbidden" in stderr and not (tmp_path / "x.docx").exists()


async def test_a_dossier_takes_files_checked_kept_and_read_only_in_scope(servers, tree, awards, tmp_path) -> None:
    pdf = b"%PDF-1.7\n" + os.urandom(300_000)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF" + os.urandom(1_500_000)  # three parts of 512 KiB to read
    async with (
        acting(servers, tree.w, "officer") as officer,
        acting(servers, tree.c, "officer") as other_commune,
    ):
        nid = ok(await officer.send(nominate(tree)))["nomination_id"]

        async def attach(data: bytes, name: str, kind: str = "to_trinh", **override: object):
            ref = {**await officer.upload(data, name), **override}
            return await officer.command("awards", "attach-file", {"nomination_id": nid, "kind": kind, **ref})

        first = ok(await attach(pdf, "To-trinh.pdf"))
        second = ok(await attach(jpeg, "Anh-ngay-hoi.jpg", "photo"))
        dossier = ok(await officer.query("awards", "nomination", {"nomination_id": nid}))
        listed = {a["attachment_id"]: a for a in dossier["attachments"]}
        assert listed[first["attachment_id"]]["media_type"] == "application/pdf"
        assert (
            listed[second["attachment_id"]]["size"] == len(jpeg) and listed[second["attachment_id"]]["kind"] == "photo"
        )
        found, data = await officer.download(nid, second["attachment_id"])
        assert data == jpeg and found["sha256"] == hashlib.sha256(jpeg).hexdigest()

        # out of scope: neither the file nor that it exists
        with pytest.raises(AttachmentError) as denied:
            await other_commune.download(nid, first["attachment_id"])
        assert denied.value.error["code"] == "forbidden"

        # refusals, each with its rule and a message a person reads
        big = refused(await attach(os.urandom(60 * 1024 * 1024), "Ho-so.pdf"), "rule_violation", "file_size")
        assert "60.0 MB" in big["message"] and "at most 20 MB" in big["message"]
        exe = b"MZ\x90\x00" + os.urandom(4000)
        odd = refused(
            await attach(exe, "setup.exe", media_type="application/x-msdownload"),
            "rule_violation",
            "media_type_allowed",
        )
        assert "application/x-msdownload" in odd["message"] and "PDF (application/pdf)" in odd["message"]
        disguised = refused(await attach(exe, "Bao-cao.pdf"), "rule_violation", "content_matches_type")
        assert "its content is not PDF" in disguised["message"]
        refused(await attach(pdf, "x.pdf", sha256="0" * 64), "rule_violation", "sha256_matches")
        other_pdf = b"%PDF-1.7\n" + os.urandom(1000)
        refused(await attach(other_pdf, "x.pdf", size=len(other_pdf) + 1), "rule_violation", "size_matches")
        refused(await attach(other_pdf, "x.pdf", upload="no-such/upload.pdf"), "not_found", "upload_exists")
        refused(await attach(pdf, "again.pdf"), "conflict", "attachment_repeated")  # the same content twice
        # whoever knows a kept file's digest but not its bytes cannot attach it (and then read it): an upload
        # whose record claims the PDF's size and digest over other bytes is refused
        forged = await officer.upload(b"%PDF-" + os.urandom(len(pdf) - 5), "forged.pdf")
        store = await officer.nc.jetstream().object_store("antq-uploads")
        info = await store.get_info(forged["upload"])
        info.digest = "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(pdf).digest()).decode()
        meta = "$O.antq-uploads.M." + base64.urlsafe_b64encode(forged["upload"].encode()).decode()
        await officer.nc.jetstream().publish(meta, json.dumps(info.as_dict()).encode(), headers={"Nats-Rollup": "sub"})
        claim = {**forged, "sha256": hashlib.sha256(pdf).hexdigest()}
        mine = ok(await officer.send(nominate(tree, achievement="Hồ sơ khác")))["nomination_id"]  # another dossier
        refused(await officer.command("awards", "attach-file", {"nomination_id": mine, "kind": "other", **claim}),
                "rule_violation", "sha256_matches")  # fmt: skip
        refused(await other_commune.send(a.AttachFile(nomination_id=nid, kind="other", name="a.pdf",
                                                      media_type="application/pdf", size=10, sha256="1" * 64,
                                                      upload="u")), "forbidden")  # fmt: skip
        dossier = ok(await officer.query("awards", "nomination", {"nomination_id": nid}))
        assert len(dossier["attachments"]) == 2  # nothing refused joined it

    events = await wait_events(
        tree.admin, lambda e: e["subject"] == nid and e["type"].endswith(".attached.v1"), 2,
        subject="antq.awards.>", stream="ANTQ_AWARDS",
    )  # fmt: skip
    assert [e["data"]["attachment"]["name"] for e in events] == ["To-trinh.pdf", "Anh-ngay-hoi.jpg"]
    assert "data" not in events[0]["data"]["attachment"]  # the event names the file; its content stays with awards

    # the command line: attach a file and get it back
    path = tmp_path / "Bien-ban.pdf"
    path.write_bytes(pdf[:1000])
    code, out, err = await antq(servers, "awards", "attach", nid, str(path), "--kind", "bien_ban")
    assert code == 0 and "attached to nomination" in out, err + out
    attachment_id = out.split("attachment ")[-1].split()[0]
    code, out, err = await antq(servers, "awards", "attachment", "get", nid, attachment_id,
                                "--out", str(tmp_path / "copy.pdf"))  # fmt: skip
    assert code == 0, err + out
    assert (tmp_path / "copy.pdf").read_bytes() == pdf[:1000]
    code, _, err = await antq(servers, "awards", "attachment", "get", nid, attachment_id, "--out",
                              str(tmp_path / "no.pdf"), unit=tree.c, role="officer")  # fmt: skip
    assert code == 1 and "forbidden" in err and not (tmp_path / "no.pdf").exists()

    # a backup carries the files: the awards database dumped and restored under another name
    db = awards.kit.db.name
    dump = tmp_path / "dump"
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "deploy.backup", "dump", "--url",
                                                servers.mongodb_url, "--out", str(dump), "--db", db)  # fmt: skip
    assert await proc.wait() == 0
    copy = f"antq_restored_{uid('x')[2:10]}"
    (dump / db).rename(dump / copy)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "deploy.backup", "restore", "--url",
                                                servers.mongodb_url, "--from", str(dump))  # fmt: skip
    assert await proc.wait() == 0
    client = AsyncMongoClient(servers.mongodb_url)
    try:
        stream = await AsyncGridFSBucket(client[copy], bucket_name="attachments").open_download_stream(
            hashlib.sha256(jpeg).hexdigest()
        )
        assert await stream.read() == jpeg
    finally:
        await client.drop_database(copy)
        await client.close()


async def test_the_medals_conditions_are_checked_and_past_awards_imported_once_block_a_second(
    servers, tree, awards, tmp_path
) -> None:
    medal = "ky_niem_chuong_bao_ve_an_ninh_to_quoc"
    pid, other = uid("person"), uid("person")
    individual = {"kind": "individual", "unit_id": tree.h, "person": person(pid)}
    async with acting(servers, tree.w, "officer") as officer:
        # a leader's nomination without years in post is refused, naming the condition and its text
        leader = {"role": "leader", "prior_commendations": [{"decision_no": "7/QĐ-CAT", "decision_date": "2019-08-01"}]}
        err = refused(
            await officer.send(nominate(tree, award_form=medal, nominee=individual, eligibility=leader)),
            "rule_violation",
            "eligibility:years_in_post",
        )
        assert "at least 10 years in post" in err["message"] and "Thông tư 20/2025/TT-BCA" in err["message"]
        short = {**leader, "years_in_post": 8}
        err = refused(await officer.send(nominate(tree, award_form=medal, nominee=individual, eligibility=short)),
                      "rule_violation", "eligibility:years_in_post")  # fmt: skip
        assert "years_in_post is 8" in err["message"]

    # the office's register: a 2021 medal of the person, a 2022 Bằng khen of the group, and two bad rows
    rows = [
        "award_form,nominee_kind,unit_id,person_id,person_name,position,year,achievement,decision_no,decision_date,"
        "decided_by,register_no",
        f"{medal},individual,{tree.h},{pid},Nguyễn Văn An,Tổ trưởng,2021,15 năm,1234/QĐ-BCA,2021-08-10,,SV-12",
        f"bang_khen_chu_tich_ubnd_tinh,collective,{tree.h},,,,2022,Tổ dân phố tiêu biểu,88/QĐ-UBND,2022-08-15,,",
        f"no_such_form,individual,{tree.h},{other},Lê Văn Bê,,2022,Thành tích,1/QĐ,2022-08-15,,",
        f"{medal},individual,unknown-unit,{other},Lê Văn Bê,,2021,Thành tích,2/QĐ,2021-08-10,,",
        f"giay_khen_chu_tich_ubnd_huyen,individual,{tree.h},{other},Lê Văn Bê,,2025,Thành tích,3/QĐ,2025-09-01,,",
    ]
    path = tmp_path / "so-vang.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = await antq(servers, "awards", "import", str(path), "--timeout", "60")
    said = " ".join(out.split())
    assert code == 1 and "5 rows: 2 imported, 0 unchanged, 3 refused" in said, err + out
    assert "no_such_form does not exist" in err and "unknown-unit" in err
    assert "ended on 2025-06-30: it was not granted on 2025-09-01" in " ".join(err.split())
    code, out, err = await antq(servers, "awards", "import", str(path), "--timeout", "60")
    assert "5 rows: 0 imported, 2 unchanged, 3 refused" in " ".join(out.split()), err + out
    # a corrected row of an award imported already is refused, the first kept
    path.write_text("\n".join([rows[0], rows[1].replace("2021-08-10", "2021-08-11")]) + "\n", encoding="utf-8")
    code, out, err = await antq(servers, "awards", "import", str(path), "--timeout", "60")
    assert code == 1 and "imported already with other details" in " ".join(err.split()), err + out

    async with acting(servers, tree.w, "officer") as officer:
        # the imported medal blocks a second one for the same person, and says it is imported
        team = {"role": "security_team_member", "years_in_force": 20, "sex": "male"}
        err = refused(await officer.send(nominate(tree, award_form=medal, nominee=individual, eligibility=team)),
                      "rule_violation", "once_only")  # fmt: skip
        assert "imported" in err["message"]
        mine = {"nominee": {"kind": "individual", "person": {"person_id": pid}}}
        history = ok(await officer.query("awards", "history", mine))
        (past,) = history["awards"]
        assert past["imported"] is True and past["decision_no"] == "1234/QĐ-BCA" and past["register_no"] == "SV-12"
        medal_text = [
            x["text"] for x in ok(await officer.query("awards", "certificate", {"award_id": past["award_id"]}))["lines"]
        ]
        assert "Số sổ vàng: SV-12" in medal_text and "GIẤY CHỨNG NHẬN" in medal_text and "Nguyễn Văn An" in medal_text
        group = ok(await officer.query("awards", "history", {"nominee": {"kind": "collective", "unit_id": tree.h}}))
        (kept,) = [x for x in group["awards"] if x["imported"]]
        assert kept["award_form"] == "bang_khen_chu_tich_ubnd_tinh" and kept["unit_name"] == f"Đơn vị {tree.h}"
        lines = ok(await officer.query("awards", "certificate", {"award_id": kept["award_id"]}))["lines"]
        assert {"style": "name", "text": f"Đơn vị {tree.h}"} in lines  # its name, never its id


async def test_a_provincial_dossier_goes_through_the_council_to_one_decision_and_waits_no_longer_than_due(
    servers, tree, awards, tmp_path
) -> None:
    from services.awards import deadlines

    bang_khen = "bang_khen_chu_tich_ubnd_tinh"
    people = [("Nguyễn Văn An", uid("person")), ("Lê Thị Bích", uid("person"))]
    nominees = [{"kind": "individual", "unit_id": tree.h, "person": person(pid, name)} for name, pid in people]
    nominees.append({"kind": "collective", "unit_id": tree.h})
    async with (
        acting(servers, tree.w, "officer") as officer,
        acting(servers, tree.p, "approver") as province,
    ):
        ids = []
        for i, nominee in enumerate(nominees):
            got = ok(
                await officer.send(nominate(tree, award_form=bang_khen, nominee=nominee, achievement=f"Tiêu biểu {i}"))
            )
            assert got["grantor"]["unit_id"] == tree.p
            ids.append(got["nomination_id"])
        first = ok(await officer.query("awards", "nomination", {"nomination_id": ids[0]}))
        assert first["due_on"] == "2026-12-15" and first["due_unconfirmed"] is True  # 12 working days from 29 Nov
        for data, name, kind in ((b"%PDF-1.7\n" + os.urandom(5000), "To-trinh.pdf", "to_trinh"),
                                 (b"\xff\xd8\xff\xe0" + os.urandom(9000), "Anh.jpg", "photo")):  # fmt: skip
            ref = await officer.upload(data, name)
            ok(await officer.command("awards", "attach-file", {"nomination_id": ids[0], "kind": kind, **ref}))

        no = f"{uid('qd')}/QĐ-UBND"
        early = refused(await province.send(decision(no, *ids)), "rule_violation")
        assert {x["rule"] for x in early["details"]} == {"council_review"} and len(early["details"]) == 3
        photo = ok(await officer.query("awards", "nomination", {"nomination_id": ids[0]}))["attachments"][1]
        wrong = a.RecordCouncilReview(nomination_id=ids[0], meeting_date=DECISION_DAY, recommended=True,
                                      minutes_attachment_id=photo["attachment_id"])  # fmt: skip
        refused(await province.send(wrong), "rule_violation", "council_minutes")
        refused(await officer.send(wrong), "forbidden")  # the council's review is the authority's to record
        before = a.RecordCouncilReview(nomination_id=ids[0], meeting_date="2025-12-01", recommended=False,
                                       minutes_attachment_id=photo["attachment_id"])  # fmt: skip
        refused(
            await province.send(before), "rule_violation", "meeting_in_or_after_year"
        )  # a meeting before the nomination's year
        for nid in ids:
            minutes = await province.upload(b"%PDF-1.7\nBien ban " + nid.encode(), "Bien-ban-HDTDKT.pdf")
            body = {"nomination_id": nid, "kind": "bien_ban_hoi_dong", **minutes}
            attached = ok(await province.command("awards", "attach-file", body))
            review = a.RecordCouncilReview(nomination_id=nid, meeting_date=DECISION_DAY, recommended=True,
                                           minutes_attachment_id=attached["attachment_id"])  # fmt: skip
            ok(await province.send(review))
        again = review.model_copy(update={"nomination_id": ids[2], "recommended": False})
        refused(await province.send(again), "conflict", "council_reviewed_once")  # until returned and resubmitted
        refused(await province.send(decision(no, *ids, day="2026-08-04")), "rule_violation")  # before the meeting
        done = ok(await province.send(decision(no, *ids)))
        assert len(done["awards"]) == 3 and done["decided_by"]["unit_id"] == tree.p
        dossier = ok(await officer.query("awards", "nomination", {"nomination_id": ids[0]}))
        assert [s["event"] for s in dossier["steps"]] == ["submitted", "council_reviewed", "approved"]
        assert dossier["steps"][1]["note"] == f"recommended ({DECISION_DAY})"
        # the certificates: the group's Bằng khen, with its name as it earned it, as PDF and DOCX
        group_award = done["awards"][2]["award_id"]
        for suffix in ("pdf", "docx"):
            out = tmp_path / f"bang-khen.{suffix}"
            code, said, err = await antq(servers, "awards", "certificate", group_award, "--out", str(out))
            assert code == 0, err + said
        assert (tmp_path / "bang-khen.pdf").read_bytes().startswith(b"%PDF-")
        from docx import Document

        text = [p.text for p in Document(str(tmp_path / "bang-khen.docx")).paragraphs]
        assert "TẶNG BẰNG KHEN" in text and f"Đơn vị {tree.h}" in text
        assert f"CHỦ TỊCH ỦY BAN NHÂN DÂN ĐƠN VỊ {tree.p.upper()}" in text, text
        assert f"Quyết định số {no} ngày 05/08/2026" in text
        assert [x["kind"] for x in dossier["attachments"]] == ["to_trinh", "photo", "bien_ban_hoi_dong"]

        # a dossier nobody decides: once its processing time has run out it is overdue, said once
        late = ok(await officer.send(nominate(tree, achievement="Chưa được xét")))["nomination_id"]
        await awards.kit.db.nominations.update_one({"_id": late}, {"$set": {"due_on": "2026-11-20"}})  # 3 weeks on
        await deadlines.announce_overdue(awards.definition.deps)  # (or the service's own loop, if it ran first)
        assert await deadlines.announce_overdue(awards.definition.deps) == 0  # said once
        listed = ok(await officer.query("awards", "nominations", {"unit_id": tree.w, "overdue": True}))["items"]
        assert late in [n["nomination_id"] for n in listed] and not set(ids) & {n["nomination_id"] for n in listed}
    found = await wait_events(
        tree.admin, lambda e: e["subject"] == late and e["type"].endswith("nomination.overdue.v1"), 2,
        subject="antq.awards.>", stream="ANTQ_AWARDS", timeout=3,
    )  # fmt: skip
    (said,) = found
    assert said["data"]["approver_unit_id"] == tree.w and said["data"]["due_on"] == "2026-11-20"


async def test_people_are_found_by_name_without_diacritics_within_scope_and_their_history_follows(
    servers, tree, awards
) -> None:
    nhung, duc = uid("person"), uid("person")
    async with acting(servers, tree.w, "officer") as officer, acting(servers, tree.c, "officer") as other:
        for pid, name, what in ((nhung, "Nguyễn Thị Hồng Nhung", "Tổ trưởng tiêu biểu"), (duc, "Trần Đức Anh", "x")):
            nominee = {"kind": "individual", "unit_id": tree.h, "person": person(pid, name)}
            ok(await officer.send(nominate(tree, nominee=nominee, achievement=what)))

        async def found(client, text: str, **more) -> list[str]:
            return [
                p["person_id"] for p in ok(await client.query("awards", "nominees", {"text": text, **more}))["items"]
            ]

        assert await found(officer, "nguyen thi hong nhung") == [nhung]
        assert await found(officer, "  NGUYỄN   nhung ") == [nhung]  # any case, any spacing, words in any order
        assert await found(officer, "tran duc") == [duc]  # đ is d
        assert await found(officer, "nguyen van tam") == []
        assert await found(other, "nguyen thi hong nhung") == []  # commune C's officer: not in its subtree
        refused(await other.query("awards", "nominees", {"text": "nhung", "unit_id": tree.w}), "forbidden")
    code, out, err = await antq(servers, "awards", "search", "nguyen thi hong nhung", "--unit", tree.w, "--history")
    assert code == 0 and nhung in out and "Tổ trưởng tiêu biểu" in out, err + out
