"""Enrichment in child processes, beside the worker's event loop rather than under its GIL.

Scoring a batch is mostly native work (tokenizer, onnxruntime), but language,
locality, topics and the codec are Python: in a thread they take turns with the
event loop for the GIL, and both slow down (the model ran ~60% slower inside
the worker than alone). A child process holds the Enricher instead; the worker
sends it raw payloads and gets back keyed, encoded results or failures, all
plain bytes and dataclasses.

A child exits when the worker that started it dies (it watches its parent),
and a child that dies mid-batch is replaced and the batch sent again; after
repeated deaths the worker stops without acknowledging the batch.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from common.retry import Retryable, RetryPolicy, retry_async
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Enricher, Keyed, enrich_payloads
from schemas.deadletter import Failure

log = logging.getLogger(__name__)

RESTART = RetryPolicy(base=1.0, cap=10.0, max_attempts=3)
"""How often a dead enrichment process is replaced before the worker gives up on a batch."""


@dataclass
class _Child:
    """What a child process loaded (or why it could not)."""

    enricher: Enricher | None = None
    error: str | None = None


_child = _Child()


def _load(settings: PipelineSettings, parent: int) -> None:
    """Child initialiser: load models and tables once; leave when the worker dies."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        from pipelines.resources import build_enricher  # noqa: PLC0415  (only children load it)

        _child.enricher = build_enricher(settings)
    except Exception as exc:
        _child.error = f"{type(exc).__name__}: {exc}"


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _loaded() -> Enricher:
    if _child.enricher is None:
        raise RuntimeError(_child.error or "enrichment resources are not loaded")
    return _child.enricher


def _ready() -> int:
    """This child's pid once it has loaded; long enough that idle siblings take the next call."""
    _loaded()
    time.sleep(0.1)
    return os.getpid()


def _enrich(payloads: list[bytes], now: datetime) -> list[Keyed | Failure]:
    return enrich_payloads(_loaded(), payloads, now)


class EnrichmentProcesses:
    """A pool of ``processes`` children, each holding an Enricher built from ``settings``."""

    def __init__(self, settings: PipelineSettings) -> None:
        self._settings = settings
        self._pool = self._spawn()

    def _spawn(self) -> ProcessPoolExecutor:
        # spawn, not fork: the worker has threads (Kafka clients, the event loop's executor).
        return ProcessPoolExecutor(
            max_workers=self._settings.enrichment_processes(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(self._settings, os.getpid()),
        )

    @classmethod
    def start(cls, settings: PipelineSettings) -> EnrichmentProcesses:
        """Start the children and wait until each has loaded; raise with the reason if not."""
        started = time.monotonic()
        processes = cls(settings)
        wanted = settings.enrichment_processes()
        ready: set[int] = set()
        while len(ready) < wanted:  # the pool starts children on demand: ask until all answer
            calls = [processes._pool.submit(_ready) for _ in range(wanted)]
            ready |= {call.result() for call in calls}
        log.info(
            "enrichment: %d process(es) of %d model thread(s) ready in %.1fs",
            wanted,
            settings.threads_per_enrichment_process(),
            time.monotonic() - started,
        )
        return processes

    async def enrich(self, payloads: Sequence[bytes], now: datetime) -> list[Keyed | Failure]:
        """One outcome per payload, in order; replaces children that die on the way."""
        batch = list(payloads)

        async def attempt() -> list[Keyed | Failure]:
            loop = asyncio.get_running_loop()
            pool = self._pool
            try:
                return await loop.run_in_executor(pool, _enrich, batch, now)
            except BrokenExecutor as exc:
                if pool is self._pool:  # the first batch to notice replaces the pool
                    log.error("an enrichment process died (%s); starting a new one", exc)
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._spawn()
                raise Retryable(f"enrichment process died: {exc}") from exc

        return await retry_async(attempt, RESTART)  # RetriesExhausted when they keep dying

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
