"""The ids a stream delivered recently, as a cursor can hold them for a feed of any length.

Contract: each id is an 8-byte key (a digest the source chooses); a cursor stores them packed
into one base64 string, 11 characters per id, so a feed of 10,000 items fits in ~110 kB
and an id that is huge or not valid Unicode never reaches the cursor. Add keys in the order
the items happened: they are saved latest first, then the older ones, cut at the limit the
source gives (tie it to the feed's length so a long feed is remembered whole). A cursor written before this
format (a JSON list of id strings under ``seen``) is read through the source's own key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any, Final

KEY_BYTES: Final = 8
MAX_KEYS: Final = 60_000
"""Hard cap: 60,000 keys are 640 kB in the cursor, under Kafka's 1 MB record default."""


def digest_key(ident: str) -> bytes:
    """An 8-byte key for any id string (surrogates included), stable across processes."""
    return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).digest()[:KEY_BYTES]


class SeenSet:
    """Recently delivered keys, newest additions first (see module doc)."""

    def __init__(self, keys: list[bytes] | None = None) -> None:
        self._old = keys or []
        self._new: list[bytes] = []
        self._all = set(self._old)

    @classmethod
    def load(cls, cursor: dict[str, Any], legacy: Callable[[str], bytes] = digest_key) -> SeenSet:
        """The keys a cursor holds (``seen_b64``, or the older ``seen`` list read via ``legacy``)."""
        packed = cursor.get("seen_b64")
        if isinstance(packed, str):
            try:
                raw = base64.b64decode(packed, validate=True)
            except (binascii.Error, ValueError):
                return cls()
            return cls([raw[i : i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES)])
        listed = cursor.get("seen")
        if isinstance(listed, list):
            return cls([legacy(s) for s in listed if isinstance(s, str)])
        return cls()

    def __contains__(self, key: bytes) -> bool:
        return key in self._all

    def __len__(self) -> int:
        return len(self._all)

    def keys(self) -> list[bytes]:
        """Every key, in the order :meth:`dump` writes them: the latest added first."""
        return self._new[::-1] + self._old

    def add(self, key: bytes) -> bool:
        """Remember ``key``; False when it was already there."""
        if key in self._all:
            return False
        self._all.add(key)
        self._new.append(key)
        return True

    def dump(self, limit: int) -> str:
        """The cursor value: this pass's keys then the older ones, at most ``limit`` of them."""
        keep = min(limit, MAX_KEYS)
        return base64.b64encode(b"".join(self.keys()[:keep])).decode("ascii")
