"""Building dead letters: the original bytes, where they came from, which stage failed and why.

Every consumer and producer in Earshot dead-letters through :func:`dead_letter`
so the DLQ topics hold one shape, with the same origin facts as Kafka headers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.codec import encode
from schemas.models import DeadLetter

MAX_ERROR_CHARS = 4000
DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Failure:
    """Why a message failed, as a dead letter records it; plain data, so it crosses processes."""

    error_class: str
    message: str

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        return cls(type(error).__name__, str(error)[:MAX_ERROR_CHARS])


def dlq_topic(topic: str) -> str:
    """The dead-letter topic that pairs with ``topic``."""
    return topic + DLQ_SUFFIX


def dead_letter(
    original: bytes,
    *,
    stage: str,
    error: BaseException | Failure,
    key: bytes | None = None,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    source: str | None = None,
    now: datetime | None = None,
) -> DeadLetter:
    """Describe a message that ``stage`` could not process because of ``error``."""
    failure = error if isinstance(error, Failure) else Failure.of(error)
    return DeadLetter(
        original_b64=base64.b64encode(original).decode(),
        original_key_b64=base64.b64encode(key).decode() if key is not None else None,
        original_topic=topic,
        original_partition=partition,
        original_offset=offset,
        source=source,
        stage=stage,
        error_class=failure.error_class,
        error_message=failure.message,
        failed_at=now or datetime.now(UTC),
    )


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """Kafka headers that carry the origin and the error, for tools that read headers only."""
    pairs = {
        "earshot.origin.topic": letter.original_topic,
        "earshot.origin.partition": letter.original_partition,
        "earshot.origin.offset": letter.original_offset,
        "earshot.origin.source": letter.source,
        "earshot.stage": letter.stage,
        "earshot.error.class": letter.error_class,
        "earshot.error.message": letter.error_message[:500],
    }
    return [(k, str(v).encode()) for k, v in pairs.items() if v is not None]


def encode_dead_letter(letter: DeadLetter) -> bytes:
    """Validated bytes of a dead letter, via the one codec."""
    return encode(letter)
