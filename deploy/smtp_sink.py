"""A local SMTP sink for the embedded mode (`make up`) and the tests: an aiosmtpd server that accepts
every message and writes each one to a folder as an .eml file, so a user reads what was sent.

    python -m deploy.smtp_sink --port 2525 --dir .antq-data/mail

Production points notifications at a real relay (ANTQ_SMTP_HOST, ANTQ_SMTP_PORT, …) instead."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MailDir:
    """aiosmtpd handler: each accepted message becomes `<time>-<id>.eml` in `folder`; the addresses in
    `refuse` are refused with a permanent 550 (tests use it for an address a relay rejects)."""

    def __init__(self, folder: Path, refuse: set[str] | None = None) -> None:
        self.folder = folder
        self.refuse = {a.lower() for a in (refuse or set())}
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else str(content).encode()
        to = re.sub(r"[^A-Za-z0-9@._-]", "_", ",".join(envelope.rcpt_tos))[:80]
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}-{to}.eml"
        tmp = self.folder / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.rename(self.folder / name)  # a reader never sees half a message
        return "250 Message accepted for delivery"


def start(folder: Path, port: int, host: str = "127.0.0.1", refuse: set[str] | None = None) -> Controller:
    controller = Controller(MailDir(folder, refuse), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description="SMTP sink: every message to a folder as .eml")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--dir", default=".antq-data/mail")
    args = parser.parse_args()
    controller = start(Path(args.dir), args.port, args.host)
    print(f"SMTP sink on {args.host}:{args.port}, writing to {Path(args.dir).resolve()}", flush=True)
    stop = asyncio.Event()

    async def wait() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
