"""A local SMTP server for development: every message becomes an ``.eml`` file plus an index page.

``python -m services.notifier.devmail --dir var/mail --port 2525`` accepts mail on
loopback (no TLS, no auth: never expose it) and writes each message exactly as
received to ``<dir>/<time>-<n>.eml``; ``<dir>/index.html`` lists them newest
first (open it in a browser; .eml files open in any mail client) and
``<dir>/index.json`` has the same list for scripts and tests, including the
envelope recipients.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from services.notifier.text import esc, header_text


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class MailFolder:
    """The folder of captured messages; thread-safe (aiosmtpd runs in its own thread)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        index = folder / "index.json"
        self.entries: list[dict[str, Any]] = json.loads(index.read_text()) if index.exists() else []
        _write_atomic(folder / "index.html", self.index_html().encode())

    def save(self, raw: bytes, mail_from: str, rcpt_tos: Sequence[str]) -> Path:
        """Keep one message as received; update the index page."""
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        with self._lock:
            now = datetime.now(UTC)
            path = self.folder / f"{now:%Y%m%dT%H%M%S%f}-{len(self.entries) + 1:05d}.eml"
            _write_atomic(path, raw)
            self.entries.append(
                {
                    "file": path.name,
                    "received_at": now.isoformat(),
                    "mail_from": mail_from,
                    "rcpt_tos": list(rcpt_tos),
                    "subject": header_text(str(headers.get("Subject", "")), 300),
                    "message_id": str(headers.get("Message-ID", "")),
                }
            )
            _write_atomic(self.folder / "index.json", json.dumps(self.entries, indent=1).encode())
            _write_atomic(self.folder / "index.html", self.index_html().encode())
        return path

    def index_html(self) -> str:
        """The index page: one row per message, newest first, everything escaped."""
        rows = "\n".join(
            f"<tr><td>{esc(e['received_at'][:19].replace('T', ' '))}</td>"
            f"<td>{esc(', '.join(e['rcpt_tos']))}</td>"
            f'<td><a href="{esc(e["file"])}">{esc(e["subject"] or "(no subject)")}</a></td></tr>'
            for e in reversed(self.entries)
        )
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>Earshot dev mail</title>\n</head>\n<body>\n<h1>Earshot dev mail</h1>\n"
            f"<p>{len(self.entries)} messages, newest first. Each link is the message as an "
            ".eml file: open it with a mail client, or read it as text.</p>\n"
            "<table>\n<caption>Captured messages</caption>\n<thead><tr>"
            '<th scope="col">Received (UTC)</th><th scope="col">To</th><th scope="col">Subject</th>'
            f"</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</body>\n</html>\n"
        )


class SaveHandler:
    """aiosmtpd handler that saves every message into a :class:`MailFolder`."""

    def __init__(self, folder: MailFolder) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        self.folder.save(raw, envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def start(folder: Path, host: str = "127.0.0.1", port: int = 2525) -> Controller:
    """Start capturing on ``host:port`` in a background thread; call ``.stop()`` to end."""
    controller = Controller(SaveHandler(MailFolder(folder)), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m services.notifier.devmail", description=__doc__
    )
    parser.add_argument("--dir", type=Path, default=Path("var/mail"), help="folder for .eml files")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (keep loopback)")
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args(argv)
    controller = start(args.dir, args.host, args.port)
    index = (args.dir / "index.html").resolve()
    print(
        f"dev mail: SMTP on {args.host}:{args.port}; messages in {args.dir}/, list at file://{index}",
        flush=True,
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
