"""HTTP side of RSS/Atom: conditional GET of a feed's bytes (ETag / Last-Modified, 304), parsing.

Contract: :meth:`RssClient.fetch` returns a :class:`FeedResponse` or raises HttpRetryable /
HttpPermanent; :func:`parse` turns its body into feedparser's result or raises PayloadError
with the parser's reason when nothing usable came out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import feedparser

from services.ingest.runtime.errors import PayloadError
from services.ingest.runtime.http import ApiClient

ACCEPT = "application/atom+xml, application/rss+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


@dataclass(frozen=True)
class FeedResponse:
    """A fetched feed: ``not_modified`` for a 304, else the body and validators for next time."""

    url: str
    not_modified: bool
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None


class RssClient:
    """Fetches feeds; 404/410 raise HttpPermanent (the runtime parks the feed), 429/5xx HttpRetryable."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def fetch(self, url: str, etag: str | None, last_modified: str | None) -> FeedResponse:
        headers = {"Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        response = await self._api.get(url, headers=headers)
        if response.status_code == 304:
            return FeedResponse(url, True, b"", etag, last_modified, None)
        return FeedResponse(
            url=str(response.url),
            not_modified=False,
            body=response.content,
            etag=response.headers.get("etag") or None,
            last_modified=response.headers.get("last-modified") or None,
            content_type=response.headers.get("content-type"),
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
