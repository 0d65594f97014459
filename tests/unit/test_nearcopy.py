"""Near-copy sketches, and the incident rule on the labelled cross-post sets (nothing unrelated merged)."""

from __future__ import annotations

import pytest

from common.nearcopy import Sketch, containment, jaccard, sketch, swapped, tokens
from devkit.crossposts import SETS, load
from services.notifier.incidents import same_incident


def test_what_a_copy_may_change_does_not_count() -> None:
    a = "Bins on Ashley Road not collected for the third week running"
    for copy in (
        "RT @ashleyrd: bins on Ashley Road not collected for the third week running",
        "Bins on Ashley Road not collected for the third week running #Bristol @BristolCouncil",
        "Bins on Ashley Road not collected for the third week running https://x.com/a/1",
        "BINS ON ASHLEY ROAD NOT COLLECTED FOR THE THIRD WEEK RUNNING!!!",
    ):
        assert jaccard(sketch(a), sketch(copy)) == 1.0, copy


def test_names_are_capitalised_words_inside_a_sentence_and_words_with_digits() -> None:
    words, names = tokens("Bus 41 late on Archway Road. Again! Waited 20 mins at Highgate")
    assert words[:3] == ["bus", "41", "late"]
    assert names == {"41", "archway", "road", "20", "highgate"}  # not "Bus", "Again", "Waited"


def test_a_swapped_street_or_number_is_another_incident() -> None:
    a = sketch("Water leak outside 22 Elm Grove, running down the road since yesterday")
    b = sketch("Water leak outside 87 Elm Grove, running down the road since yesterday")
    c = sketch("UPDATE: water leak outside 22 Elm Grove, running down the road since yesterday")
    assert swapped(a, b) and not swapped(a, c)
    assert containment(a, c) == 1.0


def test_a_sketch_survives_json() -> None:
    s = sketch("Streetlights out along Cowbridge Road East since Friday, pitch black in Canton")
    assert Sketch.from_json(s.to_json()) == s


def test_long_posts_are_estimated_from_their_bottom_k_hashes() -> None:
    long_text = " ".join(f"word{i} street{i % 7}" for i in range(400))
    s = sketch(long_text)
    assert len(s.hashes) == 256 and s.size > 256
    assert jaccard(s, sketch(long_text + " and one more sentence at the end")) > 0.95


@pytest.mark.parametrize("name", SETS)
def test_nothing_unrelated_is_merged(name: str) -> None:
    merged = [
        (p.kind, p.a, p.b)
        for p in load(name)
        if not p.same and same_incident(sketch(p.a), sketch(p.b))
    ]
    assert merged == []


def test_most_copies_in_the_development_set_are_recognised() -> None:
    same = [p for p in load("dev") if p.same]
    found = sum(same_incident(sketch(p.a), sketch(p.b)) for p in same)
    assert found / len(same) >= 0.95
    assert len(same) >= 40 and len(load("dev")) - len(same) >= 40
