"""The ingestion loop: follow every stream, write each page atomically, back off, park, stop.

Order per page, fixed: produce mentions and dead letters → flush → write the cursor →
commit the transaction (``writer.PageWriter``). Per stream:

* a page written marks the stream ``ok`` (``/healthz`` says ``degraded`` while any stream
  has not succeeded since it last failed);
* Retryable: wait as the project retry policy says (server hints honoured), resume from the
  last committed cursor; the spell is logged as one line when it starts and one when it ends;
* PayloadError, or any failure the source did not classify: the feed-level failure becomes
  ONE dead letter (not one per poll) and the feed is tried again on its own schedule;
* Permanent: the stream is parked (reported in /healthz and metrics);
* a long-lived stream that ends normally is re-entered after ``reconnect_pause_s``, with no
  growing backoff.

Instances can be attached and detached while running (a reloaded sources file). Intake routes
are dispatched through one catch-all route, so they come and go with their instance.
``request_stop`` (SIGTERM) stops fetching and tears down within ``shutdown_grace_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing, suppress

from aiohttp import web

from common.logsummary import Outage
from common.retry import RetryPolicy
from schemas.models import Mention
from services.ingest.runtime.api import Page, Reject, Source, Stream
from services.ingest.runtime.errors import PayloadError, Permanent, Retryable
from services.ingest.runtime.health import Metrics, health_routes
from services.ingest.runtime.producer import MentionProducer, ProduceError
from services.ingest.runtime.writer import PageWriter

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class IngestService:
    """Runs sources' streams and intake routes against one producer and one cursor map."""

    def __init__(
        self,
        producer: MentionProducer,
        cursors: dict[str, dict[str, object]],
        *,
        policy: RetryPolicy,
        metrics: Metrics | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] = random.random,
        max_body_bytes: int = 1 << 20,
        reconnect_pause_s: float = 1.0,
        shutdown_grace_s: float = 8.0,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.writer = PageWriter(producer, cursors, self.metrics)
        self.policy = policy
        self.bound_port: int | None = None
        self.clean_stop = True
        self._sleep = sleep
        self._rand = rand
        self._max_body = max_body_bytes
        self._reconnect_pause = reconnect_pause_s
        self._grace = shutdown_grace_s
        self._stop = asyncio.Event()
        self._last_bad: dict[str, bytes] = {}
        self._sources: dict[str, Source] = {}
        self._tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._intake: dict[str, dict[tuple[str, str], Handler]] = {}

    @property
    def producer(self) -> MentionProducer:
        return self.writer.producer

    @property
    def cursors(self) -> dict[str, dict[str, object]]:
        return self.writer.cursors

    def request_stop(self) -> None:
        """Stop fetching; :meth:`run` then finishes in-flight commits and returns."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def deliver(self, mentions: Sequence[Mention]) -> None:
        """Durably produce ``mentions`` now (for intake routes); raises Retryable on failure."""
        await self.writer.write(None, Page(mentions=mentions))

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0 or self.stopping:
            return
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _one_pass(self, stream: Stream, progress: list[bool], outage: Outage) -> None:
        labels = (stream.kind, stream.instance, stream.name)
        async with aclosing(stream.pages(self.cursors.get(stream.key))) as pages:
            async for page in pages:
                await self.writer.write(stream, page)
                progress[0] = True
                self.metrics.mark(stream.key, labels, "ok")
                outage.recovered()
                if self.stopping:
                    return

    async def _dead_letter_failure(self, stream: Stream, raw: bytes, exc: BaseException) -> None:
        # A feed that stays broken would add the same letter every poll: dead-letter it once.
        digest = hashlib.sha256(raw + f"\x00{type(exc).__name__}".encode()).digest()
        if self._last_bad.get(stream.key) == digest:
            return
        try:
            await self.writer.write(stream, Page(rejects=[Reject(raw, exc)]))
            self._last_bad[stream.key] = digest
        except Retryable as produce_exc:
            log.warning("%s: could not dead-letter: %s", stream.key, produce_exc)

    async def follow(self, stream: Stream) -> None:
        """Follow one stream until stop or a permanent error (then it is parked)."""
        labels = (stream.kind, stream.instance, stream.name)
        outage = Outage(log, stream.key)
        attempt = 0
        while not self.stopping:
            wait = stream.interval_s if stream.interval_s is not None else self._reconnect_pause
            progress = [False]
            try:
                await self._one_pass(stream, progress, outage)
                attempt = 0
                self.metrics.mark(stream.key, labels, "ok")
                outage.recovered()
                if stream.interval_s is None and not self.stopping:
                    self.metrics.reconnects.labels(*labels).inc()  # closed normally: not a failure
            except PayloadError as exc:
                self.metrics.mark(stream.key, labels, "retrying", str(exc))
                outage.failed(str(exc)[:500], kind="unreadable responses")
                await self._dead_letter_failure(stream, exc.raw, exc)
            except Permanent as exc:
                log.error("%s: parked on permanent error: %s", stream.key, exc)
                self.metrics.mark(stream.key, labels, "parked", str(exc))
                return
            except Retryable as exc:
                # A long-lived stream that delivered before dropping starts its backoff afresh.
                attempt = 0 if progress[0] else attempt
                wait = self.policy.delay(attempt, exc.retry_after, self._rand)
                attempt += 1
                self.metrics.retries.labels(*labels).inc()
                self.metrics.mark(stream.key, labels, "retrying", str(exc))
                if not isinstance(exc, ProduceError):  # the writer summarises Kafka's outage
                    outage.failed(f"{exc} (next try in {wait:.1f}s)", kind=type(exc).__name__)
            except Exception as exc:  # a failure no source classified: never stops the others
                wait = max(wait, self.policy.delay(attempt, None, self._rand))
                attempt += 1
                self.metrics.mark(stream.key, labels, "retrying", repr(exc))
                if outage.failed(repr(exc)[:500], kind=type(exc).__name__):
                    log.error("%s: unexpected failure", stream.key, exc_info=exc)
                await self._dead_letter_failure(stream, b"", exc)
            await self._pause(wait)
        self.metrics.mark(stream.key, labels, "stopped")

    async def attach(self, name: str, source: Source) -> None:
        """Start following ``source``'s streams and serve its intake routes, as instance ``name``."""
        await self.detach(name)
        self._sources[name] = source
        self._intake[name] = {(r.method.upper(), r.path): r.handler for r in source.routes()}
        self.metrics.intake_routes = sum(len(r) for r in self._intake.values())
        self._tasks[name] = [
            asyncio.create_task(self.follow(s), name=s.key) for s in source.streams()
        ]

    async def detach(self, name: str, *, forget: bool = True) -> None:
        """Stop instance ``name``'s streams (in-flight commits finish) and drop its routes;
        ``forget`` also drops their health entries (an instance removed, not a process stop)."""
        source = self._sources.pop(name, None)
        self._intake.pop(name, None)
        self.metrics.intake_routes = sum(len(r) for r in self._intake.values())
        tasks = self._tasks.pop(name, [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks if forget else ():
            self.metrics.streams.pop(task.get_name(), None)
        if source is not None:
            await source.aclose()

    @property
    def instances(self) -> frozenset[str]:
        return frozenset(self._sources)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        for routes in self._intake.values():
            handler = routes.get((request.method, request.path))
            if handler is not None:
                return await handler(request)
        if any(path == request.path for routes in self._intake.values() for _, path in routes):
            return web.json_response({"error": "method not allowed"}, status=405)
        return web.json_response({"error": "not found"}, status=404)

    async def run(
        self,
        sources: Mapping[str, Source] | Sequence[Source],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Serve /healthz, /metrics and intake routes, follow all streams, until stopped."""
        app = web.Application(client_max_size=self._max_body + 1024)
        app.add_routes(health_routes(self.metrics))
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else port
        named = (
            sources if isinstance(sources, Mapping) else {str(i): s for i, s in enumerate(sources)}
        )
        for name, source in named.items():
            await self.attach(name, source)
        streams = sum(len(t) for t in self._tasks.values())
        log.info("ingest: %d streams, http on %s:%s", streams, host, self.bound_port)
        try:
            await self._stop.wait()
        finally:
            try:
                await asyncio.wait_for(self._teardown(runner), timeout=self._grace)
            except TimeoutError:
                self.clean_stop = False
                log.warning(
                    "stop took longer than %.0fs: leaving with a write in flight (an open "
                    "transaction is aborted by Kafka; its cursor was not committed)",
                    self._grace,
                )

    async def _teardown(self, runner: web.AppRunner) -> None:
        await runner.cleanup()  # stop accepting; in-flight intake requests finish first
        for name in list(self._sources):
            await self.detach(name, forget=False)
        await self.writer.close()
