"""The command log: the answer given to each command id (the consumers' counterpart for events is
`shared.runtime.tracking`).

The record is written in the same transaction as the effect, so a command sent again is answered
from it and never applied twice (DESIGN §4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.runtime.mongo import Doc


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
    COLLECTION = "inbox"  # its name since v1: renaming it would forget the answers of deployed services
    consumer = "commands"

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.coll = db[self.COLLECTION]

    def _key(self, message_id: str) -> str:
        return f"{self.consumer}:{message_id}"

    async def ensure_indexes(self) -> None:
        await self.coll.create_index([("consumer", 1), ("at", 1)])

    async def get(self, message_id: str, session: AsyncClientSession | None = None) -> Processed | None:
        doc = await self.coll.find_one({"_id": self._key(message_id)}, session=session)
        return Processed(doc["digest"], doc["reply"], doc.get("outcome_id")) if doc else None

    async def record(
        self,
        message_id: str,
        content_digest: str,
        reply: dict[str, Any],
        kind: str,
        session: AsyncClientSession,
        outcome_id: str | None = None,
    ) -> None:
        """Insert the record; a DuplicateKeyError means a concurrent delivery won the race."""
        await self.coll.insert_one(
            {
                "_id": self._key(message_id),
                "consumer": self.consumer,
                "message_id": message_id,
                "kind": kind,
                "digest": content_digest,
                "reply": reply,
                "outcome_id": outcome_id,
                "at": dt.datetime.now(dt.UTC),
            },
            session=session,
        )
