"""`antq status`: the view an on-call person opens first, over the bus alone.

Each service answers `antq.ops.<service>.status` (version, readiness checks, its durable consumers,
outbox pending); JetStream itself gives every durable's numbers (so a consumer whose service is down
still shows), the dead letters per consumer and the streams' sizes. Red is what needs someone now: a
service that does not answer or is not ready, a stalled consumer, messages waiting for a consumer
nobody runs. Yellow needs a look: dead letters, a large outbox. The exit code is 5 when anything is
red (README "The command line")."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import typer
from nats.js import JetStreamContext
from rich.console import Group
from rich.text import Text

from shared.client import Client
from shared.client.cli.common import Opts, console, run, table
from shared.client.cli.words import say
from shared.contract.services import SERVICES
from shared.contract.subjects import DLQ, ROOT

Level = Literal["green", "yellow", "red"]
RED_EXIT = 5  # something is red
OUTBOX_YELLOW = 100  # events waiting in an outbox before it is worth a look


@dataclass
class Status:
    services: list[dict[str, Any]] = field(default_factory=list)
    consumers: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)

    @property
    def level(self) -> Level:
        levels = {row["level"] for row in self.services + self.consumers}
        return "red" if "red" in levels else "yellow" if "yellow" in levels else "green"

    def as_json(self) -> dict[str, Any]:
        return {"level": self.level, "services": self.services, "consumers": self.consumers, "streams": self.streams}


async def _ask(client: Client, service: str, seconds: float) -> dict[str, Any]:
    try:
        reply = await asyncio.wait_for(client.ops(service, "status"), seconds)
    except Exception as exc:  # down, no responders, timed out
        return {"service": service, "answered": False, "error": type(exc).__name__}
    if not reply.ok:
        return {"service": service, "answered": False, "error": (reply.error or {}).get("message", "refused")}
    return {"answered": True, **reply.result}


async def _dead_letters(js: JetStreamContext) -> dict[str, int]:
    """Dead letters per `<service>/<consumer>`, from the DLQ stream's subjects."""
    try:
        info = await js.stream_info(DLQ.name, subjects_filter=f"{ROOT}.dlq.>")
    except Exception:
        return {}
    counts: dict[str, int] = {}
    for subject, n in (info.state.subjects or {}).items():
        parts = subject.split(".")
        if len(parts) >= 4:
            key = f"{parts[2]}/{parts[3]}"
            counts[key] = counts.get(key, 0) + n
    return counts


async def gather(client: Client, seconds: float) -> Status:
    js = client.nc.jetstream()
    answers, streams, dead = await asyncio.gather(
        asyncio.gather(*(_ask(client, entry.name, seconds) for entry in SERVICES)),
        js.streams_info(),
        _dead_letters(js),
    )
    status = Status()
    reported: dict[str, dict[str, Any]] = {}  # durable → the service's own report of it
    for answer in answers:
        service = answer["service"]
        if not answer["answered"]:
            status.services.append({**answer, "level": "red", "why": f"no answer ({answer['error']})"})
            continue
        failing = [name for name, ok in answer["checks"].items() if not ok]
        pending = answer.get("outbox_pending")
        level: Level = "red" if failing else "yellow" if (pending or 0) >= OUTBOX_YELLOW else "green"
        why = f"not ready: {', '.join(failing)}" if failing else ""
        if level == "yellow":
            why = f"{pending} events in the outbox"
        status.services.append({**answer, "level": level, "why": why})
        for c in answer["consumers"]:
            reported[c["durable"]] = {**c, "service": service}
    services = {entry.name for entry in SERVICES}
    for stream in streams:
        name = stream.config.name
        status.streams.append(
            {
                "stream": name,
                "messages": stream.state.messages,
                "bytes": stream.state.bytes,
                "consumers": stream.state.consumer_count,
            }
        )
        if name == DLQ.name:
            continue
        for info in await js.consumers_info(name):
            durable = info.name
            service, _, label = durable.partition("-")
            if service not in services or not label:
                continue  # not a platform service's durable (a client's own)
            pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
            floor = info.ack_floor.stream_seq if info.ack_floor else 0
            mine = reported.pop(durable, None)
            row: dict[str, Any] = {
                "service": service,
                "consumer": label,
                "durable": durable,
                "stream": name,
                "pending": pending,
                "lag": max(0, stream.state.last_seq - floor) if pending else 0,
                "seconds_since_progress": mine["seconds_since_progress"] if mine else None,
                "dead_letters": dead.get(f"{service}/{label}", 0),
                "running": mine is not None,
            }
            row["level"], row["why"] = _judge(row, mine)
            status.consumers.append(row)
    return status


def _judge(row: dict[str, Any], mine: dict[str, Any] | None) -> tuple[Level, str]:
    if mine is None:
        return ("red", "its service does not answer") if row["pending"] else ("yellow", "its service does not answer")
    if mine["stalled"]:
        return "red", f"stalled: no progress for {mine['seconds_since_progress']:.0f} s"
    if mine["paused"]:
        return "yellow", "paused"
    if row["dead_letters"]:
        return "yellow", f"{row['dead_letters']} dead letters"
    return "green", ""


STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}


def _cell(text: str, level: Level) -> Text:
    return Text(text, style=STYLE[level])


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def render(status: Status) -> Group:
    services = table(
        say("services", "dịch vụ"),
        ("service", "version", "state", "outbox pending", "why"),
        [
            (
                s["service"],
                s.get("version", "?"),
                _cell(s["level"], s["level"]),
                "" if s.get("outbox_pending") is None else str(s["outbox_pending"]),
                s["why"],
            )
            for s in status.services
        ],
    )
    consumers = table(
        say("consumers", "bộ tiêu thụ"),
        ("consumer", "stream", "state", "pending", "lag", "since progress (s)", "dead letters", "why"),
        [
            (
                f"{c['service']}/{c['consumer']}",
                c["stream"],
                _cell(c["level"], c["level"]),
                str(c["pending"]),
                str(c["lag"]),
                "" if c["seconds_since_progress"] is None else f"{c['seconds_since_progress']:.0f}",
                str(c["dead_letters"]),
                c["why"],
            )
            for c in status.consumers
        ],
    )
    streams = table(
        say("streams", "luồng"),
        ("stream", "messages", "size", "consumers"),
        [(s["stream"], str(s["messages"]), _size(s["bytes"]), str(s["consumers"])) for s in status.streams],
    )
    overall = status.level
    words = {
        "green": say("all green", "tất cả bình thường"),
        "yellow": say("needs a look", "cần xem lại"),
        "red": say("RED: needs someone now", "ĐỎ: cần người xử lý ngay"),
    }
    return Group(services, consumers, streams, _cell(words[overall], overall))


def status_command(
    as_json: bool = typer.Option(False, "--json", help="print the status as JSON (for scripts)"),
    wait: float = typer.Option(3.0, help="seconds to wait for each service's answer"),
) -> None:
    """Every service's readiness and version, each consumer's pending, lag, last progress and dead
    letters, outbox pending and the streams' sizes. Exits 5 when something is red."""
    status = run(lambda c: gather(c, wait))
    if as_json or Opts.json:
        console.print_json(json.dumps(status.as_json(), ensure_ascii=False))
    else:
        console.print(render(status))
    if status.level == "red":
        raise typer.Exit(RED_EXIT)
