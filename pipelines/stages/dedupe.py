"""Copies across sources: the first sighting of a link or text stays, later ones are marked.

The table holds the first sighting per dedupe key. mentions.raw.v1 is keyed by
that key, so all sightings of a key are read by the worker that owns its
partition; the table's changelog is keyed the same way, so on a rebalance the
sightings move with the partition. A later mention under the same key within
the window is a copy: the enrichment processes mark it ``duplicate_of`` the
first and route it again (it alerts under the first's alert id, so a department
hears of it once). A redelivered mention is not its own copy.

The stage writes the table's store and produces its changelog records itself,
as part of the batch: the records are durable before the batch is acknowledged,
and the hot path skips Faust's per-key changelog machinery.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import faust
from faust.types import TableT

from common.dedupe import is_dedupe_key
from pipelines.batch import Batch
from pipelines.enrich_process import EnrichmentProcesses
from schemas.deadletter import Failure

log = logging.getLogger(__name__)


def _sighting(mention_id: str, at: float) -> bytes:
    return f"{mention_id} {at!r}".encode()


def _parse(value: bytes | None) -> tuple[str, float] | None:
    try:
        ident, at = (value or b"").decode().split(" ")
        return ident, float(at)
    except ValueError:  # not a sighting this version wrote: as if absent
        return None


class FirstSightings:
    """First sighting per dedupe key: ``key → b"<mention id> <epoch seconds>"``."""

    def __init__(self, table: TableT[bytes, bytes], window: timedelta) -> None:
        self._table = table
        self._window = window.total_seconds()

    def sight(self, key: bytes, mention_id: str, at: float) -> tuple[str | None, bytes | None]:
        """``(first, record)``: the mention this one (created at epoch ``at``) duplicates, or
        None; and the value to log to the changelog when this one became the first."""
        if not is_dedupe_key(key):
            return None, None
        store = self._table.data
        first = _parse(store.get(key))
        if first and first[0] != mention_id and abs(at - first[1]) <= self._window:
            return first[0], None
        if first and first[0] == mention_id:
            return None, None  # a redelivery, or an edit: still the first
        record = _sighting(mention_id, at)
        store[key] = record
        return None, record

    def expire(self, now: float) -> int:
        """Forget sightings older than twice the window (through the table: it logs the
        deletions); return how many."""
        old = [
            key
            for key, value in self._table.data.items()
            if (seen := _parse(value)) is None or now - seen[1] > 2 * self._window
        ]
        for key in old:
            del self._table[key]
        return len(old)


class Dedupe:
    """Stage: mark copies ``duplicate_of`` their first sighting; log new first sightings."""

    def __init__(
        self,
        sightings: FirstSightings,
        changelog: faust.TopicT,
        enrichment: EnrichmentProcesses,
    ) -> None:
        self._sightings = sightings
        self._changelog = changelog
        self._enrichment = enrichment

    async def __call__(self, batch: Batch) -> None:
        copies: list[tuple[int, str]] = []
        for slot, item in enumerate(batch.items):
            e = item.enriched
            first, record = self._sightings.sight(e.key, e.mention_id, e.created_at)
            if record is not None:
                # The raw record's partition is its key's (Reroute saw to it): no need to hash.
                await batch.produce(
                    self._changelog, e.key, record, partition=item.event.message.partition
                )
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
