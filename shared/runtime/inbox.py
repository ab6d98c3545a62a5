"""The command log: the answer given to each command id (the consumers' counterpart for events is
`shared.runtime.tracking`).

The record is written in the same transaction as the effect, so a command sent again is answered
from it and never applied twice (DESIGN §4)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.runtime.mongo import Doc, delete_ids


def digest(*parts: Any) -> str:
    """A content fingerprint: the same id sent with other content is a client error, not a duplicate."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class Processed:
    digest: str
    reply: dict[str, Any]
    outcome_id: str | None = None  # the id of its command.accepted/rejected event, if one is published


class CommandLog:
    """The records live in the outbox's collection (`sent: "record"`, never published): the record and
    the command's events are then one insert, one round trip fewer per command. Records from before
    were kept in `inbox`; `ensure_indexes` moves them over once, so a command sent again after an
    upgrade still finds its first answer."""

    LEGACY = "inbox"  # where records were kept until issue 18
    COLLECTION = "outbox"
    MARK = "record"  # the value of `sent` that tells a record from an event
    consumer = "commands"

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db[self.COLLECTION]
        self.legacy = db[self.LEGACY]

    def _key(self, message_id: str) -> str:
        return f"{self.consumer}:{message_id}"

    async def ensure_indexes(self) -> None:
        """Move the records of the `inbox` collection into the outbox's, a batch at a time (resumable:
        a batch is copied, then deleted from `inbox`)."""
        while batch := await self.legacy.find({}).limit(1000).to_list():
            copies = [{**d, "sent": self.MARK} for d in batch]
            with contextlib.suppress(BulkWriteError):  # copied before a crash: already there
                await self.coll.insert_many(copies, ordered=False)
            await delete_ids(self.legacy, [d["_id"] for d in batch])

    async def get(self, message_id: str, session: AsyncClientSession | None = None) -> Processed | None:
        doc = await self.coll.find_one({"_id": self._key(message_id)}, session=session)
        return Processed(doc["digest"], doc["reply"], doc.get("outcome_id")) if doc else None

    def document(
        self, message_id: str, content_digest: str, reply: dict[str, Any], kind: str, outcome_id: str | None = None
    ) -> Doc:
        """The record, to be inserted with the command's events (its key taken means a repeat)."""
        return {
            "_id": self._key(message_id),
            "sent": self.MARK,
            "consumer": self.consumer,
            "message_id": message_id,
            "kind": kind,
            "digest": content_digest,
            "reply": reply,
            "outcome_id": outcome_id,
            "at": dt.datetime.now(dt.UTC),
        }
