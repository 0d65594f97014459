"""Text as every source hands it to the codec: one normalisation, and HTML turned into text.

Contract: :func:`normalise_text` returns a string that always encodes as UTF-8 and JSON
(lone surrogates become U+FFFD), without NUL and other C0/C1 controls (tab and newline
stay), without bidi embedding/override/isolate controls (they reorder what a reader sees),
and without invisible zero-width characters that split words ("Har\\u200bingey"); ZWJ and
ZWNJ stay because emoji sequences and several scripts need them. :func:`html_to_text`
parses with a real HTML5 parser (lexbor via selectolax: what a browser would treat as a tag
is a tag), keeps only text nodes, drops script-like elements with their content, turns
block elements into line breaks, and takes work linear in the input's length.
"""

from __future__ import annotations

import itertools
import re
from typing import Final

from selectolax.lexbor import LexborHTMLParser

MAX_HTML_CHARS: Final = 512 * 1024
"""HTML beyond this is not read: a post's text is at most 40,000 characters anyway."""
TAGS_PER_PARSE: Final = 500
"""The HTML5 tree builder checks the open-element stack per tag, so deep nesting
(``<ul>`` x 40,000) costs depth x tags. Parsing at most this many tags at a time keeps the
whole extraction linear; ordinary posts and articles have far fewer and parse in one go."""
_SKIP_TAGS: Final = [
    "script",
    "style",
    "template",
    "noscript",
    "iframe",
    "object",
    "embed",
    "textarea",
    "xmp",
    "plaintext",
    "noembed",
    "noframes",
    "title",
]
# A line break before every block-level start or end tag (only a hint: the parser still
# decides what is a tag; a hint that lands in an attribute or a dropped element vanishes).
_BLOCK: Final = re.compile(
    r"<(/?)(p|br|div|li|ul|ol|dl|dt|dd|tr|table|h[1-6]|blockquote|pre|hr|section|article|"
    r"header|footer|aside|figure|figcaption|address|details|summary)(?=[\s/>])",
    re.IGNORECASE,
)
_TAG_START: Final = re.compile(r"<[A-Za-z/!?]")
_SPACES: Final = re.compile(r"[ \t\r\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_DROP: Final = dict.fromkeys(
    [
        *range(0x00, 0x09),
        0x0B,
        0x0C,
        *range(0x0E, 0x20),
        *range(0x7F, 0xA0),  # DEL and the C1 controls
        0x00AD,  # soft hyphen: invisible, splits words
        0x200B,  # zero width space
        0x2060,  # word joiner
        0xFEFF,  # zero width no-break space / stray BOM
        0x180E,  # Mongolian vowel separator (zero width since Unicode 6.3)
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
        0x200E,  # LRM
        0x200F,  # RLM
        0x061C,  # Arabic letter mark
        *range(0xFFF9, 0xFFFC),  # interlinear annotation controls
    ]
)
_DROP.update({0x2028: ord("\n"), 0x2029: ord("\n"), ord("\r"): ord("\n")})


def scalar_safe(value: str) -> str:
    """``value`` with every lone surrogate replaced by U+FFFD (a valid pair is joined)."""
    if not _SURROGATE.search(value):
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def normalise_text(value: str) -> str:
    """The one normalisation every text field gets before the codec (see module doc)."""
    return scalar_safe(value).replace("\r\n", "\n").translate(_DROP)


def tidy(value: str) -> str:
    """Runs of spaces collapsed, lines stripped, empty lines dropped."""
    lines = (_SPACES.sub(" ", line).strip() for line in value.split("\n"))
    return "\n".join(line for line in lines if line)


def _pieces(html: str) -> list[str]:
    """``html`` cut before every ``TAGS_PER_PARSE``-th tag start (one piece when it has fewer)."""
    starts = [m.start() for m in _TAG_START.finditer(html)]
    if len(starts) <= 2 * TAGS_PER_PARSE:
        return [html]
    cuts = [0, *starts[TAGS_PER_PARSE::TAGS_PER_PARSE], len(html)]
    return [html[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def _text_nodes(html: str) -> str:
    parts: list[str] = []
    for piece in _pieces(_BLOCK.sub(r"\n<\1\2", html)):
        tree = LexborHTMLParser(piece)
        tree.strip_tags(_SKIP_TAGS)
        body = tree.body
        if body is not None:
            parts.append(body.text(deep=True, separator="", strip=False))
    return "".join(parts)


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace tidied.

    Block elements become line breaks; text that was markup escaped once or twice
    ("&lt;b&gt;") is read as markup too; safe on plain text ("2 < 3" stays).
    """
    if not fragment:
        return ""
    text = normalise_text(fragment[:MAX_HTML_CHARS])
    if "<" in text or "&" in text:
        for _ in range(3):
            text = normalise_text(_text_nodes(text))
            if not _TAG_START.search(text):
                break
    return tidy(text)
