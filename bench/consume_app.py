"""A Faust worker that only reads mentions.enriched.v1 in batches and does nothing else.

``bench_communities`` runs it to measure what a separate consumer costs before any work:
the floor under the community agents' own cost when they read the topic again.
"""

from __future__ import annotations

import faust

from common.settings import load_settings
from pipelines.agents.streams import event_batches
from pipelines.settings import PipelineSettings
from pipelines.topology import create_app

settings = load_settings(PipelineSettings)
app, topics = create_app(settings)


@app.agent(topics.enriched, name="consume-only")
async def consume_only(stream: faust.StreamT[bytes]) -> None:
    async for events in event_batches(stream, 500, 1.0):
        del events
