"""Near-copies of a post: the same words give the same sketch, small differences a close one.

A post is reduced to normalised words (case, accents, links, handles, a trailing
run of hashtags and punctuation do not count), then to the overlapping
5-character pieces of those words joined by spaces ("shingles"), each hashed to
32 bits; the sketch keeps the ``K`` smallest hashes and the number of shingles
(a bottom-k MinHash: exact for posts of up to ``K`` shingles, about 250
characters, an unbiased estimate beyond). Two sketches give the Jaccard
similarity of the shingle sets and their containment (shared over the
smaller), which stays high when one copy adds a prefix ("Still not fixed:")
or a sentence. Character pieces rather than word pairs, because a typo then
changes few shingles while a swapped word ("library" for "swimming pool")
changes many.

Copies differ by what is added or cut; two different incidents written alike
differ by what is *swapped*: another street, another bus route, another house
number. So a sketch also keeps hashes of its *names* — capitalised words not
at the start of a sentence, and words with digits — and :func:`swapped` tells
when each post has a name the other lacks. Only hashes are kept: a sketch holds
no readable resident text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

K = 256
SHINGLE = 5
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[\w.]+(?:@[\w.-]+)?")
_TRAILING_TAGS = re.compile(r"(?:\s*(?:#[\w-]+|@[\w.]+|via|cc|rt)\b[\s.,;:!]*)+$", re.IGNORECASE)
_ELLIPSIS = re.compile(r"(?:…|\.\.\.)\s*$")
# A word (letters/digits, inner apostrophes) or a sentence break.
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[.!?:;\n]+")
_DIGIT = re.compile(r"\d")
_SKIP = frozenset({"rt", "amp"})


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" ", text)
    text = _ELLIPSIS.sub(" ", text)
    text = _TRAILING_TAGS.sub(" ", text.rstrip())
    return _HANDLE.sub(" ", text).replace("#", " ")


def tokens(text: str) -> tuple[list[str], set[str]]:
    """Folded words of ``text`` and the subset that are names (see the module docstring)."""
    found: list[str] = []
    names: set[str] = set()
    sentence_start = True
    for raw in _TOKEN.findall(_clean(text)):
        if not raw[0].isalnum():
            sentence_start = True
            continue
        word = _fold(raw)
        if word in _SKIP:
            continue
        found.append(word)
        if _DIGIT.search(word) or (raw[0].isupper() and not sentence_start):
            names.add(word)
        sentence_start = False
    return found, names


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


@dataclass(frozen=True)
class Sketch:
    """Bottom-``K`` shingle hashes, shingle and word counts, and name hashes of one post."""

    hashes: frozenset[int]
    size: int
    word_count: int
    names: frozenset[int]

    def to_json(self) -> dict[str, object]:
        """A compact JSON form (for the notifier's ledger)."""
        return {
            "h": sorted(self.hashes),
            "n": self.size,
            "w": self.word_count,
            "p": sorted(self.names),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Sketch:
        """Inverse of :meth:`to_json`."""
        hashes, names = data["h"], data["p"]
        if not isinstance(hashes, list) or not isinstance(names, list):
            raise ValueError(f"not a sketch: {data!r}")
        return cls(
            frozenset(int(h) for h in hashes),
            int(str(data["n"])),
            int(str(data["w"])),
            frozenset(int(n) for n in names),
        )


def sketch(text: str) -> Sketch:
    """The sketch of ``text`` (see the module docstring)."""
    words, names = tokens(text)
    joined = f" {' '.join(words)} " if words else ""
    shingles = {joined[i : i + SHINGLE] for i in range(max(1, len(joined) - SHINGLE + 1))}
    shingles.discard("")
    hashes = sorted({_hash(s) for s in shingles})[:K]
    return Sketch(frozenset(hashes), len(shingles), len(words), frozenset(_hash(n) for n in names))


def jaccard(a: Sketch, b: Sketch) -> float:
    """Estimated Jaccard similarity of the shingle sets (exact when their union fits in ``K``)."""
    if not a.hashes or not b.hashes:
        return 0.0
    union = sorted(a.hashes | b.hashes)[:K]
    both = sum(1 for h in union if h in a.hashes and h in b.hashes)
    return both / len(union)


def containment(a: Sketch, b: Sketch) -> float:
    """Estimated share of the smaller post's shingles that the other post has too."""
    j = jaccard(a, b)
    shared = j * (a.size + b.size) / (1 + j)
    return min(1.0, shared / max(1, min(a.size, b.size)))


def swapped(a: Sketch, b: Sketch) -> bool:
    """True when each post names something the other does not (another street, route, number)."""
    return bool(a.names - b.names) and bool(b.names - a.names)
