"""`make mutate`: mutation testing (mutmut) of the rules of every service, each area against the suites
that state its rules; prints the score of each area and every mutant that survived.

- registry: its domain and handlers, against the unit and integration suites (a MongoDB-wire server is
  started once here and shared; every test session under mutmut starts its own nats-server, so parallel
  runs never answer each other's requests);
- awards: its rules (the award forms as dated data) and its domain, against awards' unit tests;
- reporting: its projection, against reporting's unit tests;
- notifications: its pure rules, against notifications' unit tests.

Each area runs in a copy of the repository of its own (mutmut reads its settings from the working
folder), so an area's mutants never run another area's tests.

`python -m tests.mutate [AREA…]` (all by default)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from deploy.embedded import Child, free_port, mongo_command, mongo_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ONLY_REGISTRY = [
    "--ignore=tests/unit/awards",
    "--ignore=tests/integration/test_awards.py",
    "--ignore=tests/integration/test_reporting.py",
    "--ignore=tests/integration/test_nats_config.py",
    "--ignore=tests/unit/notifications",
    "--ignore=tests/integration/test_notifications.py",
]


@dataclass(frozen=True)
class Area:
    mutate: list[str]  # mutmut's only_mutate globs
    tests: list[str]  # the suites run against each mutant
    packages: dict[str, str]  # score name → mutant name prefix
    extra_args: tuple[str, ...] = ()
    needs_servers: bool = False


AREAS = {
    "registry": Area(
        ["services/registry/domain/*", "services/registry/handlers/*"],
        ["tests/unit/", "tests/integration/"],
        {"registry.domain": "services.registry.domain.", "registry.handlers": "services.registry.handlers."},
        tuple(ONLY_REGISTRY),
        needs_servers=True,
    ),
    "awards": Area(
        ["services/awards/rules.py", "services/awards/domain/*"],
        ["tests/unit/awards/"],
        {"awards.rules": "services.awards.rules.", "awards.domain": "services.awards.domain."},
    ),
    "reporting": Area(
        ["services/reporting/projection.py"],
        ["tests/unit/reporting/", "tests/unit/test_season_report.py"],
        {"reporting.projection": "services.reporting.projection."},
    ),
    "notifications": Area(
        ["services/notifications/rules.py"],
        ["tests/unit/notifications/"],
        {"notifications.rules": "services.notifications.rules."},
    ),
}


def mutmut_config(area: Area) -> str:
    args = ["-p", "no:cacheprovider", "-x", "-q", *area.extra_args]
    lines = [
        "[tool.mutmut]",
        'source_paths = ["services/"]',
        f"only_mutate = {area.mutate!r}",
        'also_copy = ["shared/", "deploy/", "data/", "docs/", "bench/", "examples/", "README.md", "Makefile"]',
        f"pytest_add_cli_args_test_selection = {area.tests!r}",
        f"pytest_add_cli_args = {args!r}",
    ]
    return "\n".join(lines).replace("'", '"') + "\n"


def workspace(name: str, area: Area) -> Path:
    """A copy of the tracked files, with the area's mutmut settings."""
    work = Path(tempfile.mkdtemp(prefix=f"antq-mutate-{name}-"))
    listed = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]  # the working tree, new files too
    tracked = subprocess.run(listed, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for rel in tracked.splitlines():
        src = ROOT / rel
        if src.is_file():
            dst = work / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    pyproject = (work / "pyproject.toml").read_text()
    pyproject = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", pyproject) + "\n" + mutmut_config(area)
    (work / "pyproject.toml").write_text(pyproject)
    return work


def results(cwd: Path) -> dict[str, str]:
    out = subprocess.run([str(BIN / "mutmut"), "results", "--all", "true"], cwd=cwd, capture_output=True, text=True)
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\S+):\s+(\S.*)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def run(name: str, area: Area, env: dict[str, str]) -> dict[str, str]:
    work = workspace(name, area)
    try:
        children = os.environ.get("MUTATE_CHILDREN", "2")
        subprocess.run([str(BIN / "mutmut"), "run", "--max-children", children], cwd=work, env=env, check=False)
        return results(work)
    finally:
        if os.environ.get("MUTATE_KEEP"):  # to read the survivors with `mutmut show` there
            print(f"{name}: mutants kept in {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


def score(name: str, prefix: str, found: dict[str, str]) -> tuple[str, list[str]]:
    mine = {k: v for k, v in found.items() if k.startswith(prefix) and v != "not checked"}
    counts = Counter(mine.values())
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    total = len(mine)
    line = f"{name:<22} {total:4d} mutants: {killed} killed ({100 * killed / total if total else 0:.1f} %)"
    line += "".join(f", {k} {v}" for k, v in sorted(counts.items()) if k not in ("killed", "timeout"))
    survivors = [f"  {v:<9} {k}" for k, v in sorted(mine.items()) if v in ("survived", "no tests")]
    return line, survivors


def main() -> int:
    names = [a for a in sys.argv[1:] if not a.startswith("-")] or list(AREAS)
    env = {k: v for k, v in os.environ.items() if k != "ANTQ_NATS_URL"}
    db = None
    if any(AREAS[n].needs_servers for n in names):
        work = Path(tempfile.mkdtemp(prefix="antq-mutate-db-"))
        port = free_port()
        db = Child("mongodb", mongo_command(work / "mongodb", port), port, log=work / "mongodb.log")
        db.start(wait=60)
        env["ANTQ_MONGODB_URL"] = mongo_url(port)
    lines: list[str] = []
    survivors: list[str] = []
    try:
        for name in names:
            area = AREAS[name]
            found = run(name, area, env)
            for package, prefix in area.packages.items():
                line, left = score(package, prefix, found)
                lines.append(line)
                survivors += left
    finally:
        if db is not None:
            db.stop()
    print()
    print("\n".join(lines))
    print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
