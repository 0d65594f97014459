"""Helpers every source's mapping uses: the one Mention builder, clipping, URLs, languages.

Contract: :func:`make_mention` is the only way a source builds a Mention. It derives the
mention id, runs every text field through ``text.normalise_text`` (so the codec never
meets a lone surrogate, NUL or a bidi override), clips to the schema's limits, keeps a URL
only when it is an absolute http(s) URI as the schema's ``format: uri`` means it, and
raises ValueError for what cannot be made valid (a native id with control characters, say):
the caller's ``map_items`` then dead-letters that one item.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote, urljoin, urlsplit

from schemas.ids import mention_id
from schemas.models import Author, Match, Mention, PlaceHint, Point, Source, SourceKind, Thread
from services.ingest.runtime.text import html_to_text, normalise_text

__all__ = ["as_id", "clip", "html_to_text", "language", "make_mention", "safe_url", "utc"]

# Limits from schemas/contracts/mention.v1.schema.json: clip rather than dead-letter a long post.
MAX_TEXT: Final = 40_000
MAX_TITLE: Final = 2_000
MAX_URL: Final = 4_000
MAX_NATIVE_ID: Final = 1_000
MAX_SHORT: Final = 300
_LANG: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_REG_NAME: Final = re.compile(r"^[A-Za-z0-9._~-]{1,253}$")
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986: what may stand unescaped in a path, a query or a fragment (plus '%' of escapes).
_PATH_SAFE: Final = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE: Final = _PATH_SAFE + "?"


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters (on a word boundary when one is near), or None."""
    if text is None:
        return None
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ", limit - 200)
    return (cut[:space] if space > 0 else cut) + "…"


def _host(hostname: str) -> str | None:
    """The host as a URI writes it (IDNA for non-ASCII names, brackets for IPv6), or None."""
    if ":" in hostname:
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:
            return None
    if not hostname.isascii():
        try:
            hostname = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return hostname if _REG_NAME.match(hostname) and ".." not in hostname else None


def _escaped(part: str, safe: str) -> str:
    return quote(_BAD_PERCENT.sub("%25", part), safe=safe)


def safe_url(url: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URI within the schema's length, else None.

    Relative links resolve against ``base``; characters a URI may not hold unescaped are
    percent-escaped; user info is dropped; a bad host or port makes the URL unusable.
    """
    if not url or not isinstance(url, str):
        return None
    url = normalise_text(url).strip()
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:  # a bad port, an unbalanced IPv6 bracket...
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    host = _host(hostname)
    if host is None:
        return None
    rebuilt = f"{parts.scheme.lower()}://{host}{'' if port is None else f':{port}'}"
    rebuilt += _escaped(parts.path, _PATH_SAFE) or ("/" if parts.query or parts.fragment else "")
    if parts.query:
        rebuilt += "?" + _escaped(parts.query, _QUERY_SAFE)
    if parts.fragment:
        rebuilt += "#" + _escaped(parts.fragment, _QUERY_SAFE)
    return rebuilt if len(rebuilt) <= MAX_URL else None


def language(tag: str | None) -> str | None:
    """A BCP-47-ish tag the schema accepts (``en``, ``en-GB``, ``cy``), or None."""
    if not tag or not isinstance(tag, str):
        return None
    parts = tag.strip().replace("_", "-").split("-")
    candidate = "-".join([parts[0].lower(), *parts[1:]])
    return candidate if _LANG.match(candidate) else None


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_id(value: object, field: str) -> str:
    """An id the API sent as a string or a whole number; TypeError for any other shape (a
    list or an object stringified would make a bogus but valid-looking id)."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return str(value)
    raise TypeError(f"{field} is a {type(value).__name__}, not an id")


def _short(value: str | None, limit: int = MAX_SHORT) -> str | None:
    """A short free-text field (handle, place name, thread id) normalised; None when unusable."""
    if value is None:
        return None
    cleaned = normalise_text(str(value)).strip()
    return cleaned if 0 < len(cleaned) <= limit else None


def _author(author: Author | None) -> Author | None:
    if author is None or author.scheme != "raw":
        return author  # a pseudonym is hex made here
    author_id = _short(author.id)
    if author_id is None:
        raise ValueError("author id is empty or longer than 300 characters")
    return Author(id=author_id, scheme="raw", handle=_short(author.handle))


def _thread(thread: Thread | None) -> Thread | None:
    if thread is None:
        return None
    parent, root = _short(thread.parent_id, 1000), _short(thread.root_id, 1000)
    return Thread(parent_id=parent, root_id=root) if parent or root else None


def make_mention(
    *,
    kind: SourceKind,
    instance: str,
    native_id: str,
    text: str,
    created_at: datetime,
    fetched_at: datetime,
    matched_by: tuple[Match, ...],
    url: str | None = None,
    title: str | None = None,
    lang: str | None = None,
    edited_at: datetime | None = None,
    author: Author | None = None,
    geo: Point | None = None,
    place_hint: PlaceHint | None = None,
    thread: Thread | None = None,
) -> Mention:
    """A Mention with the id derived from (kind, native_id) and every field within limits.

    Raises ValueError (pydantic's included) when a field cannot be made valid; the
    caller turns that into a Reject so it is dead-lettered.
    """
    if not isinstance(native_id, str) or not native_id or len(native_id) > MAX_NATIVE_ID:
        raise ValueError(f"native id missing or longer than {MAX_NATIVE_ID} characters")
    if _CONTROL.search(native_id):
        raise ValueError("native id holds control characters or lone surrogates")
    hint = place_hint
    if hint is not None:
        name = _short(hint.name)
        hint = hint.model_copy(update={"name": name}) if name else None
    return Mention(
        mention_id=mention_id(kind, native_id),
        source=Source(kind=kind, instance=instance, native_id=native_id, url=safe_url(url)),
        text=clip(normalise_text(text), MAX_TEXT) or "",
        title=clip(normalise_text(title), MAX_TITLE) or None if title else None,
        lang=language(lang),
        created_at=utc(created_at),
        edited_at=utc(edited_at) if edited_at else None,
        fetched_at=utc(fetched_at),
        author=_author(author),
        geo=geo,
        place_hint=hint,
        matched_by=tuple(
            m.model_copy(update={"value": normalise_text(m.value)[:1000]}) for m in matched_by
        ),
        thread=_thread(thread),
    )
