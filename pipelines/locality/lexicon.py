"""The name lexicon: every place name we match, in ONE Aho-Corasick automaton.

Each folded key ("newport", "st anns road", "y fenni") maps to the entries it may
mean (a ward called Newport, the city in Wales, the town on the Isle of Wight,
Newport in Rhode Island); :mod:`pipelines.locality.resolve` picks among them.
:func:`pipelines.locality.lexicon_build.build_lexicon` fills it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import ahocorasick

from pipelines.locality.normalise import Folded, name_variants, word_set

LOCATIVES = word_set(
    "in at to from near around into visit visiting visited outside through via towards nr up "
    "climbed climbing"
)
# Words right before a name that say the post is *about* that place ("here in Chepstow").
FOCUS_TAILS = frozenset(
    {
        ("here", "in"),
        ("live", "in"),
        ("living", "in"),
        ("based", "in"),
        ("m", "in"),  # I'm in
        ("re", "in"),  # we're in
        ("home", "in"),
        ("us", "in"),
        ("residents", "of"),
        ("people", "of"),
        ("locals", "in"),
        ("here", "at"),
    }
)
# A name followed by one of these is being used as a place ("Reading town centre").
PLACE_AFTER = word_set(
    "town city village station seafront promenade harbour pier beach market bypass interchange "
    "high residents council hospital library leisure quay marina bridge"
)
# A name right after these is a river, not the town ("the river Medway", "Afon Wysg").
RIVER_BEFORE = word_set("river afon")
# A name followed by one of these is a street named after it ("Oxford Road" in Manchester).
# ("walk", "close", "parade" are left out: "Tottenham Marshes walk", "close to Leeds".)
STREET_SUFFIXES = word_set(
    "road rd street st lane ln avenue ave way drive crescent terrace grove mews square gardens gdns"
)
# Capitalised words that often come before a place without making it a person or a brand.
MODIFIERS = word_set(
    "greater north south east west central old new upper lower little great st saint royal "
    "visit welcome love explore sunny lovely beautiful rainy downtown historic the and or "
    "to in at from near for of on"
)
_SENTENCE_END = frozenset(".!?:;\"'(|-#@\n")
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing a key can mean."""

    kind: str  # council ward place alias landmark street community_area elsewhere region abroad
    label: str
    council: int  # index into Tables.councils; -1 none (abroad, region, Northern Ireland)
    wards: tuple[int, ...] = ()
    weight: float = 0.0  # how sure this meaning makes us of the council
    prior: float = 1.0  # how likely this meaning is among the key's meanings
    shared: tuple[int, ...] = ()  # other councils it straddles
    lat: float = NAN
    lon: float = NAN
    backs: frozenset[int] = frozenset()  # regions: the councils they cover
    deployment: bool = False  # in a council the deployment listens for
    explicit: bool = False  # curated by a person (profile or extras)


@dataclass(slots=True)
class KeyInfo:
    """A folded key, what it can mean and how generic it is."""

    key: str
    entries: list[Entry] = field(default_factory=list)
    tier: int = 0  # 0, CAPS, PLACE_FIRST or STRICT (pipelines.locality.extras); set by finish()
    word_tier: int = 0  # from the stop-lists: the word itself is generic
    entry_tiers: list[int] = field(default_factory=list)  # how generic each meaning is
    pinned: bool = False  # a deployment profile names it plainly: never generic
    ours: bool = False  # some meaning is in a deployment council
    source: str = "gazetteer"  # Evidence.kind of a match: gazetteer or community_area
    joined: set[int] = field(default_factory=set)  # entries this key is only the hashtag form of
    street_like: bool = False  # curated, or a street itself: a street word after it cuts nothing
    plain_view: KeyInfo | None = None  # set by finish() when some meanings are hashtag-only
    joined_view: KeyInfo | None = None


_NONE = KeyInfo("")  # marks "this view is empty" once worked out


class Match(NamedTuple):
    """A key found in folded text, with its exact span in the original text (a tuple: cheap)."""

    start: int
    end: int
    info: KeyInfo
    capitalised: bool  # starts with a capital letter (not shouted) or follows a "#"
    locative: bool  # "in", "to", "near"... right before it
    after_name: bool  # right after another capitalised word mid-sentence: maybe a person or brand
    focus: bool = False  # "here in", "live in"...: the place the post is about


class Lexicon:
    """Keys, their entries, and the automaton over the keys."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyInfo] = {}
        self.automaton = ahocorasick.Automaton()
        self._order: list[KeyInfo] = []

    def add(
        self,
        names: Iterable[str],
        entry: Entry,
        tier: int = 0,
        street: bool = False,
        joined: bool = True,
    ) -> None:
        """Add ``entry`` under every variant of every name; ``tier`` says how generic it is.

        ``joined`` adds the hashtag form ("#WoodGreen") of multi-word names; it only ever
        matches a hashtag, and keeps the name's tier (a generic name still needs support).
        """
        for name in names:
            keys = name_variants(name, joined=joined, street=street)
            plain = name_variants(name, joined=False, street=street) if joined else keys
            for key in keys:
                info = self.keys.get(key)
                if info is None:
                    info = self.keys[key] = KeyInfo(key)
                if entry not in info.entries:
                    info.entries.append(entry)
                    info.entry_tiers.append(tier)
                    if key not in plain:
                        info.joined.add(len(info.entries) - 1)
                if street or entry.explicit or entry.kind in ("street", "landmark"):
                    info.street_like = True  # curated or a street itself: a suffix cuts nothing
                if entry.deployment and entry.explicit and tier == 0 and entry.kind != "elsewhere":
                    info.pinned = True
                info.ours = info.ours or entry.deployment

    def mark_generic(self, key: str, tier: int) -> None:
        """Raise ``key``'s word tier (stop-lists)."""
        info = self.keys.get(key)
        if info is not None:
            info.word_tier = max(info.word_tier, tier)

    def finish(self) -> None:
        """Freeze tiers and build the automaton.

        A key is as generic as its word (stop-lists) or as its least generic meaning:
        "Newport" stays plain because the city is, though a hamlet called Newport is
        not. A deployment profile naming it plainly pins it to 0.
        """
        for index, info in enumerate(self.keys.values()):
            self._freeze(info)
            self._order.append(info)
            self.automaton.add_word(info.key, (index, len(info.key)))
        self.automaton.make_automaton()

    @staticmethod
    def _freeze(info: KeyInfo) -> None:
        info.tier = 0 if info.pinned else max(info.word_tier, min(info.entry_tiers, default=0))
        if any(e.kind == "community_area" for e in info.entries):
            info.source = "community_area"

    @staticmethod
    def views(info: KeyInfo) -> tuple[KeyInfo | None, KeyInfo | None]:
        """(plain, hashtag-only) views of a key with hashtag-only meanings, made on first use.

        "#WoodGreen" is Wood Green; plain "woodgreen" only the village written so.
        """
        if info.plain_view is None and info.joined_view is None:
            n = range(len(info.entries))
            info.plain_view = Lexicon._view(info, [i not in info.joined for i in n]) or _NONE
            info.joined_view = Lexicon._view(info, [i in info.joined for i in n]) or _NONE
        plain, joined = info.plain_view, info.joined_view
        return (None if plain is _NONE else plain), (None if joined is _NONE else joined)

    @staticmethod
    def _view(info: KeyInfo, keep: list[bool]) -> KeyInfo | None:
        """The key with only some of its meanings (None when that leaves none)."""
        if not any(keep):
            return None
        view = KeyInfo(
            info.key,
            [e for e, k in zip(info.entries, keep, strict=True) if k],
            word_tier=info.word_tier,
            entry_tiers=[t for t, k in zip(info.entry_tiers, keep, strict=True) if k],
            pinned=info.pinned,
            ours=info.ours,
            street_like=info.street_like,
        )
        Lexicon._freeze(view)
        return view

    def find(self, text: str, folded: Folded) -> list[Match]:
        """Longest non-overlapping whole-word matches in ``folded`` (made from ``text``)."""
        low = folded.text
        size = len(low)
        found: list[tuple[int, int, int]] = []
        for last, (index, length) in self.automaton.iter(low):
            start = last - length + 1
            if (start == 0 or not low[start - 1].isalnum()) and (
                last + 1 == size or not low[last + 1].isalnum()
            ):
                found.append((start, -length, index))
        if not found:
            return []
        found.sort()
        shouting = text.isupper()
        out: list[Match] = []
        reach = last_end = -1
        for start, neg_length, index in found:
            if start < reach:
                continue
            end = start - neg_length
            reach = end
            found_info = self._order[index]
            o_start, o_end = folded.span(start, end)
            hashtag = o_start > 0 and text[o_start - 1] == "#"
            info = _view_for(found_info, text[o_start:o_end], hashtag)
            if info is None or (not info.street_like and _street_follows(text, o_end)):
                continue
            before = low[max(0, start - 16) : start].split()
            if before and before[-1] in RIVER_BEFORE:
                continue
            locative = bool(before) and before[-1] in LOCATIVES
            if not locative and end < size and low[end] == " ":
                cut = low.find(" ", end + 1)
                locative = low[end + 1 : cut if cut > 0 else size] in PLACE_AFTER
            focus = len(before) >= 2 and (before[-2], before[-1]) in FOCUS_TAILS
            after_name = not info.ours and not hashtag and _after_name(text, o_start, last_end)
            capitalised = hashtag or (_capital(text, o_start, info.key) and not shouting)
            out.append(Match(o_start, o_end, info, capitalised, locative, after_name, focus))
            last_end = o_end
        return out


def _view_for(info: KeyInfo, surface: str, hashtag: bool) -> KeyInfo | None:
    """Which meanings a match may have, by how it is written.

    A hashtag in CamelCase ("#WoodGreen") was written as words: it means the names
    whose hashtag form it is; "#Woodgreen" was written as one word; "#woodgreen" may
    be either. Outside hashtags, a squashed form means only names really written as
    one word (Woodgreen, Hampshire).
    """
    if not info.joined:
        return info
    plain, joined = Lexicon.views(info)
    if hashtag:
        if surface.islower() or surface.isupper():
            return info  # "#woodgreen": either
        camel = any(c.isupper() for c in surface[1:])
        # "#WoodGreen" was written as words, "#Woodgreen" as one.
        return (joined if camel else plain) or info
    return plain


def _street_follows(text: str, end: int) -> bool:
    """True when a capitalised street word follows after one space: "Oxford| Road".

    Lower case ("St Arvans road closure") and punctuation ("Cil-y-coed: road
    closures") say the name is the place itself.
    """
    if text[end : end + 1] != " " or not text[end + 1 : end + 2].isupper():
        return False
    word_end = end + 1
    while word_end < len(text) and text[word_end].isalpha():
        word_end += 1
    return text[end + 1 : word_end].lower() in STREET_SUFFIXES


def _capital(text: str, start: int, key: str) -> bool:
    """Starts with a capital, looking past a leading "the" ("the Ladder", "the High Road").

    The word after "the" decides: "The bin lorry" starts a sentence, not "The Bin" (a hill).
    """
    if key.startswith("the "):
        rest = text[start + 3 : start + 8].lstrip()
        return rest[:1].isupper()
    return text[start].isupper()


def _after_name(text: str, start: int, last_end: int) -> bool:
    """True when ``text[start:]`` follows a capitalised word mid-sentence ("Clint Eastwood")."""
    if start < 2 or text[start - 1] != " ":
        return False
    cut = max(text.rfind(" ", 0, start - 1), text.rfind("\n", 0, start - 1))
    word = text[cut + 1 : start - 1]
    if not word or not word[0].isupper() or not word.isalpha() or word.lower() in MODIFIERS:
        return False
    if cut < 0 or cut < last_end:  # the first word of the text, or part of the previous place
        return False
    return text[:cut].rstrip()[-1:] not in _SENTENCE_END and not title_case(text)


def title_case(text: str) -> bool:
    """Headline style ("Flooding Hits Cardiff Bay As Storm Arrives"): capitals say nothing."""
    words = [w for w in text.split() if w[:1].isalpha()]
    return len(words) >= 6 and sum(w[0].isupper() for w in words) >= 0.75 * len(words)
