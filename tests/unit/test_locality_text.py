"""Text folding, span mapping, name variants and the postcode pattern (no gazetteer needed)."""

from __future__ import annotations

import random

import pytest

from pipelines.locality.extras import CAPS, PLACE_FIRST, STRICT, load_extras, load_stopwords
from pipelines.locality.normalise import POSTCODE, fold, fold_chars, fold_name, name_variants

pytestmark = pytest.mark.unit


def test_fold_is_one_char_for_one() -> None:
    text = "Crème Brûlée, ŵyr & İstanbul — 🎉 St. Ann's"
    assert len(fold_chars(text)) == len(text)
    assert fold_chars("Y Fenni!").startswith("y fenni")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("St.  Ann's, N15 -- Y Fenni!!", "st ann s"),
        ("St.  Ann's, N15 -- Y Fenni!!", "n15"),
        ("St.  Ann's, N15 -- Y Fenni!!", "y fenni"),
        ("a   b    c  Crouch    End", "crouch end"),
        ("🎉🎉 Tottenham", "tottenham"),
    ],
)
def test_spans_map_back_exactly(text: str, word: str) -> None:
    folded = fold(text)
    at = folded.text.find(word)
    start, end = folded.span(at, at + len(word))
    assert fold_name(text[start:end]) == word
    assert not text[start].isspace() and not text[end - 1].isspace()


def test_spans_map_back_on_random_text() -> None:
    rng = random.Random(7)
    alphabet = "ab Cd,.'  -!é🎉\n\t"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        folded = fold(text)
        for i, char in enumerate(folded.text):
            j = folded.original(i)
            assert fold_chars(text[j]) == char or (char == " " and not text[j].isalnum())


def test_name_variants() -> None:
    assert {"st ann s", "st anns", "saint anns"} <= name_variants("St. Ann's")
    assert {"hermitage gardens", "hermitage and gardens", "hermitagegardens"} <= name_variants(
        "Hermitage & Gardens"
    )
    assert {"cil y coed", "cilycoed"} <= name_variants("Cil-y-coed")
    assert "woodgreen" in name_variants("Wood Green")
    assert "woodgreen" not in name_variants("Wood Green", joined=False)
    assert "monnow st" in name_variants("Monnow Street", street=True)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("at N17 9LN today", [("N17", "9LN")]),
        ("at n179ln today", [("n17", "9ln")]),
        ("NP7  5AB", [("NP7", "5AB")]),
        ("SW1A 1AA", [("SW1A", "1AA")]),
        ("#N17 pride", [("N17", None)]),
        ("route A406", []),
        ("iPhone6", []),
    ],
)
def test_postcode_pattern(text: str, found: list[tuple[str, str | None]]) -> None:
    assert [m.groups() for m in POSTCODE.finditer(text)] == found


def test_shipped_stopwords_and_extras_load() -> None:
    stop = load_stopwords()
    assert stop.tier("reading") == PLACE_FIRST and stop.tier("march") == STRICT
    assert stop.tier("tottenham") == 0 and CAPS < PLACE_FIRST < STRICT
    extras = load_extras()
    assert any(a.name == "IoW" for a in extras.aliases)
    assert any(r.name == "Wales" for r in extras.regions)
