"""The tests' clock: every service a test starts, in-process or as its own process, runs on it (never on
the wall clock), so a test passes the same whatever today is. It reads TEST_NOW when the suite starts
and runs at the speed of time from there; `now()` is what the services read at the same moment."""

from __future__ import annotations

import datetime as dt
import time

TEST_NOW = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)  # 10:00 in Huế, after the 2026 season
_ORIGIN = time.monotonic()


def now() -> dt.datetime:
    return TEST_NOW + dt.timedelta(seconds=time.monotonic() - _ORIGIN)


def today() -> dt.date:
    """Today in Huế on the tests' clock."""
    return (now() + dt.timedelta(hours=7)).date()
