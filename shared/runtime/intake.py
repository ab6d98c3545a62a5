"""The durable command intake (`antq.intake.<service>.<action>` in ANTQ_INTAKE) on the kit's delivery
loop: each command goes through the same pipeline as a request, in stream order, and is settled by
the kit's one decision (an outage waits, a command no retry can fix is dead-lettered, a bug is
retried and then dead-lettered). Its outcome is the `command.accepted|rejected` event the pipeline
records with it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from shared.contract.subjects import INTAKE, intake_subject
from shared.runtime.auth import Presented
from shared.runtime.dead_letters import DeadLetters
from shared.runtime.delivery import Durable, PullConsumer, Received
from shared.runtime.event_consumer import policy_of
from shared.runtime.metrics import Metrics
from shared.runtime.pipeline import CommandPipeline
from shared.runtime.settings import ServiceSettings
from shared.runtime.slots import SlotPool

# small batches and a long ack_wait: during a database outage each command may wait seconds for
# server selection, and the rest of the batch must not time out meanwhile
BATCH = 8
ACK_WAIT = 60.0


class IntakeConsumer(PullConsumer):
    def __init__(
        self,
        service: str,
        pipeline: CommandPipeline[Any],
        gate: SlotPool,
        js: JetStreamContext,
        dead_letters: DeadLetters,
        metrics: Metrics,
        settings: ServiceSettings,
    ) -> None:
        durable = Durable(
            name=f"{service}-intake",
            stream=INTAKE.name,
            subjects=[intake_subject(service, "*")],
            ack_wait=ACK_WAIT,
            max_ack_pending=256,
            batch=BATCH,
            filter_in_subject=True,
        )
        super().__init__(service, "intake", durable, js, dead_letters, metrics, policy_of(settings))
        self.pipeline = pipeline
        self.gate = gate

    async def handle(self, msgs: list[Msg]) -> None:
        for i, msg in enumerate(msgs):
            if self.stopping.is_set():  # the rest go back to the broker for another replica, now
                for rest in msgs[i:]:
                    await rest.nak()
                return
            m = Received.of(msg)
            if m.delivered > 1:  # it may have waited in a fetched batch: renew its ack deadline
                await msg.in_progress()
            # a token is judged at the time the stream took the command, not when it is processed
            received = msg.metadata.timestamp
            at = received.astimezone(dt.UTC) if received.tzinfo else received.replace(tzinfo=dt.UTC)
            error: BaseException | None = None
            try:
                async with self.gate.slot():
                    await self.pipeline.handle(
                        msg.subject.rsplit(".", 1)[-1], msg.data, "intake", Presented(msg.headers, at)
                    )
            except Exception as exc:
                error = exc
            await self.settle(m, error)
            if error is None:
                self.progressed(1)
