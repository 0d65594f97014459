"""Writing one page: mentions, dead letters and the cursor in ONE Kafka transaction.

Contract: :meth:`PageWriter.write` returns the number of mentions produced or raises
ProduceError (Retryable: Kafka unavailable; nothing of the page is visible). Inside the
transaction every item is isolated: a mention the codec refuses becomes a dead letter; a
dead letter is always encodable (``producer.evidence_letter``). The cursor is written only
when it encodes as JSON within ``MAX_CURSOR_BYTES`` (else the stored one stays, and the
page is produced again after a restart rather than lost). A polled stream that serves the
same broken item again (a server that keeps returning it) does not dead-letter it again in
this process; a long-lived stream's frames are events, each one lettered. Cancellation
waits for an in-flight commit, so a transaction is never left half-done by this process.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from common.logsummary import Outage
from schemas.models import Mention
from services.ingest.runtime.api import Cursor, Page, Reject, Stream
from services.ingest.runtime.cursors import encode_cursor
from services.ingest.runtime.health import Metrics
from services.ingest.runtime.items import item_bytes
from services.ingest.runtime.producer import MentionProducer, ProduceError

log = logging.getLogger(__name__)
RECENT_LIMIT: Final = 50_000
MAX_CURSOR_BYTES: Final = 900_000
"""Under Kafka's 1 MB record default with room for the key and headers."""


class PageWriter:
    """The producer thread and what is written through it (see module doc)."""

    def __init__(self, producer: MentionProducer, cursors: dict[str, Cursor], metrics: Metrics):
        self.producer = producer
        self.cursors = dict(cursors)
        self.metrics = metrics
        self.kafka = Outage(log, "Kafka (ingest producer)")
        # One thread owns the (blocking, not thread-safe for transactions) producer.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="earshot-producer")
        # Recently committed (mention_id, edited_at): the same post reached through two
        # hashtags or servers is produced once per process; edits pass (new edited_at).
        self._recent: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        self._lettered: OrderedDict[bytes, None] = OrderedDict()
        self._bad_cursor: set[str] = set()

    def _fresh(
        self, mentions: Sequence[Mention]
    ) -> tuple[list[Mention], set[tuple[str, str | None]]]:
        fresh: list[Mention] = []
        seen: set[tuple[str, str | None]] = set()
        for m in mentions:
            token = (m.mention_id, m.edited_at.isoformat() if m.edited_at else None)
            if token not in self._recent and token not in seen:
                seen.add(token)
                fresh.append(m)
        return fresh, seen

    def _cursor_bytes(self, stream: Stream, cursor: Cursor) -> bytes | None:
        """The record to store, or None when the cursor does not encode or is too large."""
        try:
            value = encode_cursor(stream.key, cursor)
            if len(value) <= MAX_CURSOR_BYTES:
                self._bad_cursor.discard(stream.key)
                return value
            problem = f"{len(value)} bytes, over {MAX_CURSOR_BYTES}"
        except (TypeError, ValueError, RecursionError) as exc:
            problem = repr(exc)[:300]
        if stream.key not in self._bad_cursor:
            self._bad_cursor.add(stream.key)
            log.error("%s: cursor not stored (%s); the last good one stays", stream.key, problem)
        return None

    async def write(self, stream: Stream | None, page: Page) -> int:
        """Write one page in the producer thread (see module doc)."""
        label = stream.key if stream is not None else "intake"
        fresh, tokens = self._fresh(page.mentions)
        rejects, letters = self._new_rejects(stream, page.rejects)
        cursor = None
        if stream is not None and page.cursor is not None:
            cursor = self._cursor_bytes(stream, page.cursor)
        produced = 0
        if fresh or rejects or cursor is not None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self._executor, self._write_sync, label, fresh, rejects, cursor
            )
            try:
                produced = await asyncio.shield(future)
            except asyncio.CancelledError:
                await future  # never leave a transaction half-done behind a cancelled task
                raise
            except ProduceError as exc:
                self.kafka.failed(str(exc), kind="failed writes")
                raise
            self.kafka.recovered()
        self._remember(tokens, letters)
        if stream is not None:
            labels = (stream.kind, stream.instance, stream.name)
            self.metrics.fetched.labels(*labels).inc(page.fetched)
            self.metrics.produced.labels(*labels).inc(produced)
            self.metrics.dead_lettered.labels(*labels).inc(len(rejects) + len(fresh) - produced)
            if cursor is not None and page.cursor is not None:
                self.cursors[stream.key] = page.cursor
        return produced

    def _new_rejects(
        self, stream: Stream | None, rejects: Sequence[Reject]
    ) -> tuple[list[Reject], list[bytes]]:
        if stream is None or stream.interval_s is None:
            return list(rejects), []
        fresh: list[Reject] = []
        letters: list[bytes] = []
        for reject in rejects:
            digest = hashlib.sha256(stream.key.encode() + b"\x00" + reject.raw).digest()[:16]
            if digest not in self._lettered and digest not in letters:
                fresh.append(reject)
                letters.append(digest)
        return fresh, letters

    def _remember(self, tokens: set[tuple[str, str | None]], letters: list[bytes]) -> None:
        for token in tokens:
            self._recent[token] = None
        while len(self._recent) > RECENT_LIMIT:
            self._recent.popitem(last=False)
        for digest in letters:
            self._lettered[digest] = None
        while len(self._lettered) > RECENT_LIMIT:
            self._lettered.popitem(last=False)

    def _write_sync(
        self, label: str, fresh: list[Mention], rejects: list[Reject], cursor: bytes | None
    ) -> int:
        produced = 0
        with self.producer.transaction():
            for mention in fresh:
                try:
                    self.producer.send_mention(mention)
                    produced += 1
                except ProduceError:
                    raise
                except Exception as exc:  # the codec refused it (schema, encoding)
                    raw = item_bytes(mention.model_dump(mode="json"))
                    key = mention.mention_id.encode()
                    self.producer.send_dead_letter(raw, exc, source=label, key=key)
            for reject in rejects:
                self.producer.send_dead_letter(reject.raw, reject.error, source=label)
            if cursor is not None:
                self.producer.send_cursor(label, cursor)
        return produced

    async def close(self) -> None:
        """Flush and close the producer (in its thread)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self.producer.close)
        finally:
            self._executor.shutdown(wait=False)
