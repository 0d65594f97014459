"""The ingestion loop: follow every stream, write each page atomically, back off, park, stop cleanly.

Order per page, fixed: produce mentions and dead letters → flush → write the
cursor → commit the transaction. A stream that raises Retryable waits as the
project retry policy says (server hints honoured) and resumes from its last
committed cursor; Permanent parks it (reported in /healthz and metrics);
PayloadError dead-letters the body and tries again next interval.
``request_stop`` (SIGTERM) stops fetching, lets an in-flight commit finish,
closes the producer and returns.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, suppress

from aiohttp import web

from common.retry import RetryPolicy
from schemas.codec import ContractError
from schemas.models import Mention
from services.ingest.runtime.api import Cursor, Page, Reject, Source, Stream
from services.ingest.runtime.cursors import encode_cursor
from services.ingest.runtime.errors import PayloadError, Permanent, Retryable
from services.ingest.runtime.health import Metrics, health_routes
from services.ingest.runtime.producer import MentionProducer

log = logging.getLogger(__name__)
RECENT_LIMIT = 50_000
Sleep = Callable[[float], Awaitable[None]]


class IngestService:
    """Runs sources' streams and intake routes against one producer and one cursor map."""

    def __init__(
        self,
        producer: MentionProducer,
        cursors: dict[str, Cursor],
        *,
        policy: RetryPolicy,
        metrics: Metrics | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] = random.random,
        max_body_bytes: int = 1 << 20,
    ) -> None:
        self.producer = producer
        self.cursors = dict(cursors)
        self.policy = policy
        self.metrics = metrics or Metrics()
        self.bound_port: int | None = None
        self._sleep = sleep
        self._rand = rand
        self._max_body = max_body_bytes
        self._stop = asyncio.Event()
        # One thread owns the (blocking, not thread-safe for transactions) producer.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="earshot-producer")
        # Recently committed (mention_id, edited_at): the same post reached through two
        # hashtags or servers is produced once per process; edits pass (new edited_at).
        self._recent: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        self._last_bad: dict[str, str] = {}

    def request_stop(self) -> None:
        """Stop fetching; :meth:`run` then finishes in-flight commits and returns."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def deliver(self, mentions: Sequence[Mention]) -> None:
        """Durably produce ``mentions`` now (for intake routes); raises Retryable on failure."""
        await self._write(None, Page(mentions=mentions))

    async def _write(self, stream: Stream | None, page: Page) -> int:
        """Write one page in the producer thread; cancellation waits for the commit to end."""
        fresh: list[Mention] = []
        seen: set[tuple[str, str | None]] = set()
        for m in page.mentions:
            token = (m.mention_id, m.edited_at.isoformat() if m.edited_at else None)
            if token not in self._recent and token not in seen:
                seen.add(token)
                fresh.append(m)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._write_sync, stream, page, fresh)
        try:
            produced = await asyncio.shield(future)
        except asyncio.CancelledError:
            await future  # never leave a transaction half-done behind a cancelled task
            raise
        for token in seen:
            self._recent[token] = None
        while len(self._recent) > RECENT_LIMIT:
            self._recent.popitem(last=False)
        if stream is not None:
            labels = (stream.kind, stream.instance, stream.name)
            self.metrics.fetched.labels(*labels).inc(page.fetched)
            self.metrics.produced.labels(*labels).inc(produced)
            self.metrics.dead_lettered.labels(*labels).inc(
                len(page.rejects) + len(fresh) - produced
            )
            if page.cursor is not None:
                self.cursors[stream.key] = page.cursor
        return produced

    def _write_sync(self, stream: Stream | None, page: Page, fresh: list[Mention]) -> int:
        produced = 0
        label = stream.key if stream is not None else "intake"
        with self.producer.transaction():
            for mention in fresh:
                try:
                    self.producer.send_mention(mention)
                    produced += 1
                except ContractError as exc:
                    raw = mention.model_dump_json().encode()
                    key = mention.mention_id.encode()
                    self.producer.send_dead_letter(raw, exc, source=label, key=key)
            for reject in page.rejects:
                self.producer.send_dead_letter(reject.raw, reject.error, source=label)
            if stream is not None and page.cursor is not None:
                self.producer.send_cursor(stream.key, encode_cursor(stream.key, page.cursor))
        return produced

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0 or self.stopping:
            return
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _one_pass(self, stream: Stream, progress: list[bool]) -> None:
        async with aclosing(stream.pages(self.cursors.get(stream.key))) as pages:
            async for page in pages:
                await self._write(stream, page)
                progress[0] = True
                if self.stopping:
                    return

    async def _dead_letter_body(self, stream: Stream, exc: PayloadError) -> None:
        # A feed that stays broken would add the same body every poll: dead-letter it once.
        digest = hashlib.sha256(exc.raw).hexdigest()
        if self._last_bad.get(stream.key) == digest:
            log.info("%s: same malformed body again, not dead-lettered twice", stream.key)
            return
        log.warning("%s: dead-lettering malformed payload: %s", stream.key, exc)
        try:
            await self._write(stream, Page(rejects=[Reject(exc.raw, exc)]))
            self._last_bad[stream.key] = digest
        except Retryable as produce_exc:
            log.warning("%s: could not dead-letter: %s", stream.key, produce_exc)

    async def follow(self, stream: Stream) -> None:
        """Follow one stream until stop or a permanent error (then it is parked)."""
        labels = (stream.kind, stream.instance, stream.name)
        attempt = 0
        while not self.stopping:
            wait = stream.interval_s or 0.0
            progress = [False]
            try:
                await self._one_pass(stream, progress)
                attempt = 0
                self.metrics.mark(stream.key, labels, "ok")
            except PayloadError as exc:
                self.metrics.mark(stream.key, labels, "retrying", str(exc))
                await self._dead_letter_body(stream, exc)
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
                log.warning("%s: retry %d in %.2fs: %s", stream.key, attempt, wait, exc)
            except Exception as exc:  # a bug in a source must not stop the other streams
                wait = self.policy.delay(attempt, None, self._rand)
                attempt += 1
                self.metrics.mark(stream.key, labels, "retrying", repr(exc))
                log.exception("%s: unexpected error, retry in %.2fs", stream.key, wait)
            await self._pause(wait)
        self.metrics.mark(stream.key, labels, "stopped")

    async def run(self, sources: Sequence[Source], host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve /healthz, /metrics and intake routes, follow all streams, until stopped."""
        app = web.Application(client_max_size=self._max_body + 1024)
        app.add_routes(health_routes(self.metrics))
        streams: list[Stream] = []
        for source in sources:
            routes = source.routes()
            self.metrics.intake_routes += len(routes)
            app.add_routes(routes)
            streams.extend(source.streams())
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else port
        log.info("ingest: %d streams, http on %s:%s", len(streams), host, self.bound_port)
        tasks = [asyncio.create_task(self.follow(s), name=s.key) for s in streams]
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()  # stop accepting; in-flight intake requests finish first
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for source in sources:
                await source.aclose()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self.producer.close)
            self._executor.shutdown(wait=True)
