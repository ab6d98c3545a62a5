"""Print each coverage.updated as it comes: python coverage_subscriber.py [nats://host:4222]"""

import asyncio
import json
import sys

import nats


async def main(url: str) -> None:
    nc = await nats.connect(url, inbox_prefix="_INBOX_consumer")  # the `consumer` user's own inbox

    async def show(msg) -> None:  # one line per (year, scope) whose figures changed
        data = json.loads(msg.data)["data"]
        print(json.dumps({"year": data["year"], "scope": data["scope_unit_id"], **data["figures"]}), flush=True)

    topic = "antq.reporting.coverage.updated.v1"
    await nc.jetstream().subscribe(topic, stream="ANTQ_REPORTING", cb=show, ordered_consumer=True)
    await asyncio.Event().wait()  # runs until stopped; the ordered consumer resumes after a reconnect


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"))
