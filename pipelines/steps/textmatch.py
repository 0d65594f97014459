"""Whole-word phrase matching over one Aho-Corasick automaton, with exact spans.

Shared by the topic matcher and usable by any step that looks phrases up in
posts: text is folded one character for one character (so spans index the
original text), candidates must sit on word boundaries, and overlapping
matches resolve leftmost-longest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

P = TypeVar("P")
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def fold(text: str) -> str:
    """Lower-case and unify quotes/dashes, keeping exactly one character per input character."""
    folded = text.translate(_FOLD).lower()
    if len(folded) == len(text):
        return folded
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text.translate(_FOLD))


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


@dataclass(frozen=True, slots=True)
class Hit(Generic[P]):
    """One phrase found at ``text[start:end]``."""

    start: int
    end: int
    payload: P


class PhraseMatcher(Generic[P]):
    """Finds configured phrases as whole words; each phrase carries a payload.

    A phrase written in capitals (an acronym like ``SEND``) only matches capitals.
    """

    def __init__(self, phrases: Iterable[tuple[str, P]]) -> None:
        self._automaton = ahocorasick.Automaton()
        table: dict[str, list[tuple[str, P]]] = {}
        for phrase, payload in phrases:
            cleaned = " ".join(phrase.split())
            if cleaned:
                table.setdefault(fold(cleaned), []).append((cleaned, payload))
        for key, entries in table.items():
            self._automaton.add_word(key, (len(key), entries))
        self._empty = not table
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str, folded: str | None = None) -> list[Hit[P]]:
        """Non-overlapping whole-word hits, leftmost-longest, in text order.

        ``folded`` is ``fold(text)`` when the caller already has it (several matchers, one text).
        """
        if self._empty or not text:
            return []
        if folded is None:
            folded = fold(text)
        candidates: list[tuple[int, int, P]] = []
        for end_index, (length, entries) in self._automaton.iter(folded):
            start, end = end_index - length + 1, end_index + 1
            if start > 0 and _is_word_char(folded[start - 1]) and _is_word_char(folded[start]):
                continue
            if end < len(folded) and _is_word_char(folded[end]) and _is_word_char(folded[end - 1]):
                continue
            for phrase, payload in entries:
                if phrase.isupper() and len(phrase) > 1 and text[start:end] != phrase:
                    continue
                candidates.append((start, end, payload))
        candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
        hits: list[Hit[P]] = []
        reach = -1
        for start, end, payload in candidates:
            if start >= reach:
                hits.append(Hit(start, end, payload))
                reach = end
            elif hits and hits[-1].start == start and hits[-1].end == end:
                hits.append(Hit(start, end, payload))
        return hits
