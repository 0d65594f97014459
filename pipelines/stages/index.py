"""Elasticsearch: the batch's mentions in monthly indices behind the alias, newest version wins.

Documents are keyed by mention id and written with the mention's version (its
edit time, else creation time), so a redelivery rewrites the same document and
a replay or reordering never puts older text over newer. While the cluster is
unreachable the stage waits and retries, holding the batch; documents it will
never take are dead-lettered with the reason it gave.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from elasticsearch import AsyncElasticsearch

from common.bulk import BulkIndexer, Doc
from common.elastic import install_templates_async, monthly_index
from common.retry import FOREVER, Retryable, retry_async
from pipelines.batch import Batch, Item
from pipelines.deadletters import DeadLetterer

log = logging.getLogger(__name__)


def _waiting(attempt: int, error: Retryable, wait: float) -> None:
    # One line when the wait starts, then a reminder now and again: not one per attempt.
    if attempt in (0, 5) or attempt % 20 == 0:
        log.warning(
            "Elasticsearch unreachable, indexing waits (attempt %d, next in %.1fs): %s",
            attempt + 1,
            wait,
            error,
        )


class IndexingRejected(Exception):
    """Elasticsearch will never accept this document as it is."""


class Index:
    """Stage: index every item not flagged erased; acknowledge only what the cluster took."""

    def __init__(self, client: AsyncElasticsearch, index_prefix: str, dlq: DeadLetterer) -> None:
        self._client = client
        self._indexer = BulkIndexer(client)
        self._prefix = index_prefix
        self._dlq = dlq
        self._templates = False

    def _target(self, created_at: float) -> str:
        return monthly_index(self._prefix, "mentions", datetime.fromtimestamp(created_at, UTC))

    async def __call__(self, batch: Batch) -> None:
        if not self._templates:
            await retry_async(
                lambda: install_templates_async(self._client, self._prefix),
                FOREVER,
                on_retry=_waiting,
            )
            self._templates = True
        docs: list[Doc[Item]] = [
            Doc(
                self._target(item.enriched.created_at),
                item.enriched.mention_id,
                item.enriched.value,
                item,
                version=item.enriched.version,
            )
            for item in batch.items
            if not item.erased
        ]
        if not docs:
            return
        outcome = await self._indexer.write(docs)
        for item, reason in outcome.rejected:
            await self._dlq.send(item.event, IndexingRejected(reason), value=item.enriched.value)
        self._dlq.limit.succeeded(outcome.indexed + outcome.superseded)
