"""`make mutate`: mutation testing of registry's rules (services/registry/domain/) and handlers with
mutmut, against the unit and integration suites. Prints the score of each package.

A MongoDB-wire server is started once here and shared (each test session uses its own databases);
every test session under mutmut starts its own nats-server, so parallel runs never answer each
other's requests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from deploy.embedded import Child, free_port, mongo_command, mongo_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = {"domain": "services.registry.domain.", "handlers": "services.registry.handlers."}


def results() -> dict[str, str]:
    out = subprocess.run([str(BIN / "mutmut"), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True)
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\S+):\s+(\S.*)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def main() -> int:
    """`python -m tests.mutate [--resume] [PATTERN…]`: PATTERN limits the mutants (mutmut's names,
    e.g. 'services.registry.domain*'); --resume keeps what an earlier run found."""
    resume = "--resume" in sys.argv
    patterns = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not resume:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    else:  # mutmut copies the unmutated files once: bring them up to date with the working tree
        for name in ("shared", "deploy", "data", "docs", "bench", "examples", "tests"):
            if (ROOT / "mutants").exists():
                shutil.copytree(ROOT / name, ROOT / "mutants" / name, dirs_exist_ok=True)
        for name in ("pyproject.toml", "README.md"):
            if (ROOT / "mutants").exists():
                shutil.copy2(ROOT / name, ROOT / "mutants" / name)
    work = Path(tempfile.mkdtemp(prefix="antq-mutate-"))
    port = free_port()
    db = Child("mongodb", mongo_command(work / "mongodb", port), port, log=work / "mongodb.log")
    db.start(wait=60)
    env = {k: v for k, v in os.environ.items() if k != "ANTQ_NATS_URL"}
    env["ANTQ_MONGODB_URL"] = mongo_url(port)
    try:
        children = os.environ.get("MUTATE_CHILDREN", "2")
        argv = [str(BIN / "mutmut"), "run", "--max-children", children, *patterns]
        subprocess.run(argv, cwd=ROOT, env=env, check=False)
        found = results()
    finally:
        db.stop()
        shutil.rmtree(work, ignore_errors=True)
    print()
    for name, prefix in PACKAGES.items():
        mine = {k: v for k, v in found.items() if k.startswith(prefix) and v != "not checked"}
        counts = Counter(mine.values())
        total = len(mine)
        killed = counts.get("killed", 0) + counts.get("timeout", 0)
        score = 100 * killed / total if total else 0.0
        print(
            f"{name:<9} {total:4d} mutants: {killed} killed ({score:.1f} %), "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("killed",))
        )
    for k, v in sorted(found.items()):
        if v in ("survived", "no tests"):
            print(f"  {v:<9} {k}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
