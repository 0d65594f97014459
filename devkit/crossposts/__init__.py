"""Labelled cross-post pairs for measuring incident folding: ``dev`` (thresholds chosen on it), ``check``.

Each pair is two posts a department could receive and whether they report one
incident. Written for Earshot, with places from across Great Britain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SETS = ("dev", "check")


@dataclass(frozen=True)
class Pair:
    kind: str
    same: bool
    a: str
    b: str


def load(name: str) -> list[Pair]:
    """The pairs of set ``name`` (``dev`` or ``check``)."""
    if name not in SETS:
        raise ValueError(f"no cross-post set {name!r}; known: {', '.join(SETS)}")
    data = yaml.safe_load((HERE / f"{name}.yaml").read_text(encoding="utf-8"))
    return [Pair(str(p["kind"]), bool(p["same"]), str(p["a"]), str(p["b"])) for p in data["pairs"]]
