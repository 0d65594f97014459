"""HTTP side of Mastodon: hashtag timelines, authenticated search, and the SSE hashtag stream.

Contract: list calls return a :class:`StatusPage` (statuses as JSON objects plus
the raw body, for dead letters) or raise HttpRetryable / HttpPermanent /
PayloadError (the body is not a JSON list of objects). Paging walks FORWARD with
``min_id``: each page holds the statuses just newer than ``min_id``; the ``Link``
header's ``rel="prev"`` carries the next ``min_id``. ``max_id`` walks back (a first
run's backfill).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from pydantic import SecretStr

from services.ingest.runtime.errors import PayloadError
from services.ingest.runtime.http import ApiClient, QueryParams

Status = dict[str, Any]


STATUS_ID = re.compile(r"^[0-9A-Za-z]{1,24}$")
"""Mastodon ids are numeric strings; Pleroma/Akkoma's are short alphanumeric FlakeIds."""


def status_id(status: object) -> str | None:
    """A status's id when it is one a cursor may hold, else None (the status is rejected)."""
    raw = status.get("id") if isinstance(status, dict) else None
    text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    return text if STATUS_ID.match(text) else None


def id_key(status_id: str) -> tuple[int, str]:
    """Sort key of Mastodon's numeric-string ids (longer is newer, then lexical)."""
    return (len(status_id), status_id)


def newest(*ids: str | None) -> str | None:
    """The newest of some status ids (None ignored)."""
    present = [i for i in ids if i]
    return max(present, key=id_key) if present else None


@dataclass(frozen=True)
class StatusPage:
    statuses: list[Status]
    raw: bytes
    prev_min_id: str | None
    """``min_id`` of the Link header's rel="prev" (the next page forward), if any."""


@dataclass(frozen=True)
class StreamEvent:
    event: str
    data: str


def _link_param(url: str | None, name: str) -> str | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


class MastodonClient:
    """One Mastodon server; ``token`` (optional) is sent as a Bearer header."""

    def __init__(self, api: ApiClient, server: str, token: SecretStr | None = None) -> None:
        self._api = api
        self.server = server.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token.get_secret_value()}"

    async def _list(self, url: str, params: QueryParams, key: str | None) -> StatusPage:
        data, response = await self._api.get_json(url, params=params, headers=self._headers)
        raw = response.content
        if key is not None:
            data = data.get(key) if isinstance(data, dict) else None
        if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
            raise PayloadError(url, "expected a JSON list of status objects", raw)
        prev = response.links.get("prev", {}).get("url")
        return StatusPage(data, raw, _link_param(prev, "min_id"))

    async def tag_timeline(
        self, tag: str, *, min_id: str | None, max_id: str | None = None, limit: int = 40
    ) -> StatusPage:
        """``GET /api/v1/timelines/tag/:hashtag``: the newest page, the page just after
        ``min_id``, or the page just before ``max_id``."""
        params: QueryParams = {"limit": limit, "min_id": min_id or None, "max_id": max_id or None}
        url = f"{self.server}/api/v1/timelines/tag/{quote(tag, safe='')}"
        return await self._list(url, params, None)

    async def search(
        self, query: str, *, min_id: str | None, max_id: str | None = None, limit: int = 40
    ) -> StatusPage:
        """``GET /api/v2/search?type=statuses`` (needs a token for statuses)."""
        params: QueryParams = {
            "q": query,
            "type": "statuses",
            "limit": limit,
            "min_id": min_id or None,
            "max_id": max_id or None,
        }
        return await self._list(f"{self.server}/api/v2/search", params, "statuses")

    async def stream_hashtag(self, tag: str) -> AsyncIterator[StreamEvent]:
        """Server-sent events of ``/api/v1/streaming/hashtag?tag=``; ends when the server closes."""
        headers = {**self._headers, "Accept": "text/event-stream"}
        url = f"{self.server}/api/v1/streaming/hashtag"
        event, data = "message", list[str]()
        async for line in self._api.stream_lines(url, params={"tag": tag}, headers=headers):
            if not line:
                if data:
                    yield StreamEvent(event, "\n".join(data))
                event, data = "message", []
            elif line.startswith(":"):
                continue  # heartbeat comment
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "event":
                    event = value
                elif name == "data":
                    data.append(value)
