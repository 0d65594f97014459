"""Explicit dead-lettering for Faust agents, with a limit that stops the worker.

Faust acknowledges an event when an agent raises, so agents catch per-message
errors and hand the event here: the dead letter is durably produced before the
source offset can be committed. A run of consecutive dead letters above the
limit means something systemic (a bad deploy, a broken dependency), so the
worker exits at once, without acknowledging the batch in hand, rather than
draining the topic into the DLQ.
"""

from __future__ import annotations

import logging
import os
from typing import NoReturn

import faust
from faust.types import EventT

from schemas.deadletter import Failure, dead_letter, dead_letter_headers, encode_dead_letter

log = logging.getLogger(__name__)
EXIT_DEAD_LETTER_LIMIT = 70
EXIT_ENRICHMENT_DIED = 71


def stop_worker(reason: str, code: int) -> NoReturn:
    """Exit at once, without acknowledging the batch in hand (Faust would ack it if we raised)."""
    log.critical(
        "%s: stopping the worker without acknowledging the batch in hand; fix the cause "
        "and restart",
        reason,
    )
    logging.shutdown()
    os._exit(code)


class DeadLetterer:
    """Sends failed events of one stage to its DLQ topic and enforces the limit."""

    def __init__(self, topic: faust.TopicT, stage: str, limit: int) -> None:
        self._topic = topic
        self._stage = stage
        self._limit = limit
        self._run = 0
        self.sent = 0

    async def send(self, event: EventT[bytes], error: BaseException | Failure) -> None:
        """Durably dead-letter ``event`` because of ``error``; stop the worker past the limit."""
        message = event.message
        raw = (
            message.value
            if isinstance(message.value, bytes)
            else bytes(str(message.value), "utf-8")
        )
        key = (
            message.key
            if isinstance(message.key, bytes) or message.key is None
            else str(message.key).encode()
        )
        letter = dead_letter(
            raw,
            stage=self._stage,
            error=error,
            key=key,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )
        pending = await self._topic.send(
            key=key, value=encode_dead_letter(letter), headers=dead_letter_headers(letter)
        )
        await pending
        self.sent += 1
        self._run += 1
        log.warning(
            "dead-lettered %s[%s]@%s at %s: %s",
            message.topic,
            message.partition,
            message.offset,
            self._stage,
            letter.error_message[:300],
        )
        if self._run > self._limit:
            stop_worker(
                f"{self._run} consecutive dead letters at {self._stage} (limit {self._limit})",
                EXIT_DEAD_LETTER_LIMIT,
            )

    def succeeded(self, count: int = 1) -> None:
        """Record successful messages: the consecutive-failure run starts again."""
        if count:
            self._run = 0
