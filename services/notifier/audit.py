"""Audit of every email in Elasticsearch (alias ``<prefix>-alerts``), off the sending path.

Emails do not wait for Elasticsearch: a sent email's audit document is already
durable in the ledger, and this writer indexes it in the background (``_id`` =
Message-ID, so a repeat overwrites) with the sink's retry-forever policy, then
tells the ledger it is done. While Elasticsearch is down, audits queue up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from common.bulk import BulkIndexer, Doc
from common.elastic import monthly_index

log = logging.getLogger(__name__)


class AuditWriter:
    """Queue of audit documents drained into monthly ``alerts`` indices."""

    def __init__(
        self,
        indexer: BulkIndexer,
        index_prefix: str,
        on_indexed: Callable[[str], None],
        batch_max: int = 200,
    ) -> None:
        self._indexer = indexer
        self._prefix = index_prefix
        self._on_indexed = on_indexed
        self._batch_max = batch_max
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.indexed = 0

    def submit(self, doc: dict[str, Any]) -> None:
        """Queue one audit document (from :func:`services.notifier.dispatcher.audit_doc`)."""
        self._queue.put_nowait(doc)

    def pending(self) -> int:
        """Audit documents not indexed yet."""
        return self._queue.qsize()

    async def run(self) -> None:
        """Index queued documents forever (cancel to stop)."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        docs = [
            Doc(
                monthly_index(self._prefix, "alerts", datetime.fromisoformat(d["sent_at"])),
                d["message_id"],
                d,
                d["message_id"],
            )
            for d in batch
        ]
        outcome = await self._indexer.write(docs)
        for message_id, reason in outcome.rejected:
            log.error("audit of %s rejected by Elasticsearch, not retried: %s", message_id, reason)
        for doc in docs:
            self._on_indexed(doc.id)
        self.indexed += outcome.indexed

    async def drain(self, timeout_s: float) -> bool:
        """Wait until the queue is empty; False when ``timeout_s`` ran out first."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            return False
        return True
