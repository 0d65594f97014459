"""Helpers every source's mapping uses: HTML to text, clipping to schema limits, safe URLs."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urljoin, urlsplit

from schemas.ids import mention_id
from schemas.models import Author, Match, Mention, PlaceHint, Point, Source, SourceKind, Thread

# Limits from schemas/contracts/mention.v1.schema.json: clip rather than dead-letter a long post.
MAX_TEXT: Final = 40_000
MAX_TITLE: Final = 2_000
MAX_URL: Final = 4_000
MAX_NATIVE_ID: Final = 1_000
_BLOCK_TAGS: Final = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
)
_SKIP_TAGS: Final = frozenset({"script", "style", "head", "title"})
_SPACES: Final = re.compile(r"[ \t\r\f\v\u00a0]+")
_TAG: Final = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^>]*)?/?>")
_LANG: Final = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _strip_tags(fragment: str) -> str:
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace tidied.

    Block elements become line breaks; runs of spaces collapse; safe on plain text too.
    """
    if not fragment:
        return ""
    raw = _strip_tags(fragment) if _TAG.search(fragment) else html.unescape(fragment)
    if _TAG.search(raw):  # double-escaped markup ("&lt;b&gt;") decodes into tags
        raw = _strip_tags(raw)
    lines = (_SPACES.sub(" ", line).strip() for line in raw.splitlines())
    return "\n".join(line for line in lines if line)


def clip(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters (on a word boundary when one is near), or None."""
    if text is None:
        return None
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ", limit - 200)
    return (cut[:space] if space > 0 else cut) + "…"


def safe_url(url: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL within the schema's length, resolving relative links; else None."""
    if not url:
        return None
    url = url.strip()
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_URL:
        return None
    return url


def language(tag: str | None) -> str | None:
    """A BCP-47-ish tag the schema accepts (``en``, ``en-GB``, ``cy``), or None."""
    if not tag:
        return None
    parts = tag.strip().replace("_", "-").split("-")
    candidate = "-".join([parts[0].lower(), *parts[1:]])
    return candidate if _LANG.match(candidate) else None


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


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

    Raises ValueError (pydantic) when a field cannot be made valid; the caller turns
    that into a Reject so it is dead-lettered.
    """
    if not native_id or len(native_id) > MAX_NATIVE_ID:
        raise ValueError(f"native id missing or longer than {MAX_NATIVE_ID} characters")
    return Mention(
        mention_id=mention_id(kind, native_id),
        source=Source(kind=kind, instance=instance, native_id=native_id, url=safe_url(url)),
        text=clip(text, MAX_TEXT) or "",
        title=clip(title, MAX_TITLE) or None,
        lang=language(lang),
        created_at=utc(created_at),
        edited_at=utc(edited_at) if edited_at else None,
        fetched_at=utc(fetched_at),
        author=author,
        geo=geo,
        place_hint=place_hint,
        matched_by=matched_by,
        thread=thread,
    )
