"""A plain nats-py client of the registry: .venv/bin/python plain_client.py [nats://host:4222]"""

import asyncio
import json
import sys
import uuid

import nats
from nats.js.api import DeliverPolicy


def command(action, data, unit="", role="admin"):
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "my-service",
            "type": f"vn.antq.registry.{action}.v1",
            "datacontenttype": "application/json",
            "data": data,
            "actorid": "officer-7" if unit else "my-service",
            "actorunit": unit,
            "actorrole": role,
        }
    ).encode()


async def main(url):
    nc = await nats.connect(url)

    async def ask(action, data, **actor):
        msg = await nc.request(f"antq.cmd.registry.{action}", command(action, data, **actor), timeout=5)
        return json.loads(msg.data)

    js = nc.jetstream()  # the festivals' events from now on (an ordered consumer: nothing to clean up)
    events = await js.subscribe("antq.registry.festival.>", ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
    opened = await ask("open-campaign", {"year": 2025, "scope_unit_id": "hue"})  # a platform admin opens it
    print("open-campaign:", opened["result"] if opened["ok"] else opened["error"]["code"])  # conflict on a rerun
    festival = {
        "unit_id": "hue-19753-h01",
        "year": 2025,
        "date": "2025-08-02",
        "venue": "Nhà văn hóa tổ 1",
        "ceremony": {"items": ["sơ kết phong trào", "khen thưởng"]},
        "festival_part": {"items": ["kéo co", "văn nghệ"]},
        "allow_additional": True,  # so the example runs again: a unit holds one festival a year otherwise
    }
    reply = await ask("plan-festival", festival, unit="hue-19753", role="officer")  # an officer of the ward
    print("plan-festival:", reply)  # {"ok": true, "id": "…", "result": {"festival_id": "…", "campaign_id": "…"}}
    while reply["ok"]:  # its event, as every consumer sees it
        event = json.loads((await events.next_msg(timeout=10)).data)
        if event["data"]["festival_id"] == reply["result"]["festival_id"]:
            print("event:", event["type"], event["subject"])
            break
    await nc.close()


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"))
