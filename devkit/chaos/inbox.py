"""A real SMTP server on loopback that remembers, in memory, which emails arrived and when."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from devkit.worker import free_port


@dataclass(frozen=True)
class Received:
    at: float
    """time.monotonic() when the server accepted it."""
    message_id: str
    kind: str
    alert_count: int


class Inbox:
    """aiosmtpd on 127.0.0.1:``port``; :attr:`received` lists every accepted email in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        raw = envelope.original_content or envelope.content
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        entry = Received(
            time.monotonic(),
            str(headers.get("Message-ID", "")).strip().strip("<>"),
            str(headers.get("X-Earshot-Kind", "")),
            int(str(headers.get("X-Earshot-Alert-Count", "0")) or 0),
        )
        with self._lock:
            self.received.append(entry)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def alert_ids(self) -> Counter[str]:
        """How many emails each alert id arrived in (immediate emails carry it as Message-ID)."""
        return Counter(r.message_id.split("@", 1)[0] for r in self.snapshot())
