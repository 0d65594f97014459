"""The hostile corpus: systematic mutations of each source's recorded payloads, and the checks
every mutated pass must satisfy.

Mutations are generated, not hand-picked: for every leaf of a recorded API body (each
string, number, bool, null) each value class below replaces it in turn, and every object
loses each of its keys in turn. That covers the failure classes of issue 13 — lone
surrogates, NUL and bidi controls, markup in every field, numbers out of range, wrong
shapes, huge strings — wherever a source might read them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schemas.codec import encode
from schemas.deadletter import DLQ_SUFFIX
from schemas.models import Mention
from services.ingest.runtime.api import Page
from services.ingest.runtime.cursors import encode_cursor
from services.ingest.runtime.producer import evidence_letter
from services.ingest.runtime.writer import MAX_CURSOR_BYTES

PAYLOADS = Path(__file__).resolve().parents[1] / "contract" / "payloads"
MARKUP = '<img/src=x/onerror=alert(1)><svg/onload=alert(2)><x-a onclick=3>t</x-a><script>s()</script><a href="javascript:alert(4)">j</a>'
VALUES: dict[str, Any] = {
    "surrogate": "lone \ud800 surrogate \udfff",
    "controls": "nul\x00 bidi\u202eevil\u202c zw\u200bsp \x1b[31m",
    "markup": MARKUP,
    "huge_string": "x" * 200_000,
    "inf": float("inf"),
    "nan": float("nan"),
    "huge_float": 1e30,
    "huge_int": 10**30,
    "negative": -1,
    "list": ["a", 1],
    "object": {"a": {"b": 1}},
    "null": None,
    "bool": True,
    "url_markup": 'https://x.example/<img src=x onerror=alert(1)>"',
}
# What a stored text may not hold when it came from an HTML field: a tag, an event handler, a
# script link. (Plain-text sources keep what the author typed; renderers escape it.)
TAG: re.Pattern[str] = re.compile(r"<\s*/?\s*[A-Za-z][^>]*>|<[A-Za-z][\w-]*[\s/]")
HANDLER: re.Pattern[str] = re.compile(r"\bon[a-z]+\s*=", re.IGNORECASE)
SCRIPT_LINK: re.Pattern[str] = re.compile(r"(javascript|vbscript|data)\s*:", re.IGNORECASE)


def dumps(doc: Any) -> bytes:
    """A body as a hostile server would send it: surrogates as escapes, NaN/Infinity bare."""
    return json.dumps(doc, ensure_ascii=True, allow_nan=True).encode("ascii")


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a leaf or a key in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for step in path[:-1]:
        node = node[step]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def mutations(
    doc: Any, *, under: tuple[Any, ...] = (), classes: tuple[str, ...] = tuple(VALUES)
) -> Iterator[tuple[str, Any]]:
    """(label, mutated document) for every path below ``under`` and every value class."""
    base = doc
    for step in under:
        base = base[step]
    for path in _paths(base):
        full = (*under, *path)
        label = "/".join(map(str, full))
        yield f"{label} -key", _set(doc, full, None, delete=True)
        for name in classes:
            yield f"{label}={name}", _set(doc, full, VALUES[name])


def deep_json(levels: int = 5000) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def is_http_url(url: str | None) -> bool:
    if url is None:
        return True
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not re.search(r"[\s<>\"{}|\\^`\x00-\x1f\x7f]", url)
    )


def check_page(page: Page, *, html_source: bool, key: str = "kind/instance/stream") -> None:
    """What every page from hostile input must be: each mention encodes, holds no markup
    (HTML sources) and only http(s) URLs; every reject leaves a dead letter that encodes; the
    cursor is storable."""
    for mention in page.mentions:
        check_mention(mention, html_source=html_source)
    for reject in page.rejects:
        assert reject.raw is not None
        letter = evidence_letter(reject.raw, reject.error, source=key)
        encoded = encode(letter)
        assert len(encoded) < 900_000
    if page.cursor is not None:
        assert len(encode_cursor(key, page.cursor)) <= MAX_CURSOR_BYTES
    assert DLQ_SUFFIX  # the dead letters above go to <topic>.dlq


def check_mention(mention: Mention, *, html_source: bool) -> None:
    encode(mention)  # the one codec accepts it: valid UTF-8, within every schema limit
    assert is_http_url(mention.source.url), mention.source.url
    texts = [mention.text, mention.title or ""]
    for text in texts:
        assert "\x00" not in text and "\u202e" not in text
        if html_source:
            assert not TAG.search(text), text[:200]
            assert not HANDLER.search(text), text[:200]
            assert not SCRIPT_LINK.search(text), text[:200]
