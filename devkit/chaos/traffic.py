"""Steady traffic into a topic: an item counts as produced only once the broker acknowledged it."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from common.kafkaclients import RECONNECT


@dataclass(frozen=True)
class Item:
    ident: str
    key: bytes
    value: bytes


class Traffic(threading.Thread):
    """Sends ``items`` to ``topic`` at ``rate`` per second; a send that fails is sent again.

    :attr:`acked` maps each acknowledged item to (partition, time.monotonic() of the ack).
    """

    def __init__(self, bootstrap: str, topic: str, items: list[Item], rate: float) -> None:
        super().__init__(name=f"traffic-{topic}", daemon=True)
        self.topic = topic
        self.items = items
        self.rate = rate
        self.acked: dict[str, tuple[int, float]] = {}
        self.resent = 0
        self._again: deque[Item] = deque()
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5, **RECONNECT
        )

    def run(self) -> None:
        started = time.monotonic()
        for n, item in enumerate(self.items):
            if self._halt.is_set():
                break
            delay = started + n / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._send(item)
        # What failed (e.g. while the broker was down past the delivery timeout) goes again.
        while not self._halt.is_set() and len(self.acked) < len(self.items):
            with self._lock:
                again = list(self._again)
                self._again.clear()
            for item in again:
                self.resent += 1
                self._send(item)
            time.sleep(0.5)
        self._producer.flush(timeout=30)

    def _send(self, item: Item) -> None:
        try:
            future = self._producer.send(self.topic, key=item.key, value=item.value)
        except Exception:  # e.g. no metadata while the broker is down: try again later
            with self._lock:
                self._again.append(item)
            return

        def ok(meta: Any) -> None:
            with self._lock:
                self.acked.setdefault(item.ident, (int(meta.partition), time.monotonic()))

        def failed(_: BaseException) -> None:
            with self._lock:
                self._again.append(item)

        future.add_callback(ok)
        future.add_errback(failed)

    def done(self) -> bool:
        with self._lock:
            return len(self.acked) == len(self.items)

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)
        self._producer.close(timeout=10)
