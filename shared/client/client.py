"""A typed Python client of the bus contract, for other services, scripts and the `antq` CLI.

Plain nats-py underneath: commands (request/reply or durable intake) and queries."""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel

from shared.contract.envelope import Actor, new_event
from shared.contract.services import command_of
from shared.contract.subjects import (
    UPLOADS_BUCKET,
    command_subject,
    command_type,
    intake_subject,
    ops_subject,
    query_subject,
)


def command_envelope(
    service: str,
    action: str,
    data: dict[str, Any] | BaseModel,
    actor: Actor,
    source: str,
    id: str | None = None,
    correlation_id: str | None = None,
) -> bytes:
    """A command as the bus expects it: a CloudEvent whose `data` is the payload."""
    payload = data.model_dump(mode="json", exclude_none=True) if isinstance(data, BaseModel) else data
    event = new_event(
        source=source,
        type=command_type(service, action),
        data=payload,
        id=id,
        correlationid=correlation_id,
        actor=actor,
    )
    return event.to_bytes()


async def read_stream(js: JetStreamContext, stream: str, subject: str, limit: int = 1_000_000) -> list[Msg]:
    """The messages in `stream` on `subject` now, oldest first, without acking or keeping a consumer."""
    sub = await js.pull_subscribe(
        subject,
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=5),
    )
    out: list[Msg] = []
    try:
        while len(out) < limit:
            try:
                out += await sub.fetch(min(1000, limit - len(out)), timeout=1)
            except TimeoutError:  # nothing more (nats raises its subclass or asyncio's)
                break
    finally:
        await sub.unsubscribe()
    return out


@dataclass(frozen=True)
class Reply:
    ok: bool
    id: str | None
    result: dict[str, Any]
    error: dict[str, Any] | None

    @classmethod
    def parse(cls, raw: bytes) -> Reply:
        doc = json.loads(raw)
        return cls(bool(doc.get("ok")), doc.get("id"), doc.get("result") or {}, doc.get("error"))


class AttachmentError(Exception):
    """A file could not be read: the service's error answer."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


class Client:
    """A typed client of the bus. `token`: a JWT for `Authorization: Bearer …` on every command, query
    and operation, or a function returning a fresh one each time."""

    def __init__(
        self,
        nc: NATS,
        actor: Actor,
        source: str = "antq/client",
        timeout: float = 10.0,
        token: str | Callable[[], str] | None = None,
    ) -> None:
        self.nc = nc
        self.actor = actor
        self.source = source
        self.timeout = timeout
        self.token = token

    @classmethod
    async def connect(
        cls,
        url: str,
        actor: Actor,
        source: str = "antq/client",
        timeout: float = 10.0,
        token: str | Callable[[], str] | None = None,
        **options: Any,
    ) -> Client:
        nc = await nats.connect(url, name=source, **options)
        return cls(nc, actor, source, timeout, token)

    def headers(self, **more: str) -> dict[str, str] | None:
        token = self.token() if callable(self.token) else self.token
        out = {**more, **({"Authorization": f"Bearer {token}"} if token else {})}
        return out or None

    async def close(self) -> None:
        await self.nc.drain()

    def envelope(
        self,
        service: str,
        action: str,
        data: dict[str, Any] | BaseModel,
        id: str | None = None,
        correlation_id: str | None = None,
    ) -> bytes:
        return command_envelope(service, action, data, self.actor, self.source, id, correlation_id)

    async def command(
        self,
        service: str,
        action: str,
        data: dict[str, Any] | BaseModel,
        id: str | None = None,
        correlation_id: str | None = None,
    ) -> Reply:
        body = self.envelope(service, action, data, id, correlation_id)
        msg = await self.nc.request(
            command_subject(service, action), body, timeout=self.timeout, headers=self.headers()
        )
        return Reply.parse(msg.data)

    async def send(self, command: BaseModel, id: str | None = None) -> Reply:
        """Typed form: the service and action come from the payload model."""
        service, action = command_of(type(command))
        return await self.command(service, action, command, id)

    async def submit(self, service: str, action: str, data: dict[str, Any] | BaseModel, id: str | None = None) -> str:
        """Durable intake: stored in ANTQ_INTAKE and answered by a command.accepted/rejected event."""
        body = self.envelope(service, action, data, id)
        command_id = json.loads(body)["id"]
        js = self.nc.jetstream()
        await js.publish(
            intake_subject(service, action),
            body,
            headers=self.headers(**{"Nats-Msg-Id": command_id}),
            timeout=self.timeout,
        )
        return str(command_id)

    async def upload(self, data: bytes, name: str, media_type: str | None = None) -> dict[str, Any]:
        """Put a file in the uploads object store under a fresh name; returns what `attach-file` names
        it by (upload, name, size, media_type, sha256). The file is attached by the command after."""
        upload = f"{uuid.uuid4().hex}/{name}"
        store = await self.nc.jetstream().object_store(UPLOADS_BUCKET)
        await store.put(upload, data)
        kind = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return {"upload": upload, "name": name, "size": len(data), "media_type": kind,
                "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip

    async def download(self, nomination_id: str, attachment_id: str) -> tuple[dict[str, Any], bytes]:
        """An attached file, read part by part with the `attachment` query: (its description, its bytes)."""
        parts: list[bytes] = []
        offset: int | None = 0
        found: dict[str, Any] = {}
        while offset is not None:
            params = {"nomination_id": nomination_id, "attachment_id": attachment_id, "offset": offset}
            reply = await self.query("awards", "attachment", params)
            if not reply.ok:
                raise AttachmentError(reply.error or {})
            found = reply.result
            parts.append(base64.b64decode(found.pop("data")))
            offset = found.pop("next")
        data = b"".join(parts)
        if hashlib.sha256(data).hexdigest() != found.get("sha256"):
            raise AttachmentError({"code": "digest_mismatch", "message": "the file read does not have its SHA-256"})
        return found, data

    async def query(self, service: str, name: str, params: dict[str, Any] | BaseModel | None = None) -> Reply:
        """A query in a CloudEvent naming the client's actor (a token, when the client has one, proves it)."""
        payload = params.model_dump(mode="json", exclude_none=True) if isinstance(params, BaseModel) else params or {}
        body = new_event(source=self.source, type=f"vn.antq.{service}.{name}.v1", data=payload, actor=self.actor)
        msg = await self.nc.request(
            query_subject(service, name), body.to_bytes(), timeout=self.timeout, headers=self.headers()
        )
        return Reply.parse(msg.data)

    async def ops(self, service: str, action: str, data: dict[str, Any] | None = None) -> Reply:
        """Operations (consumer status, rebuilds): `antq.ops.<service>.<action>`, for a platform admin."""
        body = new_event(
            source=self.source, type=f"vn.antq.{service}.ops.v1", data=data or {}, actor=self.actor
        ).to_bytes()
        msg = await self.nc.request(ops_subject(service, action), body, timeout=self.timeout, headers=self.headers())
        return Reply.parse(msg.data)
