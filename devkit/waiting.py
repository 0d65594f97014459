"""Polling helpers for tests on the real stack: wait for a condition, or fail saying what was seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from elasticsearch import Elasticsearch, NotFoundError
from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T], done: Callable[[T], bool], timeout: float, what: str | Callable[[], str]
) -> T:
    """Call ``probe`` until ``done(result)``; raise with the last result after ``timeout`` seconds.

    ``what`` may be a callable so a description (e.g. a log tail) is read at failure time.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {described}; last saw {result!r}"
            )
        time.sleep(0.5)


def es_count(es: Elasticsearch, index: str) -> int:
    try:
        es.indices.refresh(index=index)
        return int(es.count(index=index)["count"])
    except NotFoundError:
        return 0


def topic_records(bootstrap: str, topic: str, idle_ms: int = 5000) -> list[ConsumerRecord]:
    """Every record currently in ``topic``, read from the beginning."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def read_topic(
    bootstrap: str, topic: str, idle_ms: int = 5000
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """Every record currently in ``topic`` as (key, value, headers), read from the beginning."""
    return [
        (r.key, r.value, dict(r.headers or [])) for r in topic_records(bootstrap, topic, idle_ms)
    ]


def wait_for_topics(bootstrap: str, topics: list[str], timeout: float = 30.0) -> None:
    """Wait until the broker's metadata lists every topic in ``topics`` with its partitions.

    A consumer that subscribes before a fresh topic shows up gets no partitions until its
    next metadata refresh (minutes), and the broker creates no topic on request.
    """
    reader = KafkaConsumer(bootstrap_servers=bootstrap)

    def missing() -> list[str]:
        absent = [t for t in topics if not reader.partitions_for_topic(t)]
        if absent:
            reader.topics()  # refreshes the cached metadata for the next look
        return absent

    try:
        wait_for(missing, lambda absent: not absent, timeout, "topics in the broker's metadata")
    finally:
        reader.close()
