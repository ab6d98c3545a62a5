"""Operations requests (`antq.ops.<service>.<action>`), for a platform admin only: the status of the
service's durable consumers, and rebuilds of its event consumers from their streams."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from nats.js import JetStreamContext
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.authz import is_platform_admin
from shared.contract.envelope import parse_envelope
from shared.contract.errors import DomainError, Forbidden, NotFound, ValidationFailed, error_reply, ok_reply
from shared.runtime.auth import Presented, Verifier, reconcile
from shared.runtime.consumers import Consumer
from shared.runtime.delivery import PullConsumer
from shared.runtime.event_consumer import EventConsumer
from shared.runtime.mongo import Doc
from shared.runtime.outbox import Outbox
from shared.runtime.rebuild import Rebuild, rebuild_status
from shared.runtime.settings import ServiceSettings
from shared.runtime.version import version


class Hosting(Protocol):
    """What operations need of the service host."""

    name: str
    settings: ServiceSettings
    verifier: Verifier | None
    runners: dict[str, EventConsumer]

    @property
    def outbox(self) -> Outbox: ...

    @property
    def mongo(self) -> AsyncMongoClient[Doc]: ...
    @property
    def db(self) -> AsyncDatabase[Doc]: ...

    def consumers(self) -> Sequence[PullConsumer]: ...
    def readiness(self) -> dict[str, bool]: ...
    def jetstream(self) -> JetStreamContext: ...
    def runner(self, consumer: Consumer[Any], db: AsyncDatabase[Doc], durable: str, label: str) -> EventConsumer: ...


# What each operation does, as the AsyncAPI document and the CLI show it.
OPS: dict[str, str] = {
    "status": "The service's version, readiness checks, durable consumers and outbox pending: what `antq status` "
    "shows.",
    "consumers": "The service's durable consumers (the intake and its event consumers): pending, lag, progress, "
    "paused or stalled.",
    "rebuild": "Rebuild a consumer's collections from its stream's start, then swap them in; data: {\"consumer\"}.",
    "rebuild-status": 'Progress of the latest rebuild of a consumer; data: {"consumer"}.',
}


class Operations:
    def __init__(self, host: Hosting) -> None:
        self.host = host
        self.rebuilds: dict[str, asyncio.Task[None]] = {}

    def cancel(self) -> None:
        for task in self.rebuilds.values():
            task.cancel()

    async def answer(self, action: str, raw: bytes, presented: Presented | None = None) -> dict[str, Any]:
        host = self.host
        env = None
        try:
            env = parse_envelope(raw, host.settings.max_payload_bytes)
            if host.verifier is not None:
                claimed = host.verifier.actor(presented, f"operation {action}")
                attrs = {"actorid": env.actorid, "actorunit": env.actorunit, "actorrole": env.actorrole}
                env = env.model_copy(update=reconcile(claimed, attrs, f"operation {action}"))
            if not is_platform_admin(env.actor()):
                raise Forbidden(
                    "rule: operations need a platform admin (actorrole admin without actorunit)",
                    [{"rule": "platform_admin"}],
                )
            if action == "consumers":
                threshold = host.settings.consumer_stall_seconds
                return ok_reply(env.id, {"consumers": [r.status(threshold) for r in host.consumers()]})
            if action == "status":
                return ok_reply(env.id, await self.status())
            name = env.data.get("consumer")
            if name not in host.runners:
                raise NotFound(
                    f"{host.name} has no consumer {name!r} to rebuild; its event consumers: "
                    f"{', '.join(host.runners) or 'none'}",
                    [{"field": "data.consumer"}],
                )
            if action == "rebuild":
                return ok_reply(env.id, await self.start_rebuild(str(name)))
            if action == "rebuild-status":
                return ok_reply(env.id, {"consumer": name, **((await rebuild_status(host.db, str(name))) or {})})
            raise ValidationFailed(f"unknown operation {action!r}")
        except DomainError as exc:
            return error_reply(env.id if env is not None else None, exc)

    async def status(self) -> dict[str, Any]:
        host = self.host
        checks = host.readiness()
        try:
            pending: int | None = await host.outbox.pending()
        except Exception:  # the database is away: readiness says so
            pending = None
        threshold = host.settings.consumer_stall_seconds
        return {
            "service": host.name,
            "version": version(),
            "ready": all(checks.values()),
            "checks": checks,
            "outbox_pending": pending,
            "consumers": [r.status(threshold) for r in host.consumers()],
        }

    async def start_rebuild(self, name: str) -> dict[str, Any]:
        host = self.host
        running = self.rebuilds.get(name)
        if running is not None and not running.done():
            return {"consumer": name, "started": False, **((await rebuild_status(host.db, name)) or {})}
        live = host.runners[name]
        rebuild = Rebuild(
            live,
            lambda db, durable, label: host.runner(live.spec, db, durable, label),
            host.mongo,
            host.db,
            host.jetstream(),
        )
        await rebuild.note(state="starting", processed=0)
        task = asyncio.create_task(rebuild.run(), name=f"rebuild-{name}")
        self.rebuilds[name] = task
        return {"consumer": name, "started": True, "rebuild_id": rebuild.rebuild_id, "state": "starting"}
