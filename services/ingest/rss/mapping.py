"""A feedparser entry (RSS 0.9x/1.0/2.0, Atom, Google Alerts) → Mention, pure.

Contract: the native id is the entry's own id, else a digest of link + title; titles and
bodies are HTML turned into text; Google Alerts redirect links are unwrapped to their
target; a GeoRSS point becomes ``geo``. An entry with no text at all raises ValueError.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from common.privacy import Pseudonymiser
from schemas.models import Match, Mention, Point
from services.ingest.runtime.mapping import html_to_text, make_mention, safe_url

GOOGLE_HOSTS = frozenset({"www.google.com", "google.com", "www.google.co.uk", "google.co.uk"})


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
