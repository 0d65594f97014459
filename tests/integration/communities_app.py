"""A worker with the community pieces only, fed EnrichedMentions (no sentiment model needed).

Run by test_communities (and bench_communities) as ``faust -A tests.integration.communities_app
worker``. The real worker runs :class:`~pipelines.agents.communities.CommunityDeltas` as a
stage of its one pass; here an agent reading mentions.enriched.v1 hands it each batch, and
the book agent, table and timers are the pipeline's own.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import faust

from common.retry import FOREVER, retry_async
from common.settings import load_settings
from pipelines.agents import communities
from pipelines.agents.streams import event_batches
from pipelines.batch import Batch
from pipelines.settings import PipelineSettings
from pipelines.steps.erasure import TombstoneSettings, tombstone_guard
from pipelines.topology import create_app

settings = load_settings(PipelineSettings)
pipeline = create_app(settings)
app = pipeline.app
guard = tombstone_guard(load_settings(TombstoneSettings))
stage = communities.register(app, pipeline.topics, settings, guard)


@app.agent(pipeline.topics.enriched, name="communities")
async def enriched(stream: faust.StreamT[bytes]) -> None:
    within = float(os.environ.get("EARSHOT_COMMUNITY_BATCH_SECONDS", "1.0"))
    async for events in event_batches(stream, 500, within):
        await retry_async(guard.refresh, FOREVER)
        batch = Batch(app, events, [], datetime.now(UTC), 1)
        await stage.add(batch, [(event, event.value) for event in events])
        await batch.durable()
