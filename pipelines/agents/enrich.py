"""Enrich and dedupe agents: mentions.raw.v1 → (dedupe by content) → mentions.enriched.v1.

The enrich agent hands a micro-batch of raw payloads to the enrichment
processes (``pipelines.enrich_process``: decode, language, sentiment in
batches, locality, topics, encode) and produces each result re-keyed by its
dedupe key, so that copies of the same link or text meet in one partition,
where the dedupe agent's table marks later copies ``duplicate_of`` the first.
Both acknowledge a batch only after its output (or its dead letters) is
durably produced.
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

from common.retry import RetriesExhausted
from pipelines.agents.deadletters import EXIT_ENRICHMENT_DIED, DeadLetterer, stop_worker
from pipelines.agents.streams import event_batches, key_text
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.settings import PipelineSettings
from pipelines.topology import Topics
from schemas.codec import decode, encode
from schemas.deadletter import Failure
from schemas.models import EnrichedMention

log = logging.getLogger(__name__)


async def _await_all(pending: Sequence[Any]) -> None:
    """Wait until every produced message is acknowledged by the broker (acks=all)."""
    if pending:
        await asyncio.gather(*pending)


async def enrich_batch(
    events: Sequence[EventT[bytes]],
    enrichment: EnrichmentProcesses,
    out: faust.TopicT,
    dlq: DeadLetterer,
) -> int:
    """Enrich one batch and produce it keyed by dedupe key; failures go to the DLQ."""
    try:
        outcomes = await enrichment.enrich([event.value for event in events], datetime.now(UTC))
    except RetriesExhausted as exc:
        stop_worker(f"enrichment processes keep dying ({exc})", EXIT_ENRICHMENT_DIED)
    pending = []
    for event, outcome in zip(events, outcomes, strict=True):
        if isinstance(outcome, Failure):
            await dlq.send(event, outcome)
            continue
        headers = {
            MENTION_ID_HEADER: outcome.mention_id.encode(),
            CREATED_AT_HEADER: repr(outcome.created_at).encode(),
        }
        pending.append(await out.send(key=outcome.key, value=outcome.value, headers=headers))
    await _await_all(pending)
    dlq.succeeded(len(pending))
    return len(pending)


class DedupeState:
    """First sighting per dedupe key, in a Faust table (changelogged, so it survives restarts)."""

    def __init__(self, table: TableT[str, Any], window: timedelta) -> None:
        self._table = table
        self._window = window.total_seconds()

    def first_of(self, key: str, mention_id: str, at: float) -> str | None:
        """The mention this one (created at epoch ``at``) duplicates, or None (and then it
        becomes the first)."""
        if not key.startswith(("link:", "text:")):
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


MENTION_ID_HEADER = "earshot.mention_id"
CREATED_AT_HEADER = "earshot.created_at"


def dedupe_one(event: EventT[bytes], state: DedupeState) -> tuple[str, bytes]:
    """The mention's id and its value for mentions.enriched.v1, marked if it is a copy.

    The enrich stage's headers carry what the table needs, so a first sighting (nearly
    all) passes through as the bytes the enrich stage validated; without them (a record
    from an older worker) the value is decoded.
    """
    headers = event.headers or {}
    mention_id, created_at = headers.get(MENTION_ID_HEADER), headers.get(CREATED_AT_HEADER)
    if mention_id is None or created_at is None:
        mention = decode(event.value, EnrichedMention)
        ident, at = mention.mention_id, mention.created_at.timestamp()
    else:
        ident, at = mention_id.decode(), float(created_at)
    first = state.first_of(key_text(event), ident, at)
    if not first:
        return ident, event.value
    marked = decode(event.value, EnrichedMention).model_copy(update={"duplicate_of": first})
    return ident, encode(marked)


def register(app: faust.App, topics: Topics, settings: PipelineSettings) -> None:
    """Declare the enrich and dedupe agents on ``app``."""
    enrichment = EnrichmentProcesses.start(settings)
    raw_dlq = DeadLetterer(topics.raw_dlq, "enrich", settings.dead_letter_limit)
    dedupe_dlq = DeadLetterer(topics.raw_dlq, "dedupe", settings.dead_letter_limit)
    # The changelog partition follows the key (the producer's partitioner), exactly as the
    # dedupe topic is keyed, so batch items and the expiry timer can write without a
    # "current event" and the table stays co-partitioned with its source.
    table = app.Table(
        "dedupe-first-seen", default=None, partitions=settings.partitions, use_partitioner=True
    )
    state = DedupeState(table, timedelta(hours=settings.dedupe_window_hours))

    # One batch more in flight than there are processes: a process never waits while
    # the previous batch's results are produced.
    @app.agent(topics.raw, name="enrich", concurrency=settings.enrichment_processes() + 1)
    async def enrich(stream: faust.StreamT[bytes]) -> None:
        async for events in event_batches(
            stream, settings.enrich_batch_max, settings.enrich_batch_seconds
        ):
            await enrich_batch(events, enrichment, topics.dedupe, raw_dlq)

    @app.agent(topics.dedupe, name="dedupe")
    async def dedupe(stream: faust.StreamT[bytes]) -> None:
        async for events in event_batches(
            stream, settings.enrich_batch_max, settings.enrich_batch_seconds
        ):
            pending = []
            for event in events:
                try:
                    mention_id, value = dedupe_one(event, state)
                except Exception as exc:
                    await dedupe_dlq.send(event, exc)
                    continue
                pending.append(await topics.enriched.send(key=mention_id.encode(), value=value))
            await _await_all(pending)
            dedupe_dlq.succeeded(len(pending))

    @app.timer(interval=3600.0)  # type: ignore[untyped-decorator]  # faust leaves timer untyped
    async def forget_old_sightings() -> None:
        forgotten = state.expire(time.time())
        if forgotten:
            log.info("dedupe: forgot %d sightings older than twice the window", forgotten)

    del enrich, dedupe, forget_old_sightings
