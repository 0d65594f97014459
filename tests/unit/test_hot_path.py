"""The enrich agent's loop: batches enrich concurrently but reach the stages in read order,
and events are acknowledged only after their batch went through every stage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import faust

from common.deadletters import DeadLetterLimit
from common.routing.reload import Reloading
from pipelines.agents.enrich import HotPath
from pipelines.batch import Batch
from pipelines.deadletters import DeadLetterer
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.steps.prepare import Enriched, Outcome
from pipelines.steps.rules import RuleEngine


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int


@dataclass(frozen=True)
class Event:
    value: bytes
    message: Message


@dataclass
class Stream:
    """Hands out prepared batches, then waits; records acknowledgements."""

    batches: list[list[Event]]
    acked: list[int] = field(default_factory=list)

    async def _take(self) -> AsyncIterator[list[Event]]:
        for events in self.batches:
            yield events
        await asyncio.Event().wait()

    def noack_take(self, size: int, within: float) -> AsyncIterator[list[Event]]:
        return self._take()

    async def ack(self, event: Event) -> bool:
        self.acked.append(event.message.offset)
        return True


class SlowFirstBatch:
    """Enrichment that takes longest for the first batch, so it finishes last."""

    def __init__(self) -> None:
        self.calls = 0

    async def ready(self) -> None:
        return None

    async def enrich(self, payloads: Sequence[bytes], now: datetime, gen: int) -> list[Outcome]:
        self.calls += 1
        await asyncio.sleep(0.2 if self.calls == 1 else 0.0)
        return [
            Enriched(key=p, value=p, mention_id=p.decode(), created_at=0.0, version=0, author=None)
            for p in payloads
        ]


@dataclass
class Recorder:
    stream: Stream
    seen: list[list[str]] = field(default_factory=list)
    acked_when_seen: list[int] = field(default_factory=list)

    async def __call__(self, batch: Batch) -> None:
        self.acked_when_seen.append(len(self.stream.acked))
        self.seen.append([item.enriched.mention_id for item in batch.items])


class Rules:
    generation = 1


async def test_batches_reach_the_stages_in_read_order_and_are_acked_after() -> None:
    events = [Event(f"m{i}".encode(), Message(0, i)) for i in range(6)]
    stream = Stream([events[0:2], events[2:4], events[4:6]])
    recorder = Recorder(stream)
    limit = DeadLetterLimit(10, "enrich")
    hot = HotPath(
        cast(faust.App, None),
        cast(EnrichmentProcesses, SlowFirstBatch()),
        cast(Reloading[RuleEngine], Rules()),
        [recorder],
        cast(DeadLetterer, type("NoDLQ", (), {"limit": limit})()),
        batch_max=2,
        batch_seconds=0.1,
        depth=2,
    )
    task = asyncio.ensure_future(hot.run(cast(Any, stream)))
    try:
        for _ in range(100):
            if len(stream.acked) == 6:
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
    assert recorder.seen == [["m0", "m1"], ["m2", "m3"], ["m4", "m5"]]
    assert recorder.acked_when_seen == [0, 2, 4]  # a batch is acked only after its stages ran
    assert stream.acked == [0, 1, 2, 3, 4, 5]
