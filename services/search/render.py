"""Plain-text tables for ``earshot search``: one line per mention, fitted to the terminal width."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MIN_TEXT = 20
# Terminal controls (ESC sequences can recolour, retitle or rewrite the screen) and bidi
# controls (they reorder what is shown): written out as escapes, never sent to the terminal.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(value: str) -> str:
    """``value`` with terminal and bidi control characters shown as ``\\xNN`` / ``\\uNNNN``."""
    return _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        value,
    )


def _one_line(value: str, width: int) -> str:
    flat = visible(" ".join(value.split()))
    return flat if len(flat) <= width else flat[: max(0, width - 1)] + "…"


def _row(doc: dict[str, Any]) -> list[str]:
    sentiment = doc.get("sentiment") or {}
    locality = doc.get("locality") or {}
    place = (locality.get("ward") or locality.get("council") or {}).get("name", "")
    label = sentiment.get("label")
    # A mixed post's label is only its stronger side: say so, so a reader looks at the text.
    mixed = " mixed" if sentiment.get("mixed") else ""
    return [
        str(doc.get("created_at", ""))[:16].replace("T", " "),
        f"{label} {sentiment.get('score', 0):.2f}{mixed}" if label else "unscored",
        place,
        ",".join(t["id"] for t in doc.get("topics") or ()),
        (doc.get("source") or {}).get("kind", ""),
        doc.get("text") or doc.get("title") or "",
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> str:
    """Left-aligned columns; the last column takes the room left (at least ``MIN_TEXT``)."""
    fixed = [max([len(h), *(len(visible(r[i])) for r in rows)]) for i, h in enumerate(headers[:-1])]
    room = max(MIN_TEXT, width - sum(fixed) - 2 * len(fixed))
    lines = []
    for cells in [list(headers), *[list(r) for r in rows]]:
        parts = [visible(c).ljust(w) for c, w in zip(cells[:-1], fixed, strict=True)]
        lines.append("  ".join([*parts, _one_line(cells[-1], room)]).rstrip())
    return "\n".join(lines)


def render_table(result: dict[str, Any], width: int) -> str:
    """Mentions newest first, then how many of the total were shown."""
    mentions = result.get("mentions", [])
    headers = ["posted (UTC)", "sentiment", "place", "topics", "source", "text"]
    body = table(headers, [_row(d) for d in mentions], width) if mentions else "no mentions match"
    return f"{body}\n{len(mentions)} of {result['total']} mentions, newest first"


def render_stats(result: dict[str, Any]) -> str:
    """The dashboard's questions as three small tables."""
    volume = result.get("volume", [])
    labels = sorted({k for b in volume for k in b["counts"]})
    out = [f"{result['total']} mentions"]
    if volume:
        rows = [
            [b["from"][:16].replace("T", " "), *(str(b["counts"].get(k, 0)) for k in labels), ""]
            for b in volume
        ]
        out += [
            "",
            f"volume per {result['interval']} by sentiment",
            table(["from", *labels, ""], rows, 200),
        ]
    for key, title in (("wards", "top wards"), ("topics", "top topics")):
        rows = [[str(b["count"]), b["key"]] for b in result.get(key, [])]
        if rows:
            out += ["", title, table(["mentions", key[:-1]], rows, 200)]
    return "\n".join(out)
