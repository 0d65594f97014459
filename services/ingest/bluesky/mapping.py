"""A Bluesky post record (from searchPosts or Jetstream) → Mention, shared by both streams."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from common.privacy import Pseudonymiser
from schemas.models import Match, Mention, Thread
from services.ingest.bluesky.client import POST_COLLECTION
from services.ingest.runtime.mapping import make_mention, utc

LINK_FEATURE: Final = "app.bsky.richtext.facet#link"
_FRACTION: Final = re.compile(r"(\.\d{6})\d+")
_SCHEME: Final = re.compile(r"^https?://(www\.)?")


def parse_time(value: object) -> datetime:
    """An AT Protocol datetime (``Z`` or an offset, up to nanoseconds) as aware UTC.

    Raises ValueError for anything else.
    """
    if not isinstance(value, str):
        raise ValueError(f"not a datetime: {value!r}")
    # Python reads at most microseconds; some clients write nanoseconds.
    return utc(datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip())))


def iso(value: datetime) -> str:
    """``value`` as the ``Z`` datetime string the XRPC APIs expect."""
    return utc(value).isoformat().replace("+00:00", "Z")


def split_uri(uri: str) -> tuple[str, str, str]:
    """(did, collection, rkey) of an ``at://`` URI; ValueError for anything else."""
    parts = uri.removeprefix("at://").split("/")
    if not uri.startswith("at://did:") or len(parts) != 3 or not all(parts):
        raise ValueError(f"not an at:// record URI: {uri!r}")
    return parts[0], parts[1], parts[2]


def expand_links(text: str, facets: object) -> str:
    """``text`` with each shortened link ("example.com/pa...") replaced by its facet's full URI.

    Facet offsets count UTF-8 bytes, not characters, so the splice works on the bytes.
    """
    if not isinstance(facets, list):
        return text
    data = text.encode()
    spans: list[tuple[int, int, str]] = []
    for facet in facets:
        try:
            start, end = int(facet["index"]["byteStart"]), int(facet["index"]["byteEnd"])
            uri = next(str(f["uri"]) for f in facet["features"] if f.get("$type") == LINK_FEATURE)
        except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
            continue  # mentions, tags or a malformed facet: the text already says it
        if 0 <= start < end <= len(data):
            spans.append((start, end, uri))
    limit = len(data)
    for start, end, uri in sorted(spans, reverse=True):
        if end > limit:
            continue  # overlaps a span already replaced
        shown = data[start:end].decode("utf-8", "replace").rstrip(".…")
        if (
            shown
            and shown != uri
            and (_SCHEME.sub("", uri).startswith(shown) or uri.startswith(shown))
        ):
            data = data[:start] + uri.encode() + data[end:]
        limit = start
    return data.decode("utf-8", "replace")


def _alt_texts(record: dict[str, Any]) -> str:
    embed = record.get("embed") or {}
    images = (embed.get("images") or []) if isinstance(embed, dict) else []
    return "\n".join(str(i["alt"]) for i in images if isinstance(i, dict) and i.get("alt"))


def map_post(
    record: Any,
    *,
    uri: str,
    handle: str | None,
    instance: str,
    matched_by: tuple[Match, ...],
    fetched_at: datetime,
    pseudonymiser: Pseudonymiser,
    edited_at: datetime | None = None,
) -> Mention | None:
    """One post record as a Mention; None when it has no text at all (not even image alt text).

    Raises ValueError / TypeError / KeyError when the record is broken (the caller rejects it).
    """
    did, collection, rkey = split_uri(uri)
    if collection != POST_COLLECTION:
        raise ValueError(f"not a post: {uri}")
    if not isinstance(record, dict):
        raise TypeError("post record is not an object")
    text = expand_links(str(record.get("text") or ""), record.get("facets")).strip()
    text = text or _alt_texts(record)
    if not text:
        return None
    reply = record.get("reply") or {}
    parent, root = (reply.get("parent") or {}).get("uri"), (reply.get("root") or {}).get("uri")
    langs = record.get("langs")
    return make_mention(
        kind="bluesky",
        instance=instance,
        native_id=uri,
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        text=text,
        lang=str(langs[0]) if isinstance(langs, list) and langs else None,
        created_at=parse_time(record.get("createdAt")),
        edited_at=edited_at,
        fetched_at=fetched_at,
        author=pseudonymiser.author("bluesky", did, handle),
        thread=Thread(parent_id=parent, root_id=root) if parent or root else None,
        matched_by=matched_by,
    )
