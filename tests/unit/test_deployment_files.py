"""No Docker engine runs here, so the compose file is checked statically (the NATS config is also
loaded by the real nats-server: tests/integration/test_nats_config.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from shared.contract.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def exported_metrics() -> set[str]:
    """The names of the metrics the four services register (each service's own app, not a list)."""
    names: set[str] = set()
    for entry in SERVICES:
        names |= {m.name for m in entry.load_app()().metrics.registry.collect()}
    return names


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_validates_against_the_compose_specification(tmp_path):
    """check-jsonschema ships the Compose specification's JSON Schema (offline)."""
    check = [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec"]
    r = subprocess.run([*check, str(ROOT / "docker-compose.yml")], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    broken = compose()
    broken["services"]["registry"]["stop_grace_period"] = {"seconds": 30}  # not a duration: must be refused
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    r = subprocess.run([*check, str(tmp_path / "broken.yml")], capture_output=True, text=True, check=False)
    assert r.returncode != 0


def test_compose_runs_every_service_after_healthy_dependencies_and_the_provisioning_job():
    services = compose()["services"]
    assert {"nats", "mongodb", "mongo-init", "provision", "prometheus", "grafana", "nats-exporter"} <= set(services)
    for entry in SERVICES:
        svc, port = services[entry.name], entry.http_port
        assert svc["depends_on"] == {
            "nats": {"condition": "service_healthy"},
            "mongodb": {"condition": "service_healthy"},
            "mongo-init": {"condition": "service_completed_successfully"},
            "provision": {"condition": "service_completed_successfully"},
        }
        assert "healthcheck" in svc
        assert str(port) in svc["healthcheck"]["test"][-1]
        env = svc["environment"]
        assert env["ANTQ_ENV"] == "production" and env["ANTQ_DECLARE_STREAMS"] == "false"
        assert env["ANTQ_NATS_USER"] == entry.name and env["ANTQ_NATS_URL"].startswith("tls://")
        # its own MongoDB user and database, over TLS
        url = env["ANTQ_MONGODB_URL"]
        assert url.startswith(f"mongodb://{entry.name}:${{MONGO_{entry.name.upper()}_PASSWORD")
        assert f"/antq_{entry.name}?" in url and "tls=true" in url and "replicaSet=" in url
        # the stop timeout is above the drain timeout
        grace = float(env["ANTQ_SHUTDOWN_GRACE_SECONDS"])
        assert float(svc["stop_grace_period"].removesuffix("s")) > grace
    assert all("healthcheck" in services[s] for s in ("nats", "mongodb"))
    assert services["provision"]["command"] == ["python", "-m", "deploy.provision"]
    assert services["provision"]["environment"]["ANTQ_NATS_USER"] == "provisioner"


def test_every_setting_a_service_reads_is_set_in_compose():
    services = compose()["services"]
    for entry in SERVICES:
        settings_class = type(entry.load_app()().settings)
        wanted = {
            f"ANTQ_{name.upper()}"
            for name, field in settings_class.model_fields.items()
            if not (isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("development_only"))
        }
        missing = wanted - set(services[entry.name]["environment"])
        assert not missing, f"{entry.name}: {sorted(missing)}"


def test_the_services_accept_their_compose_settings(monkeypatch):
    """With its variables filled in, each service's compose environment is valid production settings."""
    for entry in SERVICES:
        settings_class = type(entry.load_app()().settings)
        env = compose()["services"][entry.name]["environment"]
        for key in [k for k in os.environ if k.startswith("ANTQ_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            # as compose fills them: a required variable with a value, an optional one with its default
            filled = re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", lambda m: f"{m.group(1).lower()}-value-1234", str(value))
            filled = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", lambda m: m.group(1), filled)
            monkeypatch.setenv(key, filled)
        s = settings_class()
        assert s.env == "production" and not s.unsigned_accepted and not s.declare_streams
        assert s.nats_tls_ca_file == "/etc/antq/tls/ca.pem" and s.auth_issuer and s.auth_jwks_url
        assert s.database_name(entry.name) == f"antq_{entry.name}"


def test_compose_needs_its_secrets_and_pins_its_images():
    text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / ".env.example").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert {"NATS_OPS_PASSWORD", "MONGO_ROOT_PASSWORD", "AUTH_ISSUER", "GRAFANA_ADMIN_PASSWORD"} <= required
    documented = set(re.findall(r"(?m)^#? ?([A-Z_]+)=", example))
    assert required <= documented, sorted(required - documented)
    for name, svc in compose()["services"].items():
        image = svc.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image!r} is not pinned"


def test_prometheus_scrapes_every_service_and_nats():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert {f"{s.name}:{s.http_port}" for s in SERVICES} | {"nats-exporter:7777"} == targets


def test_grafana_provisioning_parses_and_the_dashboard_shows_what_ops_read():
    grafana = ROOT / "deploy" / "grafana"
    datasource = yaml.safe_load((grafana / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    # traces: Grafana reads the Jaeger the services export to
    [jaeger] = [d for d in datasource["datasources"] if d["type"] == "jaeger"]
    assert jaeger["url"] == "http://jaeger:16686"
    services = compose()["services"]
    assert "jaeger" in services and "jaeger" in services["grafana"]["depends_on"]
    for entry in SERVICES:
        assert services[entry.name]["environment"]["ANTQ_OTEL_ENDPOINT"].endswith("http://jaeger:4318/v1/traces}")
    provider = yaml.safe_load((grafana / "provisioning" / "dashboards" / "antq.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((grafana / "dashboards" / "antq.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in (
        "antq_consumer_events_total",  # events in
        "antq_events_published_total",  # events out
        "antq_command_seconds_bucket",  # handler latency
        "antq_consumer_lag",
        "antq_dead_letters_total",
        "antq_outbox_pending",
        "antq_ready",  # readiness per service
        "antq_reporting_coverage",  # campaign coverage
    ):
        assert metric in exprs, metric
    # every antq_ metric the dashboard reads is one the services export
    # what on-call opens first: latency per service and command, lag and events/s per durable, dead
    # letters per consumer, outbox, deliveries by outcome, readiness, and the alerts firing
    assert "by (service, command, le) (rate(antq_command_seconds_bucket" in exprs
    assert "by (service, consumer) (rate(antq_consumer_events_total" in exprs
    assert "by (service, consumer) (antq_consumer_lag)" in exprs
    assert "by (service, consumer, reason) (increase(antq_dead_letters_total" in exprs
    assert "by (channel, outcome) (rate(antq_notifications_total" in exprs
    assert 'ALERTS{alertstate="firing"}' in exprs
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exported = exported_metrics()
    for name in set(re.findall(r"antq_[a-z_]+", exprs)):
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert base in exported, name


def test_mongodb_has_a_user_per_service_database_with_no_other_rights():
    script = (ROOT / "deploy" / "mongo" / "init-users.js").read_text()
    assert 'const services = ["registry", "awards", "notifications", "reporting"];' in script
    assert '{ role: "readWrite", db: `antq_${service}` }' in script
    assert "roles: roles" in script and "readWriteAnyDatabase" not in script and "root" not in script


def test_nats_config_fsyncs_and_has_a_user_per_role_without_secrets_in_the_repo():
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    assert "sync_interval: always" in conf
    for user in (*(s.name for s in SERVICES), "provisioner", "producer", "consumer", "ops"):
        assert f"user: {user}, password: $NATS_" in conf


def test_the_readme_shows_the_subscriber_the_e2e_test_runs():
    example = (ROOT / "examples" / "coverage_subscriber.py").read_text()
    assert example in (ROOT / "README.md").read_text()
    assert len([line for line in example.splitlines() if line.strip() and not line.startswith('"""')]) <= 20


def test_the_readme_shows_the_plain_client_the_e2e_test_runs():
    example = (ROOT / "examples" / "plain_client.py").read_text()
    assert example in (ROOT / "README.md").read_text()


def test_the_readme_shows_the_webhook_receiver_the_e2e_test_runs():
    example = (ROOT / "examples" / "webhook_receiver.py").read_text()
    assert example in (ROOT / "README.md").read_text()


def k8s_validate(path: Path) -> subprocess.CompletedProcess[str]:
    tool = str(Path(sys.executable).parent / "kubernetes-validate")
    return subprocess.run([tool, "--strict", str(path)], capture_output=True, text=True, check=False)


def test_k8s_manifests_validate_against_the_kubernetes_schemas(tmp_path):
    services = ROOT / "deploy" / "k8s" / "services.yaml"
    r = k8s_validate(services)
    assert r.returncode == 0 and "ERROR" not in r.stdout + r.stderr, r.stdout + r.stderr
    docs = list(yaml.safe_load_all(services.read_text()))
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {s.name for s in SERVICES}
    pdbs = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert pdbs == set(deployments)
    for name, d in deployments.items():
        spec = d["spec"]["template"]["spec"]
        [container] = spec["containers"]
        assert d["spec"]["replicas"] > 1, name  # replicas share the durable consumers
        assert {"readinessProbe", "livenessProbe", "resources"} <= set(container), name
        assert spec["terminationGracePeriodSeconds"] > 10  # above the drain timeout
        names = {e["name"] for e in container["env"]}
        assert {"ANTQ_NATS_PASSWORD", "ANTQ_MONGODB_URL", "ANTQ_AUTH_ISSUER"} <= names
        assert all("value" not in e for e in container["env"] if "PASSWORD" in e["name"])  # from Secrets
    [job] = [d for d in docs if d["kind"] == "Job"]
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ANTQ_STREAM_REPLICAS"] == "3" and env["ANTQ_NATS_USER"] == "provisioner"
    # the validator refuses a broken manifest
    broken = [dict(d) for d in docs]
    broken[2] = {**broken[2], "spec": {**broken[2]["spec"], "replicas": "two"}}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump_all(broken))
    assert k8s_validate(tmp_path / "broken.yaml").returncode != 0


def test_k8s_nats_is_a_3_node_jetstream_cluster_and_mongodb_a_replica_set_with_a_user_per_database():
    values = yaml.safe_load((ROOT / "deploy" / "k8s" / "nats-values.yaml").read_text())
    assert values["config"]["cluster"] == {"enabled": True, "replicas": 3}
    assert values["config"]["jetstream"]["enabled"] and values["config"]["jetstream"]["fileStore"]["pvc"]["enabled"]
    users = {u["user"] for u in values["config"]["merge"]["authorization"]["users"]}
    assert users == {*(s.name for s in SERVICES), "provisioner", "producer", "consumer", "ops"}
    mongo = yaml.safe_load((ROOT / "deploy" / "k8s" / "mongodb.yaml").read_text())
    assert mongo["kind"] == "MongoDBCommunity" and mongo["spec"]["members"] == 3
    for user in mongo["spec"]["users"]:
        assert user["roles"] == [{"name": "readWrite", "db": f"antq_{user['name']}"}]
    assert {u["name"] for u in mongo["spec"]["users"]} == {s.name for s in SERVICES}


def test_the_nats_users_are_rendered_from_one_place():
    """nats.conf and the Helm values' users are what deploy/nats/render.py renders (run it after a change)."""
    from deploy.nats import render

    assert (ROOT / "deploy" / "nats" / "nats.conf").read_text() == render.render_conf()
    assert (ROOT / "deploy" / "k8s" / "nats-values.yaml").read_text() == render.render_values()
    values = yaml.safe_load(render.render_values())
    users = {u["user"]: u for u in values["config"]["merge"]["authorization"]["users"]}
    assert "permissions" not in users["ops"] and all("permissions" in u for n, u in users.items() if n != "ops")
