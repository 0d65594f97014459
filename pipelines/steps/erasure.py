"""Erased authors: the tombstone check the index agent runs before indexing a mention.

``earshot privacy erase`` writes one record per erased author to the compacted
topic ``privacy.tombstones.v1`` (key = the author's pseudonym, the value says
when and under which audit record). A worker reads the whole topic into an
in-memory set before it indexes anything and keeps it current, so replaying
``mentions.enriched.v1`` cannot bring an erased author's posts back.

:class:`Tombstones` and :func:`is_erased` are pure. :class:`TombstoneReader`
follows the topic with a plain Kafka consumer that is assigned every partition
(no consumer group: each worker needs every tombstone, not a share of them);
:class:`TombstoneGuard` decides when to refresh and refuses to go on with a set
that is too stale to trust.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from pydantic import SecretStr

from common.kafkaclients import RECONNECT
from common.privacy import TOMBSTONE_TOPIC, Pseudonymiser
from common.retry import Retryable
from common.settings import KafkaSettings
from schemas.models import Author

log = logging.getLogger(__name__)


class TombstoneSettings(KafkaSettings):
    """What the tombstone check needs; the secret lets it match raw-handle deployments too."""

    pseudonym_secret: SecretStr | None = None
    tombstone_refresh_seconds: float = 2.0
    """How often the set is brought up to date (between batches)."""
    tombstone_max_stale_seconds: float = 60.0
    """Past this without a successful refresh, indexing waits rather than risk a re-index."""


class Tombstones:
    """The set of erased pseudonyms, built from the topic's records in order."""

    def __init__(self) -> None:
        self._erased: set[str] = set()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record: a value erases the key; a null value (Kafka's delete) lifts the erasure."""
        if not key:
            return
        pseudonym = key.decode("utf-8", "replace")
        if value is None:
            self._erased.discard(pseudonym)
        else:
            self._erased.add(pseudonym)

    def __contains__(self, pseudonym: object) -> bool:
        return pseudonym in self._erased

    def __len__(self) -> int:
        return len(self._erased)

    def __iter__(self) -> Iterator[str]:
        return iter(self._erased)


def author_pseudonym(author: Author | None, pseudonymiser: Pseudonymiser | None) -> str | None:
    """The tombstone key of ``author``: its id, or for a raw id ``kind:id`` the keyed pseudonym."""
    if author is None:
        return None
    if author.scheme == "hmac-sha256":
        return author.id
    kind, sep, native = author.id.partition(":")
    if not sep or pseudonymiser is None:
        return None
    return pseudonymiser.pseudonym(kind, native)


def is_erased(
    author: Author | None, tombstones: Tombstones, pseudonymiser: Pseudonymiser | None = None
) -> bool:
    """True when the author of a mention has been erased and the mention must not be stored."""
    pseudonym = author_pseudonym(author, pseudonymiser)
    return pseudonym is not None and pseudonym in tombstones


class TombstoneReader:
    """Reads ``topic`` from the beginning into ``tombstones``; :meth:`catch_up` blocks."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        tombstones: Tombstones,
        consumer_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.topic = topic
        self.tombstones = tombstones
        self._factory = consumer_factory or (
            lambda: KafkaConsumer(
                bootstrap_servers=bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                allow_auto_create_topics=False,
                client_id="earshot-tombstones",
                # A refresh runs between batches: while Kafka is away it must give up in
                # seconds (the guard then uses its recent set), not hold the batch path
                # for the client's default 30 s after the broker is back.
                request_timeout_ms=5_000,
                **RECONNECT,
            )
        )
        self._consumer: Any = None

    def catch_up(self, timeout_s: float = 30.0) -> int:
        """Apply every record up to the topic's current end; returns how many were read.

        On any failure the consumer is dropped, so the next call connects afresh (a consumer
        that lived through a broker restart kept timing out for ~20 s after it was back)."""
        try:
            return self._catch_up(timeout_s)
        except Exception:
            self.close()
            raise

    def _catch_up(self, timeout_s: float) -> int:
        if self._consumer is None:
            consumer = self._factory()
            partitions = consumer.partitions_for_topic(self.topic)
            if not partitions:
                # No topic yet means nobody was ever erased (erasure creates it before writing).
                consumer.close()
                return 0
            assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            consumer.seek_to_beginning(*assigned)
            self._consumer = consumer
        consumer = self._consumer
        ends = consumer.end_offsets(list(consumer.assignment()))
        deadline = time.monotonic() + timeout_s
        read = 0
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise Retryable(f"could not read {self.topic} to its end within {timeout_s:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    self.tombstones.apply(record.key, record.value)
                    read += 1
        return read

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class TombstoneGuard:
    """When to refresh the set, and whether it is fresh enough to index by; clock injectable."""

    def __init__(
        self,
        reader: TombstoneReader,
        pseudonymiser: Pseudonymiser | None,
        refresh_s: float,
        max_stale_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.pseudonymiser = pseudonymiser
        self._refresh_s = refresh_s
        self._max_stale_s = max_stale_s
        self._clock = clock
        self._fresh_at: float | None = None
        self.skipped = 0
        # One guard serves every agent of a worker; its Kafka reader is not thread-safe.
        self._reading = asyncio.Lock()

    async def refresh(self, force: bool = False) -> None:
        """Catch up when due (always with ``force``); Retryable only if the set is too stale to use."""
        async with self._reading:
            await self._refresh(force)

    async def _refresh(self, force: bool) -> None:
        now = self._clock()
        if not force and self._fresh_at is not None and now - self._fresh_at < self._refresh_s:
            return
        try:
            read = await asyncio.to_thread(self.reader.catch_up)
        except Exception as exc:
            if self._fresh_at is None or now - self._fresh_at > self._max_stale_s:
                raise Retryable(f"tombstones not readable: {exc}") from exc
            log.warning(
                "tombstones not refreshed, using the set from %.0fs ago: %s",
                now - self._fresh_at,
                exc,
            )
            return
        if read:
            log.info(
                "tombstones: %d new record(s), %d erased authors", read, len(self.reader.tombstones)
            )
        self._fresh_at = now

    def erased(self, author: Author | None) -> bool:
        """True when a mention by ``author`` must be skipped (and counts it)."""
        if is_erased(author, self.reader.tombstones, self.pseudonymiser):
            self.skipped += 1
            return True
        return False


def tombstone_guard(settings: TombstoneSettings) -> TombstoneGuard:
    """The guard for a worker, following the deployment's (prefixed) tombstone topic."""
    reader = TombstoneReader(
        settings.kafka_bootstrap, settings.topic(TOMBSTONE_TOPIC), Tombstones()
    )
    secret = settings.pseudonym_secret
    pseudonymiser = Pseudonymiser(secret) if secret is not None else None
    return TombstoneGuard(
        reader,
        pseudonymiser,
        settings.tombstone_refresh_seconds,
        settings.tombstone_max_stale_seconds,
    )
