"""Enrich and dedupe agents: mentions.raw.v1 → (dedupe by content) → mentions.enriched.v1.

The enrich agent decodes a micro-batch, enriches it in one call (sentiment is
batched), and re-keys each result by its dedupe key so that copies of the same
link or text meet in one partition, where the dedupe agent's table marks later
copies ``duplicate_of`` the first. Both acknowledge a batch only after its
output (or its dead letters) is durably produced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.types import EventT, TableT

from pipelines.agents.deadletters import DeadLetterer
from pipelines.agents.streams import event_batches, key_text
from pipelines.resources import build_enricher
from pipelines.settings import PipelineSettings
from pipelines.steps.dedupe import dedupe_key
from pipelines.steps.enrich import Enricher
from pipelines.topology import Topics
from schemas.codec import decode, encode
from schemas.models import EnrichedMention, Mention

log = logging.getLogger(__name__)


async def _await_all(pending: Sequence[Any]) -> None:
    """Wait until every produced message is acknowledged by the broker (acks=all)."""
    if pending:
        await asyncio.gather(*pending)


async def enrich_batch(
    events: Sequence[EventT[bytes]], enricher: Enricher, out: faust.TopicT, dlq: DeadLetterer
) -> int:
    """Enrich one batch; poison messages are dead-lettered, one by one if the batch fails."""
    decoded: list[tuple[EventT[bytes], Mention]] = []
    for event in events:
        try:
            decoded.append((event, decode(event.value, Mention)))
        except Exception as exc:  # any bad payload, whatever the cause, goes to the DLQ
            await dlq.send(event, exc)
    now = datetime.now(UTC)
    try:
        # In a thread: the model releases the GIL, so dedupe, index and route agents keep
        # moving while a batch is scored.
        results = await asyncio.to_thread(enricher.enrich, [m for _, m in decoded], now)
        pairs = list(zip(decoded, results, strict=True))
    except Exception:
        log.exception("batch enrichment failed; isolating the message that breaks it")
        pairs = []
        for event, mention in decoded:
            try:
                pairs.append(((event, mention), enricher.enrich([mention], now)[0]))
            except Exception as exc:
                await dlq.send(event, exc)
    pending = []
    for (_, mention), enriched in pairs:
        key = dedupe_key(mention) or f"id:{mention.mention_id}"
        pending.append(await out.send(key=key.encode(), value=encode(enriched)))
    await _await_all(pending)
    dlq.succeeded(len(pairs))
    return len(pairs)


class DedupeState:
    """First sighting per dedupe key, in a Faust table (changelogged, so it survives restarts)."""

    def __init__(self, table: TableT[str, Any], window: timedelta) -> None:
        self._table = table
        self._window = window.total_seconds()

    def first_of(self, key: str, mention: EnrichedMention) -> str | None:
        """The mention this one duplicates, or None (and then it becomes the first)."""
        if not key.startswith(("link:", "text:")):
            return None
        at = mention.created_at.timestamp()
        first = self._table.get(key)
        if first and first["id"] != mention.mention_id and abs(at - first["at"]) <= self._window:
            return str(first["id"])
        if not first or first["id"] != mention.mention_id:
            self._table[key] = {"id": mention.mention_id, "at": at}
        return None

    def expire(self, now: float) -> int:
        """Forget sightings older than twice the window; return how many."""
        old = [k for k, v in self._table.items() if now - v["at"] > 2 * self._window]
        for key in old:
            del self._table[key]
        return len(old)


def register(app: faust.App, topics: Topics, settings: PipelineSettings) -> None:
    """Declare the enrich and dedupe agents on ``app``."""
    enricher = build_enricher(settings)
    raw_dlq = DeadLetterer(topics.raw_dlq, "enrich", settings.dead_letter_limit)
    dedupe_dlq = DeadLetterer(topics.raw_dlq, "dedupe", settings.dead_letter_limit)
    # The changelog partition follows the key (the producer's partitioner), exactly as the
    # dedupe topic is keyed, so batch items and the expiry timer can write without a
    # "current event" and the table stays co-partitioned with its source.
    table = app.Table(
        "dedupe-first-seen", default=None, partitions=settings.partitions, use_partitioner=True
    )
    state = DedupeState(table, timedelta(hours=settings.dedupe_window_hours))

    @app.agent(topics.raw, name="enrich")
    async def enrich(stream: faust.StreamT[bytes]) -> None:
        async for events in event_batches(
            stream, settings.enrich_batch_max, settings.enrich_batch_seconds
        ):
            await enrich_batch(events, enricher, topics.dedupe, raw_dlq)

    @app.agent(topics.dedupe, name="dedupe")
    async def dedupe(stream: faust.StreamT[bytes]) -> None:
        async for events in event_batches(
            stream, settings.enrich_batch_max, settings.enrich_batch_seconds
        ):
            pending = []
            for event in events:
                try:
                    mention = decode(event.value, EnrichedMention)
                    first = state.first_of(key_text(event), mention)
                    if first:
                        mention = mention.model_copy(update={"duplicate_of": first})
                    value = encode(mention)
                except Exception as exc:
                    await dedupe_dlq.send(event, exc)
                    continue
                pending.append(
                    await topics.enriched.send(key=mention.mention_id.encode(), value=value)
                )
            await _await_all(pending)
            dedupe_dlq.succeeded(len(pending))

    @app.timer(interval=3600.0)  # type: ignore[untyped-decorator]  # faust leaves timer untyped
    async def forget_old_sightings() -> None:
        forgotten = state.expire(time.time())
        if forgotten:
            log.info("dedupe: forgot %d sightings older than twice the window", forgotten)

    del enrich, dedupe, forget_old_sightings
