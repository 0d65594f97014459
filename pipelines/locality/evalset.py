"""The labelled locality evaluation set and how predictions are scored against it.

``data/locality_eval.jsonl``: one post a line, ``{"text", "council", "ward",
"context"?, "geo"?: [lat, lon], "note"?}`` with GSS codes or null. Shared by the
unit test's accuracy floor and ``bench/bench_locality.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.locality.extras import DATA_DIR
from schemas.models import Point

EVAL_SET = DATA_DIR / "locality_eval.jsonl"


@dataclass(frozen=True, slots=True)
class EvalItem:
    """One labelled post."""

    text: str
    council: str | None
    ward: str | None
    context: tuple[str, ...] = ()
    geo: Point | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a tagger said: council and ward codes, or None."""

    council: str | None
    ward: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Accuracy figures; ward accuracy is over items labelled with a ward."""

    items: int
    council_accuracy: float
    ward_accuracy: float
    ward_items: int
    place_precision: float  # of posts given a council, share that should have one
    place_recall: float  # of posts that should have a council, share given one

    def as_dict(self) -> dict[str, float | int]:
        """Rounded for JSON output."""
        return {
            "items": self.items,
            "council_accuracy": round(self.council_accuracy, 4),
            "ward_accuracy": round(self.ward_accuracy, 4),
            "ward_items": self.ward_items,
            "place_precision": round(self.place_precision, 4),
            "place_recall": round(self.place_recall, 4),
        }


def load_eval(path: Path = EVAL_SET) -> list[EvalItem]:
    """Read the evaluation set."""
    items: list[EvalItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        geo = raw.get("geo")
        items.append(
            EvalItem(
                text=raw["text"],
                council=raw["council"],
                ward=raw["ward"],
                context=tuple(raw.get("context", ())),
                geo=Point(lat=geo[0], lon=geo[1]) if geo else None,
            )
        )
    return items


def score(items: Sequence[EvalItem], predict: Callable[[EvalItem], Prediction]) -> Score:
    """Score ``predict`` on ``items``."""
    right = ward_right = ward_items = 0
    given = given_ok = wanted = wanted_found = 0
    for item in items:
        got = predict(item)
        right += got.council == item.council
        if item.ward is not None:
            ward_items += 1
            ward_right += got.ward == item.ward
        if got.council is not None:
            given += 1
            given_ok += item.council is not None
        if item.council is not None:
            wanted += 1
            wanted_found += got.council is not None
    return Score(
        items=len(items),
        council_accuracy=right / max(len(items), 1),
        ward_accuracy=ward_right / max(ward_items, 1),
        ward_items=ward_items,
        place_precision=given_ok / max(given, 1),
        place_recall=wanted_found / max(wanted, 1),
    )
