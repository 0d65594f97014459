"""The multi-council development set: every label checked against Code-Point, and accuracy floors.

Labels are checked, not trusted: each post's check postcode (the postcode nearest
the place it is about) must lie in the labelled council, and in the labelled ward
when the post supports one; a district post's council must hold the largest share
of the district. The floors are for the nationwide setting (every GB council
loaded), on the dev part the rules were tuned on and on the held-back test part.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipelines.locality.devset import (
    DEVSET,
    SOURCE,
    WARD_EVIDENCE,
    DevItem,
    build,
    load_devset,
)
from pipelines.locality.evalset import EvalItem, Prediction, score
from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from pipelines.steps.locality import LocalityTagger

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tables() -> Tables:
    try:
        return load_tables()
    except GazetteerMissingError as exc:
        pytest.fail(f"{exc}. Run `python -m pipelines.locality build` first.")


@pytest.fixture(scope="module")
def items() -> list[DevItem]:
    return load_devset()


def test_set_is_broad(items: list[DevItem]) -> None:
    councils = {i.council for i in items if i.council}
    assert len(items) >= 600 and len(councils) >= 80
    kinds = Counter(i.kind for i in items)
    for kind in ("london", "metropolitan", "unitary", "shire_district", "welsh", "scottish"):
        assert kinds[kind] >= 60, kinds
    assert kinds["none"] >= 60  # posts about no GB council, some with namesakes
    no_place = Counter(i.split for i in items if i.council is None)
    # 80 from the first set, 300+ about people, pets, teams and things named after towns
    # and plain chatter, a fresh batch written after the rules and never tuned on.
    assert sum(no_place.values()) >= 700 and no_place["fresh"] >= 100 and no_place["test"] >= 100
    assert len({i.evidence for i in items if i.council is None}) >= 10  # many kinds of chatter
    assert {i.split for i in items} == {"dev", "test", "fresh"}
    assert {i.council for i in items if i.split == "test"}.isdisjoint(
        {i.council for i in items if i.split == "dev" and i.council}
    ), "the held-back part has councils of its own"
    assert len(SOURCE.read_text(encoding="utf-8").splitlines()) > len(items)


def test_the_labelled_file_is_built_from_the_written_posts(tmp_path: Path) -> None:
    """The committed jsonl is exactly what the source file resolves to (not an mtime check:
    a fresh clone's file times say nothing)."""
    out = tmp_path / "devset.jsonl"
    assert build(SOURCE, out) == 0
    assert out.read_text(encoding="utf-8") == DEVSET.read_text(encoding="utf-8"), (
        "run python -m pipelines.locality.devset"
    )


def test_every_label_is_checked_against_code_point(tables: Tables, items: list[DevItem]) -> None:
    for item in items:
        if item.council is None:
            assert item.ward is None and item.postcode is None, item
            continue
        assert item.postcode is not None, item
        row = tables.find_postcode(item.postcode.replace(" ", ""))
        assert row >= 0, item
        assert tables.councils[int(tables.pc_council[row])].code == item.council, item
        if item.evidence in WARD_EVIDENCE:
            assert item.ward == tables.wards[int(tables.pc_ward[row])].code, item
        else:
            assert item.ward is None, item
        if item.evidence == "district":
            district = item.locator.split(":", 1)[1]
            top = tables.districts[district][0][0]
            assert tables.councils[top].code == item.council, item


@pytest.fixture(scope="module")
def nationwide(tables: Tables) -> LocalityTagger:
    return LocalityTagger.from_config(tables=tables, scope="nationwide")


@pytest.mark.parametrize(
    ("split", "council_floor", "ward_floor"), [("dev", 0.94, 0.91), ("test", 0.94, 0.9)]
)
def test_nationwide_accuracy_floors(
    nationwide: LocalityTagger,
    items: list[DevItem],
    split: str,
    council_floor: float,
    ward_floor: float,
) -> None:
    """Floors a little under what the rules score (dev 0.96/0.94, test 0.97/0.96) to catch regressions."""

    def predict(item: EvalItem) -> Prediction:
        loc = nationwide.tag(item.text)
        return Prediction(
            loc.council.code if loc.council else None, loc.ward.code if loc.ward else None
        )

    part = [EvalItem(i.text, i.council, i.ward) for i in items if i.split == split]
    result = score(part, predict)
    assert result.council_accuracy >= council_floor, result
    assert result.ward_accuracy >= ward_floor, result


@pytest.mark.parametrize(("split", "ceiling"), [("dev", 0.05), ("test", 0.07), ("fresh", 0.05)])
def test_posts_about_no_place_are_given_no_council(
    nationwide: LocalityTagger, items: list[DevItem], split: str, ceiling: float
) -> None:
    """Ceilings a little over what the rules give (dev 0.034, test 0.053, fresh 0.028)."""
    part = [i for i in items if i.split == split and i.council is None]
    given = [i.text for i in part if nationwide.tag(i.text).council is not None]
    assert len(given) / len(part) <= ceiling, given
