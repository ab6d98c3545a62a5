"""No Docker engine runs here, so the compose file is checked statically (the NATS config is also
loaded by the real nats-server: tests/integration/test_nats_config.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.contract.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_every_built_service_after_healthy_dependencies():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert {"nats", "mongodb"} <= set(services)
    for entry in SERVICES:
        svc, port = services[entry.name], entry.http_port
        assert svc["depends_on"] == {
            "nats": {"condition": "service_healthy"},
            "mongodb": {"condition": "service_healthy"},
        }
        assert "healthcheck" in svc
        assert str(port) in svc["healthcheck"]["test"][-1]
        assert svc["environment"]["ANTQ_ENV"] == "production"
        assert "replicaSet=" in svc["environment"]["ANTQ_MONGODB_URL"]
        assert svc["stop_grace_period"] == "30s"
    assert all("healthcheck" in services[s] for s in ("nats", "mongodb"))


def test_nats_config_fsyncs_and_has_a_user_per_role_without_secrets_in_the_repo():
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    assert "sync_interval: always" in conf
    for user in (*(s.name for s in SERVICES), "producer", "consumer", "ops"):
        assert f"user: {user}, password: $NATS_" in conf


def test_the_readme_shows_the_subscriber_the_e2e_test_runs():
    example = (ROOT / "examples" / "coverage_subscriber.py").read_text()
    assert example in (ROOT / "README.md").read_text()
    assert len([line for line in example.splitlines() if line.strip() and not line.startswith('"""')]) <= 16


def test_the_readme_shows_the_webhook_receiver_the_e2e_test_runs():
    example = (ROOT / "examples" / "webhook_receiver.py").read_text()
    assert example in (ROOT / "README.md").read_text()
