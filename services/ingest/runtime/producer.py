"""THE Kafka producer wrapper of ingestion (kafka-python, blocking; call it from one thread).

Contract: mentions are keyed by :func:`common.dedupe.partition_key` (the dedupe key, so
copies of one link or text share a partition and the worker that owns it marks
them; else ``mention_id``) with value ``schemas.codec.encode``;
dead letters go to ``<topic>.dlq`` with origin/error headers; :meth:`flush` raises
:class:`ProduceError` if any send since the last flush failed. With a
``transactional_id`` the producer writes each page (mentions + dead letters +
cursor) atomically via :meth:`transaction`, which is how a cursor is committed
only together with the mentions it covers.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.codec import has_lz4
from kafka.errors import KafkaError

from common.dedupe import partition_key
from common.kafkaclients import RECONNECT
from common.settings import KafkaSettings
from schemas.codec import encode
from schemas.deadletter import (
    Failure,
    dead_letter,
    dead_letter_headers,
    dlq_topic,
    encode_dead_letter,
)
from schemas.models import DeadLetter, Mention
from services.ingest.runtime.errors import Retryable

MENTIONS_TOPIC = "mentions.raw.v1"
CURSORS_TOPIC = "ingest.cursors.v1"
STAGE = "ingest"


MAX_ORIGINAL_BYTES = 256 * 1024
"""Originals up to this size are kept whole in a dead letter (base64 makes it ~342 kB, well
under Kafka's 1 MB record default); larger ones leave an excerpt, their size and digest."""
EXCERPT_BYTES = 4096
MAX_REASON_CHARS = 4000


def _escaped(text: str, limit: int) -> str:
    """``text`` with anything not valid UTF-8 written as an escape, cut to ``limit`` characters."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:limit]


def _reason(error: BaseException) -> Failure:
    try:
        message = str(error)
    except Exception:  # a hostile __str__: the class name is the reason left
        message = "(message could not be read)"
    return Failure(_escaped(type(error).__name__, 200), _escaped(message, MAX_REASON_CHARS))


def evidence_letter(
    raw: bytes, error: BaseException, *, source: str, key: bytes | None = None
) -> DeadLetter:
    """A dead letter that always encodes and fits a record: origin and reason escaped and
    bounded; the original whole when it fits, else an excerpt with the whole one's size and
    SHA-256."""
    whole = len(raw) <= MAX_ORIGINAL_BYTES
    letter = dead_letter(
        raw if whole else raw[:EXCERPT_BYTES],
        stage=STAGE,
        error=_reason(error),
        key=key if key is not None and len(key) <= 1024 else None,
        source=_escaped(source, 500),
    )
    if whole:
        return letter
    return letter.model_copy(
        update={
            "original_size": len(raw),
            "original_sha256": hashlib.sha256(raw).hexdigest(),
            "excerpt": True,
        }
    )


class ProduceError(Retryable):
    """A send failed or the flush timed out; the open transaction (if any) was aborted."""


@dataclass(frozen=True)
class Topics:
    """Physical topic names for one deployment/test prefix."""

    mentions: str
    dead_letters: str
    cursors: str

    @classmethod
    def of(cls, settings: KafkaSettings) -> Topics:
        mentions = settings.topic(MENTIONS_TOPIC)
        return cls(mentions, dlq_topic(mentions), settings.topic(CURSORS_TOPIC))


def compression() -> str:
    """lz4 when its codec is importable, else gzip (the only codec kafka-python has built in)."""
    return "lz4" if has_lz4() else "gzip"


class MentionProducer:
    """acks=all, idempotent, compressed; tracks every send so a failure is never silent."""

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        *,
        transactional_id: str | None = None,
        client_id: str = "earshot-ingest",
        flush_timeout_s: float = 30.0,
        **overrides: Any,
    ) -> None:
        config: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "compression_type": compression(),
            "linger_ms": 5,
            "retries": 2**31 - 1,
            "max_in_flight_requests_per_connection": 5,
            **RECONNECT,
        }
        if transactional_id:
            config["transactional_id"] = transactional_id
        config.update(overrides)
        self.topics = topics
        self._flush_timeout = flush_timeout_s
        self._pending: list[Any] = []
        self._producer = KafkaProducer(**config)
        self._transactional = bool(transactional_id)
        if self._transactional:
            self._producer.init_transactions()

    @property
    def transactional(self) -> bool:
        return self._transactional

    def send_mention(self, mention: Mention) -> None:
        """Queue one mention (validated by the codec: raises ContractError before sending)."""
        value = encode(mention)
        self._send(self.topics.mentions, partition_key(mention), value, None)

    def send_dead_letter(
        self, raw: bytes, error: BaseException, *, source: str, key: bytes | None = None
    ) -> None:
        """Queue a dead letter for ``raw`` (the payload as received) with origin/error headers;
        whatever ``raw`` and ``error`` hold, a letter that encodes goes out (see
        :func:`evidence_letter`)."""
        letter = evidence_letter(raw, error, source=source, key=key)
        value = encode_dead_letter(letter)
        key = base64.b64decode(letter.original_key_b64) if letter.original_key_b64 else None
        self._send(self.topics.dead_letters, key, value, dead_letter_headers(letter))

    def send_cursor(self, key: str, value: bytes | None) -> None:
        """Queue a cursor record (None is a tombstone) on the compacted cursor topic."""
        self._send(self.topics.cursors, key.encode(), value, None)

    def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None,
    ) -> None:
        try:
            self._pending.append(self._producer.send(topic, key=key, value=value, headers=headers))
        except KafkaError as exc:
            raise ProduceError(f"send to {topic} failed: {exc!r}") from exc

    def flush(self) -> int:
        """Block until every queued record is acknowledged; raise ProduceError if any failed."""
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=self._flush_timeout)
        except KafkaError as exc:
            raise ProduceError(f"flush failed: {exc!r}") from exc
        failed = [f.exception for f in pending if not f.is_done or f.failed()]
        if failed:
            raise ProduceError(
                f"{len(failed)} of {len(pending)} sends failed, first: {failed[0]!r}"
            )
        return len(pending)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything sent inside is committed atomically (flush first), or aborted on error.

        Without a transactional id this is just "flush at the end".
        """
        if not self._transactional:
            yield
            self.flush()
            return
        self._producer.begin_transaction()
        try:
            yield
            self.flush()
            self._producer.commit_transaction()
        except BaseException as exc:
            self._pending = []
            try:
                self._producer.abort_transaction()
            except KafkaError as abort_exc:
                raise ProduceError(f"abort failed after {exc!r}: {abort_exc!r}") from exc
            if isinstance(exc, KafkaError):
                raise ProduceError(f"transaction failed: {exc!r}") from exc
            raise

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued and close the connection."""
        try:
            self._producer.flush(timeout=timeout_s)
        finally:
            self._producer.close(timeout=timeout_s)
