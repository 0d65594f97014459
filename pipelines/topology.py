"""The Faust app and its topics, declared from settings, with no agent registered.

``pipelines.app`` builds the worker's app from it; a process that needs only
some agents (a test of routing alone) builds its own the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from pipelines.agents.streams import bytes_topic
from pipelines.delivery import AtLeastOnceApp
from pipelines.settings import PipelineSettings
from schemas.deadletter import dlq_topic


@dataclass(frozen=True)
class Topics:
    """Physical topics the agents read and write (names carry the deployment's prefix)."""

    raw: faust.TopicT
    raw_dlq: faust.TopicT
    dedupe: faust.TopicT
    enriched: faust.TopicT
    enriched_dlq: faust.TopicT
    alerts: faust.TopicT
    alerts_dlq: faust.TopicT


def create_app(settings: PipelineSettings) -> tuple[faust.App, Topics]:
    """Declare the app and its topics from settings."""
    app = AtLeastOnceApp(
        f"{settings.topic_prefix}{settings.app_id}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        datadir=str(settings.datadir),
        topic_partitions=settings.partitions,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        web_port=settings.web_port,
        web_host="127.0.0.1",
        store="memory://",
        broker_commit_every=200,
        broker_commit_interval=1.0,
    )
    t = settings.topic
    topics = Topics(
        raw=bytes_topic(app, t("mentions.raw.v1")),
        raw_dlq=bytes_topic(app, t(dlq_topic("mentions.raw.v1"))),
        dedupe=bytes_topic(
            app,
            f"{settings.topic_prefix}{settings.app_id}-dedupe",
            internal=True,
            partitions=settings.partitions,
        ),
        enriched=bytes_topic(app, t("mentions.enriched.v1")),
        enriched_dlq=bytes_topic(app, t(dlq_topic("mentions.enriched.v1"))),
        alerts=bytes_topic(app, t("alerts.v1")),
        alerts_dlq=bytes_topic(app, t(dlq_topic("alerts.v1"))),
    )
    return app, topics
