"""Fill the lexicon from the gazetteer tables, the council profiles and the curated extras.

Weights say how sure a meaning makes us of its council; priors say how likely a
meaning is among the meanings of one name. The deployment's own councils get a
prior boost, so "St Ann's" means Haringey's ward, not Swale's or Nottingham's,
unless the post says otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pipelines.locality.extras import (
    PLACE_FIRST,
    STRICT,
    GbExtras,
    StopWords,
)
from pipelines.locality.lexicon import Entry, Lexicon
from pipelines.locality.lexicon_areas import (
    DEPLOYMENT_BOOST,
    WEIGHTS,
    add_places,
    add_wards,
    population_prior,
)
from pipelines.locality.lexicon_landmarks import add_landmarks
from pipelines.locality.normalise import fold_name
from pipelines.locality.profile import CouncilProfile, NamedArea
from pipelines.locality.tables import Tables

PROFILE_PRIOR = 10.0 * DEPLOYMENT_BOOST
SHARED_PRIOR = 15.0  # a shared name's other council: beats PROFILE_PRIOR only with support there
COUNCIL_PRIOR = 60.0  # council names: above most namesakes abroad (Camden NJ, Reading PA)
EXPLICIT_PRIOR = 1000.0  # curated "this name means exactly that" entries
ABROAD_SCALE = 0.5  # a namesake abroad needs context to beat a GB place of similar size
BIG_ABROAD = 500_000  # foreign places this big are matched even without a GB namesake
NEIGHBOUR_KM = 40.0  # other councils' ward names are matched within this distance of ours
EARTH_RADIUS_KM = 6371.0


COUNCIL_SUFFIXES = (
    "council",
    "county council",
    "borough council",
    "city council",
    "district council",
    "county borough council",
    "metropolitan borough council",
    "city and county council",
)


def council_names(name: str) -> list[str]:
    """A council's name, without "City of", and the forms people write ("Reading Council")."""
    bare = name
    for prefix in ("The City of ", "City of ", "County of "):
        bare = bare.removeprefix(prefix)
    return [name, bare, *(f"{bare} {s}" for s in COUNCIL_SUFFIXES)]


def short_council_names(tables: Tables) -> dict[int, str]:
    """ "Kingston" for Kingston upon Thames, when no other council shortens to it."""
    shorts: dict[str, list[int]] = {}
    for i, area in enumerate(tables.councils):
        bare = council_names(area.name)[1]
        short = re.split(r" upon | on | in | under |-on-|-upon-|-under-| and ", bare)[0]
        if short != bare:
            shorts.setdefault(short, []).append(i)
    return {found[0]: short for short, found in shorts.items() if len(found) == 1}


def build_lexicon(
    tables: Tables,
    profiles: Sequence[CouncilProfile],
    extras: GbExtras,
    stop: StopWords,
    nationwide: bool = False,
) -> Lexicon:
    """Assemble every key the tagger matches, then freeze the automaton.

    ``nationwide`` loads every council's wards (not only the deployment's and its
    neighbours') and favours no council: the profiles' curated names still count.
    """
    lex = Lexicon()
    ours = set() if nationwide else {tables.council_index(p.code) for p in profiles}
    boost = 1.0 if nationwide else DEPLOYMENT_BOOST
    for profile in profiles:
        _add_profile(lex, tables, profile, tables.council_index(profile.code), boost)
    _add_councils(lex, tables, {tables.council_index(p.code) for p in profiles}, stop)
    add_wards(lex, tables, ours, stop, None if nationwide else neighbours(tables, ours))
    add_places(lex, tables, ours, stop)
    add_landmarks(lex, tables, stop)
    _add_extras(lex, tables, extras)
    _add_abroad(lex, tables)
    for key, tier in stop.tiers.items():
        lex.mark_generic(key, tier)
    for profile in profiles:
        for word in profile.stopwords:
            lex.mark_generic(fold_name(word), STRICT)
    lex.finish()
    return lex


def _add_profile(
    lex: Lexicon, tables: Tables, profile: CouncilProfile, council: int, boost: float
) -> None:
    ward_index = {area.code: i for i, area in enumerate(tables.wards)}
    own = Entry(
        "council",
        profile.name,
        council,
        weight=WEIGHTS["council"],
        prior=COUNCIL_PRIOR * boost,
        deployment=True,
        explicit=True,
    )
    lex.add([profile.name, *profile.names, *council_names(profile.name)[2:]], own)
    sections: tuple[tuple[str, tuple[NamedArea, ...]], ...] = (
        ("alias", profile.aliases),
        ("landmark", profile.landmarks),
        ("street", profile.streets),
        ("community_area", profile.community_areas),
    )
    for kind, areas in sections:
        for area in areas:
            tier = STRICT if area.generic else 0
            shared = tuple(i for i in (tables.council_index(c) for c in area.shared_with) if i >= 0)
            wards = tuple(ward_index[w] for w in area.wards if w in ward_index)
            entry = Entry(
                kind,
                area.name,
                council,
                wards=wards,
                weight=WEIGHTS[kind],
                prior=PROFILE_PRIOR,
                shared=shared,
                deployment=True,
                explicit=True,
            )
            lex.add(area.all_names(), entry, tier=tier, street=kind == "street")
            for other in shared:
                # The same name in a neighbouring council: wins only with support there.
                sibling = Entry(
                    kind, area.name, other, weight=WEIGHTS[kind] * 0.8, prior=SHARED_PRIOR
                )
                lex.add(area.all_names(), sibling, tier=tier, street=kind == "street")
    for ward in profile.wards:
        if ward.also and ward.code in ward_index:
            # Names an officer added to a generated ward: its Welsh or local form.
            entry = Entry(
                "ward",
                ward.name,
                council,
                wards=(ward_index[ward.code],),
                weight=WEIGHTS["ward"],
                prior=PROFILE_PRIOR,
                deployment=True,
                explicit=True,
            )
            lex.add(ward.also, entry)
    for place in profile.places:
        if place.also:
            wards = (ward_index[place.ward],) if place.ward in ward_index else ()
            entry = Entry(
                "alias",
                place.name,
                council,
                wards=wards,
                weight=WEIGHTS["alias"],
                prior=PROFILE_PRIOR,
                deployment=True,
                explicit=True,
            )
            lex.add(place.also, entry)
    for item in profile.elsewhere:
        target = tables.council_index(item.council) if item.council else -1
        kind = "elsewhere" if target >= 0 else "abroad"
        entry = Entry(
            kind,
            item.name,
            target,
            weight=WEIGHTS["elsewhere"],
            prior=EXPLICIT_PRIOR,
            explicit=True,
        )
        lex.add((item.name, *item.also), entry)


def _add_councils(lex: Lexicon, tables: Tables, profiled: set[int], stop: StopWords) -> None:
    towns = _town_names(tables)
    shorts = short_council_names(tables)
    for i, area in enumerate(tables.councils):
        if i in profiled:
            continue
        names = council_names(area.name)
        entry = Entry("council", area.name, i, weight=WEIGHTS["council"], prior=COUNCIL_PRIOR)
        bare = [names[0], names[1], *([area.welsh] if area.welsh else [])]
        tier = stop.tier(fold_name(names[1]))
        bare_key = fold_name(names[1])
        if area.code.startswith("E07") and " " not in bare_key and bare_key not in towns.get(i, ()):
            # A district named for no town ("Waverley", "Rother", "Hart") is also a station,
            # a river or a word: bare, it needs a locative word or support.
            tier = max(tier, PLACE_FIRST)
        lex.add(bare, entry, tier=tier)
        lex.add(names[2:], entry)  # "Reading Council" is never a generic word
        short = shorts.get(i)
        if short:
            lex.add([f"{short} {suffix}" for suffix in COUNCIL_SUFFIXES[:5]], entry)


def _town_names(tables: Tables) -> dict[int, set[str]]:
    """Folded GeoNames place names per council."""
    out: dict[int, set[str]] = {}
    for place in tables.places:
        if place.council >= 0:
            out.setdefault(place.council, set()).add(fold_name(place.name))
    return out


def neighbours(tables: Tables, ours: set[int], within_km: float = NEIGHBOUR_KM) -> set[int]:
    """Councils whose centre lies within ``within_km`` of one of ours (ours included)."""
    centres = [
        (math.radians(tables.councils[i].lat), math.radians(tables.councils[i].lon)) for i in ours
    ]
    out = set(ours)
    for i, area in enumerate(tables.councils):
        lat, lon = math.radians(area.lat), math.radians(area.lon)
        for c_lat, c_lon in centres:
            # Equirectangular distance: plenty at tens of kilometres.
            x = (lon - c_lon) * math.cos((lat + c_lat) / 2)
            if math.hypot(x, lat - c_lat) * EARTH_RADIUS_KM <= within_km:
                out.add(i)
                break
    return out


def _add_extras(lex: Lexicon, tables: Tables, extras: GbExtras) -> None:
    for region in extras.regions:
        backs = frozenset(
            i
            for i, area in enumerate(tables.councils)
            if area.code in region.councils or any(area.code.startswith(p) for p in region.prefixes)
        )
        lex.add(
            (region.name, *region.also),
            Entry("region", region.name, -1, prior=EXPLICIT_PRIOR, backs=backs, explicit=True),
        )
    for _code, name, members in tables.counties:
        lex.add([name], Entry("region", name, -1, prior=EXPLICIT_PRIOR, backs=frozenset(members)))
    for alias in extras.aliases:
        index = tables.council_index(alias.council)
        if index >= 0:
            entry = Entry(
                "alias",
                alias.name,
                index,
                weight=WEIGHTS["alias"],
                prior=COUNCIL_PRIOR,
                explicit=True,
            )
            lex.add((alias.name, *alias.also), entry)
            # "Newcastle City Council", "Hull Council": the alias with a council's suffix.
            lex.add([f"{alias.name} {suffix}" for suffix in COUNCIL_SUFFIXES[:5]], entry)
    for name in extras.abroad:
        lex.add([name], Entry("abroad", name, -1, prior=EXPLICIT_PRIOR, explicit=True))


def _add_abroad(lex: Lexicon, tables: Tables) -> None:
    """Foreign names that equal or contain a GB key; countries, US states, big cities always."""
    gb_keys = set(lex.keys)
    for name, population, country in tables.abroad:
        key = fold_name(name)
        words = key.split()
        famous = population >= BIG_ABROAD and len(words) <= 3
        overlaps = key in gb_keys or (
            len(words) > 1
            and any(
                " ".join(words[i:j]) in gb_keys
                for i in range(len(words))
                for j in range(i + 1, len(words) + 1)
            )
        )
        if famous or overlaps:
            lex.add(
                [name],
                Entry(
                    "abroad",
                    f"{name} ({country})",
                    -1,
                    prior=ABROAD_SCALE * population_prior(population),
                ),
                joined=False,
            )
