"""What open data says about one council: names, wards, postcode districts, places, neighbours."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from pipelines.locality.clues import PostcodeIndex
from pipelines.locality.lexicon_build import council_names
from pipelines.locality.tables import EARTH_RADIUS_M, Tables, source_versions

KINDS = {
    "E09": "london",
    "E08": "metropolitan",
    "E06": "unitary",
    "E07": "shire_district",
    "W06": "welsh",
    "S12": "scottish",
}
_SAMPLE = 20_000
_REACH_M = 15000.0
_MIN_SHARED_POSTCODES = 3


def council_kind(code: str | None) -> str:
    """london, metropolitan, unitary, shire_district, welsh, scottish, or none."""
    return KINDS.get((code or "")[:3], "none")


def data_version() -> str:
    """Short hash of the source package versions the generated lists come from."""
    text = json.dumps(source_versions(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CouncilData:
    """Everything the profile's generated sections hold."""

    code: str
    name: str
    kind: str
    names: tuple[str, ...]
    welsh: str | None
    wards: tuple[tuple[str, str], ...]  # (code, name)
    districts: tuple[tuple[str, float], ...]  # (district, share of its postcodes in the council)
    places: tuple[tuple[str, str | None, tuple[str, ...]], ...]  # (name, ward or None, Welsh names)
    neighbours: tuple[tuple[str, str], ...]  # (code, name)


def council_data(tables: Tables, index: int) -> CouncilData:
    """Gather one council's generated sections from the gazetteer tables."""
    area = tables.councils[index]
    kind = council_kind(area.code)
    bare = council_names(area.name)[1]
    names = [f"{bare} Council"]
    if area.name != bare:
        names.insert(0, area.name)
    if kind == "london":
        names.append(f"London Borough of {bare}")
    if area.welsh:
        names += [area.welsh, f"Cyngor {area.welsh}"]
    wards = sorted(
        ((w.code, w.name) for w in tables.wards if w.council == index), key=lambda w: w[1]
    )
    districts = sorted(
        (
            (district, share)
            for district, shares in tables.districts.items()
            for council, share in shares
            if council == index
        ),
        key=lambda d: (-d[1], d[0]),
    )
    places = sorted(
        {
            # A place on the boundary can have its ward in the next council: then no ward.
            (p.name, _own_ward(tables, p.ward, index), p.welsh)
            for p in tables.places
            if p.council == index
        },
        key=lambda p: (p[0], p[1] or ""),
    )
    return CouncilData(
        code=area.code,
        name=bare,
        kind=kind,
        names=tuple(dict.fromkeys(names)),
        welsh=area.welsh,
        wards=tuple(wards),
        districts=tuple(districts),
        places=tuple(places),
        neighbours=tuple(
            (tables.councils[c].code, council_names(tables.councils[c].name)[1])
            for c in neighbours(tables, index)
        ),
    )


_INDEXES: dict[int, PostcodeIndex] = {}


def _index(tables: Tables) -> PostcodeIndex:
    """One nearest-postcode index per loaded tables (building it takes a second or two)."""
    key = id(tables.pc_xyz)
    if key not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[key] = PostcodeIndex(tables)
    return _INDEXES[key]


def _own_ward(tables: Tables, ward: int, council: int) -> str | None:
    return tables.wards[ward].code if ward >= 0 and tables.wards[ward].council == council else None


def neighbours(tables: Tables, index: int) -> list[int]:
    """Councils whose postcodes are among the nearest neighbours of this council's postcodes.

    Every postcode of the council (up to a sample of 20,000) looks at its 12 nearest
    postcodes within 15 km (moors and lochs leave wide gaps); a council seen at least
    3 times borders this one.
    """
    rows = tables.pc_xyz_rows
    council = tables.pc_council[rows]
    mine = np.flatnonzero(council == index)
    if len(mine) > _SAMPLE:
        mine = mine[np.linspace(0, len(mine) - 1, _SAMPLE).astype(np.int64)]
    dist, near = _index(tables).tree.query(
        tables.pc_xyz[mine].astype(np.float64), k=12, distance_upper_bound=_REACH_M / EARTH_RADIUS_M
    )
    hits = near[np.isfinite(dist)]
    found, counts = np.unique(council[hits], return_counts=True)
    return sorted(
        int(c)
        for c, n in zip(found, counts, strict=True)
        if c != index and c >= 0 and n >= _MIN_SHARED_POSTCODES
    )
