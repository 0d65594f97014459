"""The Faust app of the worker, wired in this one place.

Run a worker with ``faust -A pipelines.app worker -l info``; more workers in the
same group share the partitions. The worker refuses to start when a topic it
needs is missing or not as declared (``earshot topics`` creates them).

What runs, in order:

* the enrich agent reads mentions.raw.v1 in batches, has the enrichment
  processes enrich and route them, and runs ``STAGES`` on each batch, in read
  order, acknowledging only once all of it is durable;
* the spike agent counts the ticks that stage sent and raises spike alerts;
* the community book agent applies the deltas the communities stage sent, and timers write
  the communities' records;
* timers reload the rules (also on SIGHUP) and forget old dedupe sightings.

To plug in a per-batch observer (it sees every enriched mention, after dedupe,
without another consume), add a :class:`pipelines.batch.Stage` to ``STAGES``.
A new agent with its own input registers below, after the others.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta

from common.deadletters import DeadLetterLimit
from common.elastic import async_es_client
from common.logsummary import summarise_outages
from common.settings import load_settings
from pipelines.agents import communities, enrich, spikes
from pipelines.agents.enrich import HotPath
from pipelines.agents.rules import watch_rules
from pipelines.batch import Stage
from pipelines.deadletters import DeadLetterer
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.settings import PipelineSettings
from pipelines.stages.dedupe import Dedupe, FirstSightings
from pipelines.stages.erased import SkipErased
from pipelines.stages.index import Index
from pipelines.stages.publish import Publish
from pipelines.stages.reroute import Reroute
from pipelines.steps.erasure import TombstoneSettings, tombstone_guard
from pipelines.topology import TopologyError, check_topics, create_app

log = logging.getLogger(__name__)
# A line per bulk request (several a second) and per dead node retry say nothing the
# stages do not: the Index stage and the bulk writer log waits and refusals themselves.
logging.getLogger("elastic_transport").setLevel(logging.ERROR)

settings = load_settings(PipelineSettings)
summarise_outages()  # one line per Kafka/Elasticsearch outage, not one per reconnect attempt
# kafka-python serves only the tombstone reader here; its INFO lines (bootstrap, IO loop,
# metadata) on every reconnect are noise beside Faust's own, so only its warnings show.
logging.getLogger("kafka").setLevel(logging.WARNING)
try:
    check_topics(settings)
except TopologyError as exc:
    sys.stderr.write(f"earshot worker: {exc}\n")
    raise SystemExit(2) from exc

pipeline = create_app(settings)
app, topics = pipeline.app, pipeline.topics
rules = watch_rules(app, settings)  # reloaded on change and on SIGHUP
enrichment = EnrichmentProcesses.spawn(settings)  # loads while the worker joins its group
erased = tombstone_guard(load_settings(TombstoneSettings))  # one per worker, shared
es = async_es_client(settings)
sightings = FirstSightings(
    pipeline.tables.first_seen, timedelta(hours=settings.dedupe_window_hours)
)


def _dlq(topic_name: str, stage: str) -> DeadLetterer:
    topic = getattr(topics, topic_name)
    return DeadLetterer(topic, stage, DeadLetterLimit(settings.dead_letter_limit, stage))


# Agents with their own input register here, after the others; a per-batch observer also
# gives the hot path a stage (the communities' deltas are one).
community_deltas = communities.register(app, topics, settings, erased)

STAGES: tuple[Stage, ...] = (
    Reroute(topics.raw, settings.partitions),
    Dedupe(sightings, pipeline.tables.first_seen.changelog_topic, enrichment),
    SkipErased(erased),
    Index(es, settings.index_prefix, _dlq("enriched_dlq", "index")),
    Publish(topics, _dlq("enriched_dlq", "route")),
    community_deltas,
)

enrich.register(
    app,
    topics.raw,
    HotPath(
        app,
        enrichment,
        rules,
        STAGES,
        _dlq("raw_dlq", "enrich"),
        batch_max=settings.enrich_batch_max,
        batch_seconds=settings.enrich_batch_seconds,
        # One batch enriching per process and one being written: no process waits.
        depth=settings.enrichment_processes(),
    ),
)
spikes.register(pipeline, rules, _dlq("enriched_dlq", "spikes"))


@app.timer(interval=3600.0)  # type: ignore[untyped-decorator]
async def forget_old_sightings() -> None:
    forgotten = sightings.expire(time.time())
    if forgotten:
        log.info("dedupe: forgot %d sightings older than twice the window", forgotten)


async def _close_enrichment() -> None:
    enrichment.close()


async def _close_tombstones() -> None:
    erased.reader.close()


app.close_on_stop("elasticsearch client", es.close)
app.close_on_stop("enrichment processes", _close_enrichment)
app.close_on_stop("tombstone reader", _close_tombstones)
