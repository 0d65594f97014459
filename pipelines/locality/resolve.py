"""Choose a council and ward from competing clues.

A *clue* is one piece of evidence (coordinates, a postcode, a matched name, a
source hint) with the entries it may mean. Resolution runs in passes:

1. regions ("Wales", "Essex") and names abroad only back or veto candidates;
2. clues that can mean one council only settle first and become *support*;
3. ambiguous clues take the meaning with the best prior x support (Newport +
   "Isle of Wight" -> Newport IoW; Newport alone -> the city in Wales);
4. generic words (Reading, Park, March), names right after another
   capitalised word ("Clint Eastwood") and names the words around them give
   another sense ("Chester the cat", :mod:`pipelines.locality.senses`) count
   only when their tier allows.

Per council the settled weights combine as a noisy-OR; the winner's confidence
is discounted by the runner-up's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipelines.locality.extras import CAPS, PLACE_FIRST, STRICT
from pipelines.locality.lexicon import Entry

MIN_CONFIDENCE = 0.3
SUPPORT_GAIN = 4.0
REGION_GAIN = 5.0
ABROAD_GAIN = 4.0
_ABROAD_JOINS = frozenset({",", "in", ", in", "near", ", near", "-"})


@dataclass(slots=True)
class Clue:
    """One piece of evidence and what it may mean."""

    source: str  # Evidence.kind: coordinates postcode gazetteer community_area district place_hint context
    value: str
    entries: Sequence[Entry]
    span: tuple[int, int] | None = None
    scale: float = 1.0  # weaker sources (context, hints) scale their entries' weights down
    tier: int = 0
    capitalised: bool = True
    locative: bool = False
    after_name: bool = False
    near_boundary: bool = False  # the clue itself sits on a ward/council boundary
    focus: bool = False  # written as the place the post is about ("here in Chepstow")
    sense: str = ""  # why the words around it say it is not a place ("person", "team"...)
    chosen: Entry | None = None
    certainty: float = 0.0

    def strength(self) -> float:
        """Weight of the chosen meaning, scaled and discounted by its certainty."""
        return self.chosen.weight * self.scale * self.certainty if self.chosen is not None else 0.0


@dataclass(slots=True)
class Decision:
    """The outcome: council, ward, confidence and the clues that back the council."""

    council: int = -1
    ward: int = -1
    confidence: float = 0.0
    near_boundary: bool = False
    backing: list[Clue] = field(default_factory=list)


def _is_backdrop(entry: Entry) -> bool:
    return entry.council < 0 or entry.kind in {"region", "abroad"}


def _score(
    entry: Entry,
    support: dict[int, float],
    regions: dict[int, float],
    abroad: float,
    foreign: bool = False,
) -> float:
    """Prior x support; ``foreign``: the name also means somewhere abroad."""
    if entry.kind == "abroad":
        return entry.prior * (1.0 + ABROAD_GAIN * abroad)
    if entry.council < 0:
        return entry.prior
    if foreign and abroad:
        # "Plymouth Rock in Massachusetts": a post set abroad makes GB namesakes less likely.
        return _score(entry, support, regions, 0.0) / (1.0 + ABROAD_GAIN * abroad)
    backed = support.get(entry.council, 0.0)
    for other in entry.shared:
        backed = max(backed, 0.5 * support.get(other, 0.0))
    return (
        entry.prior
        * (1.0 + SUPPORT_GAIN * backed)
        * (1.0 + REGION_GAIN * regions.get(entry.council, 0.0))
    )


def _settle(
    clue: Clue, support: dict[int, float], regions: dict[int, float], abroad: float
) -> None:
    """Take the best-scoring meaning; certainty is its share against other councils/abroad."""
    best: Entry | None = None
    best_score = -1.0
    by_council: dict[int, float] = {}
    foreign = abroad > 0 and any(e.kind == "abroad" for e in clue.entries)
    for entry in clue.entries:
        score = _score(entry, support, regions, abroad, foreign)
        key = -2 if _is_backdrop(entry) else entry.council
        if score > by_council.get(key, 0.0):
            by_council[key] = score
        if score > best_score:
            best, best_score = entry, score
    if best is not None and not best.explicit:
        # Same council either way: report the curated meaning (its kind and label) if any.
        for entry in clue.entries:
            if entry.explicit and entry.council == best.council and entry.kind != "elsewhere":
                best = entry
                break
    clue.chosen = best
    clue.certainty = best_score / (sum(by_council.values()) or 1.0)


def _gate_open(
    clue: Clue, support: dict[int, float], regions: dict[int, float], agree: set[int]
) -> bool:
    """Generic names need a capital letter and, by tier, a locative word or support.

    Two generic clues that can mean the same council support each other
    ("The Gardens N15": a generic area name and a district code that agree).
    """
    if not clue.capitalised:
        return False
    tier = STRICT if clue.after_name or clue.sense else clue.tier
    if tier == CAPS or (tier == PLACE_FIRST and clue.locative):
        return True
    return any(
        support.get(e.council, 0.0) > 0 or regions.get(e.council, 0.0) > 0 or e.council in agree
        for e in clue.entries
    )


def _agreeing(generic: Sequence[Clue]) -> set[int]:
    """Councils that two or more capitalised generic clues can both mean."""
    seen: dict[int, int] = {}
    for clue in generic:
        # A name used as something else never backs itself ("Sheffield Wednesday v Sheffield United").
        if clue.capitalised and not clue.sense:
            for council in {e.council for e in clue.entries if e.council >= 0}:
                seen[council] = seen.get(council, 0) + 1
    return {c for c, n in seen.items() if n >= 2}


def _add_support(clue: Clue, support: dict[int, float]) -> None:
    entry = clue.chosen
    if entry is not None and not _is_backdrop(entry):
        strength = clue.strength()
        if strength > support.get(entry.council, 0.0):
            support[entry.council] = strength


def _sense_support(
    clue: Clue, hinted: dict[int, float], regions: dict[int, float], abroad: float
) -> None:
    """A team or a person named after a town is no place, but makes that town's area
    likelier for other names ("Sheffield Wednesday fans ... around Hillsborough")."""
    _settle(clue, hinted, regions, abroad)
    _add_support(clue, hinted)
    clue.chosen, clue.certainty = None, 0.0  # untagged unless its own gate opens later


def resolve(clues: Sequence[Clue], text: str = "") -> Decision:
    """Settle every clue and decide council, ward, confidence and boundary."""
    support: dict[int, float] = {}
    regions: dict[int, float] = {}
    abroad = 0.0
    plain: list[Clue] = []
    ambiguous: list[Clue] = []
    generic: list[Clue] = []
    for clue in clues:
        entries = clue.entries
        if clue.tier == 0 and any(e.kind == "region" for e in entries):
            # A curated region ("Wales") outranks a namesake village (Wales, Rotherham).
            region = next(e for e in entries if e.kind == "region")
            clue.chosen, clue.certainty = region, 1.0
            for council in region.backs:
                regions[council] = 1.0
        elif clue.tier == 0 and all(e.kind == "abroad" for e in entries):
            clue.chosen, clue.certainty = entries[0], 1.0
            abroad = 1.0
        elif clue.tier or clue.after_name or clue.sense:
            generic.append(clue)
        elif len(entries) == 1 or (
            len({e.council for e in entries}) == 1 and not any(map(_is_backdrop, entries))
        ):
            plain.append(clue)
        else:
            ambiguous.append(clue)
    for clue in plain:
        _settle(clue, support, regions, abroad)
        _add_support(clue, support)
    hinted = support
    for clue in generic:
        if clue.sense:
            # Only for settling other names: never opens the gate for the name itself.
            hinted = dict(support) if hinted is support else hinted
            _sense_support(clue, hinted, regions, abroad)
    for clue in ambiguous:
        _settle(clue, hinted, regions, abroad)
    for clue in ambiguous:
        _add_support(clue, support)
    agree = _agreeing(generic) if len(generic) > 1 else set()
    for clue in generic:
        if _gate_open(clue, support, regions, agree):
            _settle(clue, support, regions, abroad)
    if text and any(c.chosen is not None and c.chosen.kind == "abroad" for c in clues):
        _veto_before_abroad(clues, text)
    if text and len(clues) > 1:
        _contained_in(clues, text)
    return _decide(clues)


def _contained_in(clues: Sequence[Clue], text: str) -> None:
    """ "Oxford Road in Manchester", "Lime Street in Liverpool": A in B puts A in B's council.

    When A can mean somewhere in B's council it takes that meaning; when it cannot,
    it is a namesake of something else (a street, a venue) and gives no council.
    """
    spanned = sorted((c for c in clues if c.span is not None), key=lambda c: c.span or (0, 0))
    for inner, outer in itertools.pairwise(spanned):
        if inner.chosen is None or outer.chosen is None or _is_backdrop(outer.chosen):
            continue
        assert inner.span is not None and outer.span is not None
        if text[inner.span[1] : outer.span[0]].strip().lower() != "in":
            continue
        council = outer.chosen.council
        if inner.chosen.council == council or _is_backdrop(inner.chosen):
            continue
        inside = [e for e in inner.entries if e.council == council]
        inner.chosen = max(inside, key=lambda e: e.prior) if inside else None


def _veto_before_abroad(clues: Sequence[Clue], text: str) -> None:
    """The GB name right before a place abroad is abroad too: "Tottenham in Melbourne"."""
    spanned = sorted((c for c in clues if c.span is not None), key=lambda c: c.span or (0, 0))
    for before, after in itertools.pairwise(spanned):
        if after.chosen is None or after.chosen.kind != "abroad" or before.chosen is None:
            continue
        assert before.span is not None and after.span is not None
        gap = " ".join(text[before.span[1] : after.span[0]].lower().split())
        if gap in _ABROAD_JOINS:
            before.chosen = None


def _decide(clues: Sequence[Clue]) -> Decision:
    miss: dict[int, float] = {}
    backing: dict[int, list[Clue]] = {}
    focus: set[int] = set()
    for clue in clues:
        entry = clue.chosen
        if entry is None or _is_backdrop(entry):
            continue
        council = entry.council
        miss[council] = miss.get(council, 1.0) * (1.0 - min(0.99, clue.strength()))
        backing.setdefault(council, []).append(clue)
        if clue.focus:
            focus.add(council)
    if not backing:
        return Decision()
    # The place the post says it is about first ("here in Chepstow"), then the highest
    # combined strength; an exact tie goes to the first mentioned, never to the deployment.
    ranked = sorted(backing, key=lambda c: (c not in focus, miss[c]))
    best = ranked[0]
    p_best = 1.0 - miss[best]
    # min(): with "here in X" the chosen council may be the weaker one.
    p_second = min(p_best, 1.0 - miss[ranked[1]]) if len(ranked) > 1 else 0.0
    confidence = p_best * (1.0 - 0.5 * p_second / p_best) if p_best > 0 else 0.0
    if confidence < MIN_CONFIDENCE:
        return Decision()
    ward, boundary = _ward(backing[best])
    return Decision(best, ward, round(min(confidence, 0.99), 3), boundary, backing[best])


def clue_wards(clue: Clue) -> set[int]:
    """Wards a settled clue points at: its meanings in the chosen council, narrowed together.

    "Overmonnow" is both a community area (two wards) and a ward's name: together, one
    ward. A council's own name points at no ward.
    """
    chosen = clue.chosen
    if chosen is None or chosen.kind == "council":
        return set()
    wards = set(chosen.wards)
    for entry in clue.entries:
        if entry is chosen or entry.council != chosen.council or not entry.wards:
            continue
        # Exact ward names always narrow; other namesakes only fill in when nothing curated says.
        if entry.kind != "ward" and (wards or chosen.explicit):
            continue
        narrowed = wards & set(entry.wards) if wards else set(entry.wards)
        if narrowed:
            wards = narrowed
    return wards


def _ward(clues: list[Clue]) -> tuple[int, bool]:
    """Intersect the clues' ward sets, strongest first; say whether it is a boundary case."""
    boundary = any(c.near_boundary or (c.chosen is not None and c.chosen.shared) for c in clues)
    ranked = sorted(((c.strength(), clue_wards(c)) for c in clues), key=lambda sw: -sw[0])
    sets = [wards for _, wards in ranked if wards]
    if not sets:
        return -1, boundary
    wards = sets[0]
    for other in sets[1:]:
        narrowed = wards & other
        if narrowed:
            wards = narrowed
    if len(wards) == 1:
        return next(iter(wards)), boundary
    return -1, boundary or len(wards) <= 3
