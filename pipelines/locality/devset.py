"""The multi-council development set: posts about places all over Great Britain.

Written by hand in ``data/gb_devset.txt``, one post a line::

    Sheffield | village | place:Dore | Walked up from Dore onto the moors, grand day

(council as named in OS Code-Point Open, or ``-`` for a post about no GB council;
the evidence kind the post gives; a *locator* saying where the post is about;
the text). ``python -m pipelines.locality.devset`` turns it into
``data/gb_devset.jsonl`` with codes and a check postcode per post:

- ``place:NAME`` a GeoNames place of that council, ``station:NAME`` a station or
  stop, ``ward:NAME`` a ward (electoral division), ``postcode:PC`` a postcode,
  ``district:OUT`` a postcode district, ``council`` the council as a whole;
- the check postcode is the postcode nearest the place (inside the ward for
  ``ward:``); its Code-Point ward becomes the ward label only when the evidence
  supports a ward (a village, a ward name, a station, a full postcode, a landmark).

``tests/unit/test_locality_devset.py`` checks every label against Code-Point: the
check postcode must lie in the labelled council (and ward). Councils are split
into a dev part (tuned on) and a held-back test part by a hash of their code;
posts about no council by a hash of their text, except a last batch, ``fresh``,
written after the no-place rules were tuned and never tuned on.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.locality.councils.generate import council_kind
from pipelines.locality.extras import DATA_DIR
from pipelines.locality.landmarks import bare_name
from pipelines.locality.normalise import fold_name
from pipelines.locality.tables import Tables, load_tables, unit_vectors

SOURCE = DATA_DIR / "gb_devset.txt"
DEVSET = DATA_DIR / "gb_devset.jsonl"
# "#@ split fresh" ... "#@ split hash": posts about no council in between form a third
# part, "fresh": written after the no-place rules were tuned and never tuned on.
SPLIT_DIRECTIVE = "#@ split"
# Evidence kinds whose posts support a ward label.
WARD_EVIDENCE = frozenset({"village", "ward", "station", "postcode", "landmark"})


def split_of(code: str | None, text: str = "") -> str:
    """``test`` for about a quarter of councils (held back from tuning), else ``dev``.

    Posts about no GB council are split the same way by their text, so the no-place
    rules also have a held-back part.
    """
    key = code if code is not None else text
    return "test" if hashlib.sha256(key.encode()).digest()[0] % 4 == 0 else "dev"


@dataclass(frozen=True, slots=True)
class DevItem:
    """One labelled post of the development set."""

    text: str
    council: str | None
    ward: str | None
    evidence: str
    postcode: str | None
    locator: str
    split: str

    @property
    def kind(self) -> str:
        """Kind of the labelled council."""
        return council_kind(self.council)


def load_devset(path: Path = DEVSET) -> list[DevItem]:
    """Read the built set."""
    out: list[DevItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(DevItem(**json.loads(line)))
    return out


class _Resolver:
    """Finds councils, wards, places and postcodes by name in the tables."""

    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self.xyz = tables.pc_xyz.astype(np.float64)

    def council(self, name: str) -> int:
        key = fold_name(name)
        found = [
            i
            for i, c in enumerate(self.t.councils)
            if key in (fold_name(c.name), fold_name(c.code), fold_name(c.welsh or ""))
        ]
        if len(found) != 1:
            raise ValueError(f"council {name!r}: {len(found)} matches")
        return found[0]

    def nearest_in(self, lat: float, lon: float, council: int, ward: int = -1) -> int:
        """Row of the postcode nearest (lat, lon) inside ``council`` (and ``ward``)."""
        t = self.t
        rows = t.pc_xyz_rows
        mask = t.pc_council[rows] == council
        if ward >= 0:
            mask &= t.pc_ward[rows] == ward
        point = unit_vectors(np.array([[lat, lon]]))[0]
        candidates = np.flatnonzero(mask)
        if len(candidates) == 0:
            raise ValueError("no postcode there")
        best = candidates[np.argmin(((self.xyz[candidates] - point) ** 2).sum(axis=1))]
        return int(rows[best])

    def nearest(self, lat: float, lon: float) -> int:
        point = unit_vectors(np.array([[lat, lon]]))[0]
        return int(self.t.pc_xyz_rows[np.argmin(((self.xyz - point) ** 2).sum(axis=1))])

    def locate(self, council: int, locator: str) -> int:
        """Row of the check postcode for a locator."""
        t = self.t
        kind, _, value = locator.partition(":")
        key = fold_name(value)
        # Places and stations are found by name and position only (the namesake nearest the
        # council's centre), never by the gazetteer's own council: the test then checks
        # that the postcode there really is in the council the post was labelled with.
        if kind in ("place", "station"):
            points = (
                [(p.lat, p.lon) for p in t.places if fold_name(p.name) == key]
                if kind == "place"
                else [
                    (m.lat, m.lon)
                    for m in t.landmarks
                    if m.kind != "hill" and fold_name(bare_name(m.name)) == key
                ]
            )
            if not points:
                raise ValueError(f"no {kind} called {value!r}")
            centre = t.councils[council]
            lat, lon = min(
                points, key=lambda p: (p[0] - centre.lat) ** 2 + (p[1] - centre.lon) ** 2
            )
            return self.nearest(lat, lon)
        if kind == "ward":
            wards = [
                i
                for i, w in enumerate(t.wards)
                if w.council == council and fold_name(w.name) == key
            ]
            if len(wards) != 1:
                raise ValueError(f"ward {value!r}: {len(wards)} in {t.councils[council].name}")
            ward = t.wards[wards[0]]
            return self.nearest_in(ward.lat, ward.lon, council, wards[0])
        if kind == "postcode":
            row = t.find_postcode(value.replace(" ", "").upper())
            if row < 0:
                raise ValueError(f"unknown postcode {value!r}")
            return row
        if kind == "district":
            lo = int(np.searchsorted(t.pc_keys, value.encode()))
            for row in range(lo, min(lo + 5000, len(t.pc_keys))):
                pc = t.pc_keys[row].decode()
                if pc[: len(value)] != value or not pc[len(value)].isdigit():
                    continue
                if int(t.pc_council[row]) == council and not math.isnan(t.pc_latlon[row, 0]):
                    return row
            raise ValueError(f"no postcode of {value} in {t.councils[council].name}")
        if kind == "council":
            area = t.councils[council]
            return self.nearest_in(area.lat, area.lon, council)
        raise ValueError(f"unknown locator {locator!r}")


def build(source: Path = SOURCE, out: Path = DEVSET) -> int:
    """Resolve ``source`` into ``out``; print every line that fails and return their count."""
    tables = load_tables()
    resolver = _Resolver(tables)
    rows: list[str] = []
    errors = 0
    fresh = False
    for number, raw in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        if raw.startswith(SPLIT_DIRECTIVE):
            fresh = raw.removeprefix(SPLIT_DIRECTIVE).strip() == "fresh"
        if not raw.strip() or raw.startswith("#"):
            continue
        try:
            council_name, evidence, locator, text = (p.strip() for p in raw.split("|", 3))
            council = code = ward = postcode = None
            if council_name != "-":
                council = resolver.council(council_name)
                row = resolver.locate(council, locator)
                postcode = tables.pc_keys[row].decode()
                postcode = f"{postcode[:-3]} {postcode[-3:]}"
                code = tables.councils[council].code
                if evidence in WARD_EVIDENCE:
                    ward = tables.wards[int(tables.pc_ward[row])].code
            split = "fresh" if fresh and code is None else split_of(code, text)
            item = DevItem(text, code, ward, evidence, postcode, locator, split)
            rows.append(json.dumps(_dict(item), ensure_ascii=False))
        except ValueError as exc:
            errors += 1
            print(f"{source.name}:{number}: {exc}", file=sys.stderr)
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} posts -> {out} ({errors} errors)")
    return errors


def _dict(item: DevItem) -> dict[str, object]:
    return {
        "text": item.text,
        "council": item.council,
        "ward": item.ward,
        "evidence": item.evidence,
        "postcode": item.postcode,
        "locator": item.locator,
        "split": item.split,
    }


if __name__ == "__main__":
    sys.exit(1 if build() else 0)


def breakdown(
    items: list[DevItem], predict: Callable[[DevItem], tuple[str | None, str | None]]
) -> dict[str, dict[str, float | int]]:
    """Accuracy overall, by split, evidence kind and council kind, and the no-place rate.

    ``ward_accuracy`` is over posts that support a ward; ``given_a_council`` (for the
    ``no_place`` groups: posts about no GB council, all and by split) is the share
    wrongly given one; ``place:<split>`` holds only the posts about a council.
    """
    groups: dict[str, list[tuple[DevItem, str | None, str | None]]] = {}
    for item in items:
        council, ward = predict(item)
        for key in ("all", f"split:{item.split}", f"evidence:{item.evidence}", f"kind:{item.kind}"):
            groups.setdefault(key, []).append((item, council, ward))
        if item.council is None:
            groups.setdefault("no_place", []).append((item, council, ward))
            groups.setdefault(f"no_place:{item.split}", []).append((item, council, ward))
        else:
            groups.setdefault(f"place:{item.split}", []).append((item, council, ward))
    out: dict[str, dict[str, float | int]] = {}
    for key, rows in sorted(groups.items()):
        wards = [(i, w) for i, _, w in rows if i.ward is not None]
        stats: dict[str, float | int] = {
            "posts": len(rows),
            "council_accuracy": round(sum(c == i.council for i, c, _ in rows) / len(rows), 4),
        }
        if wards:
            stats["ward_posts"] = len(wards)
            stats["ward_accuracy"] = round(sum(w == i.ward for i, w in wards) / len(wards), 4)
        if key.startswith("no_place"):
            stats["given_a_council"] = round(sum(c is not None for _, c, _ in rows) / len(rows), 4)
        out[key] = stats
    return out
