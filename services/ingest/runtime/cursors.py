"""Cursor checkpoints in the compacted topic ``ingest.cursors.v1`` (key ``<kind>/<instance>/<stream>``).

A service needs no disk: at start it reads the topic to its end (read_committed,
so a cursor from an aborted transaction is never seen) and keeps the latest value
per key. Writing is the producer's job, inside the page's transaction.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from services.ingest.runtime.api import Cursor
from services.ingest.runtime.errors import Retryable

log = logging.getLogger(__name__)
CURSOR_VERSION = 1


def encode_cursor(key: str, cursor: Cursor, now: datetime | None = None) -> bytes:
    """The record value stored for ``key``: the cursor plus when and which format."""
    doc = {
        "v": CURSOR_VERSION,
        "key": key,
        "cursor": cursor,
        "committed_at": (now or datetime.now(UTC)).isoformat(),
    }
    # allow_nan=False and a strict encode: a value JSON or UTF-8 cannot hold raises here,
    # so it is never stored (the caller keeps the previous cursor).
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def decode_cursor(value: bytes) -> Cursor | None:
    """The cursor in a stored record, or None for a record this version cannot read."""
    try:
        doc = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("v") != CURSOR_VERSION:
        return None
    cursor = doc.get("cursor")
    return cursor if isinstance(cursor, dict) else None


def _partitions(consumer: KafkaConsumer, topic: str, until: float) -> set[int]:
    """The topic's partitions; metadata of a just-created topic can lag, so ask again briefly."""
    while True:
        parts: set[int] | None = consumer.partitions_for_topic(topic)
        if parts or time.monotonic() > until:
            return parts or set()
        consumer.topics()  # forces a metadata refresh
        time.sleep(0.2)


def load_cursors(bootstrap: str, topic: str, *, timeout_s: float = 30.0) -> dict[str, Cursor]:
    """Read ``topic`` from the beginning to its end and return the latest cursor per key.

    Raises Retryable when the broker cannot be read within ``timeout_s``.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        client_id="earshot-ingest-cursors",
    )
    cursors: dict[str, Cursor] = {}
    deadline = time.monotonic() + timeout_s
    try:
        parts = _partitions(consumer, topic, min(deadline, time.monotonic() + 10))
        if not parts:
            raise Retryable(f"cursor topic {topic} does not exist (run: earshot topics)")
        partitions = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends: dict[Any, int] = consumer.end_offsets(partitions)
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise Retryable(f"timed out reading cursors from {topic}")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    key = record.key.decode() if record.key else None
                    if key is None:
                        continue
                    if record.value is None:
                        cursors.pop(key, None)
                        continue
                    cursor = decode_cursor(record.value)
                    if cursor is None:
                        log.warning("ignoring unreadable cursor record for %s", key)
                    else:
                        cursors[key] = cursor
    finally:
        consumer.close()
    return cursors
