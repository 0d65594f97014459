"""Council profiles: what a deployment listens for, edited by people as YAML.

One file per council in ``deploy/config/councils/<name>.yaml``. Read with
:func:`load_profile`, which validates the shape (``common.yamlconfig``) and,
when given the gazetteer, that every ward code exists and belongs where it says;
every error names file, line and field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common.yamlconfig import load_yaml, read_yaml

# GSS codes: English LADs E06-E09, Welsh W06, Scottish S12; wards E05, W05, S13.
CouncilCode = Annotated[str, StringConstraints(pattern=r"^(E0[6-9]|W06|S12)\d{6}$")]
WardCode = Annotated[str, StringConstraints(pattern=r"^(E05|W05|S13)\d{6}$")]
Name = Annotated[str, StringConstraints(min_length=2, max_length=120, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamedArea(_Strict):
    """A name people use for somewhere in the council (alias, landmark, street, community area)."""

    name: Name
    also: tuple[Name, ...] = ()  # other spellings, abbreviations, the other language
    wards: tuple[WardCode, ...] = ()  # wards it lies in or touches; empty = council-wide/unknown
    shared_with: tuple[CouncilCode, ...] = ()  # other councils it straddles or that have one too
    generic: bool = False  # a common word: counts only capitalised and with context

    def all_names(self) -> tuple[str, ...]:
        """The name followed by its alternatives."""
        return (self.name, *self.also)


class Elsewhere(_Strict):
    """A name that contains one of ours but is somewhere else (or nowhere: council null)."""

    name: Name
    also: tuple[Name, ...] = ()
    council: CouncilCode | None = None


class Context(_Strict):
    """Source hints that say a post comes from this council's community."""

    hashtags: tuple[Name, ...] = ()
    subreddits: tuple[Name, ...] = ()
    accounts: tuple[Name, ...] = ()
    feeds: tuple[Name, ...] = ()


class WardItem(_Strict):
    """A ward (electoral division) of the council, as Code-Point Open names it."""

    code: WardCode
    name: Name
    also: tuple[Name, ...] = ()  # other names: the Welsh or Gaelic form, what locals call it


class DistrictShare(_Strict):
    """A postcode district and the share of its postcodes inside the council."""

    district: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")]
    share: float = Field(ge=0, le=1)


class PlaceItem(_Strict):
    """A GeoNames place inside the council, with its ward when it sits in one."""

    name: Name
    ward: WardCode | None = None
    also: tuple[Name, ...] = ()


class Neighbour(_Strict):
    """A council that borders this one."""

    code: CouncilCode
    name: Name


class Generated(_Strict):
    """Written by ``earshot council add``: which open data the generated lists came from."""

    by: str
    data: str  # hash of the source package versions; a new one brings new entries in


class CouncilProfile(_Strict):
    """One council the deployment listens for."""

    code: CouncilCode
    name: Name
    kind: str | None = None  # london, metropolitan, unitary, shire_district, welsh, scottish
    names: tuple[Name, ...] = Field(default=(), description="other names for the council itself")
    aliases: tuple[NamedArea, ...] = ()
    landmarks: tuple[NamedArea, ...] = ()
    streets: tuple[NamedArea, ...] = ()
    community_areas: tuple[NamedArea, ...] = ()
    elsewhere: tuple[Elsewhere, ...] = ()
    stopwords: tuple[Name, ...] = ()
    context: Context = Context()
    wards: tuple[WardItem, ...] = ()
    postcode_districts: tuple[DistrictShare, ...] = ()
    places: tuple[PlaceItem, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()
    generated: Generated | None = None


_SECTIONS = ("aliases", "landmarks", "streets", "community_areas")


def check_codes(
    profile: CouncilProfile,
    path: Path | str,
    ward_councils: Mapping[str, str],
    council_codes: Iterable[str],
) -> None:
    """Check codes against the gazetteer: wards must exist and belong to this council.

    ``ward_councils`` maps ward code -> council code. Raises :class:`ConfigError`
    naming the line of the first bad code.
    """
    known_councils = set(council_codes)

    def fail(loc: tuple[str | int, ...], message: str) -> None:
        # Read again only to name the line: the happy path stays one YAML parse.
        raise read_yaml(path, CouncilProfile).error(loc, message)

    if profile.code not in known_councils:
        fail(("code",), f"council code {profile.code} is not in OS Code-Point Open")
    for section in _SECTIONS:
        for i, area in enumerate(getattr(profile, section)):
            for j, ward in enumerate(area.wards):
                owner = ward_councils.get(ward)
                if owner is None:
                    fail((section, i, "wards", j), f"unknown ward code {ward}")
                elif owner != profile.code:
                    fail(
                        (section, i, "wards", j),
                        f"ward {ward} belongs to council {owner}, not {profile.code}",
                    )
            for j, other in enumerate(area.shared_with):
                if other not in known_councils:
                    fail((section, i, "shared_with", j), f"unknown council code {other}")
    for i, item in enumerate(profile.elsewhere):
        if item.council is not None and item.council not in known_councils:
            fail(("elsewhere", i, "council"), f"unknown council code {item.council}")
    own = [("wards", i, "code", w.code) for i, w in enumerate(profile.wards)]
    own += [("places", i, "ward", p.ward) for i, p in enumerate(profile.places) if p.ward]
    for section, i, field, ward in own:
        owner = ward_councils.get(ward)
        if owner != profile.code:
            where = f"belongs to council {owner}" if owner else "is not in OS Code-Point Open"
            fail((section, i, field), f"ward {ward} {where}, not {profile.code}")
    for i, neighbour in enumerate(profile.neighbours):
        if neighbour.code not in known_councils or neighbour.code == profile.code:
            fail(("neighbours", i, "code"), f"{neighbour.code} is not another GB council")


def load_profile(
    path: Path | str,
    ward_councils: Mapping[str, str] | None = None,
    council_codes: Iterable[str] = (),
) -> CouncilProfile:
    """Load one profile; with ``ward_councils`` also check its codes against the gazetteer."""
    profile = load_yaml(path, CouncilProfile)
    if ward_councils is not None:
        check_codes(profile, path, ward_councils, council_codes)
    return profile


def profile_paths(directory: Path | str) -> list[Path]:
    """The ``*.yaml`` profiles in a directory, sorted by name."""
    return sorted(Path(directory).glob("*.yaml"))
