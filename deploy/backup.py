"""Back up and restore the services' MongoDB databases with PyMongo alone (so it runs wherever the
services run, against MongoDB or the embedded server): one `<collection>.bson` file of the documents
and one `<collection>.indexes.json` per collection, per database.

    python -m deploy.backup dump --url URL --out DIR [--db antq_registry …]
    python -m deploy.backup restore --url URL --from DIR [--drop]

Take the dump while the services are stopped (or accept a copy that is not a single point in time;
the consumers' receipts make a replay after restore idempotent). On real MongoDB, `mongodump --oplog`
/ `mongorestore --oplogReplay` give a point-in-time copy of a running replica set."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import bson
from pymongo import AsyncMongoClient

SERVICE_DATABASES = ("antq_registry", "antq_awards", "antq_notifications", "antq_reporting")


async def dump(url: str, out: Path, databases: list[str]) -> dict[str, int]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    counts: dict[str, int] = {}
    try:
        for name in databases:
            db = client[name]
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            for coll in sorted(await db.list_collection_names()):
                n = 0
                with (folder / f"{coll}.bson").open("wb") as f:
                    async for doc in db[coll].find({}).sort("_id", 1):
                        f.write(bson.encode(doc))
                        n += 1
                indexes = [
                    {"key": list(ix["key"].items()), **{k: v for k, v in ix.items() if k not in ("key", "v", "ns")}}
                    for ix in await (await db[coll].list_indexes()).to_list()
                    if ix["name"] != "_id_"
                ]
                (folder / f"{coll}.indexes.json").write_text(json.dumps(indexes, default=str))
                counts[f"{name}.{coll}"] = n
    finally:
        await client.close()
    return counts


async def restore(url: str, source: Path, drop: bool = False) -> dict[str, int]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    counts: dict[str, int] = {}
    try:
        for folder in sorted(p for p in source.iterdir() if p.is_dir()):  # noqa: ASYNC240 (a CLI, one task)
            db = client[folder.name]
            for path in sorted(folder.glob("*.bson")):
                coll = db[path.stem]
                if drop:
                    await coll.drop()
                docs = bson.decode_all(path.read_bytes())
                for i in range(0, len(docs), 1000):
                    await coll.insert_many(docs[i : i + 1000], ordered=False)
                for ix in json.loads((folder / f"{path.stem}.indexes.json").read_text()):
                    keys = [(k, v) for k, v in ix.pop("key")]
                    await coll.create_index(keys, **ix)
                counts[f"{folder.name}.{path.stem}"] = len(docs)
    finally:
        await client.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Back up or restore the services' databases")
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--url", required=True)
    d.add_argument("--out", required=True, type=Path)
    d.add_argument("--db", action="append", default=None, help="a database (default: the four services')")
    r = sub.add_parser("restore")
    r.add_argument("--url", required=True)
    r.add_argument("--from", dest="source", required=True, type=Path)
    r.add_argument("--drop", action="store_true", help="drop each collection before restoring it")
    args = parser.parse_args()
    if args.what == "dump":
        counts = asyncio.run(dump(args.url, args.out, args.db or list(SERVICE_DATABASES)))
    else:
        counts = asyncio.run(restore(args.url, args.source, args.drop))
    print(json.dumps({args.what: counts}, ensure_ascii=False))


if __name__ == "__main__":
    main()
