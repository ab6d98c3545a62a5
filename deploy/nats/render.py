"""The NATS users and their permissions, written once and rendered into deploy/nats/nats.conf (compose)
and the users of deploy/k8s/nats-values.yaml (Helm). A test checks both committed files are this
rendering: `python -m deploy.nats.render` rewrites them.

Least privilege (DESIGN §5):
- each service user publishes only its own events (antq.<service>.>), its dead letters and replies;
  uses the JetStream API only for stream info of the streams it touches and for ITS OWN durable
  consumers (by name: `<service>-<consumer>` and the rebuild's `…-rebuild`), the intake one created
  with its own filter only; and receives replies on an inbox prefix of its own (`_INBOX_<user>`), so
  no other user can read its deliveries (an intake command carries a bearer token);
- `provisioner` creates and updates streams, nothing else; `producer` sends commands and intake
  messages, and puts files in the uploads object store (which awards alone reads besides);
  `consumer` reads reporting's topics (its own ordered consumers) and asks reporting's queries;
  `ops` (the antq CLI: imports, dead-letter replay, rebuilds) may do everything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from shared.contract.subjects import UPLOADS_BUCKET

HERE = Path(__file__).resolve().parent
CONF = HERE / "nats.conf"
VALUES = HERE.parent / "k8s" / "nats-values.yaml"


def inbox(user: str) -> str:
    """The reply-inbox prefix of a user (clients connect with `inbox_prefix=inbox(user)`)."""
    return f"_INBOX_{user}"


def service_consumers() -> dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]]:
    """service → ({consumer: stream} of its durable consumers (the intake included), the other
    services' subjects it requests, the topics it listens to)."""
    from shared.contract.services import SERVICES
    from shared.contract.subjects import INTAKE

    out: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]] = {}
    for entry in SERVICES:
        d = entry.load_app()().definition
        out[entry.name] = ({"intake": INTAKE.name, **{c.name: c.stream for c in d.consumers}}, d.asks, d.listens)
    return out


UPLOADS_STREAM = f"OBJ_{UPLOADS_BUCKET}"  # the stream of the uploads object store
UPLOAD_READERS = ("awards",)  # the services that read an upload (attach-file)


def uploads_read() -> list[str]:
    """Read an upload: its record (the last message on its subject), its chunks (an ordered consumer,
    whose stream the client looks up by subject: the stream names, not their contents)."""
    s = UPLOADS_STREAM
    return [
        "$JS.API.STREAM.NAMES",
        f"$JS.API.STREAM.INFO.{s}",
        f"$JS.API.STREAM.MSG.GET.{s}",
        f"$JS.API.DIRECT.GET.{s}.>",
        f"$JS.API.CONSUMER.CREATE.{s}",
        f"$JS.API.CONSUMER.CREATE.{s}.>",
        f"$JS.API.CONSUMER.DELETE.{s}.>",
        f"$JS.FC.{s}.>",
    ]


def uploads_put() -> list[str]:
    """Put an upload: its chunks and its record, after looking for an earlier one of the same name."""
    s = UPLOADS_STREAM
    return [
        f"$JS.API.STREAM.INFO.{s}",
        f"$JS.API.STREAM.MSG.GET.{s}",
        f"$JS.API.DIRECT.GET.{s}.>",
        f"$O.{UPLOADS_BUCKET}.C.>",
        f"$O.{UPLOADS_BUCKET}.M.>",
    ]


def service_permissions(
    service: str, consumers: dict[str, str], asks: tuple[str, ...] = (), listens: tuple[str, ...] = ()
) -> dict[str, Any]:
    own = f"ANTQ_{service.upper()}"
    streams = sorted({own, "ANTQ_INTAKE", "ANTQ_DLQ", *consumers.values()})
    publish = ["$JS.API.INFO", *(f"$JS.API.STREAM.INFO.{s}" for s in streams)]
    for consumer, stream in consumers.items():
        rebuilds = [] if consumer == "intake" else [f"{service}-{consumer}-rebuild"]  # a rebuild's durable
        for durable in (f"{service}-{consumer}", *rebuilds):
            if consumer == "intake":  # created with its own filter only: no other service's commands
                publish.append(f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.antq.intake.{service}.*")
            else:
                publish += [
                    f"$JS.API.CONSUMER.CREATE.{stream}.{durable}",
                    f"$JS.API.CONSUMER.CREATE.{stream}.{durable}.>",
                ]
            publish += [
                f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
                f"$JS.API.CONSUMER.DELETE.{stream}.{durable}",
                f"$JS.API.CONSUMER.PAUSE.{stream}.{durable}",
                f"$JS.ACK.{stream}.{durable}.>",
            ]
    publish += [f"antq.{service}.>", f"antq.dlq.{service}.>", *asks]
    if service in UPLOAD_READERS:
        publish += uploads_read()
    subscribe = [
        *listens,
        f"antq.cmd.{service}.>",
        f"antq.query.{service}.>",
        f"antq.intake.{service}.>",
        f"antq.ops.{service}.>",
        f"{inbox(service)}.>",
    ]
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": subscribe},
        # a service receives each command twice on one connection (its handler's subscription and the
        # catch-all that answers unknown commands): the one reply goes through with room for two
        "allow_responses": {"max": 2},
    }


def users() -> list[tuple[str, str, dict[str, Any] | None]]:
    """(user, comment, permissions) in order; None: everything (ops)."""
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    for service, (consumers, asks, listens) in service_consumers().items():
        out.append((service, f"the {service} service", service_permissions(service, consumers, asks, listens)))
    out.append(
        (
            "provisioner",
            "the stream-provisioning job (run once before the services; they may not create streams)",
            {
                "publish": {
                    "allow": [
                        "$JS.API.INFO",
                        "$JS.API.STREAM.NAMES",
                        "$JS.API.STREAM.INFO.>",
                        "$JS.API.STREAM.CREATE.>",
                        "$JS.API.STREAM.UPDATE.>",
                    ]
                },
                "subscribe": {"allow": [f"{inbox('provisioner')}.>"]},
            },
        )
    )
    out.append(
        (
            "producer",
            "external producers: commands (request/reply), the durable intake, and files put in antq-uploads",
            {
                "publish": {"allow": ["antq.cmd.>", "antq.intake.>", *uploads_put()]},
                "subscribe": {"allow": [f"{inbox('producer')}.>"]},
            },
        )
    )
    rep = "ANTQ_REPORTING"
    out.append(
        (
            "consumer",
            "reporting consumers: reporting's topics (ordered consumers of their own) and queries only",
            {
                "publish": {
                    "allow": [
                        "antq.query.reporting.>",
                        "$JS.API.INFO",
                        f"$JS.API.STREAM.INFO.{rep}",
                        f"$JS.API.CONSUMER.CREATE.{rep}",
                        f"$JS.API.CONSUMER.CREATE.{rep}.>",
                        f"$JS.API.CONSUMER.INFO.{rep}.>",
                        f"$JS.API.CONSUMER.DELETE.{rep}.>",
                        f"$JS.API.CONSUMER.MSG.NEXT.{rep}.>",
                        f"$JS.ACK.{rep}.>",
                        f"$JS.FC.{rep}.>",
                    ]
                },
                "subscribe": {"allow": ["antq.reporting.>", f"{inbox('consumer')}.>"]},
            },
        )
    )
    out.append(("ops", "operators: the antq CLI (imports, queries, dead-letter replay, rebuilds); a superuser", None))
    return out


def _conf_list(items: list[str], indent: int) -> str:
    lines, line = [], "["
    for i, item in enumerate(items):
        piece = json.dumps(item) + (", " if i < len(items) - 1 else "]")
        if len(line) + len(piece) > 118 - indent and line != "[":
            lines.append(line.rstrip())
            line = " " * (indent + 1)
        line += piece
    lines.append(line)
    return "\n".join(lines)


def render_conf() -> str:
    head = """# NATS for compose: JetStream on a file store that fsyncs every write, and one user per role with
# least-privilege permissions (DESIGN §5). Passwords come from the environment (.env.example).
# GENERATED by `python -m deploy.nats.render` from deploy/nats/render.py (a test checks it is current).
# Loaded by the real nats-server in tests/integration/test_nats_config.py, which tries each user.
listen: 0.0.0.0:4222
# monitoring: for the Prometheus exporter on the internal network (not published by compose)
http: 0.0.0.0:8222
max_payload: 1MB

jetstream {
  store_dir: /data/jetstream
  sync_interval: always
}

# Anonymous connections are refused: every connection is one of these users. Each user but ops
# receives replies on an inbox prefix of its own (_INBOX_<user>: clients set inbox_prefix).
authorization {
  users: [
"""
    body = []
    for user, comment, perms in users():
        body.append(f"    # {comment}")
        entry = f"    {{ user: {user}, password: $NATS_{user.upper()}_PASSWORD"
        if perms is None:
            body.append(entry + " }")
            continue
        body.append(entry + ",")
        body.append("      permissions: {")
        for kind in ("publish", "subscribe"):
            prefix = f"        {kind}: {{ allow: "
            body.append(prefix + _conf_list(perms[kind]["allow"], len(prefix)) + " }")
        if "allow_responses" in perms:
            body.append(f"        allow_responses: {{ max: {perms['allow_responses']['max']} }}")
        body.append("      } }")
    return head + "\n".join(body) + "\n  ]\n}\n"


def render_values_users() -> list[dict[str, Any]]:
    out = []
    for user, _, perms in users():
        entry: dict[str, Any] = {"user": user, "password": f"<< $NATS_{user.upper()}_PASSWORD >>"}
        if perms is not None:
            entry["permissions"] = perms
        out.append(entry)
    return out


VALUES_HEAD = """# Values for the official NATS Helm chart (https://github.com/nats-io/k8s, chart `nats`, 1.x):
#   helm repo add nats https://nats-io.github.io/k8s/helm/charts/
#   helm install nats nats/nats -n antq -f deploy/k8s/nats-values.yaml
# A 3-node JetStream cluster; the provisioning job creates the streams with 3 replicas (R3), so a
# stream survives the loss of one node. The users and their permissions are those of
# deploy/nats/nats.conf, with passwords from the antq-secrets Secret.
# GENERATED by `python -m deploy.nats.render` from deploy/nats/render.py (a test checks it is current).
"""


def render_values() -> str:
    secret = [
        {
            "name": f"NATS_{u.upper()}_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "antq-secrets", "key": f"NATS_{u.upper()}_PASSWORD"}},
        }
        for u, _, _ in users()
    ]
    values = {
        "config": {
            "cluster": {"enabled": True, "replicas": 3},
            "jetstream": {
                "enabled": True,
                "fileStore": {"enabled": True, "dir": "/data", "pvc": {"enabled": True, "size": "50Gi"}},
                "merge": {"sync_interval": "always"},
            },
            "monitor": {"enabled": True, "port": 8222},
            "nats": {"tls": {"enabled": True, "secretName": "antq-nats-tls"}},
            "merge": {"max_payload": "1MB", "authorization": {"users": render_values_users()}},
        },
        "container": {"env": secret},
        "podTemplate": {
            "topologySpreadConstraints": {
                "kubernetes.io/hostname": {"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
            }
        },
    }
    return VALUES_HEAD + yaml.safe_dump(values, sort_keys=False, width=120)


def main() -> None:
    CONF.write_text(render_conf())
    VALUES.write_text(render_values())
    print(f"wrote {CONF} and {VALUES}")


if __name__ == "__main__":
    main()
