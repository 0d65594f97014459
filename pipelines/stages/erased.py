"""Erased authors: their mentions are acknowledged and never stored, published or routed again."""

from __future__ import annotations

from common.retry import FOREVER, retry_async
from pipelines.batch import Batch
from pipelines.steps.erasure import TombstoneGuard


class SkipErased:
    """Stage: flag items by erased authors (the later stages leave them out)."""

    def __init__(self, guard: TombstoneGuard) -> None:
        self._guard = guard

    async def __call__(self, batch: Batch) -> None:
        # Before the first batch the set is read whole; after that it is refreshed when due,
        # and a set too stale to trust holds the batch until it can be read.
        await retry_async(self._guard.refresh, FOREVER)
        for item in batch.items:
            item.erased = self._guard.erased(item.enriched.author)
