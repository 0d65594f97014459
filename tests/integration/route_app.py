"""A worker that routes EnrichedMentions read from ``mentions.enriched.v1`` (no model needed).

Run by test_route as ``faust -A tests.integration.route_app worker``. The real
worker routes inside its enrichment processes; this app runs the same pieces
in one process — the rules with their reload timer and SIGHUP hook, the
routing of :func:`pipelines.steps.prepare.prepare`, the Publish stage and the
spike agent — over enriched mentions the test writes with chosen localities.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

import faust

from common.deadletters import DeadLetterLimit
from common.settings import load_settings
from pipelines.agents import spikes
from pipelines.agents.rules import watch_rules
from pipelines.agents.streams import bytes_topic, event_batches
from pipelines.batch import Batch, Item
from pipelines.deadletters import DeadLetterer
from pipelines.settings import PipelineSettings
from pipelines.stages.publish import Publish
from pipelines.steps.prepare import prepare
from pipelines.topology import create_app
from schemas.codec import decode
from schemas.models import EnrichedMention

settings = load_settings(PipelineSettings)
pipeline = create_app(settings)
app, topics = pipeline.app, pipeline.topics
rules = watch_rules(app, settings)
route_dlq = DeadLetterer(topics.enriched_dlq, "route", DeadLetterLimit(100, "route"))
# This app reads mentions.enriched.v1, so what Publish writes there goes to a topic of its own.
echo = bytes_topic(app, settings.topic("route-app.enriched-echo"), internal=True, partitions=4)
publish = Publish(replace(topics, enriched=echo), route_dlq)


@app.task  # type: ignore[untyped-decorator]
async def declare_echo() -> None:
    """Nothing subscribes to the echo topic, so Faust would never create it (the broker
    creates no topic by itself); Publish's sends wait until it exists."""
    await echo.maybe_declare()


spikes.register(
    pipeline, rules, DeadLetterer(topics.enriched_dlq, "spikes", DeadLetterLimit(100, "spikes"))
)


@app.agent(topics.enriched, name="route")
async def route(stream: faust.StreamT[bytes]) -> None:
    async for events in event_batches(stream, 200, 0.2):
        now = datetime.now(UTC)
        batch = Batch(cast(faust.App, app), events, [], now, rules.generation)
        for event in events:
            try:
                mention = decode(event.value, EnrichedMention)
            except Exception as exc:
                await route_dlq.send(event, exc)
                continue
            batch.items.append(Item(event, prepare(mention, rules.current, now)))
        await publish(batch)
        await batch.durable()
