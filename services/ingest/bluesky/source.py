"""Bluesky posts → Mentions: ``searchPosts`` polled forward by sortAt, and the Jetstream firehose.

Contract: the native id is the post's ``at://`` URI, so a post found by two queries, or
by search and the firehose, is one mention (a Jetstream ``update`` is the same mention
with ``edited_at`` set). A search pass walks the result pages (newest first) back to the
stored ``since`` minus ``overlap_s``, then yields the posts not produced before OLDEST
first, in pages whose cursor is ``{"since": <newest sortAt so far>, "seen": [recent
URIs]}``: a restart after any committed page neither skips nor repeats a post.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.models import Match
from services.ingest.bluesky.client import BlueskyClient, PostView
from services.ingest.bluesky.firehose import FirehoseStream
from services.ingest.bluesky.mapping import iso, map_post, parse_time
from services.ingest.runtime.api import Cursor, Page, Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.items import item_digest, map_items
from services.ingest.runtime.mapping import as_id
from services.ingest.runtime.seen import SeenSet, digest_key

log = logging.getLogger(__name__)
FUTURE_SKEW = timedelta(minutes=10)
Found = tuple[datetime, str, PostView]
"""(sortAt, URI or a stand-in for a broken post, the post view)."""


class BlueskyConfig(InstanceConfig):
    """``kind: bluesky`` — ``search`` queries on an AppView and/or the Jetstream firehose.

    The public AppView needs no token; ``token_env`` (an access JWT) is sent when set.
    ``jetstream_url`` turns the firehose on; it needs ``terms`` (whole words or phrases,
    any case) because only posts containing one are produced.
    """

    kind: Literal["bluesky"]
    api_url: str = Field(default="https://public.api.bsky.app", pattern=r"^https?://\S+$")
    search: tuple[str, ...] = ()
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    since: AwareDatetime | None = None
    """Where the first search pass starts (default: one day before it runs)."""
    page_limit: int = Field(default=100, ge=1, le=100)
    max_pages_per_pass: int = Field(default=20, ge=1)
    overlap_s: float = Field(default=120.0, ge=0, le=86_400)
    seen_limit: int = Field(default=1000, ge=10, le=60_000)
    jetstream_url: str | None = Field(default=None, pattern=r"^wss?://\S+$")
    terms: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    """Firehose: keep only posts declaring one of these languages (empty: any)."""
    batch_max: int = Field(default=200, ge=1, le=5000)
    flush_s: float = Field(default=5.0, gt=0, le=300)

    @model_validator(mode="after")
    def _check(self) -> BlueskyConfig:
        if not self.search and not self.jetstream_url:
            raise ValueError("give search queries, jetstream_url, or both")
        if self.jetstream_url and not any(t.strip() for t in self.terms):
            raise ValueError("jetstream_url needs terms: the firehose is the whole network")
        return self

    def required_env(self) -> tuple[str, ...]:
        return ("token_env",) if self.token_env else ()


def _sort_at(post: PostView, default: datetime, latest: datetime) -> datetime:
    """The post's sortAt as the AppView computes it (the earlier of createdAt and indexedAt),
    never later than ``latest``: a post dated in the future must not carry the cursor there."""
    try:
        record = post.get("record") or {}
        created = parse_time(record.get("createdAt"))
        indexed = post.get("indexedAt")
        return min(created, parse_time(indexed), latest) if indexed else min(created, latest)
    except Exception:
        return default


def _ident(post: PostView) -> str:
    uri = post.get("uri")
    if isinstance(uri, str) and uri:
        return uri
    return "invalid:" + item_digest(post)


@dataclass
class _Walk:
    """A search walk in progress (newest page back to the floor), kept across errors."""

    key: tuple[datetime, str]
    cursor: str | None = None
    pages: int = 0
    found: dict[str, Found] = field(default_factory=dict)


class SearchStream(Stream):
    """One ``searchPosts`` query, polled every ``poll_interval_s`` (cursor: see module doc)."""

    def __init__(
        self, config: BlueskyConfig, query: str, client: BlueskyClient, ctx: SourceContext
    ) -> None:
        digest = hashlib.sha256(query.encode()).hexdigest()[:10]
        super().__init__("bluesky", config.name, f"search/{digest}", config.poll_interval_s)
        self.query = query
        self._config = config
        self._client = client
        self._ctx = ctx
        self._match = Match(kind="query", value=query)
        self._walk: _Walk | None = None

    async def _collect(self, floor: datetime, known: SeenSet) -> list[Found]:
        """Posts with sortAt >= ``floor`` not in ``known``, oldest first, deduplicated.

        A transient error mid-walk keeps the pages read so far (nothing is committed yet),
        so the next attempt goes on from the failed page.
        """
        cfg = self._config
        latest = self._ctx.now() + FUTURE_SKEW
        key = (floor, known.dump(len(known)))
        walk = self._walk if self._walk and self._walk.key == key else _Walk(key)
        self._walk = walk
        while walk.pages < cfg.max_pages_per_pass:
            page = await self._client.search(
                self.query,
                since=iso(floor),
                lang=cfg.lang,
                cursor=walk.cursor,
                limit=cfg.page_limit,
            )
            walk.pages += 1
            for post in page.posts:
                ident = _ident(post)
                at = _sort_at(post, floor, latest)
                # Offset cursors shift while posts arrive: a post can show up on two pages.
                if digest_key(ident) not in known and ident not in walk.found and at >= floor:
                    walk.found[ident] = (at, ident, post)
            walk.cursor = page.cursor
            if not page.cursor or not page.posts:
                break
        else:
            log.warning(
                "%s: over %d pages of new posts; the oldest are skipped",
                self.key,
                cfg.max_pages_per_pass,
            )
        self._walk = None
        return sorted(walk.found.values(), key=lambda f: (f[0], f[1]))

    def page_of(
        self, chunk: Sequence[Found], since: datetime, seen: SeenSet, limit: int = 0
    ) -> Page:
        """Map some collected posts; broken ones become Rejects; the cursor covers them all."""
        fetched_at = self._ctx.now()
        mentions, rejects = map_items(
            [post for _, _, post in chunk],
            lambda post: map_post(
                post.get("record"),
                uri=as_id(post["uri"], "uri"),
                handle=(post.get("author") or {}).get("handle"),
                instance=self.instance,
                matched_by=(self._match,),
                fetched_at=fetched_at,
                pseudonymiser=self._ctx.pseudonymiser,
            ),
        )
        newest = max([since, *(key for key, _, _ in chunk)])
        for _, ident, _ in chunk:
            seen.add(digest_key(ident))
        limit = max(self._config.seen_limit, limit)
        cursor: Cursor = {"since": iso(newest), "seen_b64": seen.dump(limit)}
        return Page(mentions, rejects, cursor, fetched=len(chunk))

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        cursor = cursor or {}
        cfg = self._config
        stored = cursor.get("since")
        since = parse_time(stored) if stored else cfg.since or self._ctx.now() - timedelta(days=1)
        seen = SeenSet.load(cursor)
        # Posts can be indexed a little after their sortAt: look back over the overlap too.
        fresh = await self._collect(since - timedelta(seconds=cfg.overlap_s), seen)
        for start in range(0, len(fresh), cfg.page_limit):
            chunk = fresh[start : start + cfg.page_limit]
            page = self.page_of(chunk, since, seen, 2 * len(fresh))
            assert page.cursor is not None
            since = parse_time(page.cursor["since"])
            yield page


class BlueskySource(Source):
    def __init__(self, config: BlueskyConfig, ctx: SourceContext) -> None:
        client = BlueskyClient(ctx.http, config.api_url, config.token(ctx.environ))
        self._streams: list[Stream] = [SearchStream(config, q, client, ctx) for q in config.search]
        if config.jetstream_url:
            self._streams.append(
                FirehoseStream(
                    config.name,
                    config.jetstream_url,
                    ctx,
                    terms=config.terms,
                    langs=config.langs,
                    batch_max=config.batch_max,
                    flush_s=config.flush_s,
                )
            )

    def streams(self) -> Sequence[Stream]:
        return self._streams


SPEC = SourceSpec("bluesky", BlueskyConfig, BlueskySource)
