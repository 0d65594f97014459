"""RSS 0.9x/1.0/2.0 and Atom feeds (Google Alerts included) → Mentions.

Contract: each feed is one stream; a pass fetches it conditionally, maps every
entry not seen before, and yields one Page whose cursor holds the validators
(ETag, Last-Modified) and the ids seen recently, so a restart produces nothing
twice. A body feedparser cannot read (no entries and a parse error) raises
PayloadError with the parser's reason: it is dead-lettered, the feed is not parked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import feedparser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from common.privacy import Pseudonymiser
from schemas.ids import mention_id
from schemas.models import Match, Mention, Point
from services.ingest.rss.client import FeedResponse, RssClient
from services.ingest.runtime.api import Cursor, Page, Reject, Source, SourceContext, Stream
from services.ingest.runtime.config import INSTANCE_NAME, InstanceConfig
from services.ingest.runtime.errors import PayloadError
from services.ingest.runtime.mapping import html_to_text, make_mention, safe_url

GOOGLE_HOSTS = frozenset({"www.google.com", "google.com", "www.google.co.uk", "google.co.uk"})


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


def unwrap_google(link: str) -> str:
    """The real target of a Google redirect (``google.com/url?...&url=<target>``), else ``link``."""
    parts = urlsplit(link)
    if parts.hostname in GOOGLE_HOSTS and parts.path == "/url":
        query = parse_qs(parts.query)
        for name in ("url", "q"):
            target = query.get(name, [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return link


def entry_native_id(entry: Any) -> str:
    """The entry's own id, else a stable one from link + title (same entry, same id)."""
    native = str(entry.get("id") or "").strip()
    if native:
        return native
    basis = f"{entry.get('link', '')}\x1f{entry.get('title', '')}"
    return "urn:earshot:rss:" + hashlib.sha256(basis.encode()).hexdigest()


def _when(entry: Any) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(name)
        if parsed:
            try:
                return datetime(*parsed[:6]).replace(tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


def _geo(entry: Any) -> Point | None:
    """GeoRSS point: feedparser's ``where`` (GeoJSON, lon/lat) or ``georss_point`` ("lat lon")."""
    try:
        where = entry.get("where")
        if where and where.get("type") == "Point":
            lon, lat = where["coordinates"][:2]
            return Point(lat=float(lat), lon=float(lon))
        raw = entry.get("georss_point")
        if raw:
            lat_s, lon_s = str(raw).replace(",", " ").split()[:2]
            return Point(lat=float(lat_s), lon=float(lon_s))
    except (ValueError, TypeError, KeyError, IndexError, ValidationError):
        return None
    return None


def map_entry(
    entry: Any,
    *,
    instance: str,
    feed: str,
    base_url: str,
    lang: str | None,
    fetched_at: datetime,
    pseudonymiser: Pseudonymiser,
) -> Mention:
    """One feed entry as a Mention; raises ValueError when it has no text at all."""
    title = html_to_text(entry.get("title")) or None
    content = entry.get("content") or []
    body = content[0].get("value") if content else None
    text = html_to_text(body or entry.get("summary") or entry.get("description")) or title
    if not text:
        raise ValueError("entry has neither title nor content")
    link = entry.get("link")
    author_name = str(entry.get("author") or "").strip()
    return make_mention(
        kind="rss",
        instance=instance,
        native_id=entry_native_id(entry),
        text=text,
        title=title,
        url=safe_url(unwrap_google(link), base_url) if link else None,
        lang=entry.get("language") or lang,
        created_at=_when(entry) or fetched_at,
        fetched_at=fetched_at,
        author=pseudonymiser.author("rss", author_name, author_name) if author_name else None,
        geo=_geo(entry),
        matched_by=(Match(kind="feed", value=feed),),
    )


def parse(response: FeedResponse) -> Any:
    """feedparser over the fetched bytes; PayloadError when nothing usable came out."""
    headers = {"content-location": response.url}
    if response.content_type:
        headers["content-type"] = response.content_type
    parsed = feedparser.parse(response.body, response_headers=headers)
    if parsed.get("bozo") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception")
        raise PayloadError(response.url, f"malformed feed: {reason!r}", response.body)
    return parsed


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
        mentions: list[Mention] = []
        rejects: list[Reject] = []
        lang = parsed.get("feed", {}).get("language")
        for entry in parsed.get("entries", []):
            token = mention_id("rss", entry_native_id(entry))[:16]
            if token in known:
                continue
            known.add(token)
            now_seen.append(token)
            try:
                mentions.append(
                    map_entry(
                        entry,
                        instance=self.instance,
                        feed=self.name,
                        base_url=response.url,
                        lang=lang,
                        fetched_at=fetched_at,
                        pseudonymiser=self._ctx.pseudonymiser,
                    )
                )
            except (ValueError, TypeError) as exc:
                raw = json.dumps(entry, default=str, ensure_ascii=False).encode()
                rejects.append(Reject(raw, exc))
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
