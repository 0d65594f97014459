"""Deterministic identifiers: the same source item or decision always gets the same id."""

from __future__ import annotations

import hashlib

_SEP = "\x1f"


def _digest(*parts: str) -> str:
    return hashlib.sha256(_SEP.join(parts).encode()).hexdigest()[:32]


def mention_id(source_kind: str, native_id: str) -> str:
    """Stable id of a source item: a re-fetch is the same mention; other sources differ.

    ``native_id`` must be the source's own global id (Mastodon status URI, Bluesky
    at:// URI, Reddit fullname, X tweet id, feed entry id), so the same post seen
    through two hashtags or two instances' timelines is still one mention.
    """
    if not native_id:
        raise ValueError("native_id must not be empty")
    return _digest("mention", source_kind, native_id)


def alert_id(mention_or_window: str, rule_id: str) -> str:
    """One alert per rule per mention (or per spike window), ever."""
    return _digest("alert", rule_id, mention_or_window)
