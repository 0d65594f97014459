"""Enrichment in child processes, beside the worker's event loop rather than under its GIL.

Scoring a batch is mostly native work (tokenizer, onnxruntime), but language,
locality, topics, routing and the codec are Python: in a thread they would take
turns with the event loop for the GIL. A child process holds the enrichment
chain and the routing rules instead; the worker sends it raw payloads and gets
back :class:`~pipelines.steps.prepare.Enriched` records or failures, plain
bytes and dataclasses, so the worker's loop never decodes a mention.

Rules: the worker owns reloading (file polling, SIGHUP, logging a broken file)
and passes its rules generation with every call; a child whose generation is
behind reloads the file before it routes.

A child exits when the worker that started it dies (it watches its parent),
and a child that dies mid-batch is replaced and the batch sent again; after
repeated deaths the caller gets RetriesExhausted (the worker then stops
without acknowledging the batch).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from common.retry import Retryable, RetryPolicy, retry_async
from common.routing.reload import Reloading
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Enricher
from pipelines.steps.prepare import Outcome, enrich_payloads, mark_copies
from pipelines.steps.rules import RuleEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

RESTART = RetryPolicy(base=1.0, cap=10.0, max_attempts=3)
"""How often a dead enrichment process is replaced before the worker gives up on a batch."""


@dataclass
class _Child:
    """What a child process loaded (or why it could not)."""

    enricher: Enricher | None = None
    rules: Reloading[RuleEngine] | None = None
    generation: int = 1
    error: str | None = None


_child = _Child()


def _load(settings: PipelineSettings, parent: int) -> None:
    """Child initialiser: load models, tables and rules once; leave when the worker dies."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        # Only children load these: the worker's own process stays small.
        from pipelines.enrichment import build_enricher  # noqa: PLC0415
        from pipelines.routing import load_rules  # noqa: PLC0415

        _child.enricher = build_enricher(settings)
        _child.rules = load_rules(settings)
    except Exception as exc:
        _child.error = f"{type(exc).__name__}: {exc}"


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _loaded(generation: int) -> tuple[Enricher, RuleEngine]:
    if _child.enricher is None or _child.rules is None:
        raise RuntimeError(_child.error or "enrichment resources are not loaded")
    if generation != _child.generation:
        _child.rules.request()  # the worker reloaded: follow it (a broken file keeps the old)
        _child.rules.poll()
        _child.generation = generation
    return _child.enricher, _child.rules.current


def _ready() -> int:
    """This child's pid once it has loaded; long enough that idle siblings take the next call."""
    _loaded(_child.generation)
    time.sleep(0.1)
    return os.getpid()


def _enrich(payloads: list[bytes], now: datetime, generation: int) -> list[Outcome]:
    enricher, engine = _loaded(generation)
    return enrich_payloads(enricher, engine, payloads, now)


def _mark(copies: list[tuple[bytes, str]], now: datetime, generation: int) -> list[Outcome]:
    _, engine = _loaded(generation)
    return mark_copies(copies, engine, now)


class EnrichmentProcesses:
    """A pool of children, each holding the enrichment chain and the rules built from ``settings``."""

    def __init__(self, settings: PipelineSettings) -> None:
        self._settings = settings
        self._started = time.monotonic()
        self._pool = self._spawn()
        self._ready = False
        self._asked = self._ask_ready()

    def _spawn(self) -> ProcessPoolExecutor:
        # spawn, not fork: the worker has threads (Kafka clients, the event loop's executor).
        return ProcessPoolExecutor(
            max_workers=self._settings.enrichment_processes(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(self._settings, os.getpid()),
        )

    def _ask_ready(self) -> list[Future[int]]:
        return [self._pool.submit(_ready) for _ in range(self._settings.enrichment_processes())]

    @classmethod
    def spawn(cls, settings: PipelineSettings) -> EnrichmentProcesses:
        """Start the children loading and return at once; :meth:`ready` waits for them.

        A worker joins its group and recovers its tables while the models load.
        """
        return cls(settings)

    @classmethod
    def start(cls, settings: PipelineSettings) -> EnrichmentProcesses:
        """Start the children and wait until each has loaded; raise with the reason if not."""
        processes = cls(settings)
        processes.wait_ready()
        return processes

    def wait_ready(self) -> None:
        """Block until every child has loaded; RuntimeError with the reason if one cannot."""
        if self._ready:
            return
        wanted = self._settings.enrichment_processes()
        ready: set[int] = set()
        while True:  # the pool starts children on demand: ask until all answer
            ready |= {call.result() for call in self._asked}
            if len(ready) >= wanted:
                break
            self._asked = self._ask_ready()
        self._ready = True
        log.info(
            "enrichment: %d process(es) of %d model thread(s) ready %.1fs after they started",
            wanted,
            self._settings.threads_per_enrichment_process(),
            time.monotonic() - self._started,
        )

    async def ready(self) -> None:
        """:meth:`wait_ready` without blocking the event loop."""
        if not self._ready:
            await asyncio.to_thread(self.wait_ready)

    async def enrich(
        self, payloads: Sequence[bytes], now: datetime, rules_generation: int
    ) -> list[Outcome]:
        """One outcome per raw payload, in order; replaces children that die on the way."""
        return await self._call(_enrich, list(payloads), now, rules_generation)

    async def mark_copies(
        self, copies: Sequence[tuple[bytes, str]], now: datetime, rules_generation: int
    ) -> list[Outcome]:
        """Enriched values marked ``duplicate_of`` their first sighting and routed again, in order."""
        return await self._call(_mark, list(copies), now, rules_generation)

    async def _call(
        self,
        work: Callable[[list[T], datetime, int], list[Outcome]],
        batch: list[T],
        now: datetime,
        generation: int,
    ) -> list[Outcome]:
        async def attempt() -> list[Outcome]:
            loop = asyncio.get_running_loop()
            pool = self._pool
            try:
                return await loop.run_in_executor(pool, work, batch, now, generation)
            except BrokenExecutor as exc:
                if pool is self._pool:  # the first batch to notice replaces the pool
                    log.error("an enrichment process died (%s); starting a new one", exc)
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._spawn()
                raise Retryable(f"enrichment process died: {exc}") from exc

        return await retry_async(attempt, RESTART)  # RetriesExhausted when they keep dying

    def close(self) -> None:
        """Stop the children (what they were doing is not acknowledged, so it is redone)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
