"""Dead letters of the notifier: alerts that can never be emailed go to ``alerts.v1.dlq``.

Same shape and headers as every other stage (:mod:`schemas.deadletter`). A run
of consecutive dead letters above the limit means something systemic (a relay
refusing everything, a bad deploy), so the process stops without acknowledging
rather than draining alerts.v1 into the DLQ: the count and the exit code are the
worker's too (:class:`common.deadletters.DeadLetterLimit`).
"""

from __future__ import annotations

import asyncio
import logging

from kafka import KafkaProducer

from common.deadletters import DeadLetterLimit, DeadLetterLimitReached
from schemas.deadletter import dead_letter, dead_letter_headers, dlq_topic, encode_dead_letter

log = logging.getLogger(__name__)


class DeadLetters:
    """Durably dead-letters records of one topic; :attr:`total` counts them."""

    def __init__(self, producer: KafkaProducer, topic: str, limit: int) -> None:
        self._producer = producer
        self._topic = topic
        self._limit = DeadLetterLimit(limit, "notifier")

    async def send(
        self, raw: bytes, key: bytes | None, partition: int, offset: int, error: BaseException
    ) -> None:
        """Produce the dead letter and wait for the broker; exit past the consecutive limit."""
        letter = dead_letter(
            raw,
            stage="notifier",
            error=error,
            key=key,
            topic=self._topic,
            partition=partition,
            offset=offset,
        )

        def produce() -> None:
            future = self._producer.send(
                dlq_topic(self._topic),
                key=key,
                value=encode_dead_letter(letter),
                headers=dead_letter_headers(letter),
            )
            future.get(timeout=30)

        await asyncio.to_thread(produce)
        log.warning(
            "dead-lettered alert at %s[%d]@%d: %s",
            self._topic,
            partition,
            offset,
            letter.error_message[:300],
        )
        try:
            self._limit.failed()
        except DeadLetterLimitReached as stop:
            log.critical("%s: stopping without acknowledging; fix the cause and restart", stop)
            raise

    @property
    def total(self) -> int:
        """Dead letters written since the process started."""
        return self._limit.total

    def succeeded(self) -> None:
        """An alert went through: the consecutive run starts again."""
        self._limit.succeeded()
