"""The map-or-reject loop every source runs over a page of API items.

Contract: :func:`map_items` maps each item on its own; a mapper returning None skips
the item (a boost, a private post, nothing to read); ANY exception while mapping one
item turns that item into a :class:`Reject` carrying its bytes, so one broken item
never costs the rest of the page. :func:`item_bytes` builds those bytes and never
raises, whatever the item holds (lone surrogates, NaN, cycles, objects JSON cannot say).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import TypeVar

from schemas.models import Mention
from services.ingest.runtime.api import Reject

T = TypeVar("T")
_REPR_LIMIT = 1 << 20


def item_bytes(item: object) -> bytes:
    """The item as a dead letter keeps it: JSON when it can be, else its ``repr``; never raises."""
    if isinstance(item, bytes | bytearray):
        return bytes(item)
    if isinstance(item, str):
        # Lone surrogates cannot be UTF-8: keep them visible as \\udxxx instead of failing.
        return item.encode("utf-8", "backslashreplace")
    try:
        # ensure_ascii escapes lone surrogates too, so the bytes are always valid ASCII.
        return json.dumps(item, default=repr, ensure_ascii=True).encode("ascii")
    except (ValueError, TypeError, RecursionError, OverflowError):
        pass
    try:
        return repr(item)[:_REPR_LIMIT].encode("utf-8", "backslashreplace")
    except Exception:  # a hostile __repr__: the type's name is all that is left to keep
        return f"<unrepresentable {type(item).__name__}>".encode()


def item_digest(item: object) -> str:
    """A short, stable stand-in id for an item that has no usable id of its own."""
    return hashlib.sha256(item_bytes(item)).hexdigest()[:16]


def map_items(
    items: Iterable[T], map_one: Callable[[T], Mention | None]
) -> tuple[list[Mention], list[Reject]]:
    """Each item through ``map_one``: mentions in order, and a Reject for every item that raised."""
    mentions: list[Mention] = []
    rejects: list[Reject] = []
    for item in items:
        try:
            mention = map_one(item)
        except Exception as exc:  # any failure of one item is that item's, not the page's
            rejects.append(Reject(item_bytes(item), exc))
            continue
        if mention is not None:
            mentions.append(mention)
    return mentions, rejects
