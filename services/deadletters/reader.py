"""What the ``*.dlq`` topics hold: a count per topic and the latest letters with origin and reason.

Reads with a group-less consumer (nothing is committed, nothing consumed for anyone
else). Counts are offsets end minus start per partition: on a delete-retention topic
that is the number of letters still kept.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from common.topics import declarations
from schemas.codec import decode
from schemas.deadletter import DLQ_SUFFIX
from schemas.models import DeadLetter

EXCERPT_CHARS = 160


@dataclass(frozen=True)
class Letter:
    """One dead letter as shown to an operator (the original bytes cut to an excerpt)."""

    topic: str
    partition: int
    offset: int
    written_ms: int
    """When the broker took the record (the letter's own ``failed_at`` may be unreadable)."""
    letter: DeadLetter | None
    problem: str | None = None
    """Why the record itself could not be read as a dead letter (then ``letter`` is None)."""

    def excerpt(self, chars: int = EXCERPT_CHARS) -> str:
        """The start of the original message, undecodable bytes shown as escapes."""
        if self.letter is None:
            return ""
        raw = base64.b64decode(self.letter.original_b64)
        text = raw[: chars * 4].decode("utf-8", "backslashreplace")
        return text[:chars] + ("…" if len(text) > chars or len(raw) > chars * 4 else "")


@dataclass(frozen=True)
class TopicLetters:
    """A dead-letter topic's count and its latest letters, newest first."""

    topic: str
    count: int
    latest: tuple[Letter, ...]


def dlq_names(prefix: str) -> list[str]:
    """Physical names of every declared dead-letter topic."""
    return [prefix + name for name in declarations() if name.endswith(DLQ_SUFFIX)]


def _read(topic: str, record: ConsumerRecord) -> Letter:
    where = (topic, record.partition, record.offset, record.timestamp)
    try:
        return Letter(*where, decode(record.value, DeadLetter))
    except Exception as exc:  # a record we cannot read is still shown, with why
        return Letter(*where, None, f"{type(exc).__name__}: {exc}")


def read_topic(consumer: KafkaConsumer, topic: str, latest: int) -> TopicLetters:
    """Count ``topic``'s letters and read up to ``latest`` of the newest (0: count only)."""
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        return TopicLetters(topic, 0, ())
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    starts, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    count = sum(ends[tp] - starts[tp] for tp in tps)
    letters: list[Letter] = []
    wanted = {tp: max(starts[tp], ends[tp] - latest) for tp in tps if ends[tp] > starts[tp]}
    if latest and wanted:
        consumer.assign(list(wanted))
        for tp, offset in wanted.items():
            consumer.seek(tp, offset)
        remaining = {tp: ends[tp] - offset for tp, offset in wanted.items()}
        while any(remaining.values()):
            batches = consumer.poll(timeout_ms=2000)
            if not batches:
                break
            for tp, records in batches.items():
                for record in records:
                    letters.append(_read(topic, record))
                    remaining[tp] -= 1
        consumer.assign([])
    letters.sort(key=lambda item: (-item.written_ms, -item.offset))
    return TopicLetters(topic, count, tuple(letters[:latest]))


def read_all(bootstrap: str, topics: Sequence[str], latest: int) -> list[TopicLetters]:
    """Counts and latest letters of ``topics`` on the broker at ``bootstrap``."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="earshot-deadletters",
    )
    try:
        return [read_topic(consumer, topic, latest) for topic in topics]
    finally:
        consumer.close()
