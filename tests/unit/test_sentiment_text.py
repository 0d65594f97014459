"""The one text normaliser of training and inference: emoji, emoticons, shouting, punctuation."""

from __future__ import annotations

import pytest

from pipelines.sentiment.config import DEFAULT_CONFIG
from pipelines.sentiment.datasets import council_dev, council_train, training_set
from pipelines.sentiment.text import emoji_to_words, normalise

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # An emoji-only complaint becomes words the encoder knows; runs of one emoji count once.
        ("🤬🤬🤬", "[furious swearing face]"),
        ("bins STILL not collected 😤", "bins still [shouting] not collected [angry huffing face]"),
        # Joiners, variation selectors and skin tones carry no meaning of their own.
        ("🤦🏽‍♀️ parking ticket", "[facepalm] parking ticket"),
        ("🗑️ day", "[wastebasket] day"),
        # Emoji with no entry of ours are named by Unicode.
        ("🦔 spotted", "[hedgehog] spotted"),
        # Emoticons, the longest first: ">:(" is angry, not a frown after a ">".
        ("fined again >:(", "fined again [angry face]"),
        ("thanks :) and :-(", "thanks [smiling face] and [frowning face]"),
        ("love it <3", "love it [love heart]"),
        # Times, ratios and URLs are not emoticons.
        ("open 10:30 to 4:00, ratio 3:2", "open 10:30 to 4:00, ratio 3:2"),
        ("see https://example.org/a:(b)", "see http"),
        # Shouting is a run of capitalised words or one long one; acronyms stay as they are.
        ("FIX THE ROADS", "fix the roads [shouting]"),
        ("ABSOLUTELY disgusting", "absolutely [shouting] disgusting"),
        ("The ASB team and CCTV on the A38", "The ASB team and CCTV on the A38"),
        # Repeated punctuation and letters stay visible but short.
        ("Really?!?!?! sooooo bad!!!!!", "Really?! soo bad!!!"),
        ("@LeedsCC #bins &amp; more", "@user bins & more"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_is_idempotent_on_our_posts() -> None:
    # Training normalises once and the classifier normalises raw text once: a second pass
    # must change nothing, or text normalised twice would read differently to the model.
    for example in council_train() + council_dev():
        once = normalise(example.text)
        assert normalise(once) == once, example.text


def test_no_emoji_reaches_the_tokenizer() -> None:
    for example in council_train() + council_dev():
        text = normalise(example.text)
        assert all(ord(c) < 0x2600 or c in "£€–—’‘“”…é" for c in text), text


def test_plain_ascii_is_untouched_by_the_emoji_step() -> None:
    assert emoji_to_words("Road closed on Tuesday.") == "Road closed on Tuesday."


def test_training_reads_council_posts_through_the_same_normaliser() -> None:
    config = DEFAULT_CONFIG.with_changes(use_vader_tweets=False, tweets_per_class=10)
    trained = {e.text for e in training_set(config) if e.source == "council"}
    raw = council_train()
    assert trained == {normalise(e.text) for e in raw}
    assert any("[" in text for text in trained)  # the emoji posts arrive as words


@pytest.mark.parametrize(
    "hostile",
    ["", "\u200d\ufe0f\u200d", "🏻🏻", "\ud83d", "🤬" * 5000 + "a", ":(" * 3000, "!" * 10_000],
)
def test_hostile_text_normalises_to_a_bounded_string(hostile: str) -> None:
    out = normalise(hostile)
    assert isinstance(out, str)
    assert len(out) <= max(len(hostile) * 16, 64)
    assert "\u200d" not in out and "\ufe0f" not in out
