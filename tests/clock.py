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


def settings() -> dict[str, dt.datetime]:
    """The clock settings of a service the tests start: every service, whenever it starts or restarts,
    reads the same instant as the tests at the same moment (a service that took longer to import than
    another must not run seconds behind it: an event would look older than the recipient made before it)."""
    return {"clock_start": now(), "clock_set_at": dt.datetime.now(dt.UTC)}


def env() -> dict[str, str]:
    """`settings()` as a service process's environment."""
    return {f"ANTQ_{k.upper()}": v.isoformat() for k, v in settings().items()}
