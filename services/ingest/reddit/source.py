"""Reddit posts (t3) and comments (t1) → Mentions, from subreddit and search listings.

Contract: the native id is the thing's fullname (see ``mapping``). A pass walks
FORWARD with ``before=<newest fullname>`` (each page holds the things just newer than
it; a first run backfills up to ``max_pages_per_pass`` pages) and yields one Page per
listing page, oldest first, with cursor ``{"before": <newest fullname>, "at": <its
created_utc>, "seen": [recent fullnames]}``. Reddit answers an empty listing for ever
once the ``before`` post is deleted or removed, so after an empty anchored page the pass
reads back from the newest page (``after``) to things seen or older than ``at``;
``seen`` drops whatever was produced already (including things a listing repeats
across pages).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncGenerator, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from schemas.models import Match
from services.ingest.reddit.client import Credentials, Listing, RedditClient
from services.ingest.reddit.mapping import WEB, map_thing
from services.ingest.runtime.api import Cursor, Page, Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.config import ENV_NAME, InstanceConfig
from services.ingest.runtime.http import QueryParams
from services.ingest.runtime.items import item_digest, map_items
from services.ingest.runtime.seen import SeenSet, digest_key

SUBREDDIT = r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$"


def _subreddit(value: Any) -> Any:
    return value.strip().removeprefix("/").removeprefix("r/") if isinstance(value, str) else value


class RedditSearch(BaseModel):
    """A search query, site-wide or (``subreddit``) restricted to one subreddit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str = Field(min_length=1, max_length=512)
    subreddit: str | None = Field(default=None, pattern=SUBREDDIT)

    _strip = field_validator("subreddit", mode="before")(_subreddit)


class RedditConfig(InstanceConfig):
    """``kind: reddit`` — subreddits' new posts (and, with ``comments``, new comments) and searches.

    Anonymous by default; ``client_id_env`` + ``client_secret_env`` switch to app-only OAuth.
    """

    kind: Literal["reddit"]
    subreddits: tuple[Annotated[str, Field(pattern=SUBREDDIT)], ...] = ()
    comments: bool = False
    search: tuple[RedditSearch, ...] = ()
    base_url: str = Field(default=WEB, pattern=r"^https?://\S+$")
    oauth_url: str = Field(default="https://oauth.reddit.com", pattern=r"^https?://\S+$")
    token_url: str = Field(default=f"{WEB}/api/v1/access_token", pattern=r"^https?://\S+$")
    client_id_env: str | None = Field(default=None, pattern=ENV_NAME)
    client_secret_env: str | None = Field(default=None, pattern=ENV_NAME)
    page_limit: int = Field(default=100, ge=1, le=100)
    max_pages_per_pass: int = Field(default=10, ge=1)
    seen_limit: int = Field(default=1000, ge=10, le=60_000)

    @field_validator("subreddits", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return [_subreddit(v) for v in value] if isinstance(value, list | tuple) else value

    @field_validator("search", mode="before")
    @classmethod
    def _bare_queries(cls, value: Any) -> Any:
        return (
            [{"q": v} if isinstance(v, str) else v for v in value]
            if isinstance(value, list)
            else value
        )

    @model_validator(mode="after")
    def _check(self) -> RedditConfig:
        if not self.subreddits and not self.search:
            raise ValueError("give at least one of subreddits or search")
        if (self.client_id_env is None) != (self.client_secret_env is None):
            raise ValueError("OAuth needs both client_id_env and client_secret_env")
        return self

    def required_env(self) -> tuple[str, ...]:
        return ("client_id_env", "client_secret_env") if self.client_id_env else ()


FULLNAME = re.compile(r"^t[1-6]_[0-9a-z]{1,13}$")
FUTURE_SKEW_S = 600.0


def _fullname(thing: Any) -> str | None:
    """The thing's fullname when it is one (``t3_abc``): only such a name may enter a cursor."""
    data = thing.get("data") if isinstance(thing, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and FULLNAME.match(name) else None


def _created(thing: Any, latest: float) -> float:
    """``created_utc`` of a thing, at most ``latest`` (0 when it has none or it is not a
    finite number: a broken thing, rejected later, never a cursor's time)."""
    try:
        value = float(thing["data"]["created_utc"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return 0.0
    return min(value, latest) if math.isfinite(value) and value > 0 else 0.0


def _ident(thing: Any) -> str:
    return _fullname(thing) or "invalid:" + item_digest(thing)


def _same_place(new: Cursor, old: Cursor) -> bool:
    """Nothing moved: same anchor and time, and the old cursor already had the packed seen-set."""
    return new["before"] == old["before"] and new["at"] == old["at"] and "seen_b64" in old


def _stored_at(cursor: Cursor) -> float:
    value = cursor.get("at")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


class ListingStream(Stream):
    """One listing (new posts, new comments or a search), walked forward from ``before``."""

    def __init__(
        self,
        config: RedditConfig,
        name: str,
        path: str,
        client: RedditClient,
        ctx: SourceContext,
        *,
        params: dict[str, str | int] | None = None,
        query: Match | None = None,
    ) -> None:
        super().__init__("reddit", config.name, name, config.poll_interval_s)
        self.path = path
        self._params = params or {}
        self._query = query
        self._client = client
        self._ctx = ctx
        self._config = config
        self._walk: tuple[tuple[str, float], list[Any]] | None = None

    async def _fetch(self, before: str | None, after: str | None = None) -> Listing:
        params: QueryParams = {
            **self._params,
            "limit": self._config.page_limit,
            "before": before or None,
            "after": after or None,
        }
        return await self._client.listing(self.path, params)

    def _latest(self) -> float:
        return self._ctx.now().timestamp() + FUTURE_SKEW_S

    async def _back_to(self, known: SeenSet, at: float) -> list[Any]:
        """The newest page, then older ones (``after``) back to what was seen before.

        Stops at a page holding a thing in ``known`` or created before ``at`` (the newest
        thing produced), after ``max_pages_per_pass`` pages (which bounds a first run's
        backfill), or when a page brings nothing new (a looping server).
        """
        # A transient error mid-walk must not restart it: the pages read so far are kept
        # (in memory, nothing is committed yet) and the next attempt goes on from there.
        key = (known.dump(len(known)), at)
        latest = self._latest()
        children = self._walk[1] if self._walk and self._walk[0] == key else []
        for _ in range(self._config.max_pages_per_pass):
            last = _fullname(children[-1]) if children else None
            older = (await self._fetch(None, last)).children
            had = {_ident(t) for t in children}
            children = children + [t for t in older if _ident(t) not in had]
            self._walk = (key, children)
            if not older or any(
                digest_key(_ident(t)) in known or _ident(t) in had or 0 < _created(t, latest) < at
                for t in older
            ):
                break
        self._walk = None
        return children

    def page_of(self, children: Sequence[Any], cursor: Cursor) -> Page:
        """The unseen things as a Page, oldest first; cursor: newest fullname, its time, recent."""
        seen = SeenSet.load(cursor)
        fresh = [t for t in reversed(children) if digest_key(_ident(t)) not in seen]
        mentions, rejects = map_items(
            fresh,
            lambda thing: map_thing(
                thing,
                instance=self.instance,
                query=self._query,
                fetched_at=self._ctx.now(),
                pseudonymiser=self._ctx.pseudonymiser,
            ),
        )
        for thing in fresh:
            seen.add(digest_key(_ident(thing)))
        latest = self._latest()
        after: Cursor = {
            "before": next((n for n in map(_fullname, children) if n), cursor.get("before")),
            "at": max([_stored_at(cursor), *(_created(t, latest) for t in children)]),
            "seen_b64": seen.dump(max(self._config.seen_limit, 2 * len(children))),
        }
        return Page(mentions, rejects, after, fetched=len(children))

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        cursor = {"before": None, "at": 0.0, **(cursor or {})}
        if not (isinstance(cursor["before"], str) and FULLNAME.match(cursor["before"])):
            cursor["before"] = None  # a stored value that is not a fullname is never sent back
        for _ in range(self._config.max_pages_per_pass):
            anchored = cursor["before"] is not None
            children = (await self._fetch(cursor["before"])).children if anchored else []
            if not children:
                # First run: backfill. Anchored: Reddit answers an empty listing for ever once
                # the ``before`` thing is deleted or removed, so read back to what was seen.
                known = SeenSet.load(cursor)
                children, anchored = await self._back_to(known, _stored_at(cursor)), False
            page = self.page_of(children, cursor)
            assert page.cursor is not None
            if _same_place(page.cursor, cursor) and not (page.mentions or page.rejects):
                return  # nothing new
            yield page
            assert page.cursor is not None
            cursor = page.cursor
            if not anchored or len(children) < self._config.page_limit:
                return  # read back from the newest, or a short page: caught up


class RedditSource(Source):
    def __init__(self, config: RedditConfig, ctx: SourceContext) -> None:
        creds = None
        if config.client_id_env and config.client_secret_env:
            creds = Credentials(
                ctx.environ.get(config.client_id_env, ""),
                SecretStr(ctx.environ.get(config.client_secret_env, "")),
                config.token_url,
            )
        client = RedditClient(
            ctx.http, base_url=config.base_url, oauth_url=config.oauth_url, credentials=creds
        )
        self._streams: list[Stream] = []
        for sub in config.subreddits:
            self._streams.append(
                ListingStream(config, f"r/{sub}/new", f"/r/{sub}/new.json", client, ctx)
            )
            if config.comments:
                path = f"/r/{sub}/comments.json"
                self._streams.append(ListingStream(config, f"r/{sub}/comments", path, client, ctx))
        for search in config.search:
            params: dict[str, str | int] = {"q": search.q, "sort": "new", "type": "link"}
            path = "/search.json"
            if search.subreddit:
                path, params["restrict_sr"] = f"/r/{search.subreddit}/search.json", "on"
            digest = hashlib.sha256(f"{search.subreddit}\x1f{search.q}".encode()).hexdigest()[:10]
            query = Match(kind="query", value=search.q)
            stream = ListingStream(
                config, f"search/{digest}", path, client, ctx, params=params, query=query
            )
            self._streams.append(stream)

    def streams(self) -> Sequence[Stream]:
        return self._streams


SPEC = SourceSpec("reddit", RedditConfig, RedditSource)
