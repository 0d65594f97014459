"""The dead-letter limit every consumer shares: count dead letters, stop on a systemic run.

One bad message is dead-lettered and the stream goes on. A run of more than
``limit`` consecutive dead letters means something systemic (a bad deploy, a
broken dependency, a relay refusing everything), so the process stops without
acknowledging rather than draining its topic into the DLQ. The worker and the
notifier both count through :class:`DeadLetterLimit` and exit with
:data:`EXIT_DEAD_LETTER_LIMIT`.
"""

from __future__ import annotations

from typing import Final

EXIT_DEAD_LETTER_LIMIT: Final = 70
"""Exit code of a process stopped by its dead-letter limit (a supervisor may alert on it)."""


class DeadLetterLimitReached(SystemExit):
    """More consecutive dead letters than the limit; ``code`` is the exit code.

    A ``SystemExit``: left alone it ends the process with that code. A Faust worker
    must catch it and exit without acknowledging (an agent that raises acks its batch).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(EXIT_DEAD_LETTER_LIMIT)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class DeadLetterLimit:
    """Counts the dead letters of one stage; :meth:`failed` raises past ``limit`` in a row."""

    def __init__(self, limit: int, stage: str) -> None:
        if limit < 0:
            raise ValueError("the dead-letter limit must be >= 0")
        self.limit = limit
        self.stage = stage
        self.total = 0
        self.run = 0

    def failed(self, count: int = 1) -> None:
        """Record ``count`` dead letters (already durable); raise DeadLetterLimitReached past the limit."""
        self.total += count
        self.run += count
        if self.run > self.limit:
            raise DeadLetterLimitReached(
                f"{self.run} consecutive dead letters at {self.stage} (limit {self.limit})"
            )

    def succeeded(self, count: int = 1) -> None:
        """Record ``count`` messages that went through: the consecutive run starts again."""
        if count > 0:
            self.run = 0
