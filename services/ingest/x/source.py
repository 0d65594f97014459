"""X tweets → Mentions from API v2 recent search (mapping and geo: see ``mapping``).

Contract: the native id is the tweet id. A pass follows ``next_token`` from the newest
page back to the stored ``since_id``, then yields the new tweets OLDEST first, in pages
whose cursor is ``{"since_id": <newest id so far>}`` (the last one's is the first
page's ``meta.newest_id``): a restart after any committed page neither skips nor
repeats a tweet. Retweets are skipped (add ``-is:retweet`` to the query to save quota).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.models import Match
from services.ingest.runtime.api import Cursor, Page, Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.errors import HttpPermanent
from services.ingest.runtime.items import map_items
from services.ingest.x.client import Obj, XClient
from services.ingest.x.mapping import map_tweet

log = logging.getLogger(__name__)


class XConfig(InstanceConfig):
    """``kind: x`` — recent-search ``queries``; ``token_env`` names the app's bearer token."""

    kind: Literal["x"]
    queries: tuple[str, ...] = Field(min_length=1)
    base_url: str = Field(default="https://api.x.com", pattern=r"^https?://\S+$")
    max_results: int = Field(default=100, ge=10, le=100)
    max_pages_per_pass: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _check(self) -> XConfig:
        if not self.token_env:
            raise ValueError("X needs token_env: the env var holding the app's bearer token")
        return self

    def required_env(self) -> tuple[str, ...]:
        return ("token_env",)


TWEET_ID = re.compile(r"^[0-9]{1,19}$")


def _id(tweet: Any) -> int:
    """The tweet's id as a number when it is a real one (a 64-bit snowflake), else 0: only such
    an id may become ``since_id``, so a huge or garbled id can never poison the cursor."""
    raw = tweet.get("id") if isinstance(tweet, dict) else None
    text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    return int(text) if TWEET_ID.match(text) and int(text) < 2**63 else 0


@dataclass
class _Walk:
    """A recent-search walk in progress, from the newest page back to ``since``."""

    since: int
    newest: int
    token: str | None = None
    pages: int = 0
    stale: bool = False
    found: dict[int, Any] = field(default_factory=dict)
    broken: list[Any] = field(default_factory=list)  # no usable id: dead-lettered first
    places: dict[str, Obj] = field(default_factory=dict)
    users: dict[str, Obj] = field(default_factory=dict)


class RecentSearchStream(Stream):
    """One recent-search query (cursor: see module doc)."""

    def __init__(self, config: XConfig, query: str, client: XClient, ctx: SourceContext) -> None:
        digest = hashlib.sha256(query.encode()).hexdigest()[:10]
        super().__init__("x", config.name, f"search/{digest}", config.poll_interval_s)
        self.query = query
        self._match = Match(kind="query", value=query)
        self._client = client
        self._ctx = ctx
        self._config = config
        self._walk: _Walk | None = None

    async def _walk_back(self, since: int) -> _Walk:
        """Every page from the newest back to ``since`` (``next_token``), at most max pages.

        A transient error mid-walk keeps the pages read so far (nothing is committed yet),
        so the next attempt goes on from the failed page instead of spending quota again.
        """
        walk = self._walk if self._walk and self._walk.since == since else _Walk(since, since)
        self._walk = walk
        while walk.pages < self._config.max_pages_per_pass:
            try:
                page = await self._client.search_recent(
                    self.query,
                    since_id=str(since) if since and not walk.stale else None,
                    next_token=walk.token,
                    max_results=self._config.max_results,
                )
            except HttpPermanent as exc:
                if exc.status != 400 or not since or walk.stale:
                    raise
                # X refuses a since_id older than its 7-day window (after a long outage):
                # walk without it; the id filter below still drops what was produced.
                log.warning("%s: since_id refused (%s); searching without it", self.key, exc)
                walk.stale = True
                continue
            walk.pages += 1
            walk.places.update(page.places)
            walk.users.update(page.users)
            walk.newest = max(walk.newest, _id({"id": page.newest_id}))
            for tweet in page.tweets:
                key = _id(tweet)
                if key > since:  # pages can repeat a tweet; since_id bounds the walk
                    walk.found.setdefault(key, tweet)
                elif not key:
                    walk.broken.append(tweet)
            walk.token = page.next_token
            if not walk.token:
                break
        else:
            pages = self._config.max_pages_per_pass
            log.warning("%s: more than %d pages of new tweets; older ones skipped", self.key, pages)
        self._walk = None
        return walk

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        since = _id({"id": (cursor or {}).get("since_id")})
        walk = await self._walk_back(since)
        ordered = [walk.found[k] for k in sorted(walk.found)]
        step = self._config.max_results
        for start in range(0, max(len(ordered), len(walk.broken)), step):
            chunk = ordered[start : start + step]
            last = start + step >= len(ordered)
            top = max(since, *(_id(t) for t in chunk), walk.newest if last else 0)
            tweets = [*walk.broken, *chunk] if start == 0 else chunk
            yield self._page(tweets, walk.places, walk.users, top)
            since = top

    def _page(
        self, tweets: Sequence[Any], places: dict[str, Obj], users: dict[str, Obj], top: int
    ) -> Page:
        mentions, rejects = map_items(
            tweets,
            lambda tweet: map_tweet(
                tweet,
                places=places,
                users=users,
                instance=self.instance,
                match=self._match,
                fetched_at=self._ctx.now(),
                pseudonymiser=self._ctx.pseudonymiser,
            ),
        )
        return Page(mentions, rejects, {"since_id": str(top)} if top else None, len(tweets))


class XSource(Source):
    def __init__(self, config: XConfig, ctx: SourceContext) -> None:
        token = config.token(ctx.environ)
        if token is None:  # load_sources checks this first; a direct caller gets told too
            raise ValueError(f"{config.name}: env var {config.token_env} is not set")
        client = XClient(ctx.http, config.base_url, token)
        self._streams = [RecentSearchStream(config, q, client, ctx) for q in config.queries]

    def streams(self) -> Sequence[Stream]:
        return self._streams


SPEC = SourceSpec("x", XConfig, XSource)
