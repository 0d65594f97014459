"""Curated data shipped with the code: GB extras (regions, aliases, abroad) and stop-words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from common.yamlconfig import load_yaml
from pipelines.locality.normalise import fold_name, word_set
from pipelines.locality.profile import CouncilCode, Name

DATA_DIR = Path(__file__).with_name("data")
GB_EXTRAS = DATA_DIR / "gb_extras.yaml"
STOPWORDS = DATA_DIR / "stopwords.txt"

# How much a name needs before it counts (a key takes the strictest tier it is given).
CAPS = 1  # a capital letter (or a hashtag) is enough: small places named like words
PLACE_FIRST = 2  # capital letter and a locative word before it ("in Bath") or support
STRICT = 3  # capital letter and support from another place or the source


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    """A name for a group of councils (by code prefix or list); backs, never tags."""

    name: Name
    also: tuple[Name, ...] = ()
    prefixes: tuple[str, ...] = ()
    councils: tuple[CouncilCode, ...] = ()


class CouncilAlias(_Strict):
    """An everyday name for a council outside the deployment ("IoW", "Brum")."""

    name: Name
    also: tuple[Name, ...] = ()
    council: CouncilCode


class GbExtras(_Strict):
    """``data/gb_extras.yaml``."""

    regions: tuple[Region, ...] = ()
    aliases: tuple[CouncilAlias, ...] = ()
    abroad: tuple[Name, ...] = ()


def load_extras(path: Path = GB_EXTRAS) -> GbExtras:
    """Load the GB extras file (errors name file:line:field)."""
    return load_yaml(path, GbExtras)


@dataclass(frozen=True, slots=True)
class StopWords:
    """Folded generic names and their tier (:data:`CAPS`, :data:`PLACE_FIRST` or :data:`STRICT`)."""

    tiers: dict[str, int]

    def tier(self, key: str) -> int:
        """0 when ``key`` is not generic."""
        return self.tiers.get(key, 0)


def load_stopwords(path: Path = STOPWORDS) -> StopWords:
    """Read ``stopwords.txt``: ``[place-first]`` and ``[strict]`` sections, one name a line."""
    tiers: dict[str, int] = {}
    tier = STRICT
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "[place-first]":
            tier = PLACE_FIRST
        elif line == "[strict]":
            tier = STRICT
        else:
            tiers[fold_name(line)] = max(tier, tiers.get(fold_name(line), 0))
    return StopWords(tiers)


# Words that alone make no place name ("West End", "Town", "Park Central").
GENERIC_TOKENS = word_set(
    "north south east west central centre city town village park and the of st saint upper "
    "lower new old rural urban with on in ward end green hill hills common abbey castle "
    "priory church valley vale river riverside harbour market bridge heath forest wood "
    "woods lane road street beach bay coast coastal station university college docks quay "
    "marsh meadows grange manor court gardens garden square mount high low mid great little "
    "cross hall moor field fields farm lake lakes island islands port bank chapel cathedral "
    "top bottom inner outer jubilee victoria royal queens kings district minster palace "
    "wharf parade broadway terrace crescent close drive place row walk way"
)


def all_generic(name: str, stop: StopWords) -> bool:
    """Every word of ``name`` is a generic word ("West End", "The Saints")."""
    key = fold_name(name)
    return stop.tier(key) > 0 or all(t in GENERIC_TOKENS or stop.tier(t) > 0 for t in key.split())
