"""Explicit dead-lettering for the worker, under the shared dead-letter limit.

Faust acknowledges an event when an agent raises, so the worker catches
per-message errors and hands the event here: the dead letter is durably
produced before the source offset can be committed. Past the limit
(:class:`common.deadletters.DeadLetterLimit`, shared with the notifier) the
worker exits at once with the limit's exit code, without acknowledging the batch
in hand (:func:`stop_worker`), rather than draining the topic into the DLQ.
"""

from __future__ import annotations

import logging
import os
from typing import Final, NoReturn

import faust
from faust.types import EventT

from common.deadletters import EXIT_DEAD_LETTER_LIMIT, DeadLetterLimit, DeadLetterLimitReached
from schemas.deadletter import Failure, dead_letter, dead_letter_headers, encode_dead_letter

log = logging.getLogger(__name__)
EXIT_ENRICHMENT_DIED: Final = 71
EXIT_OUTPUT_FAILED: Final = 72
"""A batch's output could not be made durable (or a stage broke): nothing was acknowledged."""


def stop_worker(reason: str, code: int) -> NoReturn:
    """Exit at once, without acknowledging the batch in hand (Faust would ack it if we raised)."""
    log.critical(
        "%s: stopping the worker without acknowledging the batch in hand; fix the cause "
        "and restart",
        reason,
    )
    logging.shutdown()
    os._exit(code)


def _bytes(data: object) -> bytes | None:
    if data is None or isinstance(data, bytes):
        return data
    return str(data).encode()


class DeadLetterer:
    """Sends failed events of one stage to a DLQ topic, counted against the limit."""

    def __init__(self, topic: faust.TopicT, stage: str, limit: DeadLetterLimit) -> None:
        self._topic = topic
        self._stage = stage
        self.limit = limit

    async def send(
        self, event: EventT[bytes], error: BaseException | Failure, *, value: bytes | None = None
    ) -> None:
        """Durably dead-letter ``event`` (or ``value``, what the stage failed on, if given)
        because of ``error``; past the limit, stop the worker without acknowledging."""
        message = event.message
        key = _bytes(message.key)
        letter = dead_letter(
            value if value is not None else _bytes(message.value) or b"",
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
        log.warning(
            "dead-lettered %s[%s]@%s at %s: %s",
            message.topic,
            message.partition,
            message.offset,
            self._stage,
            letter.error_message[:300],
        )
        try:
            self.limit.failed()
        except DeadLetterLimitReached as exc:
            stop_worker(exc.reason, EXIT_DEAD_LETTER_LIMIT)
