"""THE retry policy of Earshot: exponential, capped, full jitter, honours server hints.

Pure and transport-free so every caller (ingestion HTTP clients, the
Elasticsearch sink, the notifier) shares it. Callers classify their failures
into :class:`Retryable` (the same call may succeed later) and :class:`Permanent`
(it never will); anything else is a bug and propagates untouched.

Clock, sleep and the random source are injectable so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

T = TypeVar("T")


class Retryable(Exception):
    """A failure that may go away: transport error, timeout, 429, 5xx, broker unavailable.

    ``retry_after`` is the server's hint in seconds (``Retry-After`` or a rate-limit
    reset header), or None when the server gave none.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Permanent(Exception):
    """A failure that retrying will not fix: 401/403/404/410, unparseable payload, bad config."""


class RetriesExhausted(Exception):
    """The policy gave up; ``__cause__`` is the last :class:`Retryable` error."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap and FULL jitter (delay ~ U(0, min(cap, base * 2**n))).

    A server hint wins over the jittered draw when it is longer, bounded by
    ``max_hint`` so a broken header cannot park a caller for days.
    ``max_attempts=None`` retries forever (a long-running service polling a feed).
    """

    base: float = 0.5
    cap: float = 60.0
    max_attempts: int | None = 6
    max_hint: float = 900.0
    max_elapsed: float | None = None
    """Give up rather than start a wait that would end later than this after the first try."""

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("RetryPolicy needs 0 < base <= cap")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be >= 1 or None")

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered delay before retry number ``attempt`` (0-based), in [0, ceiling)."""
        ceiling = min(self.cap, self.base * (2.0 ** min(attempt, 62)))
        return ceiling * rand()

    def delay(
        self, attempt: int, hint: float | None = None, rand: Callable[[], float] = random.random
    ) -> float:
        """Seconds to wait before retry ``attempt``: the jittered backoff, or the hint if longer."""
        drawn = self.backoff(attempt, rand)
        if hint is None or hint <= 0:
            return drawn
        return max(drawn, min(hint, self.max_hint))

    def should_retry(
        self, attempt: int, error: BaseException, elapsed: float = 0.0, wait: float = 0.0
    ) -> bool:
        """True when ``error`` is Retryable and retry ``attempt`` (0-based) is within budget."""
        if not isinstance(error, Retryable):
            return False
        if self.max_elapsed is not None and elapsed + wait > self.max_elapsed:
            return False
        return self.max_attempts is None or attempt + 1 < self.max_attempts


class _Attempts:
    """The bookkeeping both retry loops share: how long to wait after a failure, or give up."""

    def __init__(
        self,
        policy: RetryPolicy,
        rand: Callable[[], float],
        on_retry: Callable[[int, Retryable, float], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self._policy = policy
        self._rand = rand
        self._on_retry = on_retry
        self._clock = clock
        self._started = clock()
        self.attempt = 0

    def wait_after(self, exc: Retryable) -> float:
        """Seconds to wait before trying again; raises RetriesExhausted when out of budget."""
        wait = self._policy.delay(self.attempt, exc.retry_after, self._rand)
        elapsed = self._clock() - self._started
        if not self._policy.should_retry(self.attempt, exc, elapsed, wait):
            raise RetriesExhausted(f"gave up after {self.attempt + 1} attempts: {exc}") from exc
        if self._on_retry is not None:
            self._on_retry(self.attempt, exc, wait)
        self.attempt += 1
        return wait


async def retry_async(
    operation: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[int, Retryable, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``operation`` until it succeeds, retrying only :class:`Retryable` errors.

    Permanent and unexpected errors propagate at once; when the budget runs out
    :class:`RetriesExhausted` is raised from the last error.
    """
    attempts = _Attempts(policy, rand, on_retry, clock)
    while True:
        try:
            return await operation()
        except Retryable as exc:
            await sleep(attempts.wait_after(exc))


def retry_sync(
    operation: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[int, Retryable, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Blocking form of :func:`retry_async`, for synchronous clients (CLI, Kibana import)."""
    attempts = _Attempts(policy, rand, on_retry, clock)
    while True:
        try:
            return operation()
        except Retryable as exc:
            sleep(attempts.wait_after(exc))


FOREVER: Final = RetryPolicy(base=0.5, cap=30.0, max_attempts=None)
"""Retry until it works: for dependencies a worker cannot do without (Elasticsearch, Kafka)."""
