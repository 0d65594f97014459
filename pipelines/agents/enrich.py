"""The worker's one hot agent: mentions.raw.v1 batches → enrichment → stages → acknowledged.

Batches are enriched concurrently in the enrichment processes (so no process
waits while a batch's results are written) but applied strictly in the order
they were read: the stages (dedupe, Elasticsearch, Kafka outputs; see
``pipelines.app``) see batch n before batch n+1, so a mention and its edit on one
partition go through in order. A batch's events are acknowledged only after every
stage has run and its output and dead letters are durable; anything that stops
a batch stops the worker without acknowledging it, and its records are read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import faust
from faust.types import EventT

from common.retry import RetriesExhausted
from common.routing.reload import Reloading
from pipelines.agents.streams import unacked_batches
from pipelines.batch import Batch, Item, Stage
from pipelines.deadletters import (
    EXIT_ENRICHMENT_DIED,
    EXIT_OUTPUT_FAILED,
    DeadLetterer,
    stop_worker,
)
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.steps.prepare import Outcome
from pipelines.steps.rules import RuleEngine
from schemas.deadletter import Failure

log = logging.getLogger(__name__)

_InFlight = tuple[Sequence[EventT[bytes]], datetime, int, "asyncio.Future[list[Outcome]]"]


class HotPath:
    """Reads raw batches, keeps ``depth`` of them enriching, applies them in order, acks."""

    def __init__(
        self,
        app: faust.App,
        enrichment: EnrichmentProcesses,
        rules: Reloading[RuleEngine],
        stages: Sequence[Stage],
        dlq: DeadLetterer,
        *,
        batch_max: int,
        batch_seconds: float,
        depth: int,
    ) -> None:
        self._app = app
        self._enrichment = enrichment
        self._rules = rules
        self._stages = tuple(stages)
        self._dlq = dlq
        self._batch_max = batch_max
        self._batch_seconds = batch_seconds
        self._depth = depth

    async def run(self, stream: faust.StreamT[bytes]) -> None:
        """The agent body: never returns while the stream runs."""
        try:
            await self._enrichment.ready()  # the models load while the worker joins its group
        except Exception as exc:
            stop_worker(f"enrichment processes could not start: {exc}", EXIT_ENRICHMENT_DIED)
        queue: asyncio.Queue[_InFlight] = asyncio.Queue(maxsize=self._depth)
        applier = asyncio.ensure_future(self._apply_in_order(queue, stream))
        # Events are acknowledged by _apply_in_order, once their output is durable.
        batches = unacked_batches(stream, self._batch_max, self._batch_seconds)
        try:
            async for events in batches:
                now, generation = datetime.now(UTC), self._rules.generation
                payloads = [event.value for event in events]
                enriching: asyncio.Future[list[Outcome]] = asyncio.ensure_future(
                    self._enrichment.enrich(payloads, now, generation)
                )
                await queue.put((events, now, generation, enriching))
        finally:
            applier.cancel()

    async def _apply_in_order(
        self, queue: asyncio.Queue[_InFlight], stream: faust.StreamT[bytes]
    ) -> None:
        while True:
            events, now, generation, enriching = await queue.get()
            try:
                outcomes = await enriching
                await self._apply(Batch(self._app, events, [], now, generation), outcomes)
            except RetriesExhausted as exc:
                stop_worker(f"enrichment processes keep dying ({exc})", EXIT_ENRICHMENT_DIED)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("a batch could not be completed")
                stop_worker(f"batch output not durable ({exc!r})", EXIT_OUTPUT_FAILED)
            for event in events:
                await stream.ack(event)

    async def _apply(self, batch: Batch, outcomes: Sequence[Outcome]) -> None:
        for event, outcome in zip(batch.events, outcomes, strict=True):
            if isinstance(outcome, Failure):
                await self._dlq.send(event, outcome)
            else:
                batch.items.append(Item(event, outcome))
        self._dlq.limit.succeeded(len(batch.items))
        for stage in self._stages:
            await stage(batch)
        await batch.durable()


def register(pipeline_app: faust.App, raw: faust.TopicT, hot: HotPath) -> None:
    """Declare the enrich agent: one instance, so batches are applied in read order."""

    @pipeline_app.agent(raw, name="enrich", concurrency=1)
    async def enrich(stream: faust.StreamT[bytes]) -> None:
        await hot.run(stream)

    del enrich
