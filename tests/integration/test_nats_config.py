"""The NATS config compose ships (deploy/nats/nats.conf), loaded by the real nats-server: it parses,
and each user can do what its role needs and nothing it must not. Only the listen addresses and
the store folder are changed, so the server runs here."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from deploy.certs import make_certs
from deploy.embedded import Child, free_port, nats_binary
from deploy.provision import provision
from services.awards.app import AwardsSettings
from services.awards.app import create as create_awards
from services.notifications.app import NotificationsSettings
from services.notifications.app import create as create_notifications
from services.registry.app import RegistrySettings
from services.registry.app import create as create_registry
from services.reporting.app import ReportingSettings
from services.reporting.app import create as create_reporting
from shared.client import Client
from shared.contract import registry as r
from shared.contract.envelope import Actor
from shared.contract.subjects import command_subject
from tests import clock

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "nats.conf"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "coverage_subscriber.py"
PASSWORDS = {
    "registry": "pw-registry-" + uuid.uuid4().hex[:6],
    "awards": "pw-awards-" + uuid.uuid4().hex[:6],
    "reporting": "pw-reporting-" + uuid.uuid4().hex[:6],
    "notifications": "pw-notifications-" + uuid.uuid4().hex[:6],
    "provisioner": "pw-provisioner-" + uuid.uuid4().hex[:6],
    "producer": "pw-producer-" + uuid.uuid4().hex[:6],
    "consumer": "pw-consumer-" + uuid.uuid4().hex[:6],
    "ops": "pw-ops-" + uuid.uuid4().hex[:6],
}
ENV = {f"NATS_{user.upper()}_PASSWORD": pw for user, pw in PASSWORDS.items()}


def local_copy(work: Path, port: int, http_port: int) -> Path:
    text = CONF.read_text()
    text = re.sub(r"(?m)^listen: .*$", f"listen: 127.0.0.1:{port}", text)
    text = re.sub(r"(?m)^http: .*$", f"http: 127.0.0.1:{http_port}", text)
    text = text.replace("store_dir: /data/jetstream", f'store_dir: "{work / "jetstream"}"')
    path = work / "nats.conf"
    path.write_text(text)
    return path


def test_the_shipped_config_parses() -> None:
    r = subprocess.run([nats_binary(), "-t", "-c", str(CONF)], env=ENV, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr + r.stdout
    users = set(re.findall(r"user: (\w+), password: \$NATS_(\w+)_PASSWORD", CONF.read_text()))
    assert {u for u, _ in users} == set(PASSWORDS)


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("nats-secured")
    port = free_port()
    server = Child(
        "nats", [nats_binary(), "-c", str(local_copy(work, port, free_port()))], port, env=ENV, log=work / "nats.log"
    )
    server.start(wait=30)
    yield f"127.0.0.1:{port}"
    server.stop()


def url(user: str, address: str) -> str:
    return f"nats://{user}:{PASSWORDS[user]}@{address}"


async def denied(action) -> None:
    """The server drops what a user may not do: a request gets no answer, a stream publish no ack."""
    with pytest.raises((NatsTimeout, NoRespondersError, TimeoutError)):
        await action()


async def test_each_user_can_do_its_job_and_nothing_else(secured: str, servers) -> None:
    # the provisioning job creates the streams, as its user; the services then run without the right to
    provision = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.provision",
        env={
            **os.environ,
            "ANTQ_NATS_URL": f"nats://{secured}",
            "ANTQ_NATS_USER": "provisioner",
            "ANTQ_NATS_PASSWORD": PASSWORDS["provisioner"],
        },
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await provision.communicate()
    assert provision.returncode == 0 and "ANTQ_NOTIFICATIONS" in out.decode(), out
    common = {
        "mongodb_url": servers.mongodb_url,
        "http_port": 0,
        "nats_url": f"nats://{secured}",
        "declare_streams": False,
        **clock.settings(),
    }
    registry = create_registry(
        RegistrySettings(
            **common,
            nats_user="registry",
            nats_password=PASSWORDS["registry"],
            mongodb_db=f"antq_registry_{uuid.uuid4().hex[:8]}",
        )
    )
    awards = create_awards(
        AwardsSettings(
            **common,
            nats_user="awards",
            nats_password=PASSWORDS["awards"],
            mongodb_db=f"antq_awards_{uuid.uuid4().hex[:8]}",
            consumer_status_seconds=0.3,
        )
    )
    reporting = create_reporting(
        ReportingSettings(
            **common,
            nats_user="reporting",
            nats_password=PASSWORDS["reporting"],
            mongodb_db=f"antq_reporting_{uuid.uuid4().hex[:8]}",
            coverage_interval_seconds=0.3,
        )
    )
    notifications = create_notifications(
        NotificationsSettings(
            **common,
            nats_user="notifications",
            nats_password=PASSWORDS["notifications"],
            mongodb_db=f"antq_notifications_{uuid.uuid4().hex[:8]}",
        )
    )
    await registry.start()
    await awards.start()
    await reporting.start()
    await notifications.start()
    # a reporting consumer runs the README's subscriber as the `consumer` user
    log = Path(tempfile.mkdtemp()) / "subscriber.log"
    subscriber = Child("subscriber", [sys.executable, str(EXAMPLE), "--replay", url("consumer", secured)], 0, log=log)
    subscriber.start()
    admin = Actor(id="ops-admin", unit=None, role="admin")
    producer = await Client.connect(
        url("producer", secured), admin, source="tests/producer", inbox_prefix="_INBOX_producer"
    )
    ops = await Client.connect(url("ops", secured), admin, source="tests/ops")
    try:
        # a producer sends commands to both services and reads their answers
        province = f"p-{uuid.uuid4().hex[:8]}"
        reply = await producer.send(
            r.RegisterUnit(unit_id=province, name="Tỉnh", kind="province", valid_from="2025-01-01")
        )
        assert reply.ok, reply.error
        for _ in range(100):  # awards learns the unit from registry's stream, as the awards user
            known = await ops.query("awards", "nominations", {"unit_id": province})
            if known.ok:
                break
            await asyncio.sleep(0.1)
        assert known.ok, known.error
        for _ in range(100):  # notifications learns it too, as the notifications user, and answers a command
            added = await producer.command(
                "notifications",
                "add-recipient",
                {"scope_unit_id": province, "events": ["vn.antq.*"], "channel": "email", "address": "a@antq.vn"},
            )
            if added.ok:
                break
            await asyncio.sleep(0.1)
        assert added.ok, added.error
        assert (await ops.ops("notifications", "consumers")).ok
        # the durable intake
        await producer.submit(
            "registry",
            "register-unit",
            r.RegisterUnit(name="Xã", kind="commune", parent_id=province, valid_from="2025-01-01"),
        )
        # a producer puts a file in antq-uploads; awards, as its user, reads it into a dossier
        nominated = await producer.command(
            "awards",
            "submit-nomination",
            {"nominee": {"kind": "collective", "unit_id": province}, "award_form": "bang_khen_chu_tich_ubnd_tinh",
             "year": 2026, "achievement": "Tỉnh điển hình"},
        )  # fmt: skip
        assert nominated.ok, nominated.error
        pdf = b"%PDF-1.7\n" + os.urandom(200_000)
        ref = await producer.upload(pdf, "To-trinh.pdf")
        attached = await producer.command(
            "awards", "attach-file", {"nomination_id": nominated.result["nomination_id"], "kind": "to_trinh", **ref}
        )
        assert attached.ok, attached.error
        _, data = await ops.download(nominated.result["nomination_id"], attached.result["attachment_id"])
        assert data == pdf
        # an operator reads both services' consumer status (antq.ops.<service>.>)
        status = await ops.ops("awards", "consumers")
        assert status.ok and {c["consumer"] for c in status.result["consumers"]} == {"intake", "units", "festivals"}
        assert (await ops.ops("registry", "consumers")).ok
        # a reporting consumer may not send commands (the server refuses the publish: no answer)
        nc = await nats.connect(url("consumer", secured), allow_reconnect=False)
        try:
            with pytest.raises((NatsTimeout, NoRespondersError)):
                await nc.request(command_subject("registry", "register-unit"), b"{}", timeout=1)
        finally:
            await nc.close()
        # a producer may not publish events as if it were registry
        nc = await nats.connect(url("producer", secured), allow_reconnect=False)
        try:
            with pytest.raises((NatsTimeout, NoRespondersError)):
                await nc.jetstream().publish("antq.registry.unit.registered.v1", b"{}", timeout=1)
        finally:
            await nc.close()
        # the reporting consumer sees coverage.updated for the province, published as the reporting user
        assert (await producer.send(r.OpenCampaign(year=2026, scope_unit_id=province))).ok
        ok_unit = await producer.send(
            r.RegisterUnit(
                unit_id=f"w-{province}", name="Phường", kind="ward", parent_id=province, valid_from="2025-01-01"
            )
        )
        assert ok_unit.ok, ok_unit.error
        lines: list[dict] = []
        for _ in range(150):
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            if any(x["scope"] == province for x in lines):
                break
            await asyncio.sleep(0.1)
        assert any(x["scope"] == province and x["units_total"] >= 1 for x in lines), log.read_text()[-2000:]
        # the permission matrix: what each user may not do, the server refuses
        matrix = await permission_matrix(secured)
        assert all(matrix.values()), {k: v for k, v in matrix.items() if not v}
        # a wrong password is refused
        with pytest.raises(nats.errors.Error):  # an authorization violation, then no server left to try
            await nats.connect(f"nats://registry:wrong@{secured}", allow_reconnect=False, max_reconnect_attempts=0)
    finally:
        subscriber.stop()
        await producer.close()
        await ops.close()
        await notifications.stop()
        await reporting.stop()
        await awards.stop()
        await registry.stop()


async def subscription_refused(address: str, subject: str) -> bool:
    """The server answers a subscription it does not permit with a permissions violation."""
    errors: list[Exception] = []
    refused = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(exc)
        if "permissions violation" in str(exc).lower():
            refused.set()

    nc = await nats.connect(address, allow_reconnect=False, error_cb=on_error)
    try:
        await nc.subscribe(subject)
        await nc.flush(timeout=2)
        # the server answers in order: its -ERR for the SUB comes before the PONG of the flush, and the
        # error callback has run by the end of a second round trip: a refusal has been heard, or there was none
        await nc.flush(timeout=2)
    finally:
        await nc.close()
    return refused.is_set()


async def permission_matrix(secured: str) -> dict[str, bool]:
    """Each user is denied what is not its job (True: denied, as it must be)."""
    out: dict[str, bool] = {}

    async def check(user: str, what: str, action) -> None:
        nc = await nats.connect(url(user, secured), allow_reconnect=False, inbox_prefix=f"_INBOX_{user}")
        try:  # denied: the server drops it, so no answer comes; any other error is the test's own bug
            await asyncio.wait_for(action(nc), 2)
            out[f"{user}: {what}"] = False
        except (NatsTimeout, NoRespondersError, TimeoutError):
            out[f"{user}: {what}"] = True
        finally:
            await nc.close()

    def js_publish(subject: str):
        return lambda nc: nc.jetstream().publish(subject, b"{}", timeout=1)

    def request(subject: str):
        return lambda nc: nc.request(subject, b"{}", timeout=1)

    def add_stream(name: str):
        return lambda nc: nc.jetstream().add_stream(name=name, subjects=[f"x.{name.lower()}.>"])

    def consumer(name: str, subject: str):
        return lambda nc: nc.jetstream().add_consumer(
            "ANTQ_INTAKE", durable_name=name, name=name, filter_subject=subject
        )

    def delete(stream: str, durable: str):
        return lambda nc: nc.jetstream().delete_consumer(stream, durable)

    def read(stream: str, subject: str):
        async def go(nc):
            sub = await nc.jetstream().pull_subscribe(subject, stream=stream)
            await sub.fetch(1, timeout=1)

        return go

    for service, other in (
        ("registry", "awards"),
        ("awards", "reporting"),
        ("reporting", "notifications"),
        ("notifications", "registry"),
    ):
        await check(service, f"publish {other}'s events", js_publish(f"antq.{other}.unit.registered.v1"))
        await check(service, "create a stream", add_stream(f"ROGUE_{service.upper()}"))
        await check(service, "delete a stream", lambda nc: nc.jetstream().delete_stream("ANTQ_DLQ"))
    await check("registry", "read awards' stream", read("ANTQ_AWARDS", "antq.awards.>"))
    # a service manages only its own durables: none of another's name, nor its own on another's commands
    await check("registry", "create a durable on awards' intake", consumer("spy", "antq.intake.awards.>"))
    await check(
        "registry", "point its own durable at awards' intake", consumer("registry-intake", "antq.intake.awards.*")
    )
    await check("registry", "delete awards' durable", delete("ANTQ_INTAKE", "awards-intake"))
    await check("awards", "delete reporting's durable", delete("ANTQ_REGISTRY", "reporting-registry"))
    # nobody reads another's inbox (an intake command's delivery carries a bearer token)
    for user, other in (("consumer", "registry"), ("producer", "awards"), ("reporting", "registry")):
        out[f"{user}: read {other}'s inbox"] = await subscription_refused(url(user, secured), f"_INBOX_{other}.>")
        out[f"{user}: read every inbox"] = await subscription_refused(url(user, secured), "_INBOX.>")
    await check("awards", "read reporting's stream", read("ANTQ_REPORTING", "antq.reporting.>"))
    await check("producer", "publish an event", js_publish("antq.registry.unit.registered.v1"))
    await check("producer", "ask a query", request("antq.query.registry.units"))
    await check("producer", "read a stream", read("ANTQ_REGISTRY", "antq.registry.>"))
    # uploads: producers put, awards reads; no one else reads them, and a producer reads no upload's chunks
    await check("producer", "read uploads' chunks", read("OBJ_antq-uploads", "$O.antq-uploads.C.>"))
    await check("registry", "read uploads' chunks", read("OBJ_antq-uploads", "$O.antq-uploads.C.>"))
    await check("consumer", "put an upload", js_publish("$O.antq-uploads.C.x"))
    await check("reporting", "put an upload", js_publish("$O.antq-uploads.C.x"))
    await check("consumer", "send a command", request("antq.cmd.registry.register-unit"))
    await check("consumer", "use the intake", js_publish("antq.intake.registry.register-unit"))
    await check("consumer", "ask registry a query", request("antq.query.registry.units"))
    await check("consumer", "read registry's stream", read("ANTQ_REGISTRY", "antq.registry.>"))
    await check("provisioner", "send a command", request("antq.cmd.registry.register-unit"))
    await check("provisioner", "publish an event", js_publish("antq.registry.unit.registered.v1"))

    async def anonymous() -> None:
        nc = await nats.connect(f"nats://{secured}", allow_reconnect=False, max_reconnect_attempts=0)
        await nc.close()

    try:
        await anonymous()
        out["anonymous: connect"] = False
    except Exception:
        out["anonymous: connect"] = True
    return out


async def test_the_tls_config_requires_tls_and_services_connect_with_it(tmp_path, servers) -> None:
    """deploy/nats/nats-tls.conf (the production broker) loads in nats-server with mounted certificates;
    a plain connection is refused, and a service connects with ANTQ_NATS_TLS_CA_FILE."""
    certs = make_certs(tmp_path / "tls")
    port = free_port()
    local_copy(tmp_path, port, free_port())  # nats.conf beside it, as the include expects
    tls_conf = (CONF.parent / "nats-tls.conf").read_text().replace("/etc/nats/tls/", f"{tmp_path / 'tls'}/")
    (tmp_path / "nats-tls.conf").write_text(tls_conf)
    server = Child(
        "nats", [nats_binary(), "-c", str(tmp_path / "nats-tls.conf")], port, env=ENV, log=tmp_path / "nats.log"
    )
    server.start(wait=30)
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 (whatever the client raises: no plain connection)
            await nats.connect(url("ops", f"127.0.0.1:{port}"), allow_reconnect=False, max_reconnect_attempts=0)
        registry = create_registry(
            RegistrySettings(
                mongodb_url=servers.mongodb_url,
                mongodb_db=f"antq_registry_{uuid.uuid4().hex[:8]}",
                http_port=0,
                nats_url=f"tls://127.0.0.1:{port}",
                nats_user="registry",
                nats_password=PASSWORDS["registry"],
                nats_tls_ca_file=str(certs["ca"]),
                declare_streams=False,
            )
        )
        settings = RegistrySettings(
            nats_url=f"tls://127.0.0.1:{port}",
            nats_user="provisioner",
            nats_password=PASSWORDS["provisioner"],
            nats_tls_ca_file=str(certs["ca"]),
        )
        assert "ANTQ_REGISTRY" in await provision(settings)
        await registry.start()
        try:
            ops = await Client.connect(
                f"tls://ops:{PASSWORDS['ops']}@127.0.0.1:{port}",
                Actor(id="ops", unit=None, role="admin"),
                tls=settings.nats_tls(),
            )
            try:
                reply = await ops.send(r.RegisterUnit(name="Tỉnh TLS", kind="province", valid_from="2025-01-01"))
                assert reply.ok, reply.error
            finally:
                await ops.close()
        finally:
            await registry.stop()
    finally:
        server.stop()
