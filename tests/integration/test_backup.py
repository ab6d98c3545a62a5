"""The backup and restore procedures the README gives, tried: the services' databases dumped and
restored with deploy/backup.py, and a JetStream store copied while its server is stopped and served
by a new server."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid

import nats
from pymongo import AsyncMongoClient

from deploy.embedded import Child, free_port, nats_command
from shared.client import read_stream


async def backup(*args: str) -> str:
    """`python -m deploy.backup …`, as the README gives it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.backup", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return out.decode()


async def test_a_database_dump_restores_documents_and_indexes(servers, tmp_path):
    name = f"antq_backup_{uuid.uuid4().hex[:6]}"
    client = AsyncMongoClient(servers.mongodb_url)
    try:
        docs = [{"_id": f"u{i}", "name": f"Thôn {i}", "n": i, "tags": ["a", "b"]} for i in range(250)]
        await client[name].units.insert_many(docs)
        await client[name].units.create_index([("name", 1), ("n", -1)], name="by_name")
        out = await backup("dump", "--url", servers.mongodb_url, "--out", str(tmp_path / "dump"), "--db", name)
        assert json.loads(out)["dump"][f"{name}.units"] == 250
        await client.drop_database(name)
        await backup("restore", "--url", servers.mongodb_url, "--from", str(tmp_path / "dump"))
        restored = await client[name].units.find({}).sort("_id", 1).to_list()
        assert restored == sorted(docs, key=lambda d: d["_id"])
        indexes = {ix["name"]: ix for ix in await (await client[name].units.list_indexes()).to_list()}
        assert list(indexes["by_name"]["key"].items()) == [("name", 1), ("n", -1)]
    finally:
        await client.drop_database(name)
        await client.close()


async def test_a_copied_jetstream_store_serves_its_streams(tmp_path):
    port = free_port()
    server = Child("nats", nats_command(tmp_path / "a", port, free_port()), port, log=tmp_path / "a.log")
    server.start(wait=30)
    nc = await nats.connect(f"nats://127.0.0.1:{port}")
    js = nc.jetstream()
    await js.add_stream(name="ANTQ_REGISTRY", subjects=["antq.registry.>"])
    for i in range(20):
        await js.publish("antq.registry.unit.registered.v1", json.dumps({"i": i}).encode())
    await nc.close()
    server.stop()  # the store is copied while its server is stopped (a consistent copy)
    shutil.copytree(tmp_path / "a" / "jetstream", tmp_path / "b" / "jetstream")
    port = free_port()
    restored = Child("nats", nats_command(tmp_path / "b", port, free_port()), port, log=tmp_path / "b.log")
    restored.start(wait=30)
    try:
        nc = await nats.connect(f"nats://127.0.0.1:{port}")
        msgs = await read_stream(nc.jetstream(), "ANTQ_REGISTRY", "antq.registry.>")
        assert [json.loads(m.data)["i"] for m in msgs] == list(range(20))
        await nc.close()
    finally:
        restored.stop()
        await asyncio.sleep(0)
