"""'Today' is the province's calendar day, not UTC's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from shared.runtime.queries import QueryContext


def test_today_is_the_calendar_day_in_vietnam():
    now = dt.datetime(2025, 8, 2, 18, 0, tzinfo=dt.UTC)
    ctx = QueryContext(store=None, now=now, tz=ZoneInfo("Asia/Ho_Chi_Minh"), deps=None)
    assert ctx.today == dt.date(2025, 8, 3)  # 01:00 on 3 August in Huế


def test_processes_started_apart_share_one_replayed_clock():
    """Two services given the same ANTQ_CLOCK_START and ANTQ_CLOCK_SET_AT read the same instant, whichever
    started (or was restarted) later: a late registry must not stamp an event before a recipient that
    notifications made earlier (make up's mail test once waited 120 s for an email that was never due)."""
    import time

    from shared.runtime.kit import running_from

    start = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
    set_at = dt.datetime.now(dt.UTC)
    early = running_from(start, set_at)
    time.sleep(0.3)  # the second process finishes its imports later
    late = running_from(start, set_at)
    assert abs((early() - late()).total_seconds()) < 0.05
    assert early() - start >= dt.timedelta(seconds=0.3)  # it ran from set_at, not from its own start
