"""RSS 0.9x/1.0/2.0 and Atom feeds (Google Alerts included) → Mentions.

Contract: each feed is one stream; a pass fetches it conditionally, maps every
entry not seen before, and yields one Page whose cursor holds the validators
(ETag, Last-Modified) and the ids seen recently — at least twice as many as the feed
holds, packed (``runtime.seen``) — so a restart produces nothing twice, however long
the feed. A body feedparser cannot read (no entries and a parse error) raises
PayloadError with the parser's reason: it is dead-lettered, the feed is not parked.
Parsing and mapping a large body run off the event loop.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.ids import mention_id
from services.ingest.rss.client import FeedResponse, RssClient, parse
from services.ingest.rss.mapping import entry_native_id, map_entry
from services.ingest.runtime.api import Cursor, Page, Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.body import off_loop
from services.ingest.runtime.config import INSTANCE_NAME, InstanceConfig
from services.ingest.runtime.items import map_items
from services.ingest.runtime.seen import SeenSet


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
    seen_limit: int = Field(default=2000, ge=10, le=60_000)
    """At least this many recent entry ids are remembered (more when the feed is longer)."""

    @field_validator("feeds", mode="before")
    @classmethod
    def _bare_urls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value


def entry_key(entry: Any) -> bytes:
    """The seen-set key of an entry: the first 8 bytes of its mention id."""
    return bytes.fromhex(mention_id("rss", entry_native_id(entry))[:16])


def _legacy_token(token: str) -> bytes:
    """A cursor's older ``seen`` list held the same key as 16 hex digits."""
    try:
        return bytes.fromhex(token)
    except ValueError:
        return b""


def _validator(value: object) -> str | None:
    """An ETag / Last-Modified worth sending back: short, printable ASCII; else none."""
    if isinstance(value, str) and 0 < len(value) <= 512 and value.isascii() and value.isprintable():
        return value
    return None


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
            self._feed.url, _validator(cursor.get("etag")), _validator(cursor.get("last_modified"))
        )
        if response.not_modified:
            return
        yield await off_loop(len(response.body), lambda: self._page(response, cursor))

    def _page(self, response: FeedResponse, cursor: Cursor) -> Page:
        parsed = parse(response)
        fetched_at = self._ctx.now()
        seen = SeenSet.load(cursor, _legacy_token)
        fresh: list[Any] = []
        lang = parsed.get("feed", {}).get("language")
        entries = parsed.get("entries", [])
        for entry in reversed(entries):  # feeds list the newest first: remember oldest first
            if seen.add(entry_key(entry)):
                fresh.append(entry)
        fresh.reverse()
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
            "etag": _validator(response.etag),
            "last_modified": _validator(response.last_modified),
            "seen_b64": seen.dump(max(self._seen_limit, 2 * len(entries))),
        }
        return Page(mentions, rejects, new_cursor, fetched=len(entries))


class RssSource(Source):
    def __init__(self, config: RssConfig, ctx: SourceContext) -> None:
        self._streams = [RssFeedStream(config, feed, ctx) for feed in config.feeds]

    def streams(self) -> Sequence[Stream]:
        return self._streams


SPEC = SourceSpec("rss", RssConfig, RssSource)
