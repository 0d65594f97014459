"""Reading the words around a matched name, and facts about the whole post.

Support for :mod:`pipelines.locality.senses`: the word lists' file format, the
given names of the ``names`` package, the few words before and after a name (plain
splitting: this runs for every match) and :class:`PostContext` (is the post about
sport, a pet, a product?), worked out only when a rule asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.locality.codepoint import SourceDataError
from pipelines.locality.landmarks import package_dir
from pipelines.locality.lexicon import title_case
from pipelines.locality.normalise import word_set

NAMES_PACKAGE = "names"
APOSTROPHE_S = ("'s", "’s")
# "2-1", "Sunderland 2 Newcastle 0", "Mansfield Town 3 Notts County 1"
_SCORE = re.compile(
    r"(?<![\d:.])\d{1,2} ?[-–] ?\d{1,2}(?![\d:.])|\b\d{1,2}(?: [A-Z][a-z]+){1,3} \d{1,2}\b"
)
_WINDOW = 60
_STOP_CHARS = '.,;:!?()[]"|'
_STOPS = frozenset(_STOP_CHARS)
_ABBREVIATIONS = word_set("mr mrs ms dr prof rev revd cllr capt sgt fr")  # "Mr. Bolton"


def read_sections(path: Path) -> dict[str, frozenset[str]]:
    """``[section]`` headings, then words separated by spaces or new lines; ``#`` comments."""
    out: dict[str, set[str]] = {}
    current: set[str] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1], set())
        elif current is None:
            raise SourceDataError(f"{path}:{number}: words before the first [section]")
        else:
            current.update(line.split())
    return {name: frozenset(words) for name, words in out.items()}


def packaged_first_names() -> frozenset[str]:
    """Given names (lower case) from the ``names`` package's census files."""
    folder = package_dir(NAMES_PACKAGE)
    out: set[str] = set()
    for file in ("dist.male.first", "dist.female.first"):
        path = folder / file
        if not path.is_file():
            raise SourceDataError(f"{path}: missing (the names package ships it)")
        for line in path.read_text(encoding="ascii").splitlines():
            if line.strip():
                out.add(line.split()[0].lower())
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Around:
    """The words right before and after a name, up to the nearest phrase break."""

    before: list[str]  # as written, nearest last
    after: list[str]  # as written, nearest first; "United's" -> "United"
    low_before: list[str]
    low_after: list[str]
    possessive: bool  # "Chester's ..."
    joined: bool  # one space and then a word ("Somerset Maugham", not "Somerset, Maugham")


def _word(raw: str) -> tuple[str, bool]:
    """A token without its trailing punctuation, and whether a phrase ends after it."""
    if raw[0].isdigit():
        digits = raw[: len(raw) - len(raw.lstrip("0123456789"))]
        return digits, len(digits) < len(raw) and raw[len(digits)] in _STOPS
    word = raw.rstrip(_STOP_CHARS)
    if word.endswith(APOSTROPHE_S):
        word = word[:-2]  # "United's" -> "United"
    return word, raw[-1] in _STOPS


def around(text: str, start: int, end: int) -> Around:
    """Plain splitting, no regular expressions: this runs for every matched name."""
    possessive = text[end : end + 2] in APOSTROPHE_S
    tail = text[end + 2 if possessive else end : end + _WINDOW]
    after: list[str] = []
    if tail[:1] == " ":
        for raw in tail.split()[:6]:
            if raw[0] in _STOPS or raw[0] == "-":
                break
            word, stop = _word(raw)
            if word:
                after.append(word)
            if stop:
                break
    before: list[str] = []
    for token in reversed(text[max(0, start - _WINDOW) : start].split()[-5:]):
        raw = token
        if raw[-1] in _STOPS:
            raw = raw[:-1]
            if before or token[-1] != "." or raw.lower() not in _ABBREVIATIONS:
                break  # a sentence or a phrase ends there ("Mr." and "Dr." do not end one)
        if raw[0] in _STOPS:
            break
        # "1-1 Aberdeen": the score's last number
        before.append(raw[len(raw.rstrip("0123456789")) :] if raw[-1].isdigit() else raw)
    before.reverse()
    joined = tail[:1] == " " and tail[1:2].isalnum()
    return Around(
        before,
        after,
        [w.lower() for w in before],
        [w.lower() for w in after],
        possessive,
        joined,
    )


class PostContext:
    """Facts about a whole post, worked out only when a name asks."""

    __slots__ = (
        "_headline",
        "_pet",
        "_sport",
        "_thing",
        "_words",
        "folded",
        "pet_words",
        "product_words",
        "sport_words",
        "text",
    )

    def __init__(
        self,
        text: str,
        folded: str,
        sport_words: frozenset[str],
        pet_words: frozenset[str],
        product_words: frozenset[str],
    ) -> None:
        self.sport_words = sport_words
        self.pet_words = pet_words
        self.product_words = product_words
        self.text = text
        self.folded = folded
        self._headline: bool | None = None
        self._words: frozenset[str] | None = None
        self._sport: bool | None = None
        self._pet: bool | None = None
        self._thing: bool | None = None

    @property
    def headline(self) -> bool:
        """Title Case or shouting: capitals say nothing about names."""
        if self._headline is None:
            self._headline = self.text.isupper() or title_case(self.text)
        return self._headline

    def _all_words(self) -> frozenset[str]:
        if self._words is None:
            self._words = frozenset(self.folded.split())
        return self._words

    @property
    def sport(self) -> bool:
        """About sport: a score ("2-1", "Sunderland 2 Newcastle 0") or a word like "league"."""
        if self._sport is None:
            self._sport = bool(_SCORE.search(self.text)) or not self.sport_words.isdisjoint(
                self._all_words()
            )
        return self._sport

    @property
    def pet(self) -> bool:
        """About a pet ("vet", "collar", "lab", "kitten")."""
        if self._pet is None:
            self._pet = not self.pet_words.isdisjoint(self._all_words())
        return self._pet

    @property
    def thing(self) -> bool:
        """Names a product somewhere ("crackers", "app", "rates")."""
        if self._thing is None:
            self._thing = not self.product_words.isdisjoint(self._all_words())
        return self._thing


def adjacent(text: str, end: int, start: int) -> bool:
    """One space between two spans ("Aberdeen Angus")."""
    return start == end + 1 and text[end] == " "
