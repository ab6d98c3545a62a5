"""The alerting rules in Prometheus's own checker (promtool, from Debian's `prometheus` package, which
`make test` installs): the shipped config loads with its rule file, each alert fires and stays quiet
as its cases say, and every alert reads metrics the services export and has a runbook."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.unit.test_deployment_files import exported_metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
CASES = ROOT / "tests" / "prometheus" / "alerts_test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make test` installs Debian's prometheus package (as root)"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for g in groups for rule in g["rules"]]


def test_prometheus_loads_its_config_with_the_alert_rules():
    done = promtool("check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in done.stdout + done.stderr


def test_each_alert_fires_and_stays_quiet_as_its_cases_say():
    done = promtool("test", "rules", str(CASES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_case_fails_in_the_checker(tmp_path):
    """The checker is not a formality: a case expecting a quiet AntqNotReady while it fires fails."""
    cases = yaml.safe_load(CASES.read_text())
    cases["rule_files"] = [str(PROMETHEUS / "alerts.yml")]
    ready = next(t for t in cases["tests"] if any(c["alertname"] == "AntqNotReady" for c in t["alert_rule_test"]))
    for check in ready["alert_rule_test"]:
        check["exp_alerts"] = []
    cases["tests"] = [ready]
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(cases))
    done = promtool("test", "rules", str(tmp_path / "broken.yml"))
    assert done.returncode != 0 and "AntqNotReady" in done.stdout + done.stderr


def test_every_alert_has_a_firing_case_and_a_runbook_paragraph():
    cases = yaml.safe_load(CASES.read_text())
    fired = {c["alertname"] for t in cases["tests"] for c in t["alert_rule_test"] if c["exp_alerts"]}
    readme = (ROOT / "README.md").read_text()
    operating = readme.split("## Operating it", 1)[1].split("\n## ", 1)[0]
    for rule in alerts():
        name = rule["alert"]
        assert name in fired, f"{name} has no case in which it fires"
        assert rule["annotations"]["runbook"] == f"README.md#{name.lower()}"
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert re.search(rf"(?m)^#+ {name}$", operating), f"{name} has no runbook paragraph in 'Operating it'"


def test_the_alerts_read_only_metrics_the_services_export():
    exported = exported_metrics()
    for rule in alerts():
        for name in set(re.findall(r"antq_[a-z_]+", rule["expr"])):
            base = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert base in exported, f"{rule['alert']} reads {name}, which no service exports"
