"""What `make bench` measured in its earlier runs on this machine: each run appends its headline
figures to a JSON-lines file (`.bench-history.jsonl` beside the repository's Makefile, not committed),
and prints them for the last three runs, so "R ≥ 0.8 in three consecutive runs" is read off one run's
output rather than remembered."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PATH = Path(os.environ.get("ANTQ_BENCH_HISTORY", ".bench-history.jsonl"))
RUNS = 3


def machine() -> str:
    """The machine a figure is comparable on: host name, cores, processor."""
    return f"{platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}"


def commit() -> str:
    """The commit measured (with "+" when the work tree differs from it), or "" outside a repository."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "") if head.returncode == 0 else ""


def record(figures: Mapping[str, float], at: dt.datetime, path: Path = PATH, host: str | None = None) -> None:
    line = {"at": at.isoformat(timespec="seconds"), "machine": host or machine(), "commit": commit(), **figures}
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def last(path: Path = PATH, host: str | None = None, runs: int = RUNS) -> list[dict[str, Any]]:
    """The last `runs` runs on this machine (a line that cannot be read is passed over)."""
    if not path.exists():
        return []
    found = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(text)
        except ValueError:
            continue
        if isinstance(row, dict) and row.get("machine") == (host or machine()):
            found.append(row)
    return found[-runs:]


def lines(rows: list[dict[str, Any]], figure: str, target: float, label: str) -> list[str]:
    """One line per run, oldest first, and whether the figure met its target in each of the last three."""
    out = [
        f"  {r['at']} ({r.get('commit') or 'no commit'}): {label} = {r[figure]:.2f}"
        for r in rows
        if isinstance(r.get(figure), int | float)
    ]
    values = [r[figure] for r in rows if isinstance(r.get(figure), int | float)]
    if len(values) < RUNS:
        verdict = f"{len(values)} of {RUNS} runs so far"
    elif all(v >= target for v in values):
        verdict = f"met in each of the last {RUNS} runs"
    else:
        verdict = f"not met in each of the last {RUNS} runs"
    return [*out, f"  {label} ≥ {target}: {verdict}"]
