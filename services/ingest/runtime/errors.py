"""Typed ingestion errors: the project's Retryable/Permanent, refined with what a person needs."""

from __future__ import annotations

from common.retry import Permanent, RetriesExhausted, Retryable

__all__ = [
    "HttpPermanent",
    "HttpRetryable",
    "PayloadError",
    "Permanent",
    "RetriesExhausted",
    "Retryable",
]


class HttpRetryable(Retryable):
    """A request that may succeed later (transport, timeout, 429, 5xx); status 0 = no response."""

    def __init__(
        self, url: str, status: int, detail: str, *, retry_after: float | None = None
    ) -> None:
        hint = f", retry after {retry_after:.1f}s" if retry_after is not None else ""
        super().__init__(
            f"{url}: {status or 'no response'}: {detail}{hint}", retry_after=retry_after
        )
        self.url = url
        self.status = status


class HttpPermanent(Permanent):
    """A request that will never succeed as configured (401/403/404/410, other 4xx)."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(f"{url}: {status}: {detail}")
        self.url = url
        self.status = status


class PayloadError(Permanent):
    """A whole response body cannot be understood (malformed feed, not JSON, wrong shape).

    The runtime dead-letters ``raw`` with this error's message and keeps going.
    """

    def __init__(self, url: str, reason: str, raw: bytes) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.raw = raw
