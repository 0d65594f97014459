"""Offline language identification and the sentiment language policy."""

from __future__ import annotations

import pytest

from pipelines.steps.language import (
    LanguageGuess,
    detect_language,
    detectable_text,
    sentiment_policy,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    [
        "Road closed on Tuesday for pothole repairs",
        "Thanks to the team who cleared the fly-tipping so fast!",
        "anyone know if the tip is open on Sunday?",
        "bins late again on our road",
        "@HaringeyCouncil the streetlight on Park Lane has been out for weeks https://t.co/x1 #potholes",
    ],
)
def test_english(text: str) -> None:
    guess = detect_language(text)
    assert guess.code == "en"
    assert 0.5 <= guess.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "Mae'r biniau heb eu casglu eto wythnos yma",
        "Diolch i'r cyngor am drwsio'r ffordd mor gyflym",
        "Pryd mae'r llyfrgell ar agor dros y Pasg?",
        "Ffordd ar gau ddydd Mawrth oherwydd gwaith atgyweirio",
    ],
)
def test_welsh(text: str) -> None:
    assert detect_language(text).code == "cy"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Le conseil municipal a fermé la bibliothèque du quartier", "fr"),
        ("Merci à la mairie pour le nouveau parc", "fr"),
        ("Dziękuję za szybką naprawę drogi", "pl"),
    ],
)
def test_other_languages(text: str, code: str) -> None:
    assert detect_language(text).code == code


@pytest.mark.parametrize(
    "text",
    ["", "   ", "lol", "👍👍🔥", "https://t.co/abc123 @bob @alice #bins #potholes", "ok!!", "ffs"],
)
def test_too_little_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == LanguageGuess("und", 0.0)


def test_short_unsure_guess_is_undetermined() -> None:
    assert detect_language("cheers all").code == "und"


def test_urls_handles_and_tags_are_stripped() -> None:
    assert detectable_text("@bob see https://x.y/z and #this now") == "see and now"


def test_sentiment_policy() -> None:
    assert sentiment_policy("en") is None
    assert sentiment_policy("en-GB") is None
    assert sentiment_policy("und") is None
    assert sentiment_policy("cy") == "language cy not supported by the sentiment model"
    assert sentiment_policy("fr") == "language fr not supported by the sentiment model"
