"""Text normalisation shared by training and inference, so both see the same input."""

from __future__ import annotations

import html
import re

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_HASH = re.compile(r"(?<![\w#])#(\w)")
_SPACE = re.compile(r"\s+")
# Mis-decoded UTF-8 in the CrowdFlower CSV shows up as runs of non-ASCII glued by "_".
_MOJIBAKE = re.compile(r"(?:[^\x00-\x7f]|_(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])_)+")


def normalise(text: str) -> str:
    """Unescape HTML, mask URLs and @handles, keep hashtag words, squeeze whitespace."""
    text = html.unescape(text)
    text = _URL.sub("http", text)
    text = _HANDLE.sub("@user", text)
    text = _HASH.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def strip_mojibake(text: str) -> str:
    """Drop mis-decoded byte runs; only for the US tweet corpus, which is plain ASCII otherwise."""
    return _MOJIBAKE.sub(" ", text)
