"""One batch of raw mentions on its way through the worker's stages, and the stage contract.

The enrich agent (:mod:`pipelines.agents.enrich`) hands each enriched batch to
the stages in the order :mod:`pipelines.app` declares them; a stage reads and
changes the batch's items and queues what it produces with :meth:`Batch.produce`
(or writes and waits itself, as the Elasticsearch stage does). The agent
acknowledges the batch's events only after every stage has run and everything
queued is durable (:meth:`Batch.durable`): output first, then offsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import faust
from faust.types import EventT

from pipelines.steps.prepare import Enriched


@dataclass(slots=True)
class Item:
    """One enriched mention of the batch and the raw event it came from."""

    event: EventT[bytes]
    enriched: Enriched
    erased: bool = False
    """Its author asked to be forgotten: not indexed, not routed (set by the erasure stage)."""


@dataclass
class Batch:
    """The enriched mentions of one raw batch, in offset order, and what is in flight for them."""

    app: faust.App
    events: Sequence[EventT[bytes]]
    items: list[Item]
    now: datetime
    rules_generation: int
    _pending: list[Awaitable[Any]] = field(default_factory=list)

    async def produce(
        self,
        topic: faust.TopicT,
        key: bytes | None,
        value: bytes,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
        timestamp: float | None = None,
        partition: int | None = None,
    ) -> None:
        """Queue one record (acks=all) to ``partition``, or the one its key hashes to;
        :meth:`durable` waits for it."""
        # The producer directly: Faust's topic.send builds several objects per record.
        sent = await self.app.producer.send(
            topic.get_topic_name(),
            key,
            value,
            partition,
            timestamp,
            list(headers) if headers else None,
        )
        self._pending.append(sent)

    async def durable(self) -> int:
        """Wait until the broker has every queued record; raises if any send failed."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)
        return len(pending)


class Stage(Protocol):
    """One step of the worker's per-batch path (dedupe, index, publish, ...).

    Called once per batch, in order; a stage dead-letters what it cannot handle and
    raises only for what must stop the worker (the batch is then not acknowledged).
    """

    async def __call__(self, batch: Batch) -> None: ...
