"""'Today' is the province's calendar day, not UTC's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shared.runtime.queries import QueryContext


def test_today_is_the_calendar_day_in_vietnam():
    now = dt.datetime(2025, 8, 2, 18, 0, tzinfo=dt.UTC)
    ctx = QueryContext(store=None, now=now, tz=ZoneInfo("Asia/Ho_Chi_Minh"), deps=None)
    assert ctx.today == dt.date(2025, 8, 3)  # 01:00 on 3 August in Huế
