"""Kafka outputs of a batch: mentions.enriched.v1 for other consumers, alerts.v1, spike ticks.

Enriched mentions are keyed by mention id (the topic's contract); alerts by
their deterministic id, so a replay produces the same alert and the notifier's
ledger sends it once; spike ticks are summed per (council, ward, topic, hour)
within the batch and keyed so each is counted in one partition. Mentions by
erased authors are left out of all three. A mention the rules could not route
is dead-lettered at stage ``route`` (it is still indexed and published).
"""

from __future__ import annotations

from pipelines.batch import Batch
from pipelines.deadletters import DeadLetterer
from pipelines.steps.spikes import SpikeTick, merge_ticks
from pipelines.topology import Topics


class Publish:
    """Stage: queue the batch's records; the agent waits for them before acknowledging."""

    def __init__(self, topics: Topics, route_dlq: DeadLetterer) -> None:
        self._topics = topics
        self._route_dlq = route_dlq

    async def __call__(self, batch: Batch) -> None:
        topics = self._topics
        counted: list[SpikeTick] = []
        routed = 0
        for item in batch.items:
            if item.erased:
                continue
            e = item.enriched
            await batch.produce(topics.enriched, e.mention_id.encode(), e.value)
            if e.route_failure is not None:
                await self._route_dlq.send(item.event, e.route_failure, value=e.value)
                continue
            for alert in e.alerts:
                await batch.produce(topics.alerts, alert.key, alert.value)
            counted.extend(e.ticks)
            routed += 1
        for tick in merge_ticks(counted):
            # The tick's Kafka timestamp is its event time: the windowed table reads it.
            await batch.produce(
                topics.spike_ticks, tick.key.encode(), tick.encode(), timestamp=tick.at
            )
        self._route_dlq.limit.succeeded(routed)
