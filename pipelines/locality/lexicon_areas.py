"""Wards and GeoNames places in the lexicon, with how sure each makes us and how generic it is.

A ward name is likelier the more people live in it, and likelier still when a
place of that name lies in the same council ("Heaton ward" in Newcastle, not the
Bolton one). A place's prior grows with the square root of its population.
Villages elsewhere than the deployment's councils share names with people and
things ("Cosby", "Hoo"), so the small ones need a capital letter and a locative
word, unless their name is one of a kind in Great Britain and long enough not
to be a word ("Tighnabruaich", "Castlethorpe").
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from pipelines.locality.extras import CAPS, PLACE_FIRST, STRICT, StopWords, all_generic
from pipelines.locality.lexicon import STREET_SUFFIXES, Entry, Lexicon
from pipelines.locality.normalise import fold_name
from pipelines.locality.tables import Tables

WEIGHTS = {
    "council": 0.85,
    "ward": 0.8,
    "alias": 0.85,
    "landmark": 0.85,
    "street": 0.8,
    "community_area": 0.85,
    "place": 0.75,
    "elsewhere": 0.85,
}
OTHER_WARD_WEIGHT = 0.6  # other councils' ward names: weaker than a town's name
NATIONWIDE_WARD_WEIGHT = 0.75  # nationwide every ward is someone's: nearly a town's weight
DEPLOYMENT_BOOST = 4.0
HOME_BIAS = 3.0  # GB places over namesakes abroad: the stream is about UK councils
SHORT_FORM = 0.5  # "Barrow" for Barrow-in-Furness: half the full name's prior
_DISTINCT_LENGTH = 6
# "Barrow-in-Furness" -> "Barrow", "Burnham-on-Sea" -> "Burnham", "Stratford-upon-Avon".
_SHORTEN = re.compile(r"[ -](?:upon|on|in|under)[ -].+$")


def population_prior(population: int) -> float:
    """Prior of a place by size: square root, so a city is not 100x a town."""
    return math.sqrt(max(population, 0) + 400) / 10.0


def place_tier(name: str, population: int, deployment: bool, stop: StopWords, unique: bool) -> int:
    """Tier for a GeoNames place: stop-list, all-generic names, small places elsewhere."""
    key = fold_name(name)
    tier = stop.tier(key) or (STRICT if all_generic(name, stop) else 0)
    if not deployment:
        distinct = unique and len(key) >= _DISTINCT_LENGTH and not stop.tier(key)
        if population < 1000:
            tier = max(tier, CAPS if distinct else PLACE_FIRST)
        elif population < 10000 and " " not in key:
            tier = max(tier, CAPS)
    return tier


def add_wards(
    lex: Lexicon, tables: Tables, ours: set[int], stop: StopWords, nearby: set[int] | None
) -> None:
    """Ward names of the deployment's councils and ``nearby`` ones (None: every council)."""
    nationwide = nearby is None
    other_weight = NATIONWIDE_WARD_WEIGHT if nationwide else OTHER_WARD_WEIGHT
    size = np.bincount(
        tables.pc_ward[tables.pc_ward >= 0].astype(np.int64), minlength=len(tables.wards)
    )
    towns = {(p.council, fold_name(p.name)): p.population for p in tables.places}
    for i, area in enumerate(tables.wards):
        deployment = area.council in ours
        if nearby is not None and area.council not in nearby:
            continue
        generic = all_generic(area.name, stop)
        if generic and not deployment:
            continue  # "Town", "Park", "West End" elsewhere: too common to mean anything
        key = fold_name(area.name)
        single = " " not in key
        # More addresses, more posts; a town of the same name in the council, more still.
        prior = (
            math.sqrt(size[i] / 100.0 + 1.0)
            + population_prior(towns.get((area.council, key), 0))
            - 2.0
        )
        entry = Entry(
            "ward",
            area.name,
            area.council,
            wards=(i,),
            weight=WEIGHTS["ward"] if deployment else other_weight,
            prior=prior * (DEPLOYMENT_BOOST if deployment else 1.0),
            deployment=deployment,
            lat=area.lat,
            lon=area.lon,
        )
        tier = STRICT if generic else (CAPS if single and not deployment else 0)
        if not deployment and key.rsplit(" ", 1)[-1] in STREET_SUFFIXES:
            tier = max(tier, PLACE_FIRST)  # "Lime Street", "Bread Street": streets first
        # Hashtag forms and "... ward" for our own wards, or every ward nationwide.
        lex.add([area.name], entry, tier=tier, joined=deployment or nationwide)
        if deployment or nationwide:
            lex.add([f"{area.name} ward"], entry)  # "Park ward" is never a generic word


def add_places(lex: Lexicon, tables: Tables, ours: set[int], stop: StopWords) -> None:
    """Every GeoNames place with a council, its Welsh names and its short form."""
    counts = Counter(fold_name(p.name) for p in tables.places)
    for place in tables.places:
        if place.name == "London":  # a region of 33 councils, not a council: see gb_extras
            continue
        deployment = place.council in ours
        prior = population_prior(place.population) * max(place.council_share, 0.3)
        entry = Entry(
            "place",
            place.name,
            place.council,
            wards=(place.ward,) if place.ward >= 0 else (),
            weight=WEIGHTS["place"],
            prior=prior * (DEPLOYMENT_BOOST if deployment else HOME_BIAS),
            lat=place.lat,
            lon=place.lon,
            deployment=deployment,
        )
        unique = counts[fold_name(place.name)] == 1
        tier = place_tier(place.name, place.population, deployment, stop, unique)
        # Hashtag forms only match "#CamelCase" hashtags, so every place can have one.
        lex.add([place.name], entry, tier=tier)
        for welsh in place.welsh:  # "Brynbuga" is Usk: as plain as the English name
            lex.add(
                [welsh], entry, tier=place_tier(welsh, place.population, deployment, stop, True)
            )
        short = _SHORTEN.sub("", place.name)
        if short != place.name and len(short) >= 4:
            # People write "Barrow" and "Stratford": weaker, and never alone when generic.
            brief = Entry(
                "place",
                place.name,
                place.council,
                weight=WEIGHTS["place"],
                prior=entry.prior * SHORT_FORM,
                lat=place.lat,
                lon=place.lon,
                deployment=deployment,
            )
            lex.add(
                [short],
                brief,
                tier=max(CAPS, place_tier(short, place.population, deployment, stop, False)),
            )
