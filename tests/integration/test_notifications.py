"""Notifications over the bus, against the real servers: registry and awards run in-process,
notifications learns everything from their events, sends through a real local SMTP server (aiosmtpd)
and posts to a local HTTP receiver that verifies each Standard Webhooks signature with the
`standardwebhooks` library."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest

from deploy import smtp_sink
from deploy.embedded import free_port
from services.notifications import reminders
from services.notifications.app import NotificationsSettings
from services.notifications.app import create as create_notifications
from services.notifications.egress import system_resolver
from shared.client import Client, read_stream
from shared.contract import awards as a
from shared.contract import registry as r
from shared.contract.envelope import Actor
from shared.runtime.event_consumer import delete_durable
from shared.runtime.host import ServiceHost
from tests import clock
from tests.integration.conftest import in_process, quiet, settle, uid
from tests.webhook_receiver import Receiver

REFUSED = "khong-ton-tai@antq.test"


def ok(reply):
    assert reply.ok, reply.error
    return reply.result


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    rec = await Receiver(slow_seconds=3.0).start()
    yield rec
    await rec.stop()


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("mail")
    port = free_port()
    controller = smtp_sink.start(folder, port, refuse={REFUSED})
    yield folder, port
    controller.stop()


async def fresh_durables(nats_url: str) -> None:
    """A new notifications database reads the streams from their start: forget the durables of an
    earlier one (they would resume where it stopped)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for stream, name in (("ANTQ_REGISTRY", "units"), ("ANTQ_REGISTRY", "registry"), ("ANTQ_AWARDS", "awards")):
        await delete_durable(js, stream, f"notifications-{name}")
    await nc.close()


def settings_for(servers, mailbox, **overrides) -> NotificationsSettings:
    values = {
        "smtp_port": mailbox[1],
        "send_timeout_seconds": 1.0,
        "send_poll_seconds": 0.05,
        "retry_base_seconds": 0.1,
        "retry_max_seconds": 0.4,
        "max_attempts": 3,
        "disable_after_seconds": 3600.0,
        "reminder_poll_seconds": 0.1,
        **overrides,
    }
    return in_process(NotificationsSettings, servers, "notifications", **values)


@pytest.fixture(scope="module")
def dns() -> dict[str, list[str]]:
    """Names the tests resolve themselves (the rest go to the system's resolver): a test points a name
    anywhere without sending anything there."""
    return {}


@pytest.fixture(scope="module")
async def notifications(servers, registry, awards, mailbox, dns) -> AsyncIterator[ServiceHost]:
    await fresh_durables(servers.nats_url)

    async def resolver(host: str, port: int) -> list[str]:
        return dns[host] if host in dns else await system_resolver(host, port)

    host = create_notifications(settings_for(servers, mailbox), resolver=resolver)
    await host.start()
    await settle(registry, host, timeout=60)
    yield host
    if not host.stopping.is_set():  # the reminders test stops it itself
        await host.stop()


class Tree:
    """Province P, ward W (residential groups G1, G2), ward V (group H)."""

    def __init__(self) -> None:
        self.p, self.w, self.v, self.g1, self.g2, self.h = (uid(k) for k in ("p", "w", "v", "g1", "g2", "h"))

    async def build(self, admin: Client) -> Tree:
        for unit_id, kind, parent in (
            (self.p, "province", None),
            (self.w, "ward", self.p),
            (self.v, "ward", self.p),
            (self.g1, "residential_group", self.w),
            (self.g2, "residential_group", self.w),
            (self.h, "residential_group", self.v),
        ):
            ok(
                await admin.send(
                    r.RegisterUnit(
                        unit_id=unit_id,
                        name=f"Tổ dân phố {unit_id}",
                        kind=kind,
                        parent_id=parent,
                        valid_from="2024-01-01",
                    )
                )
            )
        self.campaign = ok(await admin.send(r.OpenCampaign(year=2026, scope_unit_id=self.p)))["campaign_id"]
        return self


async def plan(admin: Client, unit: str, venue: str = "Nhà văn hóa", year: int = 2026) -> str:
    reply = await admin.send(
        r.PlanFestival(
            unit_id=unit,
            year=year,
            date=f"{year}-08-10",
            venue=venue,
            ceremony=r.PartPlan(),
            festival_part=r.PartPlan(),
            allow_additional=True,
        )
    )
    return str(ok(reply)["festival_id"])


async def held(admin: Client, festival_id: str) -> None:
    ok(
        await admin.send(
            r.ReportFestival(
                festival_id=festival_id,
                held_on="2026-08-10",
                participants=150,
                ceremony_held=True,
                festival_part_held=True,
            )
        )
    )


async def add(admin: Client, **fields) -> dict:
    return dict(ok(await admin.command("notifications", "add-recipient", fields)))


async def deliveries(admin: Client, **params) -> list[dict]:
    return list(ok(await admin.query("notifications", "deliveries", params))["deliveries"])


async def until(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s (last: {value!r})")
        await asyncio.sleep(0.1)


def mails(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


# ------------------------------------------------------------------------------------ webhooks


async def test_webhook_posts_verify_and_the_same_event_again_sends_nothing(
    admin, registry, notifications, receiver, servers
):
    t = await Tree().build(admin)
    await settle(registry, notifications)
    path = f"/ok/{t.w}"
    added = await add(
        admin,
        scope_unit_id=t.w,
        events=["vn.antq.registry.festival.*"],
        channel="webhook",
        address=receiver.url(path),
    )
    secret = added["secret"]
    assert secret.startswith("whsec_")
    fid = await plan(admin, t.g1)
    await held(admin, fid)
    await plan(admin, t.h)  # another ward: not in the recipient's scope
    posts = await receiver.wait_for(path, 2)
    assert all(p.verifies(secret) for p in posts)  # standardwebhooks accepts every signature
    assert not posts[0].verifies("whsec_" + "A" * 44)  # and a wrong secret is refused
    assert [p.json["type"] for p in posts] == [
        "vn.antq.registry.festival.planned.v1",
        "vn.antq.registry.festival.held.v1",
    ]
    assert posts[0].json["data"]["unit_id"] == t.g1 and posts[0].json["subject"] == fid
    assert posts[0].headers["webhook-id"] != posts[1].headers["webhook-id"]
    log = await until(
        lambda: _all_sent(admin, added["recipient_id"], 2), what="two sent notifications in the delivery log"
    )
    assert {d["event_type"] for d in log} == {posts[0].json["type"], posts[1].json["type"]}

    # the same event again: redelivered under a new Nats-Msg-Id (a producer republishing it)
    js = admin.nc.jetstream()
    planned = [
        m for m in await read_stream(js, "ANTQ_REGISTRY", "antq.registry.festival.planned.v1") if fid in m.data.decode()
    ]
    await js.publish("antq.registry.festival.planned.v1", planned[0].data, headers={"Nats-Msg-Id": uid("again")})
    await settle(registry, notifications)
    await quiet(notifications)  # nothing in flight, nothing queued: nothing more can be sent
    assert len(receiver.at(path)) == 2
    assert len(await deliveries(admin, recipient_id=added["recipient_id"])) == 2

    # the delivery log is also on the bus
    sent = [
        json.loads(m.data)
        for m in await read_stream(js, "ANTQ_NOTIFICATIONS", "antq.notifications.notification.sent.v1")
    ]
    mine = [e for e in sent if e["data"]["recipient_id"] == added["recipient_id"]]
    assert len(mine) == 2
    # each names the event it delivered as its cause, in that event's correlation
    delivered = {p.json["id"]: p.json["correlationid"] for p in posts}
    assert {e["causationid"]: e["correlationid"] for e in mine} == delivered


async def _all_sent(admin: Client, recipient_id: str, n: int) -> list[dict] | None:
    log = await deliveries(admin, recipient_id=recipient_id)
    return log if len(log) == n and all(d["status"] == "sent" for d in log) else None


async def test_rotation_sends_both_signatures_for_the_overlap(admin, registry, notifications, receiver):
    t = await Tree().build(admin)
    await settle(registry, notifications)
    path = f"/ok/rot-{t.w}"
    added = await add(
        admin,
        scope_unit_id=t.w,
        events=["vn.antq.registry.festival.planned.v1"],
        channel="webhook",
        address=receiver.url(path),
    )
    rotated = ok(await admin.command("notifications", "rotate-secret", {"recipient_id": added["recipient_id"]}))
    assert rotated["secret"] != added["secret"]
    await plan(admin, t.g2)
    [post] = await receiver.wait_for(path, 1)
    assert len(post.headers["webhook-signature"].split(" ")) == 2
    assert post.verifies(added["secret"]) and post.verifies(rotated["secret"])
    listed = ok(await admin.query("notifications", "recipients", {"scope_unit_id": t.w}))["recipients"]
    assert listed[0]["secret_rotating"] is True
    assert "secret" not in json.dumps(listed).replace("secret_rotating", "")  # never shown again


async def test_a_bad_recipient_blocks_nobody(admin, registry, notifications, receiver, mailbox):
    """An endless 500, a webhook slower than the timeout and an address the relay refuses, beside a
    good webhook: the good one gets its post at once; the 500s are retried and then fail with
    `notification.failed`; the refused address fails at once (permanent)."""
    t = await Tree().build(admin)
    await settle(registry, notifications)
    events = ["vn.antq.registry.festival.planned.v1"]
    bad = await add(admin, scope_unit_id=t.w, events=events, channel="webhook", address=receiver.url(f"/fail/{t.w}"))
    slow = await add(admin, scope_unit_id=t.w, events=events, channel="webhook", address=receiver.url(f"/slow/{t.w}"))
    refused = await add(admin, scope_unit_id=t.w, events=events, channel="email", address=REFUSED)
    good = await add(admin, scope_unit_id=t.w, events=events, channel="webhook", address=receiver.url(f"/ok/b-{t.w}"))
    fids = [await plan(admin, t.g1) for _ in range(3)]
    posts = await receiver.wait_for(f"/ok/b-{t.w}", 3, timeout=10)
    assert {p.json["subject"] for p in posts} == set(fids)

    async def failed(recipient: dict, n: int, attempts: int):
        log = await deliveries(admin, recipient_id=recipient["recipient_id"])
        done = [d for d in log if d["status"] == "failed"]
        return done if len(done) == n and all(d["attempts"] == attempts for d in done) else None

    for d in await until(lambda: failed(bad, 3, 3), what="three failed notifications after 3 attempts each"):
        assert d["last_error"].startswith("HTTP 500")
    for d in await until(lambda: failed(slow, 3, 3), what="the slow webhook's three timed out"):
        assert "timed out" in d["last_error"]
    for d in await until(lambda: failed(refused, 3, 1), what="refused addresses failed at the first attempt"):
        assert "550" in d["last_error"]
    js = admin.nc.jetstream()
    failures = [
        json.loads(m.data)["data"]
        for m in await read_stream(js, "ANTQ_NOTIFICATIONS", "antq.notifications.notification.failed.v1")
    ]
    assert sum(1 for f in failures if f["recipient_id"] == bad["recipient_id"]) == 3
    assert len(await deliveries(admin, recipient_id=good["recipient_id"], status="sent")) == 3


async def test_a_recipient_failing_too_long_is_disabled(admin, registry, notifications, receiver):
    """With a short `disable_after_seconds`, a webhook that keeps failing is disabled with
    `recipient.disabled`, and its later events are not queued."""
    settings = notifications.settings
    before = (settings.disable_after_seconds, settings.max_attempts)
    settings.disable_after_seconds, settings.max_attempts = 0.5, 20  # the sender reads them at each outcome
    try:
        t = await Tree().build(admin)
        await settle(registry, notifications)
        added = await add(
            admin,
            scope_unit_id=t.w,
            events=["vn.antq.registry.festival.planned.v1"],
            channel="webhook",
            address=receiver.url(f"/fail/d-{t.w}"),
        )
        await plan(admin, t.g1)
        js = admin.nc.jetstream()

        async def disabled():
            got = [
                json.loads(m.data)
                for m in await read_stream(js, "ANTQ_NOTIFICATIONS", "antq.notifications.recipient.disabled.v1")
            ]
            return [d for d in got if d["data"]["recipient_id"] == added["recipient_id"]]

        [envelope] = await until(disabled, what="recipient.disabled")
        event = envelope["data"]
        assert "HTTP 500" in event["reason"]
        [failing] = await deliveries(admin, recipient_id=added["recipient_id"])
        assert envelope["causationid"] == failing["notification_id"] and envelope["correlationid"]
        listed = ok(await admin.query("notifications", "recipients", {"scope_unit_id": t.w}))["recipients"]
        assert listed[0]["status"] == "disabled"
        [d] = await until(lambda: _with_status(admin, added["recipient_id"], "failed"), what="its notification failed")
        assert d["last_error"] == "recipient disabled"
        await plan(admin, t.g2)
        await settle(registry, notifications)
        assert len(await deliveries(admin, recipient_id=added["recipient_id"])) == 1
    finally:
        settings.disable_after_seconds, settings.max_attempts = before


async def test_a_webhook_goes_only_where_its_name_resolved_when_checked(admin, registry, notifications, receiver, dns):
    """A name checked when the recipient was added resolves inside the network later: the send is
    refused before anything is sent (a permanent failure, with the address in the error). While it
    resolves to an allowed address, the post goes to that address under the name (the Host header),
    without a second lookup. add-recipient refuses a name that resolves inside already."""
    t = await Tree().build(admin)
    await settle(registry, notifications)
    name = f"hooks-{t.w}.example.test"
    dns[name] = ["127.0.0.1"]
    path = f"/ok/dns-{t.w}"
    url = f"http://{name}:{receiver.port}{path}"
    added = await add(
        admin, scope_unit_id=t.w, events=["vn.antq.registry.festival.planned.v1"], channel="webhook", address=url
    )
    await plan(admin, t.g1)
    [post] = await receiver.wait_for(path, 1)
    assert post.headers["host"] == f"{name}:{receiver.port}"

    dns[name] = ["10.20.30.40"]  # the name now leads inside the network
    await plan(admin, t.g2)
    [failed] = await until(
        lambda: _with_status_of(admin, added["recipient_id"], "failed"), what="the send refused before sending"
    )
    assert "10.20.30.40" in failed["last_error"] and "not a public address" in failed["last_error"]
    assert failed["attempts"] == 0  # nothing was sent
    assert len(receiver.at(path)) == 1

    refused = await admin.command(
        "notifications",
        "add-recipient",
        {"scope_unit_id": t.w, "events": ["vn.antq.registry.*"], "channel": "webhook", "address": url},
    )
    assert refused.error["code"] == "rule_violation"
    assert refused.error["details"] == [{"field": "address", "rule": "webhook_target"}]


async def _with_status_of(admin: Client, recipient_id: str, status: str) -> list[dict] | None:
    return [d for d in await deliveries(admin, recipient_id=recipient_id) if d["status"] == status] or None


async def _with_status(admin: Client, recipient_id: str, status: str) -> list[dict] | None:
    log = await deliveries(admin, recipient_id=recipient_id)
    return log if log and all(d["status"] == status for d in log) else None


# ------------------------------------------------------------------------------------ email


async def test_email_in_vietnamese_and_english_escapes_what_it_shows(admin, registry, notifications, mailbox):
    folder, _ = mailbox
    t = await Tree().build(admin)
    await settle(registry, notifications)
    vi = f"to-{t.v}@antq.test"
    en = f"en-{t.v}@antq.test"
    await add(admin, scope_unit_id=t.v, events=["vn.antq.registry.festival.*"], channel="email", address=vi)
    await add(
        admin,
        scope_unit_id=t.p,
        events=["vn.antq.registry.festival.planned.v1"],
        channel="email",
        address=en,
        language="en",
    )
    await plan(admin, t.h, venue="Sân <b>văn hóa</b> & thể thao")

    def to(address):
        return [m for m in mails(folder) if m["To"] == address]

    await until(lambda: asyncio.sleep(0, to(vi) and to(en)), what="both emails")
    [m_vi], [m_en] = to(vi), to(en)
    assert m_vi["Subject"] == "Đăng ký kế hoạch tổ chức Ngày hội"
    assert m_en["Subject"] == "Festival planned"
    html = m_vi.get_body(("html",)).get_content()
    text = m_vi.get_body(("plain",)).get_content()
    assert "Sân &lt;b&gt;văn hóa&lt;/b&gt; &amp; thể thao" in html and "<b>văn hóa</b>" not in html
    assert "Địa điểm: Sân <b>văn hóa</b> & thể thao" in text
    assert "Kính gửi" in text and "Dear" in m_en.get_body(("plain",)).get_content()
    assert "10/08/2026" in text  # dates as Vietnamese documents write them
    # names where names belong: the unit and the campaign by name (the id kept beside it, to look it up)
    assert f"Đơn vị: Tổ dân phố {t.h} ({t.h})" in text
    assert f"Đợt: Tổ dân phố {t.p} · 2026 ({t.campaign})" in text
    lines = text.splitlines()
    festival_row = next(i for i, line in enumerate(lines) if line.startswith("Ngày hội: "))
    assert festival_row > next(i for i, line in enumerate(lines) if line.startswith("Địa điểm: "))  # ids last


# ------------------------------------------------------------------------------------ awards


async def test_a_decision_goes_to_the_nominating_unit(admin, registry, awards, notifications, receiver, servers):
    """The commune officer who nominated a hamlet's officer gets the decision; a recipient of another
    ward does not."""
    t = await Tree().build(admin)
    await settle(registry, awards)
    await settle(registry, notifications)
    path, other = f"/ok/nom-{t.w}", f"/ok/nom-{t.v}"
    pattern = ["vn.antq.awards.nomination.*"]
    await add(admin, scope_unit_id=t.w, events=pattern, channel="webhook", address=receiver.url(path))
    await add(admin, scope_unit_id=t.v, events=pattern, channel="webhook", address=receiver.url(other))
    officer = await Client.connect(servers.nats_url, Actor(id="can-bo-w", unit=t.w, role="approver"), source="tests")
    try:
        nid = ok(
            await officer.send(
                a.SubmitNomination(
                    nominee=a.Nominee(kind="collective", unit_id=t.g1),
                    award_form="giay_khen_chu_tich_ubnd_xa",
                    year=2026,
                    achievement="Tổ chức Ngày hội tiêu biểu",
                )
            )
        )["nomination_id"]
        ok(await officer.send(a.RejectNomination(nomination_id=nid, reason="Chưa đủ thành tích")))
    finally:
        await officer.close()
    posts = await receiver.wait_for(path, 2)
    assert [p.json["type"] for p in posts] == [
        "vn.antq.awards.nomination.submitted.v1",
        "vn.antq.awards.nomination.rejected.v1",
    ]
    await settle(awards, notifications)
    assert receiver.at(other) == []


async def test_a_decision_reaches_the_nominating_unit_after_the_nominee_has_moved(
    admin, registry, awards, notifications, receiver, servers
):
    """W's officer nominated G1; G1 then moves to ward V. The decision still reaches W (where the
    nomination was made), and now V too (the nominee's unit is V's)."""
    t = await Tree().build(admin)
    await settle(registry, awards)
    await settle(registry, notifications)
    path, other = f"/ok/moved-{t.w}", f"/ok/moved-{t.v}"
    pattern = ["vn.antq.awards.nomination.*"]
    await add(admin, scope_unit_id=t.w, events=pattern, channel="webhook", address=receiver.url(path))
    await add(admin, scope_unit_id=t.v, events=pattern, channel="webhook", address=receiver.url(other))
    officer = await Client.connect(servers.nats_url, Actor(id="can-bo-w", unit=t.w, role="officer"), source="tests")
    try:
        nid = ok(
            await officer.send(
                a.SubmitNomination(
                    nominee=a.Nominee(kind="collective", unit_id=t.g1),
                    award_form="giay_khen_chu_tich_ubnd_xa",
                    year=2026,
                    achievement="Tổ dân phố an toàn",
                )
            )
        )["nomination_id"]
    finally:
        await officer.close()
    await receiver.wait_for(path, 1)
    ok(await admin.send(r.MoveUnit(unit_id=t.g1, new_parent_id=t.v, effective_date="2026-09-01")))
    await settle(registry, awards)
    await settle(registry, notifications)
    ok(await admin.send(a.RejectNomination(nomination_id=nid, reason="Chưa đủ thành tích")))
    posts = await receiver.wait_for(path, 2)
    assert [p.json["type"] for p in posts][-1] == "vn.antq.awards.nomination.rejected.v1"
    [moved] = await receiver.wait_for(other, 1)
    assert moved.json["type"] == "vn.antq.awards.nomination.rejected.v1"


# ------------------------------------------------------------------------------------ digests


async def test_a_digest_collects_a_days_events_and_is_sent_once(admin, registry, notifications, receiver):
    t = await Tree().build(admin)
    await settle(registry, notifications)
    path = f"/ok/dig-{t.w}"
    added = await add(
        admin,
        scope_unit_id=t.w,
        events=["vn.antq.registry.festival.planned.v1"],
        channel="webhook",
        address=receiver.url(path),
        mode="digest",
    )
    for unit in (t.g1, t.g2, t.g1):
        await plan(admin, unit)
    await settle(registry, notifications)
    collected = await deliveries(admin, recipient_id=added["recipient_id"])
    assert [d["kind"] for d in collected] == ["digest_item"] * 3
    assert {d["status"] for d in collected} == {"collected"}
    due = dt.datetime.fromisoformat(collected[0]["next_at"] or "")
    assert due > clock.now()  # the next digest hour, 07:00 in Huế
    assert due.astimezone(dt.timezone(dt.timedelta(hours=7))).hour == 7
    # the hour strikes (here: the items are told so)
    await notifications.db.deliveries.update_many(
        {"recipient_id": added["recipient_id"]}, {"$set": {"next_at": clock.now()}}
    )
    [post] = await receiver.wait_for(path, 1)
    assert post.verifies(added["secret"])
    assert post.headers["content-type"] == "application/cloudevents-batch+json"
    assert [e["type"] for e in post.json] == ["vn.antq.registry.festival.planned.v1"] * 3
    await quiet(notifications)  # gathered and sent, nothing due: nothing more comes
    assert len(receiver.at(path)) == 1  # once
    await plan(admin, t.g2)  # collected for the next digest
    await settle(registry, notifications)
    log = await deliveries(admin, recipient_id=added["recipient_id"])
    assert [(d["kind"], d["status"]) for d in log] == [
        ("digest_item", "collected"),
        ("digest", "sent"),
        *[("digest_item", "digested")] * 3,
    ]


async def test_a_new_units_registration_reaches_the_levels_above(admin, registry, notifications, receiver):
    """The registration of a unit is about a unit the replica may not have seen yet (its own event is
    being applied by the units consumer meanwhile): its parent, named in the event, brings the scope."""
    t = await Tree().build(admin)
    await settle(registry, notifications)
    path = f"/ok/reg-{t.w}"
    await add(
        admin,
        scope_unit_id=t.w,
        events=["vn.antq.registry.unit.registered.v1"],
        channel="webhook",
        address=receiver.url(path),
    )
    new = uid("g3")
    reply = await admin.send(
        r.RegisterUnit(
            unit_id=new, name="Tổ dân phố mới", kind="residential_group", parent_id=t.w, valid_from="2024-01-01"
        )
    )
    ok(reply)
    [post] = await receiver.wait_for(path, 1)
    assert post.json["data"]["unit_id"] == new
    await settle(registry, notifications)
    assert len(receiver.at(path)) == 1


# ------------------------------------------------------------ reminders (last: it stops the host)


async def test_reminders_survive_a_restart_and_two_instances_send_each_once(admin, registry, notifications, receiver):
    """The 2027 campaign's reminders are scheduled in MongoDB when it opens. The service stops before
    any is due; two instances start on 17 Aug 2027 at 09:00 in Huế (their clock), when all three are
    due: each reminder is sent once, to the recipient, with the units it must chase."""
    t = await Tree().build(admin)
    campaign = ok(await admin.send(r.OpenCampaign(year=2027, scope_unit_id=t.p)))["campaign_id"]
    await plan(admin, t.g1, year=2027)
    await settle(registry, notifications)
    path = f"/ok/rem-{t.w}"
    added = await add(
        admin,
        scope_unit_id=t.w,
        events=["vn.antq.notifications.reminder.*"],
        channel="webhook",
        address=receiver.url(path),
    )
    await settle(registry, notifications)
    jobs = {j["kind"]: j for j in await notifications.db.jobs.find({"campaign_id": campaign}).to_list()}
    assert {k: j["status"] for k, j in jobs.items()} == dict.fromkeys(
        ("window_opened", "window_closing", "report_due"), "pending"
    )
    assert jobs["window_opened"]["due_at"] == dt.datetime(2027, 7, 1, 1, 0, tzinfo=dt.UTC)  # 08:00 in Huế
    assert jobs["window_closing"]["due_at"] == dt.datetime(2027, 8, 16, 1, 0, tzinfo=dt.UTC)  # 3 days before 19 Aug
    await notifications.stop()

    later = dt.datetime(2027, 8, 17, 2, 0, tzinfo=dt.UTC)
    hosts = [create_notifications(notifications.settings, clock=lambda: later) for _ in range(2)]
    # what AntqReminderOverdue reads: the oldest job not yet run is 47 days and an hour past its time
    overdue = await reminders.overdue_seconds(hosts[0].definition.deps)
    assert overdue == (later - jobs["window_opened"]["due_at"]).total_seconds() == 47 * 86400 + 3600
    for host in hosts:
        await host.start()
    try:
        posts = await receiver.wait_for(path, 3)
        await quiet(*hosts)  # every job run, nothing queued: nothing more comes
        assert len(receiver.at(path)) == 3
        assert all(p.verifies(added["secret"]) for p in posts)
        data = {p.json["type"].split(".")[-2]: p.json["data"] for p in posts}
        assert set(data) == {"window-opened", "window-closing", "report-due"}
        assert "units" not in data["window-opened"]
        # nothing planned: the ward itself and G2 (G1 planned); planned but not reported: G1
        assert {u["unit_id"] for u in data["window-closing"]["units"]} == {t.w, t.g2}
        assert [u["unit_id"] for u in data["report-due"]["units"]] == [t.g1]
        assert data["report-due"]["count"] == 1
        done = await hosts[0].db.jobs.find({"campaign_id": campaign}).to_list()
        assert {j["status"] for j in done} == {"done"} and all(j["sent_to"] == 1 for j in done)
        # and once they have run, both instances say nothing is overdue
        for host in hosts:
            for _ in range(100):  # set at the end of each round (every 0.1 s)
                if host.metrics.registry.get_sample_value("antq_reminder_overdue_seconds") == 0:
                    break
                await asyncio.sleep(0.1)
            assert host.metrics.registry.get_sample_value("antq_reminder_overdue_seconds") == 0
    finally:
        for host in hosts:
            await host.stop()
