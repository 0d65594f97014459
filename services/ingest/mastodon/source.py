"""Mastodon statuses → Mentions: hashtag timelines and search, polled forward with ``min_id``.

Mapping a status is ``mapping.map_status``. A first run (no cursor) reads back
``backfill_pages`` pages from the newest with ``max_id``, so posts already there when
listening starts are heard.

Contract: an edit (``edited_at``) is produced again under the same mention_id. A pass
yields one Page per API page, each with cursor ``{"min_id": <newest id so far>}``, so a
restart resumes after the last committed page.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from schemas.models import Match, Mention
from services.ingest.mastodon.client import (
    MastodonClient,
    Status,
    StatusPage,
    id_key,
    newest,
    status_id,
)
from services.ingest.mastodon.mapping import map_status
from services.ingest.mastodon.stream import StreamingHashtag
from services.ingest.runtime.api import Cursor, Page, Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.items import item_digest, map_items


class MastodonConfig(InstanceConfig):
    """``kind: mastodon`` — hashtags on each server; ``search``/``streaming`` need ``token_env``."""

    kind: Literal["mastodon"]
    servers: tuple[str, ...] = Field(min_length=1)
    hashtags: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    streaming: bool = False
    page_limit: int = Field(default=40, ge=1, le=40)
    max_pages_per_pass: int = Field(default=50, ge=1)
    backfill_pages: int = Field(default=5, ge=1)
    """First run (no cursor yet): pages read back from the newest, so what was already
    posted when listening starts is heard too, not just the newest page."""

    @model_validator(mode="after")
    def _check(self) -> MastodonConfig:
        for server in self.servers:
            if not server.startswith(("https://", "http://")):
                raise ValueError(f"server {server!r} must be a URL like https://mastodon.social")
        if not self.hashtags and not self.search:
            raise ValueError("give at least one of hashtags or search")
        if (self.search or self.streaming) and not self.token_env:
            raise ValueError("search and streaming need token_env (an access token)")
        return self

    def required_env(self) -> tuple[str, ...]:
        return ("token_env",) if self.search or self.streaming else ()


def to_page(
    statuses: Sequence[Status], stream: Stream, match: Match, ctx: SourceContext, min_id: str | None
) -> Page:
    """Map a batch of statuses; broken ones become Rejects; the cursor is the newest id."""
    fetched_at = ctx.now()

    def one(status: Status) -> Mention | None:
        if status_id(status) is None:
            raise ValueError(f"status id {str(status.get('id'))[:40]!r} is not a usable id")
        return map_status(
            status,
            instance=stream.instance,
            match=match,
            fetched_at=fetched_at,
            pseudonymiser=ctx.pseudonymiser,
        )

    mentions, rejects = map_items(statuses, one)
    cursor = newest(min_id, *(status_id(s) for s in statuses))
    return Page(mentions, rejects, {"min_id": cursor} if cursor else None, fetched=len(statuses))


def _newer(status: Status, min_id: str | None) -> bool:
    """Newer than ``min_id``, or without a usable id (so it is rejected, not silently lost)."""
    known = status_id(status)
    return min_id is None or known is None or id_key(known) > id_key(min_id)


def _by_id(status: Status) -> tuple[int, str]:
    """Sort key: oldest status first (ones without a usable id first of all)."""
    return id_key(status_id(status) or "")


def _older(status: Status, max_id: str) -> bool:
    known = status_id(status)
    return known is not None and id_key(known) < id_key(max_id)


Fetch = Callable[[str | None, str | None], Awaitable[StatusPage]]
"""(min_id, max_id) → one page."""


class TimelineStream(Stream):
    """Polls one hashtag timeline or search on one server, walking forward from ``min_id``."""

    def __init__(
        self, config: MastodonConfig, name: str, match: Match, fetch: Fetch, ctx: SourceContext
    ) -> None:
        super().__init__("mastodon", config.name, name, config.poll_interval_s)
        self.match = match
        self.ctx = ctx
        self._fetch = fetch
        self._max_pages = config.max_pages_per_pass
        self._backfill_pages = config.backfill_pages

    def page_of(self, statuses: Sequence[Status], min_id: str | None) -> Page:
        """Statuses mapped into one Page whose cursor is the newest id seen."""
        return to_page(statuses, self, self.match, self.ctx, min_id)

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        min_id = status_id({"id": (cursor or {}).get("min_id")})
        if min_id is None:
            heard = await self._backfill()
            if not heard:
                return
            page = self.page_of(heard, None)
            yield page
            min_id = (page.cursor or {}).get("min_id")
        for _ in range(self._max_pages):
            batch = await self._fetch(min_id, None)
            # Servers repeat statuses at page edges; anything not newer than min_id is done.
            fresh = [s for s in batch.statuses if _newer(s, min_id)]
            fresh.sort(key=_by_id)  # oldest first, as they happened
            if not fresh:
                return
            page = self.page_of(fresh, min_id)
            yield page
            next_id = newest(min_id, (page.cursor or {}).get("min_id"))
            if next_id == min_id:
                return  # nothing newer came back: caught up (guards a looping server)
            min_id = next_id

    async def _backfill(self) -> list[Status]:
        """The newest page and up to ``backfill_pages - 1`` older ones, oldest first: one Page,
        so a crash part-way leaves no cursor and the next run starts the backfill again."""
        heard: dict[str, Status] = {}
        max_id: str | None = None
        for _ in range(self._backfill_pages):
            batch = await self._fetch(None, max_id)
            older = [s for s in batch.statuses if max_id is None or _older(s, max_id)]
            ids = [i for i in map(status_id, older) if i is not None]
            if not ids:
                break
            # One without a usable id is kept too, under a stand-in key, to be rejected.
            heard.update({status_id(s) or "invalid:" + item_digest(s): s for s in older})
            max_id = min(ids, key=id_key)
        return sorted(heard.values(), key=_by_id)


class MastodonSource(Source):
    def __init__(self, config: MastodonConfig, ctx: SourceContext) -> None:
        token = config.token(ctx.environ)
        self._streams: list[Stream] = []
        for server in config.servers:
            client = MastodonClient(ctx.http, server, token)
            host = urlsplit(server).netloc
            for tag in config.hashtags:
                match = Match(kind="hashtag", value=tag.lstrip("#").lower())
                name = f"{host}/tag/{match.value}"

                def fetch(
                    min_id: str | None,
                    max_id: str | None,
                    c: MastodonClient = client,
                    t: str = match.value,
                ) -> Awaitable[StatusPage]:
                    return c.tag_timeline(t, min_id=min_id, max_id=max_id, limit=config.page_limit)

                timeline = TimelineStream(config, name, match, fetch, ctx)
                self._streams.append(
                    StreamingHashtag(timeline, client) if config.streaming else timeline
                )
            for query in config.search:
                match = Match(kind="query", value=query)
                name = f"{host}/search/{hashlib.sha256(query.encode()).hexdigest()[:10]}"

                def search(
                    min_id: str | None,
                    max_id: str | None,
                    c: MastodonClient = client,
                    q: str = query,
                ) -> Awaitable[StatusPage]:
                    return c.search(q, min_id=min_id, max_id=max_id, limit=config.page_limit)

                self._streams.append(TimelineStream(config, name, match, search, ctx))

    def streams(self) -> Sequence[Stream]:
        return self._streams


SPEC = SourceSpec("mastodon", MastodonConfig, MastodonSource)
