"""Is a town's name used as a place here, or does it name something else?

People, pets, teams, foods, breeds, products, events, titles, films and ships are
named after towns ("Chester the cat", "Somerset Maugham", "Derby County", "Eccles
cakes", "Norfolk terrier", "Stanley knife", "Duke of York", "HMS Sheffield"). The
words right around a name say which: :meth:`Senses.mark` reads them and gives each
matched name why it is not a place ("person", "title", "team", "thing", "fiction",
"ship", "name"), or "" when nothing says so. A name with a sense counts only with
support from another place in the post (:mod:`pipelines.locality.resolve`).

Word lists: ``data/senses.txt`` (written for this project) and the given names of
the ``names`` package (MIT; the US Census Bureau's 1990 name files, public domain).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipelines.locality.extras import DATA_DIR, GENERIC_TOKENS
from pipelines.locality.lexicon import LOCATIVES, MODIFIERS, PLACE_AFTER, STREET_SUFFIXES, Match
from pipelines.locality.normalise import word_set
from pipelines.locality.sense_words import (
    Around,
    PostContext,
    adjacent,
    around,
    packaged_first_names,
    read_sections,
)

SENSES = DATA_DIR / "senses.txt"
_PLACE = "place"  # the words say it is the place: no later rule may say otherwise
_CHAINED = frozenset({"thing", "team", "name"})  # "Aberdeen Angus burger": both names
# Prepositions that put a name on the map ("on Skye", "over Preston").
_PLACED_BY = LOCATIVES | word_set("on over across round along past by off onto beyond behind")
_DETERMINERS = word_set("a an the my our his her their your such one")
_GENDERED = word_set("his her himself herself")
_OBJECTS = word_set("him her them it")
_AND = frozenset({" and ", " & "})


class Senses:
    """The word lists, and :meth:`mark` for the names matched in a post."""

    def __init__(self, path: Path = SENSES, first_names: frozenset[str] | None = None) -> None:
        s = read_sections(path)
        self.lists = s
        self.sport = s["sport"]
        self.pets = s["pets"]
        self.things = s["things"]
        self.product_words = s["product-words"]
        self.venues = s["neutral"] | PLACE_AFTER | STREET_SUFFIXES
        self.neutral = self.venues | GENERIC_TOKENS | MODIFIERS | LOCATIVES
        names = first_names if first_names is not None else packaged_first_names()
        self.first_names = (names | s["first-names"]) - s["not-first-names"]

    def mark(self, text: str, folded: str, matches: Sequence[Match]) -> list[str]:
        """Why each match is not a place here ("" when nothing says so); spans index ``text``."""
        context = PostContext(text, folded, self.sport, self.pets, self.product_words)
        last = len(matches) - 1
        out = []
        for i, m in enumerate(matches):
            after_place = i > 0 and self._place_before(text, matches[i - 1], m)
            next_is_name = i < last and adjacent(text, m.end, matches[i + 1].start)
            out.append(self._one(text, m, context, after_place, next_is_name))
        for i in range(1, last + 1):
            # "Morley and Otley, two spaniels": the second of two names goes with the first.
            between = text[matches[i - 1].end : matches[i].start]
            if not out[i] and out[i - 1] == "person" and between in _AND:
                out[i] = "person"
        for i in range(last - 1, -1, -1):
            # "Aberdeen Angus burger", "Inverness Caledonian Thistle": the name before goes too.
            if (
                not out[i]
                and out[i + 1] in _CHAINED
                and adjacent(text, matches[i].end, matches[i + 1].start)
            ):
                out[i] = out[i + 1]
        # A name once used as a thing keeps that sense where nothing else is said
        # ("Windsor knot or half Windsor", "Derby County ... Derby were awful").
        used = {m.info.key: s for m, s in zip(matches, out, strict=True) if s and s != _PLACE}
        return [
            "" if s == _PLACE else (s or used.get(m.info.key, ""))
            for m, s in zip(matches, out, strict=True)
        ]

    @staticmethod
    def _noun(word: str, nouns: frozenset[str]) -> bool:
        """``word`` or its singular is in ``nouns`` ("lambs", "potatoes")."""
        return word in nouns or (
            word.endswith("s")
            and (word[:-1] in nouns or (word.endswith("es") and word[:-2] in nouns))
        )

    def _place_before(self, text: str, before: Match, m: Match) -> bool:
        """A place's name comes straight before ``m`` ("Leeds Bradford"); a generic one
        that is also a given name does not count ("Mark Preston": Mark is a village too)."""
        if not adjacent(text, before.end, m.start):
            return False
        return not (
            before.info.tier and text[before.start : before.end].lower() in self.first_names
        )

    def _one(
        self, text: str, m: Match, context: PostContext, after_place: bool, next_is_name: bool
    ) -> str:
        a = around(text, m.start, m.end)
        s = self.lists
        prev = a.low_before[-1] if a.before else ""
        nxt = a.low_after[0] if a.after and not a.possessive else ""
        if self._team_word(a, context):
            return "team"  # "Leicester City have", "Huddersfield Town fans"
        if nxt in PLACE_AFTER or (nxt in STREET_SUFFIXES and a.after[0][:1].isupper()):
            return _PLACE  # "Chester station", "Derby Road": the place itself
        if after_place and m.info.key in self.things:
            return "thing"  # "the Epsom Derby"
        found = self._person_before(a, after_place)
        if found:
            return found
        if prev in s["versus"] or nxt in s["versus"]:
            return "team"  # "Wrexham v Chester"
        if prev in s["media-before"] and a.before[-1] != "Reading":
            return "fiction"  # "watching Shetland", "reading Middlemarch"
        if (
            prev in s["sport-before"] or prev.isdigit() or a.low_before[-2:] == ["lost", "to"]
        ) and context.sport:
            return "team"  # "beat Derby", "1-1 Aberdeen", "lost to Barnsley"
        if prev in _PLACED_BY or m.focus:
            return _PLACE
        return (
            self._person_after(a)
            or self._after(text[m.start : m.end], a, context, next_is_name)
            or self._pet(text, m, context, a)
        )

    def _person_before(self, a: Around, after_place: bool) -> str:
        if not a.before:
            return ""
        s = self.lists
        low, word = a.low_before, a.before[-1]
        prev = low[-1]
        if word in s["ships"]:
            return "ship"  # "HMS Sheffield"
        if prev in s["honorifics"] and (word[:1].isupper() or prev in s["relations"]):
            return "person"  # "Mrs Preston", "Councillor Hastings"
        if len(low) >= 2 and prev == "of" and low[-2] in s["titles-of"]:
            return "title"  # "Duke of York", "Battle of Hastings"
        if prev in ("called", "named") or (
            prev in _OBJECTS and len(low) >= 2 and low[-2] in ("called", "named")
        ):  # "a cat called Ely", "named them Sidmouth" (not "a village called Dore")
            return "" if len(low) >= 2 and low[-2] in s["place-nouns"] else "person"
        if prev in s["relations"] or low[-2:] == ["answers", "to"]:
            return "person"  # "our neighbour Dudley", "my dog Bolton", "tell Morley"
        if "_".join(low[-2:]) in s["person-phrases"] or "_".join(low[-3:]) in s["person-phrases"]:
            return "person"  # "shout out to Leigh"
        if (
            not after_place
            and word[:1].isupper()
            and word[1:].islower()
            and prev in self.first_names
            and prev not in self.neutral
        ):
            return "person"  # "Tom Selby", "Harrison Ford": a surname, even first in a post
        return ""

    def _person_after(self, a: Around) -> str:
        s = self.lists
        low = a.low_after
        if a.possessive:  # "Chester's mum", "Bingley's first birthday"
            return "person" if not s["possessed"].isdisjoint(low[:2]) else ""
        if not low:
            return ""
        first = low[0]
        if first == "the" and any(self._noun(w, s["beings"]) for w in low[1:3]):
            return "person"  # "Chester the cat", "Selby the rescue greyhound"
        if (first == "on" and low[1:2] and low[1] in s["channels"]) or (
            low[:2] == ["is", "on"] and low[2:3] and low[2] in s["channels"]
        ):
            return "fiction"  # "Shetland on iPlayer", "Notting Hill is on ITV"
        if first in ("is", "was", "turns", "turned") and len(low) > 1:
            if low[1].isdigit() and low[2:3] in (["today"], ["tomorrow"]):
                return "person"  # "Chester is 14 today"
            if low[1] in _DETERMINERS:
                for word in low[2:5]:
                    if word in s["place-nouns"] or word in PLACE_AFTER:
                        break
                    if self._noun(word, s["beings"]):
                        return "person"  # "Lincoln is my favourite president"
                    if word in s["works"]:
                        return "fiction"  # "Mansfield Park is the dullest Austen novel"
        if first == "and" and low[1:2] in (["i"], ["me"]):
            return "person"  # "Chester and I"
        verbs = [w for w in low[:4] if w not in s["auxiliaries"]][:1]
        if verbs and verbs[0] in s["being-verbs"]:
            return "person"  # "Chester has gone missing", "Dalton is teething"
        if not _GENDERED.isdisjoint(low[1:3]):
            return "person"  # "Stanley needs his booster jabs"
        return ""

    def _after(self, name: str, a: Around, context: PostContext, next_is_name: bool) -> str:
        if not a.after or a.possessive:
            return ""
        s = self.lists
        low, word = a.low_after, a.after[0]
        nxt = low[0]
        follow = low[1] if len(low) > 1 else ""
        if nxt in s["thing-modifiers"] and self._noun(follow, self.things):
            nxt, follow = follow, (low[2] if len(low) > 2 else "")  # "Bury black pudding"
        if self._noun(nxt, self.things):
            if follow in s["thing-places"] or (nxt == "day" and follow in s["day-places"]):
                return ""  # "Whitstable oyster festival", "Whitby day trip"
            return "thing"  # "Eccles cakes", "Norfolk terrier", "Stanley knife", "Derby day"
        for later, written in zip(low[1:3], a.after[1:3], strict=False):
            if later in s["works"] and later in self.things and written.islower():
                return "fiction"  # "Downton Abbey film", "Happy Valley series"
            if not written.istitle():
                break
        capital = word[:1].isupper()
        if (capital and nxt in s["teams"]) or nxt in s["always-team-after"]:
            return "team"  # "Carlisle United", "Hull KR", "Everton fans"
        if capital and nxt in s["companies"]:
            return "thing"  # "Hartlepool Water"
        if (nxt in s["sport-after"] or nxt in s["plural-verbs"] or nxt.isdigit()) and context.sport:
            return "team"  # "Sunderland 2 Newcastle 0", "Burnley relegated again"
        if a.joined and capital and not next_is_name and not context.headline:
            return self._proper_name(name, a)
        return ""

    def _team_word(self, a: Around, context: PostContext) -> bool:
        """ "City", "Town", "County" after a name: a team with a plural verb or in sport."""
        if a.possessive or not a.after or not a.after[0][:1].isupper():
            return False
        s = self.lists
        low = a.low_after
        if low[0] not in s["teams-ambiguous"]:
            return False
        follow = low[1] if len(low) > 1 else ""
        return (
            follow in s["versus"]
            or follow in s["plural-verbs"]
            or follow in s["sport-after"]
            or follow.isdigit()
            or context.sport
        )

    def _proper_name(self, name: str, a: Around) -> str:
        """ "Chester Bennington", "Bristol Stool Chart": the name starts another proper name.

        Only a one-word name, and only when nothing place-like follows ("Halifax Piece
        Hall", "Lincoln Christmas market"): a given name ("Chester") followed by a
        capitalised word, or any name followed by two of them.
        """
        s = self.lists
        if " " in name or not all(w.isalpha() for w in a.after[:1]):
            return ""
        if a.low_after[0] in self.neutral or any(w in self.venues for w in a.low_after[1:3]):
            return ""
        second = a.after[1] if len(a.after) > 1 else ""
        if (
            name.lower() in self.first_names
            or name.lower() in s["brands"]
            or (second[:1].isupper() and second.isalpha())
        ):
            return "name"  # "Chester Bennington", "Vauxhall Astra", "Bristol Stool Chart"
        return ""

    def _pet(self, text: str, m: Match, context: PostContext, a: Around) -> str:
        """In a post about a pet, a town's name that is also a given name is the pet's;
        in a post about a product, a name that is also that product is the product."""
        name = text[m.start : m.end].lower()
        if context.pet and name in self.first_names:
            return "person"
        venue = bool(a.low_after) and a.low_after[0] in self.venues  # "Caerphilly castle"
        if name in self.lists["bare-products"] and context.thing and not venue:
            return "thing"  # "Stilton and crackers", "Nationwide and Halifax put rates up"
        return ""
