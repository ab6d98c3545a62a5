"""Gifts and visits (quà tặng, thăm hỏi): one ledger, an entry per gift.

Pure: no I/O."""

from __future__ import annotations

import datetime as dt

from services.awards.domain.model import Gift, KnownFestival, sort_key
from shared.contract import awards as c
from shared.contract.envelope import Actor
from shared.contract.errors import RuleViolation
from shared.contract.events import DomainEvent


def record_gift(
    cmd: c.RecordGift, gift_id: str, festival: KnownFestival | None, actor: Actor, today: dt.date, now: dt.datetime
) -> tuple[Gift, DomainEvent]:
    given_on = cmd.given_on or (festival.date if festival else today)
    if given_on > today:
        raise RuleViolation(
            f"given_on {given_on.isoformat()} is in the future: a gift is recorded once given",
            [{"field": "given_on", "rule": "not_in_future"}],
        )
    gift = Gift(
        gift_id=gift_id,
        unit_id=cmd.unit_id,
        beneficiary_kind=cmd.beneficiary_kind,
        recipients=cmd.recipients,
        value_vnd=cmd.value_vnd,
        funding_source=cmd.funding_source,
        festival_id=cmd.festival_id,
        given_on=given_on,
        year=given_on.year,
        note=cmd.note,
        recorded_by=actor.id,
        created_at=now,
        sort_key=sort_key(given_on, now, gift_id),
    )
    data = c.GiftRecorded(**gift.model_dump(exclude={"recorded_by", "created_at", "sort_key"}))
    return gift, DomainEvent("gift", "recorded", gift_id, data, 1)
