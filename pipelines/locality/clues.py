"""Turn raw inputs (a point, postcodes in text, source hints) into resolver clues."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipelines.locality.extras import STRICT
from pipelines.locality.lexicon import LOCATIVES, Entry, Lexicon
from pipelines.locality.lexicon_build import EXPLICIT_PRIOR
from pipelines.locality.normalise import POSTCODE, fold, fold_chars, fold_name, word_set
from pipelines.locality.profile import CouncilProfile
from pipelines.locality.resolve import Clue
from pipelines.locality.tables import EARTH_RADIUS_M, Tables

BOUNDARY_M = 150.0  # postcodes this close to a point that disagree on ward -> near a boundary
NEAR_M = 1000.0  # a point this close to its nearest postcode is in that postcode's ward
FAR_M = 5000.0  # further than this from any postcode: not in a GB council area
CONTEXT_SCALE = 0.55
HINT_SCALE = 0.7
SECTOR_SHARE = 0.8
_DIGIT = re.compile(r"[0-9]")
_CACHE_SIZE = 50_000
# Outward codes that are mostly something else: motorways, chemistry, text-speak, footballers.
DISTRICT_BLOCK = word_set(
    "M1 M2 M3 M4 M5 M6 M8 M11 M18 M20 M23 M25 M26 M27 M32 M40 M42 M45 M48 M49 M50 M53 M54 "
    "M55 M56 M57 M58 M60 M61 M62 M65 M66 M67 M69 M90 CO2 SO2 NO2 CR7 B4 W8 G7 G8 L8 E3 PE1 "
    "HD1 SE7"
)


# Words before a code that make it something other than a postcode ("vitamin B12", "gate B22").
CODE_WORDS = word_set(
    "vitamin gate seat row room flat unit model flight platform route size grade level type "
    "class version exit stand block section bay pier"
)


@dataclass(frozen=True, slots=True)
class PointFix:
    """The nearest postcode to a point and the wards/councils around it."""

    row: int
    distance_m: float
    wards: frozenset[int]
    councils: frozenset[int]


class PostcodeIndex:
    """Nearest-postcode queries (KD-tree on the unit sphere) and sector look-ups.

    The tree is built on the first point query (~0.5 s): most sources send no
    coordinates, and a text-only tagger should load fast. :meth:`warm` builds it now.
    """

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._rows = tables.pc_xyz_rows
        self._tree: Any = None

    def warm(self) -> None:
        """Build the KD-tree now rather than on the first point query."""
        if self._tree is None:
            from scipy.spatial import cKDTree  # noqa: PLC0415 - heavy; only points need it

            # Unbalanced, non-compact: builds ~2x faster; queries stay well under a millisecond.
            self._tree = cKDTree(
                self.tables.pc_xyz.astype(np.float64), balanced_tree=False, compact_nodes=False
            )

    @property
    def tree(self) -> Any:
        """The KD-tree over the unit vectors of the postcodes with a position (built on demand)."""
        self.warm()
        return self._tree

    def nearest(self, lat: float, lon: float) -> PointFix:
        """Nearest postcode to (lat, lon) and the wards/councils within :data:`BOUNDARY_M`."""
        self.warm()
        la, lo = math.radians(lat), math.radians(lon)
        point = (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))
        dist, idx = self._tree.query(point, k=16)
        rows = self._rows[idx]
        near = rows[dist * EARTH_RADIUS_M <= BOUNDARY_M]
        t = self.tables
        return PointFix(
            row=int(rows[0]),
            distance_m=float(dist[0] * EARTH_RADIUS_M),
            wards=frozenset(t.pc_ward[near].tolist()),
            councils=frozenset(t.pc_council[near].tolist()),
        )

    def sector(self, prefix: str) -> tuple[int, int, float]:
        """(council, ward or -1, council share) of the postcodes whose key starts with ``prefix``."""
        t = self.tables
        lo = int(np.searchsorted(t.pc_keys, prefix.encode()))
        hi = int(np.searchsorted(t.pc_keys, prefix.encode() + b"\xff"))
        if hi <= lo:
            return -1, -1, 0.0
        councils = np.bincount(t.pc_council[lo:hi].astype(np.int64) + 1)
        wards = np.bincount(t.pc_ward[lo:hi].astype(np.int64) + 1)
        ward = int(wards.argmax()) - 1 if wards.max() >= SECTOR_SHARE * (hi - lo) else -1
        return int(councils.argmax()) - 1, ward, float(councils.max() / (hi - lo))


def point_clue(
    index: PostcodeIndex, lat: float, lon: float, source: str, value: str
) -> Clue | None:
    """Council and ward of the nearest postcode, or None when the point is not in GB."""
    fix = index.nearest(lat, lon)
    if fix.distance_m > FAR_M:
        return None
    t = index.tables
    ward = int(t.pc_ward[fix.row])
    close = fix.distance_m <= NEAR_M
    entry = Entry(
        "postcode",
        value,
        int(t.pc_council[fix.row]),
        wards=(ward,) if close and ward >= 0 else (),
        weight=0.95 if close else 0.8,
        prior=EXPLICIT_PRIOR,
        lat=lat,
        lon=lon,
    )
    return Clue(source, value, (entry,), near_boundary=len(fix.wards) > 1 or len(fix.councils) > 1)


def _loose_district(text: str, start: int, outward: str) -> bool:
    """A district alone that may be something else needs support.

    One-letter areas with one digit (B6, S4, E9) are also gates, seats and vitamins;
    any code right after a capitalised word is likely a model name ("Galaxy S10").
    Hashtags, codes after a locative ("in N4") and two-digit codes (S11, G12, M14)
    stand alone.
    """
    if text[start - 1 : start] == "#":
        return False
    before = text[:start].rstrip().rsplit(None, 1)
    word = before[-1].lower() if before else ""
    if word in LOCATIVES:
        return False  # "in N4", "near S11"
    if word in CODE_WORDS or (outward[1].isdigit() and len(outward) == 2):
        return True
    return before[-1][:1].isupper() and word.isalpha() if before else False


def _district_allowed(text: str, start: int, outward: str) -> bool:
    if outward in DISTRICT_BLOCK:
        return False
    return text[start : start + len(outward)].isupper() or (start > 0 and text[start - 1] == "#")


class PostcodeFinder:
    """Full postcodes (any case, any spacing), unknown ones by sector, and districts alone.

    A postcode in the text is a place, not a guess around a point, so it carries its
    own ward and no boundary check. A district shared between councils goes by share,
    with no favour to the deployment's councils. Entries are cached per
    postcode/district: the same few recur.
    """

    def __init__(self, index: PostcodeIndex) -> None:
        self.index = index
        self._postcodes: dict[str, tuple[tuple[Entry, ...], bool] | None] = {}
        self._districts: dict[str, tuple[Entry, ...]] = {}

    def clues(self, text: str) -> list[Clue]:
        """Clues for every postcode and allowed district in ``text``."""
        out: list[Clue] = []
        if not _DIGIT.search(text):
            return out
        for m in POSTCODE.finditer(text):
            outward = m.group(1).upper()
            inward = (m.group(2) or "").upper()
            if inward:
                found = self._postcode(outward, inward)
                if found is not None:
                    entries, boundary = found
                    out.append(
                        Clue(
                            "postcode",
                            entries[0].label,
                            entries,
                            span=m.span(),
                            near_boundary=boundary,
                        )
                    )
                    continue
            start = m.start(1)
            districts = self.index.tables.districts
            if outward not in districts or not _district_allowed(text, start, outward):
                continue
            shares = districts[outward]
            loose = _loose_district(text, start, outward)
            out.append(
                Clue(
                    "district",
                    outward,
                    self._district(outward),
                    span=(start, start + len(outward)),
                    near_boundary=shares[0][1] < SECTOR_SHARE,
                    tier=STRICT if loose else 0,
                )
            )
        return out

    def _postcode(self, outward: str, inward: str) -> tuple[tuple[Entry, ...], bool] | None:
        key = outward + inward
        if key in self._postcodes:
            return self._postcodes[key]
        if len(self._postcodes) >= _CACHE_SIZE:
            self._postcodes.clear()
        t = self.index.tables
        label = f"{outward} {inward}"
        row = t.find_postcode(key)
        found: tuple[tuple[Entry, ...], bool] | None = None
        if row >= 0 and not math.isnan(float(t.pc_latlon[row, 0])):
            entry = Entry(
                "postcode",
                label,
                int(t.pc_council[row]),
                wards=(int(t.pc_ward[row]),),
                weight=0.95,
                prior=EXPLICIT_PRIOR,
                lat=float(t.pc_latlon[row, 0]),
                lon=float(t.pc_latlon[row, 1]),
            )
            found = ((entry,), False)
        elif outward in t.districts:  # retired or mistyped: its sector still says a lot
            council, ward, share = self.index.sector(outward + inward[0])
            if council >= 0:
                entry = Entry(
                    "postcode",
                    label,
                    council,
                    wards=(ward,) if ward >= 0 else (),
                    weight=0.6 + 0.3 * share,
                    prior=EXPLICIT_PRIOR,
                )
                found = ((entry,), share < SECTOR_SHARE)
        self._postcodes[key] = found
        return found

    def _district(self, outward: str) -> tuple[Entry, ...]:
        """A district's councils weighted by their share of its postcodes, nobody favoured."""
        entries = self._districts.get(outward)
        if entries is None:
            entries = self._districts[outward] = tuple(
                Entry("district", outward, c, weight=0.35 + 0.4 * s, prior=s * 10)
                for c, s in self.index.tables.districts[outward]
            )
        return entries


def squash(hint: str) -> str:
    """A source hint without "#", "@", "r/" and spaces, folded: "r/Haringey" -> "haringey"."""
    cut = hint.strip()
    for prefix in ("/r/", "r/", "#", "@"):
        if cut.lower().startswith(prefix):
            cut = cut[len(prefix) :]
    return fold_chars(cut).replace(" ", "")


def context_map(profiles: Sequence[CouncilProfile], tables: Tables) -> dict[str, int]:
    """Squashed source hint -> council index, from every profile's ``context`` and names."""
    out: dict[str, int] = {}
    for profile in profiles:
        council = tables.council_index(profile.code)
        ctx = profile.context
        for hint in (
            *ctx.hashtags,
            *ctx.subreddits,
            *ctx.accounts,
            *ctx.feeds,
            profile.name,
            *profile.names,
        ):
            out[squash(hint)] = council
    return out


def context_clues(
    hints: Sequence[str],
    lex: Lexicon,
    by_hint: Mapping[str, int],
    names: Mapping[int, str],
    known_only: bool = False,
) -> list[Clue]:
    """Source hints ("r/haringey", "#Abergavenny"): the profiles' lists first, then names.

    A hint that is not a name itself (a search query, a feed title such as "Google
    Alert - Wood Green") contributes the plain names found inside it. With
    ``known_only`` (handles found in the text) only the profiles' lists count.
    """
    out: list[Clue] = []
    for hint in hints:
        squashed = squash(hint)
        council = by_hint.get(squashed)
        if council is not None:
            entry = Entry(
                "council",
                names.get(council, ""),
                council,
                weight=0.8,
                prior=EXPLICIT_PRIOR,
                deployment=True,
            )
            out.append(Clue("context", hint, (entry,), scale=CONTEXT_SCALE))
            continue
        if known_only:
            continue
        info = lex.keys.get(fold_name(hint.lstrip("#@").removeprefix("r/"))) or lex.keys.get(
            squashed
        )
        found = (
            [info]
            if info is not None
            else [m.info for m in lex.find(hint, fold(hint)) if not m.after_name]
        )
        for key in found:
            if any(e.kind == "region" for e in key.entries):
                continue  # "Wales": a backdrop, never a council by itself
            entries = tuple(e for e in key.entries if e.council >= 0)
            if key.tier == 0 and entries:
                out.append(Clue("context", hint, entries, scale=CONTEXT_SCALE))
    return out
