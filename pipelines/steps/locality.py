"""Locality step: where a post is about (council, ward, places), offline and fast.

Pure and Faust-free. Build one :class:`LocalityTagger` per process (it loads the
gazetteer built by ``python -m pipelines.locality build`` and the deployment's
council profiles) and call :meth:`LocalityTagger.tag` per mention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from common.settings import load_settings
from pipelines.locality.clues import (
    HINT_SCALE,
    PostcodeFinder,
    PostcodeIndex,
    context_clues,
    context_map,
    point_clue,
)
from pipelines.locality.extras import GbExtras, StopWords, load_extras, load_stopwords
from pipelines.locality.lexicon import Entry, Lexicon, Match
from pipelines.locality.lexicon_build import build_lexicon
from pipelines.locality.normalise import fold, fold_name
from pipelines.locality.profile import CouncilProfile, load_profile, profile_paths
from pipelines.locality.resolve import Clue, Decision, clue_wards, resolve
from pipelines.locality.senses import Senses
from pipelines.locality.settings import LocalitySettings, Scope
from pipelines.locality.tables import Tables, load_tables
from schemas.models import CodedArea, Evidence, Locality, Place, PlaceHint, PlaceKind, Point

DEFAULT_COUNCILS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config" / "councils"
_PLACE_KINDS: dict[str, PlaceKind] = {
    "council": "council",
    "ward": "ward",
    "place": "place",
    "alias": "alias",
    "landmark": "landmark",
    "street": "street",
    "community_area": "community_area",
    "elsewhere": "place",
    "postcode": "postcode",
    "district": "district",
}
_MASKED = re.compile(r"https?://\S+|www\.\S+|@\w+")
_EMPTY = Locality()
_MEMO_SIZE = 50_000


class LocalityTagger:
    """Tags a post with a :class:`~schemas.models.Locality`.

    ``profiles`` are the councils the deployment listens for: their names win ties,
    their aliases, landmarks, streets and community areas are matched, and their
    hashtags, subreddits, accounts and feeds count as context. ``senses`` (read from
    the shipped lists unless given) decide when a town's name names a person, a team
    or a thing instead; ``read_senses=False`` leaves them out (the benchmark's baseline).
    """

    def __init__(
        self,
        tables: Tables,
        profiles: Sequence[CouncilProfile],
        extras: GbExtras | None = None,
        stopwords: StopWords | None = None,
        *,
        nationwide: bool = False,
        senses: Senses | None = None,
        read_senses: bool = True,
    ) -> None:
        self.tables = tables
        self.profiles = tuple(profiles)
        self.nationwide = nationwide
        self.lexicon: Lexicon = build_lexicon(
            tables,
            self.profiles,
            extras or load_extras(),
            stopwords or load_stopwords(),
            nationwide=nationwide,
        )
        self.index = PostcodeIndex(tables)
        self.senses = senses if senses is not None else (Senses() if read_senses else None)
        self._by_hint = context_map(self.profiles, tables)
        self._names = {tables.council_index(p.code): p.name for p in self.profiles}
        self._postcodes = PostcodeFinder(self.index)
        # Built once: the same few areas are attached to thousands of results.
        self._councils = [
            CodedArea(code=a.code, name=self._names.get(i, a.name))
            for i, a in enumerate(tables.councils)
        ]
        self._wards = [CodedArea(code=a.code, name=a.name) for a in tables.wards]
        self._memo: dict[tuple[int, bool, bool, bool, str], Locality] = {}
        self._evidence: dict[tuple[str, int, float], Evidence] = {}
        self._keep: list[Entry] = []

    def warm(self) -> None:
        """Build the nearest-postcode index now (else the first post with a point does)."""
        self.index.warm()

    @classmethod
    def from_config(
        cls,
        councils_dir: Path | str = DEFAULT_COUNCILS_DIR,
        tables: Tables | None = None,
        scope: Scope | None = None,
        read_senses: bool = True,
    ) -> LocalityTagger:
        """Load the tables and every ``*.yaml`` profile in ``councils_dir``, codes checked.

        ``scope`` defaults to ``EARSHOT_LOCALITY_SCOPE`` (:mod:`pipelines.locality.settings`).
        Raises ``GazetteerMissingError`` when the tables were never built and
        ``ConfigError`` (file:line: field) for a bad profile.
        """
        scope = scope or load_settings(LocalitySettings).locality_scope
        tables = tables or load_tables()
        ward_councils = {
            w.code: tables.councils[w.council].code for w in tables.wards if w.council >= 0
        }
        council_codes = [c.code for c in tables.councils]
        return cls(
            tables,
            [load_profile(p, ward_councils, council_codes) for p in profile_paths(councils_dir)],
            nationwide=scope == "nationwide",
            read_senses=read_senses,
        )

    def tag(
        self,
        text: str,
        geo: Point | None = None,
        place_hint: PlaceHint | None = None,
        context: Sequence[str] = (),
    ) -> Locality:
        """Where ``text`` is about; place spans index ``text`` exactly.

        ``geo`` is the post's own point, ``place_hint`` the source's place (bbox in
        GeoJSON order: west, south, east, north), ``context`` the source hints that
        found it ("r/haringey", "#Abergavenny", a feed or account name).
        """
        clues: list[Clue] = []
        if geo is not None:
            clue = point_clue(
                self.index, geo.lat, geo.lon, "coordinates", f"{geo.lat:.5f},{geo.lon:.5f}"
            )
            if clue is not None:
                clues.append(clue)
        if text:
            plain, handles = _mask(text)
            if handles:
                clues += context_clues(
                    handles, self.lexicon, self._by_hint, self._names, known_only=True
                )
            clues += self._postcodes.clues(plain)
            folded = fold(plain)
            matches = self.lexicon.find(plain, folded)
            senses = (
                self.senses.mark(plain, folded.text, matches)
                if self.senses is not None and matches
                else [""] * len(matches)
            )
            if (
                len(matches) == 1
                and not clues
                and geo is None
                and place_hint is None
                and not context
            ):
                return self._one_name(text, matches[0], senses[0])
            for m, sense in zip(matches, senses, strict=True):
                info = m.info
                clues.append(
                    Clue(
                        info.source,
                        text[m.start : m.end],
                        info.entries,
                        span=(m.start, m.end),
                        tier=info.tier,
                        capitalised=m.capitalised,
                        locative=m.locative,
                        after_name=m.after_name,
                        focus=m.focus,
                        sense=sense,
                    )
                )
        if place_hint is not None:
            clues += self._hint_clues(place_hint)
        if context:
            clues += context_clues(context, self.lexicon, self._by_hint, self._names)
        if not clues:
            return _EMPTY if geo is None else Locality(point=geo)
        return self._locality(resolve(clues, text), clues, geo)

    def _one_name(self, text: str, m: Match, sense: str) -> Locality:
        """The common case, one name and nothing else: its outcome depends only on the key
        and the match's flags, so it is worked out once and reused (hot path)."""
        memo_key = (id(m.info), m.capitalised, m.locative, m.after_name, sense)
        template = self._memo.get(memo_key)
        if template is None:
            info = m.info
            clue = Clue(
                info.source,
                text[m.start : m.end],
                info.entries,
                span=(0, 1),
                tier=info.tier,
                capitalised=m.capitalised,
                locative=m.locative,
                after_name=m.after_name,
                sense=sense,
            )
            template = self._locality(resolve([clue]), [clue], None)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[memo_key] = template
        if not template.places:
            return template
        place = template.places[0]
        return Locality(
            council=template.council,
            ward=template.ward,
            community_areas=template.community_areas,
            places=(
                Place(
                    name=place.name,
                    kind=place.kind,
                    start=m.start,
                    end=m.end,
                    council_code=place.council_code,
                    ward_code=place.ward_code,
                ),
            ),
            point=template.point,
            confidence=template.confidence,
            evidence=template.evidence,
            near_boundary=template.near_boundary,
        )

    def _hint_clues(self, hint: PlaceHint) -> list[Clue]:
        if hint.country_code and hint.country_code.upper() not in ("GB", "UK"):
            return [Clue("place_hint", hint.name, (Entry("abroad", hint.name, -1),))]
        for part in hint.name.split(","):
            info = self.lexicon.keys.get(fold_name(part))
            if info is not None and info.tier == 0:
                return [Clue("place_hint", hint.name, info.entries, scale=HINT_SCALE)]
        if hint.bbox is not None:
            west, south, east, north = hint.bbox
            if abs(east - west) < 0.5 and abs(north - south) < 0.5:  # a town's box, not a region's
                clue = point_clue(
                    self.index, (south + north) / 2, (west + east) / 2, "place_hint", hint.name
                )
                if clue is not None:
                    # The middle of a box is no address: council only.
                    clue.entries = [
                        Entry(e.kind, e.label, e.council, weight=0.5, prior=e.prior)
                        for e in clue.entries
                    ]
                    clue.scale, clue.near_boundary = HINT_SCALE, False
                    return [clue]
        return []

    def _locality(self, decision: Decision, clues: list[Clue], geo: Point | None) -> Locality:
        t = self.tables
        places: list[Place] = []
        evidence: list[Evidence] = []
        communities: list[str] = []
        point = geo
        for clue in clues:
            entry = clue.chosen
            if entry is None or entry.council < 0 or entry.kind in ("region", "abroad"):
                continue
            code = t.councils[entry.council].code
            evidence.append(
                self._evidence_for(clue.source, entry, code, round(min(1.0, clue.strength()), 3))
            )
            if clue.span is not None:
                wards = clue_wards(clue)
                places.append(
                    Place(
                        name=entry.label,
                        kind=_PLACE_KINDS.get(entry.kind, "place"),
                        start=clue.span[0],
                        end=clue.span[1],
                        council_code=code,
                        ward_code=t.wards[next(iter(wards))].code if len(wards) == 1 else None,
                    )
                )
            if entry.council == decision.council:
                if entry.kind == "community_area" and entry.label not in communities:
                    communities.append(entry.label)
                if point is None and entry.kind == "postcode" and not math.isnan(entry.lat):
                    point = Point(lat=entry.lat, lon=entry.lon)
        if len(evidence) > 1:
            evidence.sort(key=lambda e: -(e.weight or 0.0))
        return Locality(
            council=self._councils[decision.council] if decision.council >= 0 else None,
            ward=self._wards[decision.ward] if decision.ward >= 0 else None,
            community_areas=tuple(communities),
            places=tuple(places),
            point=point,
            confidence=decision.confidence,
            evidence=tuple(evidence),
            near_boundary=decision.near_boundary,
        )

    def _evidence_for(self, source: str, entry: Entry, code: str, weight: float) -> Evidence:
        """Evidence objects are immutable and repeat a lot: build each once."""
        key = (source, id(entry), weight)
        found = self._evidence.get(key)
        if found is None:
            value = f"{entry.label} [{entry.kind}] -> {code}"
            if entry.kind == "community_area" and entry.wards:
                # Community areas do not follow ward lines: say which wards this one touches.
                value += " wards " + ",".join(self.tables.wards[w].code for w in entry.wards)
            if len(self._evidence) >= _MEMO_SIZE:
                self._evidence.clear()
                self._keep.clear()
            found = self._evidence[key] = Evidence(kind=source, value=value, weight=weight)
            self._keep.append(entry)  # keeps id(entry) unique while it is a key
        return found


def _mask(text: str) -> tuple[str, list[str]]:
    """Blank out URLs and @handles (same length, so spans hold); return the handles.

    Handles name accounts, not places ("@WhiteHouse"); a handle a profile lists as a
    local account still counts, as context.
    """
    if "@" not in text and "http" not in text and "www." not in text:
        return text, []
    handles: list[str] = []

    def blank(m: re.Match[str]) -> str:
        if m.group().startswith("@"):
            handles.append(m.group())
        return " " * len(m.group())

    return _MASKED.sub(blank, text), handles
