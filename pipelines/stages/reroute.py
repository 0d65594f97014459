"""Raw mentions keyed some other way go back to mentions.raw.v1 under their dedupe key.

Copies can only be recognised where they meet: in the partition of their dedupe
key, whose worker holds that part of the dedupe table. Ingestion keys raw
mentions that way (:func:`common.dedupe.partition_key`); a record another
producer keyed by something else (a mention id, nothing) is produced again
under its dedupe key and acknowledged here, so it is enriched and deduped by
the worker that owns that partition. Mentions without a dedupe key cannot have
copies and stay where they are.
"""

from __future__ import annotations

import logging

import faust

from common.dedupe import is_dedupe_key, partition_of
from pipelines.batch import Batch, Item

log = logging.getLogger(__name__)
REROUTED_HEADER = "earshot.rerouted"


class Reroute:
    """Stage: send items whose dedupe key belongs to another partition to that partition."""

    def __init__(self, raw: faust.TopicT, partitions: int) -> None:
        self._raw = raw
        self._partitions = partitions
        self.rerouted = 0

    def _misplaced(self, item: Item) -> bool:
        key = item.enriched.key
        if item.event.key == key or not is_dedupe_key(key):
            return False  # produced under its dedupe key, so in that key's partition already
        message = item.event.message
        if partition_of(key, self._partitions) == message.partition:
            return False
        if any(name == REROUTED_HEADER for name, _ in _headers(item)):
            # Already rerouted once and still not where its key says: the topic's partition
            # count is not the worker's. Process it here rather than loop.
            log.error("rerouted mention %s landed in partition %d again", key, message.partition)
            return False
        return True

    async def __call__(self, batch: Batch) -> None:
        stay: list[Item] = []
        for item in batch.items:
            if not self._misplaced(item):
                stay.append(item)
                continue
            await batch.produce(
                self._raw, item.enriched.key, item.event.value, headers=[(REROUTED_HEADER, b"1")]
            )
            self.rerouted += 1
            if self.rerouted == 1 or self.rerouted % 1000 == 0:
                log.warning(
                    "%d raw mention(s) so far were not keyed by their dedupe key; each is sent "
                    "again under it (and enriched twice). Key mentions.raw.v1 with "
                    "common.dedupe.partition_key",
                    self.rerouted,
                )
        batch.items = stay


def _headers(item: Item) -> list[tuple[str, bytes]]:
    headers = item.event.headers
    if not headers:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)
