"""HTTP side of RSS/Atom: conditional GET of a feed's bytes (ETag / Last-Modified, 304), parsing.

Contract: :meth:`RssClient.fetch` returns a :class:`FeedResponse` or raises HttpRetryable /
HttpPermanent; :func:`parse` turns its body into feedparser's result or raises PayloadError
with the parser's reason when nothing usable came out.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, Final

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
            url=response.url,
            not_modified=False,
            body=response.content,
            etag=response.headers.get("etag") or None,
            last_modified=response.headers.get("last-modified") or None,
            content_type=response.headers.get("content-type"),
        )


# Numeric character references Python cannot turn into a character (a surrogate, one past
# U+10FFFF, thousands of digits) make feedparser raise and lose the whole feed.
_BIG_CHARREF: Final = re.compile(rb"&#(?:[xX]0*([0-9A-Fa-f]{4,})|0*([0-9]{5,}));?")


_BIG_CHARREF_TEXT: Final = re.compile(r"&#(?:[xX]0*([0-9A-Fa-f]{4,})|0*([0-9]{5,}));?")
_WIDE: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


def _encodable(digits: str, decimal: bool) -> bool:
    if len(digits) > 7:
        return False
    value = int(digits, 10 if decimal else 16)
    return value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF


def _charref(match: re.Match[bytes]) -> bytes:
    digits = (match.group(1) or match.group(2)).decode("ascii")
    return match.group(0) if _encodable(digits, match.group(2) is not None) else b"&#xFFFD;"


def _charref_text(match: re.Match[str]) -> str:
    digits = match.group(1) or match.group(2)
    return match.group(0) if _encodable(digits, match.group(2) is not None) else "&#xFFFD;"


def sanitise_charrefs(body: bytes) -> bytes:
    """``body`` with every numeric character reference Python cannot encode replaced by
    U+FFFD's; UTF-16/32 bodies are read as such so their references are found too."""
    for mark, codec in _WIDE:
        if body.startswith(mark):
            text = body.decode(codec, "replace")
            return _BIG_CHARREF_TEXT.sub(_charref_text, text).encode(codec)
    return _BIG_CHARREF.sub(_charref, body)


def parse(response: FeedResponse) -> Any:
    """feedparser over the fetched bytes; PayloadError when nothing usable came out.

    Blocking and CPU-bound: call it off the event loop for a large body.
    """
    headers = {"content-location": response.url}
    if response.content_type:
        headers["content-type"] = response.content_type
    body = sanitise_charrefs(response.body)
    try:
        # Our HTML5 extraction reads the markup; feedparser's own sanitiser mangles some of it
        # (`<img/src=x/onerror=..>`) into text that still holds the attribute.
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as exc:  # feedparser has many ways to fail on hostile bytes
        raise PayloadError(response.url, f"feed parser failed: {exc!r}", response.body) from exc
    if parsed.get("bozo") and not parsed.get("entries"):
        reason = parsed.get("bozo_exception")
        raise PayloadError(response.url, f"malformed feed: {reason!r}", response.body)
    return parsed
