"""Writes erasure tombstones to the compacted topic ``privacy.tombstones.v1``.

The topic is created (or aligned) from its declaration before the first write:
a broker that auto-creates topics would otherwise make a *delete*-policy topic,
and tombstones that expire would let an erased author back in on a later replay.
Writes wait for ``acks=all``: the erasure goes on only once the tombstone is durable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from common.privacy import TOMBSTONE_TOPIC
from common.topics import ensure_topics


@dataclass(frozen=True)
class Written:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}@{self.offset}"


class TombstoneWriter:
    """One producer for the tombstones of one command run."""

    def __init__(self, bootstrap: str, topic_prefix: str = "") -> None:
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.topic = f"{topic_prefix}{TOMBSTONE_TOPIC}"
        self._producer: Any = None

    def _ready(self) -> Any:
        if self._producer is None:
            ensure_topics(self.bootstrap, self.topic_prefix, names=[TOMBSTONE_TOPIC])
            self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", retries=5)
        return self._producer

    def write(self, pseudonym: str, record: dict[str, Any]) -> Written:
        """Write one tombstone (key = pseudonym) and wait until the broker has it."""
        value = json.dumps(record, sort_keys=True).encode()
        future = self._ready().send(self.topic, key=pseudonym.encode(), value=value)
        meta = future.get(timeout=60)
        return Written(self.topic, int(meta.partition), int(meta.offset))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush()
            self._producer.close()
            self._producer = None
