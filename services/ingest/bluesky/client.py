"""HTTP and WebSocket side of Bluesky: ``app.bsky.feed.searchPosts`` and Jetstream.

Contract: :meth:`BlueskyClient.search` returns one :class:`SearchPage` (post views,
the raw body for dead letters, the next ``cursor``) or raises HttpRetryable /
HttpPermanent / PayloadError (the body is not ``{"posts": [...]}``).
:func:`jetstream_frames` yields the text frames of Jetstream's ``/subscribe`` from
``cursor`` (time_us, inclusive) on, and ``None`` after ``tick_s`` without a frame so
the caller can flush a batch on a quiet stream; a normal close ends the frames; a
connection that drops or is refused raises HttpRetryable (a 4xx other than 429 on the handshake: HttpPermanent).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr
from websockets.asyncio.client import connect
from websockets.exceptions import (
    ConnectionClosedOK,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)

from services.ingest.runtime.errors import HttpPermanent, HttpRetryable, PayloadError
from services.ingest.runtime.http import ApiClient, QueryParams

PostView = dict[str, Any]
POST_COLLECTION = "app.bsky.feed.post"
SEARCH_PATH = "/xrpc/app.bsky.feed.searchPosts"


@dataclass(frozen=True)
class SearchPage:
    posts: list[PostView]
    raw: bytes
    cursor: str | None
    """Opaque cursor of the next (older) page; None on the last one."""


class BlueskyClient:
    """One AppView; ``token`` (optional: the public AppView needs none) is sent as Bearer."""

    def __init__(self, api: ApiClient, base_url: str, token: SecretStr | None = None) -> None:
        self._api = api
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token.get_secret_value()}"

    async def search(
        self, q: str, *, since: str, lang: str | None, cursor: str | None, limit: int
    ) -> SearchPage:
        """One page of ``searchPosts?sort=latest``: newest first, posts with sortAt >= ``since``."""
        params: QueryParams = {
            "q": q,
            "sort": "latest",
            "since": since,
            "limit": limit,
            "lang": lang or None,
            "cursor": cursor or None,
        }
        url = self.base_url + SEARCH_PATH
        data, response = await self._api.get_json(url, params=params, headers=self._headers)
        raw = response.content
        posts = data.get("posts") if isinstance(data, dict) else None
        if not isinstance(posts, list) or not all(isinstance(p, dict) for p in posts):
            raise PayloadError(url, 'expected {"posts": [post views]}', raw)
        next_cursor = data.get("cursor")
        return SearchPage(posts, raw, next_cursor if isinstance(next_cursor, str) else None)


def subscribe_url(base_url: str, cursor: int | None) -> str:
    """Jetstream's subscribe URL for posts only, resuming at ``cursor`` (time_us) when given."""
    query: dict[str, str | int] = {"wantedCollections": POST_COLLECTION}
    if cursor:
        query["cursor"] = cursor
    return f"{base_url.rstrip('/')}/subscribe?{urlencode(query)}"


async def jetstream_frames(
    base_url: str, cursor: int | None, *, tick_s: float, user_agent: str | None = None
) -> AsyncGenerator[str | None, None]:
    """Text frames from Jetstream; ``None`` when ``tick_s`` passed without one (see module doc)."""
    url = subscribe_url(base_url, cursor)
    try:
        async with connect(
            url, open_timeout=15, user_agent_header=user_agent, max_size=1 << 21
        ) as ws:
            while True:
                try:
                    # recv() is cancellation-safe: a timeout here loses no frame.
                    frame = await asyncio.wait_for(ws.recv(), timeout=tick_s)
                except TimeoutError:
                    yield None
                    continue
                yield frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    except ConnectionClosedOK:
        return  # the server closed normally (a deploy, a rebalance): not a failure
    except InvalidURI as exc:
        raise HttpPermanent(url, 0, f"bad Jetstream URL: {exc}") from exc
    except InvalidStatus as exc:
        status = exc.response.status_code
        if 400 <= status < 500 and status != 429:
            raise HttpPermanent(url, status, "Jetstream refused the subscription") from exc
        raise HttpRetryable(url, status, "Jetstream handshake failed") from exc
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise HttpRetryable(url, 0, f"Jetstream connection lost: {exc!r}") from exc
