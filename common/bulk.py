"""The Elasticsearch sink: bulk writes with idempotent ids, every item checked.

Items the cluster could not take *now* (429, 5xx, the cluster unreachable) are
retried under the project retry policy for as long as it takes: a down
Elasticsearch delays indexing, it never drops a mention. Items it will never
take (a mapping conflict, a strict-mapping violation) come back as rejected so
the caller dead-letters them with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from elasticsearch import ApiError, AsyncElasticsearch, ConnectionError, ConnectionTimeout

from common.retry import FOREVER, RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Doc(Generic[T]):
    """One document to index; ``origin`` is what the caller needs to dead-letter it."""

    index: str
    id: str
    body: dict[str, Any] | None
    """None deletes the document (a missing one counts as deleted)."""
    origin: T
    version: int | None = None
    """External version (``external_gte``): an older write than the stored one is superseded."""


@dataclass
class BulkOutcome(Generic[T]):
    indexed: int = 0
    retries: int = 0
    superseded: int = 0
    """Versioned writes older than the stored document (409): nothing to do."""
    rejected: list[tuple[T, str]] = field(default_factory=list)


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class BulkIndexer:
    """Writes batches with ``_bulk``; returns only when every item is indexed or rejected."""

    def __init__(
        self,
        client: AsyncElasticsearch,
        policy: RetryPolicy = FOREVER,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        refresh: bool = False,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._refresh = refresh

    async def write(self, docs: Sequence[Doc[T]]) -> BulkOutcome[T]:
        """Index ``docs`` (``_id`` = doc id, so a redelivery overwrites, never duplicates)."""
        outcome: BulkOutcome[T] = BulkOutcome()
        pending = list(docs)
        attempt = 0
        while pending:
            operations: list[dict[str, Any]] = []
            for doc in pending:
                action: dict[str, Any] = {"_index": doc.index, "_id": doc.id}
                if doc.version is not None:
                    action |= {"version": doc.version, "version_type": "external_gte"}
                if doc.body is None:
                    operations.append({"delete": action})
                else:
                    operations.append({"index": action})
                    operations.append(doc.body)
            try:
                response = await self._client.bulk(operations=operations, refresh=self._refresh)
            except (ConnectionError, ConnectionTimeout) as exc:
                await self._wait(attempt, f"Elasticsearch unreachable: {exc}")
                attempt += 1
                outcome.retries += 1
                continue
            except ApiError as exc:
                if _retryable_status(exc.meta.status):
                    await self._wait(attempt, f"bulk refused with {exc.meta.status}")
                    attempt += 1
                    outcome.retries += 1
                    continue
                outcome.rejected.extend((d.origin, f"bulk request refused: {exc}") for d in pending)
                return outcome
            retry: list[Doc[T]] = []
            for doc, item in zip(pending, response["items"], strict=True):
                result = item.get("index") or next(iter(item.values()))
                status = int(result.get("status", 500))
                if status < 300 or (status == 404 and doc.body is None):
                    outcome.indexed += 1
                elif status == 409 and doc.version is not None:
                    outcome.superseded += 1
                elif _retryable_status(status):
                    retry.append(doc)
                else:
                    error = result.get("error") or {}
                    reason = f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"
                    outcome.rejected.append((doc.origin, reason[:2000]))
            pending = retry
            if pending:
                await self._wait(attempt, f"{len(pending)} items refused for now (429/5xx)")
                attempt += 1
                outcome.retries += 1
        return outcome

    async def _wait(self, attempt: int, why: str) -> None:
        delay = self._policy.delay(attempt)
        log.warning("%s; retrying in %.1fs (attempt %d)", why, delay, attempt + 1)
        await self._sleep(delay)
