"""Copies across sources: the first sighting of a link or text stays, later ones are marked.

The table holds the first sighting per dedupe key (changelogged, so it survives
restarts and moves with its partition). A later mention under the same key
within the window is a copy: the enrichment processes mark it ``duplicate_of``
the first and route it again (it alerts under the first's alert id, so a
department hears of it once). A redelivered mention is not its own copy.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from faust.types import TableT

from common.dedupe import is_dedupe_key
from pipelines.batch import Batch
from pipelines.enrich_process import EnrichmentProcesses
from schemas.deadletter import Failure

log = logging.getLogger(__name__)


class FirstSightings:
    """First sighting per dedupe key, in a Faust table written by key."""

    def __init__(self, table: TableT[str, Any], window: timedelta) -> None:
        self._table = table
        self._window = window.total_seconds()

    def first_of(self, key: str, mention_id: str, at: float) -> str | None:
        """The mention this one (created at epoch ``at``) duplicates, or None (and then it
        becomes the first)."""
        if not is_dedupe_key(key):
            return None
        first = self._table.get(key)
        if first and first["id"] != mention_id and abs(at - first["at"]) <= self._window:
            return str(first["id"])
        if not first or first["id"] != mention_id:
            self._table[key] = {"id": mention_id, "at": at}
        return None

    def expire(self, now: float) -> int:
        """Forget sightings older than twice the window; return how many."""
        old = [k for k, v in self._table.items() if now - v["at"] > 2 * self._window]
        for key in old:
            del self._table[key]
        return len(old)


class Dedupe:
    """Stage: mark copies ``duplicate_of`` their first sighting."""

    def __init__(self, sightings: FirstSightings, enrichment: EnrichmentProcesses) -> None:
        self._sightings = sightings
        self._enrichment = enrichment

    async def __call__(self, batch: Batch) -> None:
        copies: list[tuple[int, str]] = []
        for slot, item in enumerate(batch.items):
            e = item.enriched
            first = self._sightings.first_of(e.key.decode(), e.mention_id, e.created_at)
            if first:
                copies.append((slot, first))
        if not copies:
            return
        marked = await self._enrichment.mark_copies(
            [(batch.items[slot].enriched.value, first) for slot, first in copies],
            batch.now,
            batch.rules_generation,
        )
        for (slot, first), outcome in zip(copies, marked, strict=True):
            if isinstance(outcome, Failure):  # cannot happen to a value we encoded; keep it
                log.error("could not mark %s a copy of %s: %s", slot, first, outcome.message)
                continue
            batch.items[slot].enriched = outcome
