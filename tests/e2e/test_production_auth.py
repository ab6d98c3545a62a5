"""Production mode end to end: the registry as its own process with ANTQ_ENV=production, against a
nats-server started from deploy/nats/nats.conf (users and permissions), and an identity provider whose
public keys it reads from a JWKS file. Commands and queries need a signed token, and the actor is the
token's."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest

from deploy.embedded import Child, free_port, nats_binary
from shared.client.tokens import Issuer
from shared.contract.subjects import command_subject, query_subject
from tests.e2e.conftest import ServiceProcess, board_events
from tests.integration.test_nats_config import ENV, PASSWORDS, local_copy

ISSUER = "https://id.hue.gov.vn/realms/antq"


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("nats-production")
    port = free_port()
    server = Child(
        "nats", [nats_binary(), "-c", str(local_copy(work, port, free_port()))], port, env=ENV, log=work / "nats.log"
    )
    server.start(wait=30)
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def idp(tmp_path_factory) -> tuple[Issuer, Path]:
    folder = tmp_path_factory.mktemp("idp")
    issuer = Issuer.create(folder, issuer=ISSUER)
    return issuer, folder / "jwks.json"


def production_service(name: str, servers, secured: str, idp, tmp: Path, **extra: str) -> ServiceProcess:
    """A service as its own process in production mode, as its own NATS user, verifying the idp's tokens."""
    port = free_port()
    env = {
        "ANTQ_ENV": "production",
        "ANTQ_NATS_URL": f"nats://{secured}",
        "ANTQ_NATS_USER": name,
        "ANTQ_NATS_PASSWORD": PASSWORDS[name],
        "ANTQ_MONGODB_URL": servers.mongodb_url,
        "ANTQ_MONGODB_DB": f"antq_{name}_prod_{uuid.uuid4().hex[:8]}",
        "ANTQ_HTTP_PORT": str(port),
        "ANTQ_AUTH_ISSUER": ISSUER,
        "ANTQ_AUTH_JWKS_FILE": str(idp[1]),
        "ANTQ_DECLARE_STREAMS": "false",
        **extra,
    }
    return ServiceProcess(name, [sys.executable, "-m", f"services.{name}"], port, env=env, log=tmp / f"{name}.log")


@pytest.fixture(scope="module")
def registry_prod(servers, secured, idp, tmp_path_factory) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("e2e-prod")
    # the streams are provisioned by their job, as `provisioner`: the registry user may not create them
    provision = {
        **os.environ,
        "ANTQ_NATS_URL": f"nats://{secured}",
        "ANTQ_NATS_USER": "provisioner",
        "ANTQ_NATS_PASSWORD": PASSWORDS["provisioner"],
    }
    subprocess.run([sys.executable, "-m", "deploy.provision"], env=provision, check=True, capture_output=True)
    svc = production_service("registry", servers, secured, idp, tmp)
    svc.start()
    try:
        svc.wait_ready()
        yield svc
    finally:  # stopped even when it never became ready (a refused start left it running before)
        svc.stop()


def test_production_refuses_to_start_without_an_issuer(servers, secured, tmp_path):
    env = {
        "ANTQ_ENV": "production",
        "ANTQ_NATS_URL": f"nats://{secured}",
        "ANTQ_NATS_USER": "registry",
        "ANTQ_NATS_PASSWORD": PASSWORDS["registry"],
        "ANTQ_MONGODB_URL": servers.mongodb_url,
        "PATH": "/usr/bin:/bin",
    }
    r = subprocess.run(
        [sys.executable, "-m", "services.registry"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert r.returncode != 0
    assert "an identity provider is required" in r.stderr


def rule(reply: dict) -> str:
    return reply["error"]["details"][0]["rule"]


async def test_tokens_decide_who_acts(registry_prod, secured, idp):
    issuer, _ = idp
    nc = await nats.connect(f"nats://producer:{PASSWORDS['producer']}@{secured}", inbox_prefix="_INBOX_producer")
    t = uuid.uuid4().hex[:6]
    a_unit, b_unit = f"w-a-{t}", f"w-b-{t}"

    async def send(action: str, data: dict, token: str | None, **actor: str) -> dict:
        """A command whose envelope names no actor (the token's is used), or the attributes given."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        doc = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "outside-client",
            "type": f"vn.antq.registry.{action}.v1",
            "data": data,
            **actor,
        }
        body = json.dumps(doc, ensure_ascii=False).encode()
        msg = await nc.request(command_subject("registry", action), body, timeout=10, headers=headers)
        return json.loads(msg.data)

    def code(reply: dict) -> str:
        return "ok" if reply["ok"] else reply["error"]["code"]

    admin = issuer.token("so-cong-an-admin", None, "admin")
    try:
        # an admin with a token registers the tree
        p = f"p-{t}"
        for unit_id, kind, parent in ((p, "province", None), (a_unit, "ward", p), (b_unit, "ward", p)):
            data = {"unit_id": unit_id, "name": f"Đơn vị {unit_id}", "kind": kind, "parent_id": parent}
            reply = await send("register-unit", {**data, "valid_from": "2024-01-01"}, admin)
            assert code(reply) == "ok", reply

        hamlet = {"name": "Tổ dân phố 1", "kind": "residential_group", "valid_from": "2024-01-01"}
        # 1. unsigned: refused, whatever the envelope claims
        as_admin = {"actorid": "so-cong-an-admin", "actorunit": "", "actorrole": "admin"}
        reply = await send("register-unit", {**hamlet, "parent_id": a_unit}, None, **as_admin)
        assert code(reply) == "forbidden" and rule(reply) == "token_required"
        # 2. an expired token: refused
        expired = issuer.token("so-cong-an-admin", None, "admin", ttl=-120)
        reply = await send("register-unit", {**hamlet, "parent_id": a_unit}, expired)
        assert code(reply) == "forbidden" and rule(reply) == "token_expired"
        # 3. an officer of unit A may act on A, not on B
        officer_a = issuer.token("can-bo-a", a_unit, "officer")
        as_officer = {"actorid": "can-bo-a", "actorunit": a_unit, "actorrole": "officer"}
        reply = await send("register-unit", {**hamlet, "parent_id": a_unit}, officer_a, **as_officer)
        assert code(reply) == "ok", reply
        reply = await send("register-unit", {**hamlet, "parent_id": b_unit}, officer_a, **as_officer)
        assert code(reply) == "forbidden" and rule(reply) == "scope"
        # 4. claims that disagree with the envelope: an officer's token in an admin's envelope
        reply = await send("register-unit", {**hamlet, "parent_id": b_unit}, officer_a, **as_admin)
        assert code(reply) == "forbidden" and reply["error"]["details"][0]["attribute"] == "actorid"
        reply = await send("register-unit", {**hamlet, "parent_id": b_unit}, officer_a, actorrole="admin")
        assert code(reply) == "forbidden" and reply["error"]["details"][0]["attribute"] == "actorrole"
        # a token signed by anyone but the issuer
        forged = Issuer.create(Path(f"/tmp/forged-{t}"), issuer=ISSUER).token("x", None, "admin")
        reply = await send("register-unit", {**hamlet, "parent_id": b_unit}, forged)
        assert code(reply) == "forbidden" and rule(reply) == "token_invalid"
        # queries reveal unit data: a token is needed too (asked as `ops`: a producer may not ask queries)
        ops = await nats.connect(f"nats://ops:{PASSWORDS['ops']}@{secured}")
        try:
            params = json.dumps({"unit_id": a_unit}).encode()
            msg = await ops.request(query_subject("registry", "unit"), params, timeout=10)
            assert json.loads(msg.data)["error"]["code"] == "forbidden"
            bearer = {"Authorization": f"Bearer {officer_a}"}
            msg = await ops.request(query_subject("registry", "unit"), params, timeout=10, headers=bearer)
            assert json.loads(msg.data)["ok"]

            # reads are scoped like writes: the token's actor reads its own branch (and what governs it),
            # not its sibling's; an unknown id reads like the sibling's; an envelope may not claim another
            async def ask(name: str, data: dict, token: str, **actor: str) -> dict:
                doc = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "outside-client", "data": data}
                doc |= {"type": f"vn.antq.registry.{name}.v1", **actor}
                headers = {"Authorization": f"Bearer {token}"}
                msg = await ops.request(query_subject("registry", name), json.dumps(doc).encode(), 10, headers=headers)
                return json.loads(msg.data)

            sibling = await ask("unit", {"unit_id": b_unit}, officer_a)
            unknown = await ask("unit", {"unit_id": f"nope-{t}"}, officer_a)
            assert code(sibling) == code(unknown) == "forbidden" and rule(sibling) == rule(unknown) == "scope"
            assert code(await ask("unit", {"unit_id": p}, officer_a)) == "ok"  # the province governs A
            assert rule(await ask("units", {"parent_id": p}, officer_a)) == "scope"  # but its list is not A's
            claimed = await ask("unit", {"unit_id": b_unit}, officer_a, **as_admin)
            assert code(claimed) == "forbidden" and claimed["error"]["details"][0]["attribute"] == "actorid"
            assert code(await ask("units", {"parent_id": p}, admin)) == "ok"
        finally:
            await ops.close()
    finally:
        await nc.close()


async def test_the_intake_needs_a_token_too(registry_prod, secured, idp):
    """A command on the durable intake is accepted with a valid token and rejected without one (the
    outcome is an event, read here as the ops user)."""
    issuer, _ = idp
    producer = await nats.connect(f"nats://producer:{PASSWORDS['producer']}@{secured}", inbox_prefix="_INBOX_producer")
    ops = await nats.connect(f"nats://ops:{PASSWORDS['ops']}@{secured}")
    t = uuid.uuid4().hex[:6]
    ids = {"signed": f"cmd-signed-{t}", "unsigned": f"cmd-unsigned-{t}"}
    try:
        for kind, command_id in ids.items():
            doc = {
                "specversion": "1.0",
                "id": command_id,
                "source": "outside-client",
                "type": "vn.antq.registry.register-unit.v1",
                "data": {"name": f"Tỉnh {t}", "kind": "province", "parent_id": None, "valid_from": "2024-01-01"},
                "actorid": "so-cong-an-admin",
                "actorunit": "",
                "actorrole": "admin",
            }
            headers = {"Nats-Msg-Id": command_id}
            if kind == "signed":
                headers["Authorization"] = f"Bearer {issuer.token('so-cong-an-admin', None, 'admin')}"
            await producer.jetstream().publish(
                "antq.intake.registry.register-unit", json.dumps(doc).encode(), headers=headers
            )
        js = ops.jetstream()
        outcomes: dict[str, str] = {}
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            sub = await js.pull_subscribe("antq.registry.command.>", stream="ANTQ_REGISTRY")
            try:
                msgs = await sub.fetch(1000, timeout=1)
            except TimeoutError:
                msgs = []
            await sub.unsubscribe()
            for m in msgs:
                event = json.loads(m.data)
                if event.get("causationid") in ids.values():
                    outcomes[event["causationid"]] = event["type"].split(".")[-2]
            if len(outcomes) == 2:
                break
            await asyncio.sleep(0.3)
        assert outcomes == {ids["signed"]: "accepted", ids["unsigned"]: "rejected"}
    finally:
        await producer.close()
        await ops.close()


@pytest.fixture(scope="module")
def reporting_prod(servers, secured, idp, registry_prod, tmp_path_factory) -> Iterator[ServiceProcess]:
    """Reporting in production as the `reporting` NATS user: its board asks registry's calendar and
    listens to its own topic with exactly the permissions deploy/nats/nats.conf grants it."""
    tmp = tmp_path_factory.mktemp("e2e-prod-reporting")
    svc = production_service("reporting", servers, secured, idp, tmp, ANTQ_COVERAGE_INTERVAL_SECONDS="0.5")
    svc.start()
    try:
        svc.wait_ready()
        yield svc
    finally:
        svc.stop()


async def test_the_season_board_needs_a_token_and_reads_in_the_tokens_scope(reporting_prod, secured, idp):
    """Production refuses an injected clock, so this season is the current year's (tokens are checked on
    the real clock anyway); nothing here depends on the date within the year."""
    issuer, _ = idp
    year = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).year
    t = uuid.uuid4().hex[:6]
    p, a_unit, b_unit = f"bp-{t}", f"bw-a-{t}", f"bw-b-{t}"
    admin = issuer.token("so-cong-an-admin", None, "admin")
    officer_a = issuer.token("can-bo-a", a_unit, "officer")
    producer = await nats.connect(f"nats://producer:{PASSWORDS['producer']}@{secured}", inbox_prefix="_INBOX_producer")

    async def send(action: str, data: dict, token: str) -> dict:
        doc = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "outside-client", "data": data}
        doc["type"] = f"vn.antq.registry.{action}.v1"
        body = json.dumps(doc, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {token}"}
        reply = json.loads(
            (await producer.request(command_subject("registry", action), body, 10, headers=headers)).data
        )
        assert reply["ok"], reply
        return reply["result"]

    board = reporting_prod.url("/board")
    try:
        for unit_id, kind, parent in ((p, "province", None), (a_unit, "ward", p), (b_unit, "ward", p)):
            data = {"unit_id": unit_id, "name": f"Đơn vị {unit_id}", "kind": kind, "parent_id": parent}
            await send("register-unit", {**data, "valid_from": "2024-01-01"}, admin)
        await send("open-campaign", {"year": year, "scope_unit_id": p}, admin)
        async with httpx.AsyncClient(timeout=20, follow_redirects=False) as http:
            bearer = {"Authorization": f"Bearer {officer_a}"}

            async def known() -> bool:
                r = await http.get(f"{board}/u/{a_unit}?year={year}", headers=bearer)
                return r.status_code == 200

            for _ in range(150):
                if await known():
                    break
                await asyncio.sleep(0.2)
            # without a token: the sign-in page; the live stream is refused outright
            r = await http.get(f"{board}?year={year}")
            assert r.status_code == 303 and r.headers["location"].startswith("/board/login")
            assert (await http.get(f"{board}/u/{p}?year={year}")).status_code == 303
            assert (await http.get(f"{board}/live?year={year}&unit={p}")).status_code == 401
            # a forged or expired token is refused with the reason; a valid one signs in (HttpOnly cookie)
            forged = Issuer.create(Path(f"/tmp/forged-board-{t}"), issuer=ISSUER).token("x", None, "admin")
            r = await http.post(f"{board}/login", data={"token": forged})
            assert r.status_code == 401 and "not valid" in r.text
            r = await http.get(
                f"{board}?year={year}",
                headers={"Authorization": f"Bearer {issuer.token('x', None, 'admin', ttl=-120)}"},
            )
            assert r.status_code == 401 and "expired" in r.text
            r = await http.post(f"{board}/login", data={"token": officer_a})
            assert r.status_code == 303 and "HttpOnly" in r.headers["set-cookie"]
            cookie = {"Cookie": r.headers["set-cookie"].split(";")[0]}
            # an officer starts at their own unit and sees its list and calendar (registry answered the
            # board's request, which the `reporting` user may make)
            r = await http.get(f"{board}?year={year}", headers=cookie)
            assert r.status_code == 303 and r.headers["location"] == f"/board/u/{a_unit}?year={year}"
            own = await http.get(f"{board}/u/{a_unit}?year={year}", headers=cookie)
            assert own.status_code == 200 and 'id="missing"' in own.text
            assert "Danh sách đơn vị chỉ dành" not in own.text and "Chưa có Ngày hội nào trong lịch." in own.text
            # the province's figures are open to every actor; its list of units and its calendar are not
            province = await http.get(f"{board}/u/{p}?year={year}", headers=cookie)
            assert province.status_code == 200
            assert "Danh sách đơn vị chỉ dành cho cán bộ của đơn vị này hoặc cấp trên." in province.text
            assert "Lịch chỉ dành cho cán bộ của đơn vị này hoặc cấp trên." in province.text  # scope, not outage
            assert officer_a not in own.text + province.text  # the token is never written into a page

            # the live stream (the `reporting` user's subscription to its own topic) carries a new unit
            async def coverage_events(found: list[dict], ready: asyncio.Event) -> None:
                async with http.stream("GET", f"{board}/live?year={year}&unit={a_unit}", headers=cookie) as s:
                    assert s.status_code == 200
                    await board_events(s.aiter_lines(), found, ready, lambda e: e["figures"]["units_total"] == 2)

            found: list[dict] = []
            ready = asyncio.Event()
            listening = asyncio.create_task(coverage_events(found, ready))
            await asyncio.wait_for(ready.wait(), 30)
            for _ in range(200):  # the figures as the stream opens follow its `ready`
                if found:
                    break
                await asyncio.sleep(0.05)
            assert found[0]["unit_id"] == a_unit and found[0]["figures"]["units_total"] == 1  # as it opens
            group = {"unit_id": f"bg-{t}", "name": "Tổ dân phố 1", "kind": "residential_group", "parent_id": a_unit}
            await send("register-unit", {**group, "valid_from": f"{year}-01-01"}, officer_a)
            await asyncio.wait_for(listening, 60)
            assert found[-1]["unit_id"] == a_unit and found[-1]["figures"]["units_total"] == 2
    finally:
        await producer.close()
