"""Every topic and table the worker uses, declared in one place, from settings.

Declared topics (``schemas/topics/*.yaml``) must exist with their declared
partitions before a worker starts (:func:`check_topics`); the worker's internal
topics (spike ticks, table changelogs) are created by Faust with ``partitions``.
Tables are declared here too, because each one is a topic (its changelog).

``pipelines.app`` builds the worker from this; a test app that needs only part
of the pipeline builds its own the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import faust
from faust.types import TableT

from common.retry import FOREVER, Retryable, retry_sync
from common.topics import declarations, topic_problems
from pipelines.agents.streams import bytes_topic
from pipelines.lifecycle import WorkerApp
from pipelines.settings import PipelineSettings
from pipelines.steps.spikes import HOUR
from schemas.deadletter import dlq_topic

log = logging.getLogger(__name__)

RAW = "mentions.raw.v1"
ENRICHED = "mentions.enriched.v1"
ALERTS = "alerts.v1"
DECLARED = (RAW, dlq_topic(RAW), ENRICHED, dlq_topic(ENRICHED), ALERTS, dlq_topic(ALERTS))
"""Declared topics the worker reads or writes; it refuses to start unless all are as declared."""

SPIKE_TABLE_HOURS = 24 * 30 + 2
"""Hourly windows the spike table keeps: the longest allowed baseline plus the current hour."""


@dataclass(frozen=True)
class Topics:
    """Physical topics the agents read and write (names carry the deployment's prefix)."""

    raw: faust.TopicT
    raw_dlq: faust.TopicT
    enriched: faust.TopicT
    enriched_dlq: faust.TopicT
    alerts: faust.TopicT
    alerts_dlq: faust.TopicT
    spike_ticks: faust.TopicT
    """Internal: one tick per (council, ward, topic) and hour, keyed so each is counted in one place."""


@dataclass(frozen=True)
class Tables:
    """State with changelogs (internal topics ``<app>-<table>-changelog``)."""

    first_seen: TableT[bytes, bytes]
    """Dedupe: first sighting per dedupe key, keys and values raw bytes. Its changelog records
    are keyed by the dedupe key's own bytes, exactly as mentions.raw.v1 is, so they land in
    the partition of the raw records they serve and move with it."""
    spike_counts: Any
    """Hourly counts per spike tick key, in tumbling windows (sharded by the tick's partition)."""


@dataclass(frozen=True)
class Pipeline:
    app: WorkerApp
    topics: Topics
    tables: Tables


class TopologyError(RuntimeError):
    """The worker's topics or settings do not match the declarations; the message says how."""


def create_app(settings: PipelineSettings) -> Pipeline:
    """Declare the app, its topics and its tables from settings (no agent registered)."""
    app = WorkerApp(
        f"{settings.topic_prefix}{settings.app_id}",
        shutdown_grace=settings.shutdown_grace_seconds,
        Worker="pipelines.lifecycle:Worker",
        broker=f"kafka://{settings.kafka_bootstrap}",
        datadir=str(settings.datadir),
        topic_partitions=settings.partitions,
        producer_acks=-1,
        # A batch's enriched mentions (~2 KB each) go out in a few requests, not one per 16 KB.
        producer_max_batch_size=512 * 1024,
        consumer_auto_offset_reset="earliest",
        # Faust creates its internal topics (changelogs, spike ticks, community deltas) and
        # subscribes at once; when the broker's metadata does not list a new topic yet, the
        # consumer ignores it until its next metadata refresh (aiokafka: 5 minutes), so a
        # fresh worker's tables and internal agents sat still for minutes. 5 s bounds that.
        consumer_metadata_max_age_ms=5_000,
        web_port=settings.web_port,
        web_host="127.0.0.1",
        store="memory://",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # Back within seconds: a dead worker's partitions move after the session, and with a
        # static instance id a restarted worker takes its own back without a rebalance.
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_interval_seconds,
        consumer_group_instance_id=settings.worker_instance_id,
        # A standby would read every other worker's changelogs all the time; recovering a
        # partition's dedupe window from its changelog takes seconds, so none are kept.
        table_standby_replicas=0,
    )
    t = settings.topic
    internal = f"{settings.topic_prefix}{settings.app_id}"
    topics = Topics(
        raw=bytes_topic(app, t(RAW)),
        raw_dlq=bytes_topic(app, t(dlq_topic(RAW))),
        enriched=bytes_topic(app, t(ENRICHED)),
        enriched_dlq=bytes_topic(app, t(dlq_topic(ENRICHED))),
        alerts=bytes_topic(app, t(ALERTS)),
        alerts_dlq=bytes_topic(app, t(dlq_topic(ALERTS))),
        spike_ticks=bytes_topic(
            app, f"{internal}-spike-ticks", internal=True, partitions=settings.partitions
        ),
    )
    tables = Tables(
        first_seen=app.Table(
            "dedupe-sightings",
            default=None,
            partitions=settings.partitions,
            use_partitioner=True,
            # bytes: raw serializers, not Faust's json ('"text:…"' hashes to another partition)
            key_type=bytes,
            value_type=bytes,
        ),
        spike_counts=app.Table("spike-counts", default=int, partitions=settings.partitions)
        .tumbling(HOUR, expires=timedelta(hours=SPIKE_TABLE_HOURS))
        .relative_to_stream(),
    )
    return Pipeline(app, topics, tables)


def check_topics(settings: PipelineSettings, names: tuple[str, ...] = DECLARED) -> None:
    """Raise TopologyError unless every topic in ``names`` exists as declared and the worker's
    partition count matches mentions.raw.v1's (its tables are partitioned like it).

    Waits (retrying) while Kafka cannot be reached: a down broker delays the start.
    """
    declared = declarations()[RAW].partitions
    if settings.partitions != declared:
        raise TopologyError(
            f"EARSHOT_PARTITIONS={settings.partitions} but {RAW} is declared with {declared} "
            "partitions: the dedupe table must be partitioned like the raw topic"
        )

    def problems() -> list[str]:
        try:
            return topic_problems(settings.kafka_bootstrap, settings.topic_prefix, names)
        except Exception as exc:  # no broker yet: wait for it, do not refuse to start
            raise Retryable(f"cannot read topics from {settings.kafka_bootstrap}: {exc}") from exc

    def waiting(attempt: int, exc: Retryable, wait: float) -> None:
        if attempt in (0, 5) or attempt % 20 == 0:
            log.warning("%s; retrying in %.1fs (attempt %d)", exc, wait, attempt + 1)

    found = retry_sync(problems, FOREVER, on_retry=waiting)
    if found:
        raise TopologyError(
            "topics not as declared: " + "; ".join(found) + " (create them: earshot topics)"
        )
