"""The sender: takes due notifications from `deliveries`, sends them, and records the outcome.

- A notification is claimed atomically (`pending` → `sending`, with a lease), so two instances never
  send one together; one whose instance died is taken again when its lease runs out.
- Sends run concurrently, at most `send_concurrency` at once and `per_recipient_concurrency` per
  recipient, each with a timeout: a slow or failing recipient holds only its own slots.
- A failure is retried on the backoff schedule (exponential, with jitter); when the attempts run
  out, or the failure is permanent, the notification is `failed` and `notification.failed` is
  published. A recipient failing for longer than `disable_after_seconds` is disabled
  (`recipient.disabled`), and its queued notifications fail.
- The outcome, its event (through the outbox) and the recipient's failure clock are one transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

import httpx
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from services.notifications import channels, egress, rules
from services.notifications.deps import Notifications
from services.notifications.store import NotificationsStore, Recipient
from shared.contract import notifications as c
from shared.contract.envelope import CloudEvent, new_event
from shared.contract.ids import uuid7
from shared.contract.subjects import event_type
from shared.runtime.mongo import Doc, in_transaction
from shared.runtime.tracing import SpanKind, failed

log = logging.getLogger("antq.notifications.sender")


def cause_of(d: Doc) -> tuple[str, str]:
    """What a notification's outcome was caused by: the (last) event it carries, in that event's
    correlation (a reminder, which no bus event caused, is its own)."""
    items = d.get("items") or []
    last = items[-1] if items else {}
    cause = str(last.get("id") or d["_id"])
    return cause, str(last.get("correlationid") or cause)


def notification_event(name: str, data: Any, subject: str, now: dt.datetime, d: Doc) -> CloudEvent:
    cause, correlation = cause_of(d)
    return new_event(
        source="antq/notifications",
        type=event_type(c.SERVICE, "notification", name),
        subject=subject,
        data=data.model_dump(mode="json"),
        aggregateversion=1,
        time=now,
        causationid=cause,
        correlationid=correlation,
    )


class Sender:
    def __init__(self, deps: Notifications) -> None:
        self.deps = deps
        self.s = deps.settings
        self.db = deps.db
        self.owner = uuid7()
        self.metrics = deps.sender_metrics
        self.inflight: dict[str, int] = {}
        self.slots = asyncio.Semaphore(self.s.send_concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.client = httpx.AsyncClient(follow_redirects=False)
        self.smtp = channels.SmtpConfig(
            host=self.s.smtp_host,
            port=self.s.smtp_port,
            security=self.s.smtp_security,
            username=self.s.smtp_username or None,  # set empty (compose): no login
            password=(self.s.smtp_password.get_secret_value() or None) if self.s.smtp_password else None,
            sender=self.s.mail_from,
            timeout=self.s.send_timeout_seconds,
            timezone=self.s.timezone,
        )

    async def run(self) -> None:
        try:
            while not self.deps.stopping.is_set():
                try:
                    taken = await self.claim()
                except Exception as exc:  # the database away: try again next round
                    log.warning("claiming notifications failed", extra={"error": repr(exc)[:300]})
                    taken = 0
                if not taken:
                    try:
                        await asyncio.wait_for(self.deps.stopping.wait(), self.s.send_poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            if self.tasks:  # let what is being sent finish (each attempt has its timeout)
                await asyncio.wait(self.tasks, timeout=self.s.send_timeout_seconds + 5)
            await self.client.aclose()

    async def claim(self) -> int:
        """Claim due notifications up to the free slots; start a send for each. Returns how many."""
        free = self.s.send_concurrency - len(self.tasks)
        if free <= 0:
            await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
            return 1
        now = self.deps.now()
        due = {
            "$or": [
                {"status": "pending", "next_at": {"$lte": now}},
                {"status": "sending", "lease_until": {"$lt": now}},  # its instance died mid-send
            ]
        }
        candidates = await self.db.deliveries.find(due, {"items": 0}).sort("next_at", 1).limit(free * 4).to_list()
        taken = 0
        for cand in candidates:
            if taken >= free:
                break
            if self.inflight.get(cand["recipient_id"], 0) >= self.s.per_recipient_concurrency:
                continue  # this recipient's slots are busy: the others go first
            doc = await self.db.deliveries.find_one_and_update(
                {"_id": cand["_id"], "status": cand["status"], "next_at": cand["next_at"], **_lease(cand)},
                {
                    "$set": {
                        "status": "sending",
                        "owner": self.owner,
                        "lease_until": now + dt.timedelta(seconds=self.s.send_timeout_seconds * 3 + 30),
                    }
                },
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                continue  # another instance took it
            taken += 1
            self.inflight[doc["recipient_id"]] = self.inflight.get(doc["recipient_id"], 0) + 1
            task = asyncio.create_task(self.deliver(doc))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return taken

    async def deliver(self, d: Doc) -> None:
        try:
            store = NotificationsStore(self.db)
            recipient = await store.recipient(d["recipient_id"])
            if recipient is None or recipient.status != "active":
                state = "removed" if recipient is None else recipient.status
                outcome = channels.Attempt(False, f"recipient {state}", permanent=True, attempted=False)
                await self.finish(d, recipient, outcome)
                return
            started = time.perf_counter()
            attributes = {"antq.notification": d["_id"], "antq.channel": d["channel"], "antq.attempt": d["attempts"]}
            with self.deps.kit.tracing.span(
                f"deliver {d['channel']}", SpanKind.CLIENT, parent=d.get("trace"), attributes=attributes
            ) as span:
                try:
                    outcome = await self.send(d, recipient)
                except Exception as exc:  # a bug or a broken recipient: an attempt that failed, never a lost one
                    log.exception("send failed", extra={"notification": d["_id"]})
                    outcome = channels.Attempt(False, f"send failed: {exc!r}"[:500])
                if not outcome.ok:
                    failed(span, outcome.error or "not sent")
            self.metrics.seconds.labels(d["channel"]).observe(time.perf_counter() - started)
            await self.finish(d, recipient, outcome)
        except Exception as exc:  # the database failed after the send: the lease expires and it is taken again
            log.warning("recording a notification failed", extra={"error": repr(exc)[:300], "notification": d["_id"]})
        finally:
            rid = d["recipient_id"]
            self.inflight[rid] = self.inflight.get(rid, 1) - 1
            if self.inflight[rid] <= 0:
                self.inflight.pop(rid, None)

    async def send(self, d: Doc, recipient: Recipient) -> channels.Attempt:
        if d["channel"] == "webhook":
            target = egress.target_of(recipient.address)
            addresses = await self.deps.resolver(target.host, target.port)
            if not addresses:  # perhaps for a moment: retried
                return channels.Attempt(False, f"the webhook host {target.host} does not resolve")
            reason = egress.refusal(recipient.address, addresses, self.deps.egress)
            if reason is not None:  # it resolves inside now: nothing is sent, and no retry helps
                return channels.Attempt(False, f"not sent: {reason}", permanent=True, attempted=False)
            secrets = recipient.signing_secrets(self.deps.now())
            return await channels.send_webhook(
                self.client, recipient.address, secrets, d, self.s.send_timeout_seconds, address=addresses[0]
            )
        try:
            return await asyncio.wait_for(
                channels.send_email(self.smtp, recipient.address, d, recipient.language),
                self.s.send_timeout_seconds * 2,
            )
        except TimeoutError:
            return channels.Attempt(False, "SMTP timed out")

    async def finish(self, d: Doc, recipient: Recipient | None, outcome: channels.Attempt) -> None:
        now = self.deps.now()
        attempts = int(d.get("attempts", 0)) + (1 if outcome.attempted else 0)
        events: list[CloudEvent] = []
        ids = list(d.get("event_ids") or [])
        base = {"notification_id": d["_id"], "recipient_id": d["recipient_id"], "channel": d["channel"]}
        if outcome.ok:
            update: Doc = {"status": "sent", "attempts": attempts, "sent_at": now, "last_error": None}
            events.append(
                notification_event(
                    "sent",
                    c.NotificationSent(**base, event_ids=ids, event_type=d["event_type"], attempts=attempts),
                    d["_id"],
                    now,
                    d,
                )
            )
            outcome_label = "sent"
        elif outcome.permanent or attempts >= self.s.max_attempts:
            update = {"status": "failed", "attempts": attempts, "failed_at": now, "last_error": outcome.error}
            events.append(
                notification_event(
                    "failed",
                    c.NotificationFailed(
                        **base, event_ids=ids, event_type=d["event_type"], attempts=attempts, error=outcome.error or ""
                    ),
                    d["_id"],
                    now,
                    d,
                )
            )
            outcome_label = "failed"
        else:
            delay = rules.backoff(attempts, self.s.retry_base_seconds, self.s.retry_max_seconds)
            update = {
                "status": "pending",
                "attempts": attempts,
                "next_at": now + dt.timedelta(seconds=delay),
                "last_error": outcome.error,
            }
            outcome_label = "retry"

        async def work(session: AsyncClientSession) -> None:
            res = await self.db.deliveries.update_one(
                {"_id": d["_id"], "status": "sending", "owner": self.owner},
                {"$set": update, "$unset": {"owner": "", "lease_until": ""}},
                session=session,
            )
            if res.matched_count != 1:
                return  # the lease ran out and another instance took it: its outcome stands
            if recipient is not None and recipient.status == "active":
                events.extend(await self.failure_clock(recipient, outcome, now, session, d))
            await self.deps.outbox.add(events, session)

        await in_transaction(self.deps.mongo, work)
        self.deps.outbox.notify()
        self.metrics.outcomes.labels(d["channel"], outcome_label).inc()
        if not outcome.ok:
            log.info(
                "notification not delivered",
                extra={"notification": d["_id"], "outcome": outcome_label, "error": (outcome.error or "")[:200]},
            )

    async def failure_clock(
        self,
        recipient: Recipient,
        outcome: channels.Attempt,
        now: dt.datetime,
        session: AsyncClientSession,
        d: Doc,
    ) -> list[CloudEvent]:
        """A success stops the recipient's failure clock; a failure starts it, and disables a recipient
        that has failed for longer than `disable_after_seconds` (`recipient.disabled`, caused by the
        notification `d` that failed last)."""
        coll = self.db.recipients
        if outcome.ok:
            if recipient.failing_since is not None:
                await coll.update_one(
                    {"_id": recipient.recipient_id, "status": "active"},
                    {"$set": {"failing_since": None}},
                    session=session,
                )
            return []
        doc = await coll.find_one_and_update(
            {"_id": recipient.recipient_id, "status": "active", "failing_since": None},
            {"$set": {"failing_since": now}},
            return_document=ReturnDocument.AFTER,
            session=session,
        ) or await coll.find_one({"_id": recipient.recipient_id}, session=session)
        if doc is None or doc.get("status") != "active" or doc.get("failing_since") is None:
            return []
        since = doc["failing_since"]
        since = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        if (now - since).total_seconds() < self.s.disable_after_seconds:
            return []
        version = int(doc.get("version", 1)) + 1
        await coll.update_one(
            {"_id": recipient.recipient_id, "version": doc.get("version", 1)},
            {"$set": {"status": "disabled", "version": version, "disabled_reason": outcome.error}},
            session=session,
        )
        data = c.RecipientDisabled(
            recipient_id=recipient.recipient_id,
            reason=f"failing since {since.isoformat()}: {outcome.error}"[:500],
            failing_since=since,
        )
        log.warning("recipient disabled", extra={"recipient": recipient.recipient_id, "error": outcome.error})
        return [
            new_event(
                source="antq/notifications",
                type=event_type(c.SERVICE, "recipient", "disabled"),
                subject=recipient.recipient_id,
                data=data.model_dump(mode="json"),
                aggregateversion=version,
                time=now,
                causationid=d["_id"],
                correlationid=cause_of(d)[1],
            )
        ]


def _lease(cand: Doc) -> Doc:
    return {"lease_until": cand["lease_until"]} if cand["status"] == "sending" else {}


async def run(deps: Notifications) -> None:
    await Sender(deps).run()
