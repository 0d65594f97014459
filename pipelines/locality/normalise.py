"""Text folding for name matching, with exact offsets back into the original text.

Folding is one character to one character (lower case, accents dropped,
anything not a letter or digit becomes a space), so offsets survive it; runs of
spaces are then collapsed and :class:`Folded` remembers where characters were
removed, so a match in the folded text maps back to an exact span.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

_SPACES = re.compile(r" {2,}")


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled lazily, so every code point is covered."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if not char.isalnum():
            folded = " "
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
            if len(base) == 1:
                folded = base
            else:
                lower = char.lower()
                folded = lower if len(lower) == 1 else char
        self[codepoint] = folded
        return folded


_FOLD = _FoldTable()


class Folded:
    """Folded text plus what is needed to map its offsets back to the original.

    The offset map is worked out on the first :meth:`span` call only: most posts
    match nothing and never need it.
    """

    __slots__ = ("_chars", "_cut_at", "_removed", "text")

    def __init__(self, text: str, chars: str | None = None) -> None:
        self.text = text
        self._chars = chars  # the uncollapsed fold, when spaces were collapsed
        self._cut_at: list[int] | None = None
        self._removed: list[int] = []

    def _map(self) -> list[int]:
        cut_at: list[int] = []
        dropped = 0
        for run in _SPACES.finditer(self._chars or ""):
            dropped += run.end() - run.start() - 1
            # The first character after the run lands here in the collapsed text.
            cut_at.append(run.end() - dropped)
            self._removed.append(dropped)
        self._cut_at = cut_at
        return cut_at

    def original(self, index: int) -> int:
        """Original offset of the folded character at ``index``."""
        if self._chars is None:
            return index
        cut_at = self._cut_at if self._cut_at is not None else self._map()
        slot = bisect_right(cut_at, index) - 1
        return index + (self._removed[slot] if slot >= 0 else 0)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of folded [start, end); ends never sit inside a space run."""
        if self._chars is None:
            return start, end
        return self.original(start), self.original(end - 1) + 1


def fold_chars(text: str) -> str:
    """Length-preserving fold: lower case, no accents, non-alphanumerics as spaces."""
    return text.translate(_FOLD)


def fold(text: str) -> Folded:
    """Fold ``text`` and collapse space runs; offsets map back through :class:`Folded`."""
    chars = text.translate(_FOLD)
    if "  " not in chars:
        return Folded(chars)
    return Folded(_SPACES.sub(" ", chars), chars)


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: keeps long word lists readable."""
    return frozenset(text.split())


def fold_name(name: str) -> str:
    """Fold a gazetteer name to the key form used in the automaton."""
    return " ".join(fold_chars(name).split())


_SAINT = re.compile(r"^(st|saint)\b ?")
_STREET_ENDINGS = {"road": "rd", "street": "st", "avenue": "ave", "lane": "ln"}


def name_variants(name: str, joined: bool = True, street: bool = False) -> set[str]:
    """Every key a name may appear as in folded text.

    Apostrophes both as a gap and dropped ("St Ann's" -> "st ann s", "st anns"),
    "&" as "and", "St"/"Saint", for streets "Rd"/"St"/"Ave"/"Ln", and for
    multi-word names the hashtag form without spaces ("woodgreen") when ``joined``.
    """
    raw = {name, name.replace("'", "").replace("\u2019", ""), name.replace("&", " and ")}
    keys = {fold_name(r) for r in raw}
    for key in list(keys):
        words = key.split(" ")
        saint = _SAINT.match(key)
        if saint:
            rest = key[saint.end() :]
            keys.update({f"st {rest}", f"saint {rest}"})
        if street and len(words) > 1:
            short = [words[0], *(_STREET_ENDINGS.get(w, w) for w in words[1:])]
            keys.add(" ".join(short))
    if joined:
        for key in list(keys):
            squashed = key.replace(" ", "")
            if " " in key and len(squashed) >= 5:
                keys.add(squashed)
    keys.discard("")
    return keys


# A UK postcode: outward code, optional space(s), inward code. Case-insensitive.
POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2}[0-9][A-Za-z0-9]?)(?:[ \t]{0,2}([0-9][A-Za-z]{2}))?(?![A-Za-z0-9])"
)
