"""Communities: each batch's mentions → deltas by space → changelogged table → earshot-communities.

Two steps, because Faust tables are sharded by the partition of the event being
processed: a community's state must live in exactly one partition, so that with
two workers it is neither split nor clobbered.

* :class:`CommunityDeltas`, a stage of the worker's one pass (no second read of
  mentions.enriched.v1), finds the spaces of each enriched mention of a batch
  (``pipelines.steps.communities``) and produces **one delta per partition per
  batch** to an internal topic, holding the records of every space of that partition
  (a space's partition is a hash of its key, the same on every worker) — not one
  message per mention, nor per space.
* ``community-book`` applies each delta to the table ``community-deltas`` (key
  ``<partition>|<offset>`` → the delta's bytes, changelogged), and to the in-memory
  :class:`CommunityBook` derived from it. A delta redelivered after a kill rewrites
  the same key; a mention redelivered in another delta counts once (the book keeps
  records by mention id).

A timer writes the records of the spaces touched since the last flush to
Elasticsearch (``_id`` = space key, external version = the flush's time in ms, so a
write computed before another worker took the partition over is superseded), deletes those below ``k`` authors, applies new tombstones (erased
authors' records leave the table and the counts and are never counted again) and,
hourly, lets old records expire so the windows move and memory stays bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
from faust.types import EventT
from mode import BaseSignalT
from pydantic import Field, SecretStr

from common.bulk import BulkIndexer, Doc
from common.communities import CommunitiesFile, Space, load_communities
from common.deadletters import DeadLetterLimit
from common.elastic import async_es_client, install_templates_async, single_index
from common.privacy import Pseudonymiser
from common.retry import FOREVER, retry_async
from common.routing.reload import Reloading
from common.settings import ElasticsearchSettings, KafkaSettings, load_settings
from common.taxonomy import Taxonomy
from pipelines.agents.streams import bytes_topic
from pipelines.batch import Batch
from pipelines.deadletters import DeadLetterer
from pipelines.settings import ROOT, PipelineSettings
from pipelines.steps.communities import author_hash, deltas_of, encode_delta, read_delta
from pipelines.steps.communities_book import CommunityBook
from pipelines.steps.communities_doc import community_doc
from pipelines.steps.erasure import TombstoneGuard
from pipelines.topology import Topics

log = logging.getLogger(__name__)
KIND = "communities"


class CommunitySettings(KafkaSettings, ElasticsearchSettings):
    """``EARSHOT_COMMUNIT*``: the register, the horizon and how often records are written."""

    communities_file: Path = ROOT / "deploy" / "config" / "communities.yaml"
    community_horizon_days: int = Field(default=28, ge=8, le=120)
    """Days of records kept: the week window plus the baseline weeks before it."""
    community_flush_seconds: float = Field(default=15.0, gt=0)
    community_expire_seconds: float = Field(default=3600.0, gt=0)
    """How often old records expire and every record is rewritten (the windows move)."""
    pseudonym_secret: SecretStr | None = None
    """Only needed where raw handles are kept: it turns them into the tombstones' pseudonyms."""


class PinnedTable(faust.Table[bytes, bytes]):
    """A table whose key starts with its partition (``<p>|...``): timers can write it too."""

    def partition_for_key(self, key: Any) -> int:
        text = key.decode() if isinstance(key, bytes) else str(key)
        return int(text.split("|", 1)[0])


def labels_of(config_dir: Path) -> dict[str, str]:
    """Topic id → label from the taxonomy (ids stand in for labels when it is missing)."""
    path = config_dir / "topics.yaml"
    return {t.id: t.label for t in Taxonomy.load(path).topics} if path.exists() else {}


class CommunityWriter:
    """Builds community records from the book and writes them; owns the table edits of timers."""

    def __init__(
        self,
        *,
        book: CommunityBook,
        table: Any,
        register: Reloading[CommunitiesFile],
        labels: dict[str, str],
        indexer: BulkIndexer,
        index: str,
    ) -> None:
        self.book = book
        self.table = table
        self.register = register
        self.labels = labels
        self.indexer = indexer
        self.index = index
        self.horizon_days = book.horizon // 86_400
        self.ready = False
        self.maybe_listed: set[str] = set()
        """Spaces that may have a record in Elasticsearch: only these need a delete."""

    def apply(self, event: EventT[bytes]) -> int:
        """Apply one delta event (inside stream iteration); returns the records that were new."""
        spaces = read_delta(event.value)
        partition = event.message.partition
        key = f"{partition}|{event.message.offset}"
        self.table[key.encode()] = event.value
        return sum(
            self.book.apply(space, partition, key, records) for space, records in spaces.items()
        )

    def rebuild(self, active: set[int]) -> None:
        """Derive the book again from the table, for the partitions this worker owns."""
        self.book.clear()
        for raw, value in list(self.table.items()):
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            partition = int(key.split("|", 1)[0])
            if partition in active:
                for space, records in read_delta(value).items():
                    self.book.apply(space, partition, key, records)
        self.maybe_listed = set(self.book.spaces)  # written before the restart, for all we know
        self.ready = True
        log.info("communities: %d spaces rebuilt from the table", len(self.book))

    def erase(self, authors: set[int]) -> int:
        """Stop counting ``authors``; their records leave the table. Returns spaces changed."""
        changed = self.book.erase(authors)
        keys = sorted({key for state in changed.values() for key in state.entries})
        for key in keys:
            value = self.table.get(key.encode())
            if value is None:
                continue
            kept = {
                space: [r.encode() for r in records if r.author not in self.book.erased]
                for space, records in read_delta(value).items()
            }
            kept = {space: items for space, items in kept.items() if items}
            if kept:
                self.table[key.encode()] = encode_delta(kept)
            else:
                del self.table[key.encode()]
                self.book.drop_entry(key)
        return len(changed)

    def expire(self, now: float) -> None:
        """Let records older than the horizon go, and mark every space for rewriting."""
        expired = self.book.expire(now)
        for _, key in expired.entries:
            self.table.pop(key.encode(), None)
        self.book.dirty.update(self.book.spaces)
        self.book.dirty.update(expired.emptied)
        if expired.entries:
            log.info("communities: %d table entries expired", len(expired.entries))

    async def flush(self, now: float) -> int:
        """Write the records of every space touched since the last flush; returns how many."""
        if not self.ready:
            return 0
        if self.register.poll():  # owners and stages are in every record: write them all again
            self.book.dirty.update(self.book.spaces)
        register = self.register.current
        version = int(now * 1000)
        docs: list[Doc[str]] = []
        for key, state in self.book.take_dirty():
            space = Space.parse(key)
            doc = None
            if state is not None:
                doc = community_doc(
                    space,
                    state.records.values(),
                    now=now,
                    k=register.k,
                    horizon_days=self.horizon_days,
                    labels=self.labels,
                    entry=register.entry(key),
                )
            if doc is None and key not in self.maybe_listed:
                continue  # never listed (fewer than k authors): nothing to delete
            docs.append(Doc(self.index, key, doc, key, version))
        if docs:
            outcome = await self.indexer.write(docs)
            for key, reason in outcome.rejected:
                log.error("community %s not written: %s", key, reason)
            written = {d.id for d in docs if d.body is not None}
            self.maybe_listed = (self.maybe_listed | written) - {
                d.id for d in docs if d.body is None
            }
        return len(docs)


class ErasedAuthors:
    """The tombstones as author hashes, recomputed only when the tombstone set changes."""

    def __init__(self, guard: TombstoneGuard) -> None:
        self.guard = guard
        self.hashes: set[int] = set()
        self._seen = 0

    def current(self) -> set[int]:
        tombstones = self.guard.reader.tombstones
        if len(tombstones) != self._seen:
            self.hashes = {author_hash(p) for p in tombstones}
            self._seen = len(tombstones)
        return self.hashes


class CommunityDeltas:
    """Stage: a batch's enriched mentions (erased authors left out) as one delta per partition."""

    def __init__(
        self,
        deltas: faust.TopicT,
        erased: ErasedAuthors,
        dlq: DeadLetterer,
        *,
        horizon_s: float,
        partitions: int,
        pseudonymiser: Pseudonymiser | None,
    ) -> None:
        self._deltas = deltas
        self._erased = erased
        self._dlq = dlq
        self._horizon_s = horizon_s
        self._partitions = partitions
        self._pseudonymiser = pseudonymiser

    async def __call__(self, batch: Batch) -> None:
        await self.add(batch, [(i.event, i.enriched.value) for i in batch.items if not i.erased])

    async def add(self, batch: Batch, mentions: Sequence[tuple[EventT[bytes], bytes]]) -> None:
        """Queue the deltas of ``mentions`` (event, enriched value) on ``batch``; the tombstone
        guard must be fresh (the worker's erasure stage refreshes it)."""
        found = deltas_of(
            [value for _, value in mentions],
            now=time.time(),
            horizon_s=self._horizon_s,
            erased=self._erased.current(),
            pseudonymiser=self._pseudonymiser,
        )
        for i, exc in found.failed:
            await self._dlq.send(mentions[i][0], exc, value=mentions[i][1])
        for p, value in found.messages(self._partitions).items():
            await batch.produce(self._deltas, str(p).encode(), value, partition=p)
        self._dlq.limit.succeeded(len(mentions) - len(found.failed))


def _declare(app: faust.App, settings: PipelineSettings) -> tuple[faust.TopicT, Any]:
    """The internal delta topic (keyed by space) and the changelogged table of applied deltas."""
    deltas = bytes_topic(
        app,
        f"{settings.topic_prefix}{settings.app_id}-community-deltas",
        internal=True,
        partitions=settings.partitions,
    )
    table = app.tables.add(
        PinnedTable(
            app,
            name="community-deltas",
            default=None,
            beacon=app.tables.beacon,
            partitions=settings.partitions,
            key_type=bytes,  # raw bytes both ways: the changelog holds the deltas as they came
            value_type=bytes,
        )
    )
    return deltas, table


def register(
    app: faust.App, topics: Topics, settings: PipelineSettings, guard: TombstoneGuard
) -> CommunityDeltas:
    """Declare the community book agent, its table and timers on ``app``; return the stage
    that feeds it (``guard`` is the worker's one tombstone guard)."""
    cs = load_settings(CommunitySettings)
    erased = ErasedAuthors(guard)
    secret = cs.pseudonym_secret
    pseudonymiser = Pseudonymiser(secret) if secret is not None else None
    register_file = Reloading(
        cs.communities_file, lambda p: load_communities(p).value, "communities register"
    )
    deltas, table = _declare(app, settings)
    client = async_es_client(settings)
    writer = CommunityWriter(
        book=CommunityBook(cs.community_horizon_days),
        table=table,
        register=register_file,
        labels=labels_of(settings.config_dir),
        indexer=BulkIndexer(client),
        index=single_index(settings.index_prefix, KIND),
    )
    dlq = DeadLetterer(
        topics.enriched_dlq,
        "communities",
        DeadLetterLimit(settings.dead_letter_limit, "communities"),
    )
    book_dlq = DeadLetterer(
        topics.enriched_dlq,
        "community-book",
        DeadLetterLimit(settings.dead_letter_limit, "community-book"),
    )
    stage = CommunityDeltas(
        deltas,
        erased,
        dlq,
        horizon_s=cs.community_horizon_days * 86_400.0,
        partitions=settings.partitions,
        pseudonymiser=pseudonymiser,
    )

    @app.agent(deltas, name="community-book")
    async def community_book(stream: faust.StreamT[bytes]) -> None:
        # One event at a time: the table writes to the partition of the current delta.
        async for event in stream.events():
            try:
                writer.apply(event)
            except Exception as exc:
                await book_dlq.send(event, exc)
                continue
            book_dlq.limit.succeeded()

    @table.on_recover  # type: ignore[untyped-decorator]  # faust leaves it untyped
    async def rebuild() -> None:
        name = deltas.get_topic_name()
        active = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == name}
        writer.rebuild(active)

    @app.on_partitions_revoked.connect
    def on_revoked(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        writer.ready = False  # nothing is written until the book is rebuilt for the new owner

    async def flush() -> None:
        await retry_async(guard.refresh, FOREVER)
        if writer.ready and writer.erase(erased.current()):
            log.info("communities: erased authors' records removed")
        await writer.flush(time.time())

    async def expire() -> None:
        if writer.ready:
            writer.expire(time.time())

    async def install() -> None:
        await retry_async(lambda: install_templates_async(client, settings.index_prefix), FOREVER)

    app.timer(interval=cs.community_flush_seconds)(flush)
    app.timer(interval=cs.community_expire_seconds)(expire)
    app.task(install)
    del community_book, rebuild, on_revoked
    return stage
