"""Route and spike agents: mentions.enriched.v1 → rules → alerts.v1, and hourly spikes.

The route agent evaluates the current rules on a micro-batch and produces one
Alert per (mention, matching rule) keyed by its deterministic ``alert_id``; it
also re-keys one small tick per (ward, topic) to an internal topic, so each
(ward, topic) is counted in one partition by the spike agent's windowed table
(Faust tables are sharded by the partition of the event being processed).
Both acknowledge only after their output is durably produced; bad messages are
dead-lettered. Rules reload when the file changes (polled) or on SIGHUP; a
broken file keeps the previous rules and logs why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import faust
from faust.types import EventT

from common.retry import FOREVER, retry_async
from common.routing.config import SpikeSettings
from common.routing.load import load_routing, taxonomy_topics
from common.routing.reload import Reloading
from common.settings import load_settings
from pipelines.agents.deadletters import DeadLetterer
from pipelines.agents.streams import bytes_topic, event_batches
from pipelines.settings import PipelineSettings
from pipelines.steps.erasure import TombstoneGuard, TombstoneSettings, tombstone_guard
from pipelines.steps.rules import RuleEngine
from pipelines.steps.spikes import HOUR, SpikeTick, assess, spike_alert, ticks
from schemas.codec import decode, encode
from schemas.models import EnrichedMention

log = logging.getLogger(__name__)
TABLE_HOURS = 24 * 30 + 2
"""Hourly windows the spike table keeps: the longest allowed baseline plus the current hour."""


class RouteTopics(Protocol):
    """The topics of :class:`pipelines.topology.Topics` this module uses."""

    @property
    def enriched(self) -> faust.TopicT: ...
    @property
    def enriched_dlq(self) -> faust.TopicT: ...
    @property
    def alerts(self) -> faust.TopicT: ...


def routing_file(settings: PipelineSettings) -> Path:
    """The departments file the route agent reads."""
    return settings.departments_file or settings.config_dir / "departments.yaml"


def load_rules(settings: PipelineSettings) -> Reloading[RuleEngine]:
    """Load the rules now (raising on a broken file) into a reloading holder."""
    known = taxonomy_topics(settings.config_dir)
    rules = Reloading(
        routing_file(settings), lambda p: RuleEngine(load_routing(p, known)), "routing rules"
    )
    config = rules.current.config
    log.info(
        "routing: %d rules for %d departments from %s",
        len(rules.current.rules),
        len(config.departments),
        rules.path,
    )
    return rules


async def route_batch(
    events: Sequence[EventT[bytes]],
    engine: RuleEngine,
    alerts: faust.TopicT,
    spike_ticks: faust.TopicT,
    dlq: DeadLetterer,
    *,
    erased: TombstoneGuard | None = None,
) -> int:
    """Route one batch; return how many mentions were routed (the rest were dead-lettered).

    Mentions by erased authors (``erased``) are acknowledged without alerts, so a replay
    never emails a department about a person who asked to be forgotten.
    """
    now = datetime.now(UTC)
    pending: list[Any] = []
    routed = 0
    for event in events:
        try:
            mention = decode(event.value, EnrichedMention)
            if erased is not None and erased.erased(mention.author):
                continue
            out = [(a.alert_id.encode(), encode(a)) for a in engine.route(mention, now)]
            counted = ticks(mention, engine.config.spikes, now)
        except Exception as exc:  # whatever breaks one mention must not stop the stream
            await dlq.send(event, exc)
            continue
        for key, value in out:
            pending.append(await alerts.send(key=key, value=value))
        for tick in counted:
            # The tick's Kafka timestamp is its event time: the windowed table reads it.
            pending.append(
                await spike_ticks.send(
                    key=tick.key.encode(), value=tick.encode(), timestamp=tick.at
                )
            )
        routed += 1
    if pending:
        await asyncio.gather(*pending)
    dlq.succeeded(routed)
    return routed


class SpikeCounter:
    """Hourly counts per (council, ward, topic) in a tumbling windowed table."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._raised: set[str] = set()

    def add(self, tick: SpikeTick, event: EventT[bytes], hours: int) -> tuple[int, list[int]]:
        """Count ``tick`` (inside stream iteration); return this hour's count and the history."""
        window = self._table[tick.key]
        window += 1
        count = int(window.current(event))
        history = [int(window.delta(HOUR * i, event)) for i in range(1, hours + 1)]
        return count, history

    def first_time(self, alert_id: str) -> bool:
        """True the first time this process raises ``alert_id`` (the notifier dedupes restarts)."""
        if alert_id in self._raised:
            return False
        if len(self._raised) > 10_000:
            self._raised.clear()
        self._raised.add(alert_id)
        return True


async def count_tick(
    event: EventT[bytes], counter: SpikeCounter, rules: Reloading[RuleEngine], alerts: faust.TopicT
) -> None:
    """Count one tick and produce a spike alert the first time its hour crosses the threshold."""
    tick = SpikeTick.decode(event.value)
    config = rules.current.config
    settings: SpikeSettings = config.spikes
    hours = min(settings.baseline_hours, TABLE_HOURS - 2)
    count, history = counter.add(tick, event, hours)
    if not settings.enabled:
        return
    verdict = assess(count, history, settings)
    if not verdict.spike:
        return
    department = config.owner_of(tick.council, tick.topic)
    if department is None:
        log.info("spike in %s for %s but no department owns that topic", tick.key, tick.topic)
        return
    alert = spike_alert(tick, verdict, department, settings, datetime.now(UTC))
    if counter.first_time(alert.alert_id):
        await (await alerts.send(key=alert.alert_id.encode(), value=encode(alert)))
        log.warning("spike alert %s: %s", alert.alert_id, alert.reasons[0].detail)


def register(app: faust.App, topics: RouteTopics, settings: PipelineSettings) -> None:
    """Declare the route and spike agents, the rules reload timer and the SIGHUP hook."""
    rules = load_rules(settings)
    route_dlq = DeadLetterer(topics.enriched_dlq, "route", settings.dead_letter_limit)
    erased = tombstone_guard(load_settings(TombstoneSettings))
    spike_dlq = DeadLetterer(topics.enriched_dlq, "spikes", settings.dead_letter_limit)
    spike_ticks = bytes_topic(
        app,
        f"{settings.topic_prefix}{settings.app_id}-spike-ticks",
        internal=True,
        partitions=settings.partitions,
    )
    table = (
        app.Table("spike-counts", default=int, partitions=settings.partitions)
        .tumbling(HOUR, expires=timedelta(hours=TABLE_HOURS))
        .relative_to_stream()
    )
    counter = SpikeCounter(table)

    @app.agent(topics.enriched, name="route")
    async def route(stream: faust.StreamT[bytes]) -> None:
        await retry_async(lambda: erased.refresh(force=True), FOREVER)
        async for events in event_batches(
            stream, settings.route_batch_max, settings.route_batch_seconds
        ):
            await retry_async(erased.refresh, FOREVER)
            await route_batch(
                events, rules.current, topics.alerts, spike_ticks, route_dlq, erased=erased
            )

    @app.agent(spike_ticks, name="spikes")
    async def spikes(stream: faust.StreamT[bytes]) -> None:
        # One event at a time: the table writes to the changelog partition of the current event.
        async for event in stream.events():
            try:
                await count_tick(event, counter, rules, topics.alerts)
            except Exception as exc:
                await spike_dlq.send(event, exc)
                continue
            spike_dlq.succeeded()

    async def reload_rules() -> None:
        rules.poll()

    async def reload_on_sighup() -> None:
        rules.reload_on_sighup(asyncio.get_running_loop())

    app.timer(interval=settings.rules_poll_seconds)(reload_rules)
    app.task(reload_on_sighup)
    del route, spikes
