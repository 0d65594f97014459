"""Stations, stops and hill tops in the lexicon (open data from the build's landmark table).

A station is named in many ways: "Shipley station", "Shipley train station",
"Seven Sisters tube", "Piccadilly Gardens tram stop", or just its name when the
name is distinctive ("Clapham Junction", "Meadowhall"). "<name> station" is an
address-grade clue with the station's ward; the bare name is as strong as a
place's, and needs a capital letter (single words: a locative or support too,
since "Hope" and "Battle" are stations). Multi-part station names ("Manchester
Oxford Road") also answer to their last part with "station" ("Oxford Road station").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pipelines.locality.extras import CAPS, GENERIC_TOKENS, PLACE_FIRST, StopWords, all_generic
from pipelines.locality.landmarks import bare_name
from pipelines.locality.lexicon import STREET_SUFFIXES, Entry, Lexicon
from pipelines.locality.normalise import fold_name
from pipelines.locality.tables import Landmark, Tables

STATION_WEIGHT = 0.85  # "X station": as good as an address near it
BARE_WEIGHT = 0.7
STATION_PRIOR = 20.0  # beats a far council name only with support (Waverley, Edinburgh)
HILL_PRIOR = 4.0
_SUFFIXES = {
    "station": (
        "station",
        "railway station",
        "train station",
        "rail station",
        "metro station",
        "metro",
    ),
    "tube": ("station", "tube", "tube station", "underground station", "dlr", "dlr station"),
    "tram": ("tram stop", "metrolink", "metrolink stop", "stop"),
}


def add_landmarks(lex: Lexicon, tables: Tables, stop: StopWords) -> None:
    """Add every station and stop, and hill tops whose name only one hill has."""
    places = {fold_name(p.name) for p in tables.places}
    for mark in tables.landmarks:
        if mark.council < 0:
            continue
        if mark.kind == "hill":
            continue
        _add_station(lex, mark, places, stop)
    _add_hills(lex, (m for m in tables.landmarks if m.kind == "hill" and m.council >= 0), stop)


def _entry(mark: Landmark, label: str, weight: float, prior: float) -> Entry:
    return Entry(
        "landmark",
        label,
        mark.council,
        wards=(mark.ward,) if mark.ward >= 0 else (),
        weight=weight,
        prior=prior,
        lat=mark.lat,
        lon=mark.lon,
    )


def _add_station(lex: Lexicon, mark: Landmark, places: set[str], stop: StopWords) -> None:
    name = bare_name(mark.name)
    curated = lex.keys.get(fold_name(name))
    if curated is not None and any(e.explicit for e in curated.entries):
        return  # a profile or the extras already say what this name means ("Tottenham Court Road")
    label = f"{name} station" if mark.kind != "tram" else f"{name} tram stop"
    full = _entry(mark, label, STATION_WEIGHT, STATION_PRIOR)
    lex.add([f"{name} {suffix}" for suffix in _SUFFIXES[mark.kind]], full, joined=False)
    words = name.split()
    if len(words) > 1 and fold_name(words[0]) in places:
        # "Manchester Oxford Road" -> "Oxford Road station"; never the bare "Oxford Road".
        rest = " ".join(words[1:])
        lex.add([f"{rest} {suffix}" for suffix in _SUFFIXES[mark.kind]], full, joined=False)
    key = fold_name(name)
    if key in places or all(w in GENERIC_TOKENS for w in key.split()):
        return  # the town itself is already a place; "Park", "Central" are no names
    if len(words) == 1 and all_generic(name, stop):
        return  # "Hope", "Battle": words first
    if key.rsplit(" ", 1)[-1] in STREET_SUFFIXES:
        return  # "Chester Road" is a street in every town before it is a station
    tier = CAPS if len(words) > 1 else PLACE_FIRST
    lex.add([name], _entry(mark, label, BARE_WEIGHT, STATION_PRIOR / 2), tier=tier)


def _add_hills(lex: Lexicon, hills: Iterable[Landmark], stop: StopWords) -> None:
    hills = list(hills)
    counts = Counter(fold_name(h.name) for h in hills)
    for hill in hills:
        key = fold_name(hill.name)
        if counts[key] > 1 or all_generic(hill.name, stop) or len(key) < 5:
            continue  # "Black Hill" x 40: a name many hills share says nothing
        tier = CAPS if " " in key else PLACE_FIRST
        lex.add(
            [hill.name], _entry(hill, hill.name, BARE_WEIGHT, HILL_PRIOR), tier=tier, joined=False
        )
