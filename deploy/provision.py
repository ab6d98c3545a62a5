"""The stream-provisioning job: creates the platform's JetStream streams, or brings their settings up
to date (idempotent), then exits. Compose runs it once before the services, which then run with
stream declaration off (`ANTQ_DECLARE_STREAMS=false`) and no right to create or change a stream.

    python -m deploy.provision      # reads ANTQ_NATS_URL, ANTQ_NATS_USER / _PASSWORD, ANTQ_STREAM_REPLICAS"""

from __future__ import annotations

import asyncio
import json
import sys

import nats

from shared.contract.services import STREAMS
from shared.runtime.bus import ensure_streams, inbox_of
from shared.runtime.settings import ServiceSettings


async def provision(settings: ServiceSettings, attempts: int = 30) -> list[str]:
    options: dict[str, object] = {
        "name": "antq-provision",
        "max_reconnect_attempts": 2,
        "inbox_prefix": inbox_of(settings),
    }
    if (tls := settings.nats_tls()) is not None:
        options["tls"] = tls
    if settings.nats_creds_file:
        options["user_credentials"] = settings.nats_creds_file
    elif settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password.get_secret_value() if settings.nats_password else ""
    for attempt in range(attempts):  # the broker may still be starting
        try:
            nc = await nats.connect(settings.nats_url, **options)
            break
        except Exception as exc:
            if attempt == attempts - 1:
                raise
            print(json.dumps({"waiting_for_nats": repr(exc)[:200]}), file=sys.stderr, flush=True)
            await asyncio.sleep(min(2**attempt * 0.2, 5))
    try:
        await ensure_streams(nc.jetstream(), settings)
        return [s.name for s in STREAMS]
    finally:
        await nc.close()


def main() -> None:
    names = asyncio.run(provision(ServiceSettings()))
    print(json.dumps({"provisioned": names}), flush=True)


if __name__ == "__main__":
    main()
