"""Spike agent: hourly counts per (council, ward, topic) → a spike alert when an hour stands out.

The enrich agent sends one tick per (council, ward, topic) and hour per batch,
keyed so each is counted in one partition; this agent adds them up in a
tumbling windowed table (sharded by the partition of the tick being processed,
so it reads one event at a time) and raises the hour's alert once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from common.routing.config import SpikeSettings
from common.routing.reload import Reloading
from pipelines.deadletters import DeadLetterer
from pipelines.steps.rules import RuleEngine
from pipelines.steps.spikes import HOUR, SpikeTick, assess, spike_alert
from pipelines.topology import SPIKE_TABLE_HOURS, Pipeline
from schemas.codec import encode

log = logging.getLogger(__name__)


class SpikeCounter:
    """Hourly counts per (council, ward, topic) in a tumbling windowed table."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._raised: set[str] = set()

    def add(self, tick: SpikeTick, event: EventT[bytes], hours: int) -> tuple[int, list[int]]:
        """Count ``tick`` (inside stream iteration); return this hour's count and the history."""
        window = self._table[tick.key]
        window += tick.count
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
    hours = min(settings.baseline_hours, SPIKE_TABLE_HOURS - 2)
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


def register(pipeline: Pipeline, rules: Reloading[RuleEngine], dlq: DeadLetterer) -> None:
    """Declare the spike agent."""
    counter = SpikeCounter(pipeline.tables.spike_counts)
    alerts = pipeline.topics.alerts

    @pipeline.app.agent(pipeline.topics.spike_ticks, name="spikes")
    async def spikes(stream: faust.StreamT[bytes]) -> None:
        # One event at a time: the table writes to the changelog partition of the current event.
        async for event in stream.events():
            try:
                await count_tick(event, counter, rules, alerts)
            except Exception as exc:
                await dlq.send(event, exc)
                continue
            dlq.limit.succeeded()

    del spikes
