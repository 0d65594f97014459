"""RSS 0.9x/1.0/2.0 and Atom feeds (Google Alerts included) → Mentions.

Contract: each feed is one stream; a pass fetches it conditionally, maps every
entry not seen before, and yields one Page whose cursor holds the validators
(ETag, Last-Modified) and the ids seen recently, so a restart produces nothing
twice. A body feedparser cannot read (no entries and a parse error) raises
PayloadError with the parser's reason: it is dead-lettered, the feed is not parked.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.ids import mention_id
from services.ingest.rss.client import RssClient, parse
from services.ingest.rss.mapping import entry_native_id, map_entry
from services.ingest.runtime.api import Cursor, Page, Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.config import INSTANCE_NAME, InstanceConfig
from services.ingest.runtime.items import map_items


class FeedConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://\S+$")
    name: str | None = Field(default=None, pattern=INSTANCE_NAME)

    @property
    def stream_name(self) -> str:
        return self.name or "feed-" + hashlib.sha256(self.url.encode()).hexdigest()[:12]


class RssConfig(InstanceConfig):
    """``kind: rss`` — feeds polled every ``poll_interval_s``; a bare URL string is allowed."""

    kind: Literal["rss"]
    feeds: tuple[FeedConfig, ...] = Field(min_length=1)
    seen_limit: int = Field(default=2000, ge=10, le=100_000)

    @field_validator("feeds", mode="before")
    @classmethod
    def _bare_urls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value


class RssFeedStream(Stream):
    def __init__(self, config: RssConfig, feed: FeedConfig, ctx: SourceContext) -> None:
        super().__init__("rss", config.name, feed.stream_name, config.poll_interval_s)
        self._feed = feed
        self._ctx = ctx
        self._client = RssClient(ctx.http)
        self._seen_limit = config.seen_limit

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        cursor = cursor or {}
        response = await self._client.fetch(
            self._feed.url, cursor.get("etag"), cursor.get("last_modified")
        )
        if response.not_modified:
            return
        parsed = parse(response)
        fetched_at = self._ctx.now()
        seen: list[str] = list(cursor.get("seen") or [])
        known = set(seen)
        now_seen: list[str] = []
        fresh: list[Any] = []
        lang = parsed.get("feed", {}).get("language")
        for entry in parsed.get("entries", []):
            token = mention_id("rss", entry_native_id(entry))[:16]
            if token in known:
                continue
            known.add(token)
            now_seen.append(token)
            fresh.append(entry)
        mentions, rejects = map_items(
            fresh,
            lambda entry: map_entry(
                entry,
                instance=self.instance,
                feed=self.name,
                base_url=response.url,
                lang=lang,
                fetched_at=fetched_at,
                pseudonymiser=self._ctx.pseudonymiser,
            ),
        )
        new_cursor: Cursor = {
            "etag": response.etag,
            "last_modified": response.last_modified,
            "seen": (now_seen + seen)[: self._seen_limit],
        }
        yield Page(mentions, rejects, new_cursor, fetched=len(parsed.get("entries", [])))


class RssSource(Source):
    def __init__(self, config: RssConfig, ctx: SourceContext) -> None:
        self._streams = [RssFeedStream(config, feed, ctx) for feed in config.feeds]

    def streams(self) -> Sequence[Stream]:
        return self._streams


SPEC = SourceSpec("rss", RssConfig, RssSource)
