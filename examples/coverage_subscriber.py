"""Print each coverage.updated from now on: .venv/bin/python coverage_subscriber.py [--replay] [nats://host:4222]"""

import asyncio
import json
import sys

import nats
from nats.js.api import DeliverPolicy


async def main(url: str, replay: bool) -> None:
    nc = await nats.connect(url, inbox_prefix="_INBOX_consumer")  # the `consumer` user's own inbox

    async def show(msg) -> None:  # one line per (year, scope) whose figures changed
        data = json.loads(msg.data)["data"]
        print(json.dumps({"year": data["year"], "scope": data["scope_unit_id"], **data["figures"]}), flush=True)

    policy = DeliverPolicy.ALL if replay else DeliverPolicy.NEW  # --replay: the topic's history first
    topic = "antq.reporting.coverage.updated.v1"
    await nc.jetstream().subscribe(
        topic, stream="ANTQ_REPORTING", cb=show, ordered_consumer=True, deliver_policy=policy
    )
    await asyncio.Event().wait()  # runs until stopped; the ordered consumer resumes after a reconnect


args = sys.argv[1:]
asyncio.run(main(next((a for a in args if a != "--replay"), "nats://127.0.0.1:4222"), "--replay" in args))
