"""Notifications end to end: registry, awards and notifications as their own processes, driven only
through the bus by an outside nats-py client. A webhook recipient and an email recipient are added; a
festival in their scope is planned and held, and a nomination submitted; the local HTTP receiver
verifies every post with the `standardwebhooks` library and a real local SMTP server (aiosmtpd)
receives the email. Then the same events come again — republished under new `Nats-Msg-Id`s, and
after the notifications process is killed and restarted — and nothing more is sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from deploy import smtp_sink
from deploy.embedded import Child, free_port
from tests.e2e.awards_flow import Outside, ok
from tests.e2e.conftest import ServiceProcess, running, service_process
from tests.webhook_receiver import Receiver

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory) -> Iterator[tuple[Path, int]]:
    folder = tmp_path_factory.mktemp("e2e-mail")
    port = free_port()
    controller = smtp_sink.start(folder, port)
    yield folder, port
    controller.stop()


@pytest.fixture(scope="module")
def stack(servers, tmp_path_factory, registry_process, mailbox) -> Iterator[dict[str, ServiceProcess]]:
    tmp = tmp_path_factory.mktemp("e2e-notifications")
    procs = {
        "awards": service_process(servers, "awards", tmp),
        "notifications": service_process(
            servers,
            "notifications",
            tmp,
            ANTQ_SMTP_PORT=str(mailbox[1]),
            ANTQ_SEND_POLL_SECONDS="0.1",
            ANTQ_RETRY_BASE_SECONDS="0.2",
            ANTQ_CONSUMER_ACK_WAIT_SECONDS="2",
        ),
    }
    with running(procs):
        yield procs


async def until(check, timeout: float = 30.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout}s")
        await asyncio.sleep(0.2)
    return value


async def test_an_outside_client_gets_verified_webhooks_and_email_once(servers, stack, mailbox):
    receiver = await Receiver().start()
    nc = await nats.connect(servers.nats_url)
    c = Outside(nc)
    t = uuid.uuid4().hex[:6]
    u = {k: f"{k}-{t}" for k in ("p", "w", "g", "v")}
    try:
        for key, kind, parent in (
            ("p", "province", None),
            ("w", "ward", "p"),
            ("g", "residential_group", "w"),
            ("v", "ward", "p"),
        ):
            data = {"unit_id": u[key], "name": f"Đơn vị {u[key]}", "kind": kind, "valid_from": "2024-01-01"}
            ok(await c.send("registry", "register-unit", {**data, "parent_id": u[parent] if parent else None}))
        ok(await c.send("registry", "open-campaign", {"year": 2026, "scope_unit_id": u["p"]}))
        hook = {
            "scope_unit_id": u["w"],
            "events": ["vn.antq.registry.festival.*", "vn.antq.awards.nomination.*"],
            "channel": "webhook",
            "address": receiver.url(f"/ok/{t}"),
        }
        added = ok(await c.until_known("notifications", "add-recipient", hook, "", "admin"))
        secret = added["secret"]
        # the README's receiver, as its own process, for a second recipient of the same scope
        port = free_port()
        example = {**hook, "address": f"http://127.0.0.1:{port}/antq", "events": ["vn.antq.registry.festival.*"]}
        example_secret = ok(await c.send("notifications", "add-recipient", example))["secret"]
        readme_receiver = Child(
            "receiver", [sys.executable, str(EXAMPLE), str(port), example_secret], port, log=mailbox[0] / f"rx-{t}.log"
        )
        readme_receiver.start(wait=20)
        mail = {
            "scope_unit_id": u["p"],
            "events": ["vn.antq.registry.festival.held.v1"],
            "channel": "email",
            "address": f"cong-an-{t}@antq.test",
        }
        ok(await c.send("notifications", "add-recipient", mail))
        fid = ok(
            await c.send(
                "registry",
                "plan-festival",
                {
                    "unit_id": u["g"],
                    "year": 2026,
                    "date": "2026-08-10",
                    "venue": "Nhà văn hóa tổ dân phố",
                    "ceremony": {},
                    "festival_part": {},
                },
            )
        )["festival_id"]
        held = {
            "festival_id": fid,
            "held_on": "2026-08-10",
            "participants": 210,
            "ceremony_held": True,
            "festival_part_held": True,
        }
        ok(await c.send("registry", "report-festival", held))
        nomination = {
            "nominee": {"kind": "collective", "unit_id": u["g"]},
            "award_form": "giay_khen_chu_tich_ubnd_xa",
            "year": 2026,
            "achievement": "Tổ dân phố tiêu biểu trong phong trào",
        }
        ok(await c.until_known("awards", "submit-nomination", nomination, u["w"], "officer"))
        ok(await c.send("registry", "plan-festival", {**_plan(u["v"])}))  # another ward: not the webhook's scope

        posts = await receiver.wait_for(f"/ok/{t}", 3, timeout=30)
        assert all(p.verifies(secret) for p in posts)
        assert sorted(p.json["type"] for p in posts) == [
            "vn.antq.awards.nomination.submitted.v1",
            "vn.antq.registry.festival.held.v1",
            "vn.antq.registry.festival.planned.v1",
        ]
        folder = mailbox[0]

        async def the_mail():
            found = [p for p in folder.glob("*.eml") if f"cong-an-{t}" in p.name]
            return found if found else None

        async def the_example():
            lines = [json.loads(x) for x in readme_receiver.log.read_text().splitlines() if x.startswith("{")]
            return lines if len(lines) == 2 else None

        lines = await until(the_example, what="the README receiver's two verified events")
        assert [x["type"] for x in lines] == [
            "vn.antq.registry.festival.planned.v1",
            "vn.antq.registry.festival.held.v1",
        ]
        readme_receiver.stop()
        [path] = await until(the_mail, what="the email")
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert message["Subject"] == "Báo cáo kết quả tổ chức Ngày hội"
        assert "Số người tham gia: 210" in message.get_body(("plain",)).get_content()

        # the same events again: republished under new message ids, and redelivered after a crash
        js = nc.jetstream()
        mine = []
        for stream, subject in (("ANTQ_REGISTRY", "antq.registry.festival.>"), ("ANTQ_AWARDS", "antq.awards.>")):
            sub = await js.pull_subscribe(subject, stream=stream)
            try:
                msgs = await sub.fetch(10_000, timeout=2)
            except TimeoutError:
                msgs = []
            mine += [(m.subject, m.data) for m in msgs if t in m.data.decode()]
            await sub.unsubscribe()
        assert len(mine) >= 4
        notif = stack["notifications"]
        assert notif.proc is not None
        notif.proc.send_signal(signal.SIGKILL)
        notif.proc.wait(10)
        for subject, data in mine:
            await js.publish(subject, data, headers={"Nats-Msg-Id": f"again-{uuid.uuid4().hex}"})
        notif.start()
        notif.wait_ready()

        async def drained():
            """Every event applied and acknowledged (nothing can come back) and nothing left to send."""
            for stream, durable in (
                ("ANTQ_REGISTRY", "notifications-units"),
                ("ANTQ_REGISTRY", "notifications-registry"),
                ("ANTQ_AWARDS", "notifications-awards"),
            ):
                info = await js.consumer_info(stream, durable)
                if info.num_pending or info.num_ack_pending:
                    return None
            log = ok(await c.query("notifications", "deliveries", {"recipient_id": added["recipient_id"]}))
            return all(d["status"] not in ("pending", "sending") for d in log["deliveries"]) or None

        await until(drained, what="notifications drained after the restart")
        assert len(receiver.at(f"/ok/{t}")) == 3
        assert len([p for p in folder.glob("*.eml") if f"cong-an-{t}" in p.name]) == 1
        log = ok(await c.query("notifications", "deliveries", {"recipient_id": added["recipient_id"]}))
        assert sorted(d["status"] for d in log["deliveries"]) == ["sent"] * 3
    finally:
        await nc.close()
        await receiver.stop()


def _plan(unit: str) -> dict:
    return {
        "unit_id": unit,
        "year": 2026,
        "date": "2026-08-11",
        "venue": "Sân",
        "ceremony": {},
        "festival_part": {},
    }


def test_the_stream_holds_the_delivery_log(servers, stack):
    async def go() -> list[dict]:
        nc = await nats.connect(servers.nats_url)
        try:
            sub = await nc.jetstream().pull_subscribe("antq.notifications.notification.>", stream="ANTQ_NOTIFICATIONS")
            msgs = await sub.fetch(1000, timeout=3)
            return [json.loads(m.data) for m in msgs]
        finally:
            await nc.close()

    events = asyncio.run(go())
    assert {e["type"] for e in events} == {"vn.antq.notifications.notification.sent.v1"}
    assert all(e["source"] == "antq/notifications" for e in events)
