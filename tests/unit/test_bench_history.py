"""`make bench` keeps its headline figures per run, so that "R ≥ 0.8 in three consecutive runs" (issue
18) is printed by one run, from the two before it on the same machine and its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench import history

T = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)


def test_the_last_three_runs_on_the_machine_are_printed_with_the_verdict(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    for i, r in enumerate([0.61, 0.83, 0.81, 0.84]):
        history.record({"R": r, "C": 0.4}, T + dt.timedelta(hours=i), path, host="box")
    history.record({"R": 0.2}, T, path, host="another machine")
    with path.open("a") as f:
        f.write("{not json\n")
    rows = history.last(path, host="box")
    assert [r["R"] for r in rows] == [0.83, 0.81, 0.84]
    out = history.lines(rows, "R", 0.8, "R")
    assert out[0] == f"  2026-08-01T10:00:00+00:00 ({rows[0]['commit'] or 'no commit'}): R = 0.83"
    assert out[-1] == "  R ≥ 0.8: met in each of the last 3 runs"


def test_a_run_below_the_target_or_too_few_runs_is_not_called_met(tmp_path: Path):
    path = tmp_path / "history.jsonl"
    assert history.last(path, host="box") == []
    history.record({"R": 0.9}, T, path, host="box")
    assert history.lines(history.last(path, host="box"), "R", 0.8, "R")[-1] == "  R ≥ 0.8: 1 of 3 runs so far"
    for r in (0.85, 0.79):
        history.record({"R": r}, T, path, host="box")
    assert (
        history.lines(history.last(path, host="box"), "R", 0.8, "R")[-1]
        == "  R ≥ 0.8: not met in each of the last 3 runs"
    )
