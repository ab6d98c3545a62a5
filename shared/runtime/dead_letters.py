"""Dead letters: a message a consumer could not process goes to `antq.dlq.<service>.<consumer>`
in stream ANTQ_DLQ, with the reason, the error and the original bytes, so it can be listed and
replayed from the CLI (DESIGN §4)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from shared.contract.subjects import dlq_subject
from shared.runtime.metrics import Metrics

log = logging.getLogger("antq.dlq")


class DeadLetters:
    def __init__(self, js: JetStreamContext, service: str, metrics: Metrics) -> None:
        self.js = js
        self.service = service
        self.metrics = metrics

    async def send(self, consumer: str, msg: Msg, reason: str, error: str) -> None:
        md = msg.metadata
        body: bytes = msg.data
        try:
            text: str | None = body.decode()
        except UnicodeDecodeError:
            text = None
        record = {
            "service": self.service,
            "consumer": consumer,
            "subject": msg.subject,
            "stream": md.stream,
            "stream_seq": md.sequence.stream,
            "num_delivered": md.num_delivered,
            "reason": reason,
            "error": error[:4000],
            "headers": dict(msg.headers or {}),
            "body": text,
            "body_base64": None if text is not None else base64.b64encode(body).decode(),
            "failed_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        await self.js.publish(
            dlq_subject(self.service, consumer),
            json.dumps(record, ensure_ascii=False).encode(),
            headers={"Nats-Msg-Id": f"{consumer}:{md.stream}:{md.sequence.stream}"},
        )
        self.metrics.dead_letters.labels(self.service, consumer, reason).inc()
        log.warning(
            "message dead-lettered",
            extra={"consumer": consumer, "subject": msg.subject, "reason": reason, "error": error[:300]},
        )
