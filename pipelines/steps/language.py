"""Offline language identification for short posts, and which languages get sentiment.

py3langid (already a dependency, model shipped in the wheel, ~0.8 s to load,
~0.04 ms a post) restricted to languages written in the UK: unrestricted, it
calls short English posts Nigerian Pidgin or Sesotho. On 46 short English,
Welsh and other posts it scored 46/46 restricted; lingua-language-detector
scored 45/46 but takes ~8-14 s and ~100 MB to load and 1.3 ms a post.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Final

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNDETERMINED: Final = "und"
# "und" is read too: in UK council feeds the posts too short to identify ("Shocking!",
# "ffs", "cheers all") are nearly always English, and dropping them loses real complaints.
SENTIMENT_LANGUAGES: Final = frozenset({"en", "und"})

# Census languages of England and Wales and other frequent ones; py3langid codes.
UK_LANGUAGES: Final = (
    "en", "cy", "ga", "gd", "fr", "de", "es", "it", "pt", "pl", "ro", "lt", "lv", "bg", "hu",
    "cs", "sk", "sl", "hr", "sr", "sq", "el", "nl", "sv", "da", "no", "fi", "tr", "ar", "ur",
    "pa", "bn", "gu", "hi", "ta", "te", "ml", "mr", "ne", "si", "fa", "ps", "ku", "so", "am",
    "sw", "zh", "ja", "ko", "vi", "th", "tl", "ms", "id", "he", "ru", "uk", "af",
)  # fmt: skip
MIN_LETTERS: Final = 6
MIN_CONFIDENCE: Final = 0.2
# Below this many letters the identifier guesses wildly ("cheers all" -> nl 0.36), so a
# guess must be surer to count.
SHORT_LETTERS: Final = 20
MIN_CONFIDENCE_SHORT: Final = 0.5

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TAGS = re.compile(r"(?<!\w)[@#]\w+")
_SPACE = re.compile(r"\s+")

_lock = threading.Lock()
_identifier: Any = None


@dataclass(frozen=True)
class LanguageGuess:
    """ISO 639-1 code (or ``und``) and the identifier's probability for it."""

    code: str
    confidence: float


def detectable_text(text: str) -> str:
    """The text without URLs, @handles and #tags, which say nothing about the language."""
    return _SPACE.sub(" ", _TAGS.sub(" ", _URL.sub(" ", text))).strip()


def _get_identifier() -> Any:
    global _identifier  # noqa: PLW0603 - the model loads once per process, on first use
    with _lock:
        if _identifier is None:
            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages([code for code in UK_LANGUAGES if code in identifier.labels])
            _identifier = identifier
    return _identifier


def detect_language(text: str) -> LanguageGuess:
    """Best guess of the language; ``und`` when too little text is left or the guess is weak."""
    cleaned = detectable_text(text)
    letters = sum(ch.isalpha() for ch in cleaned)
    if letters < MIN_LETTERS:
        return LanguageGuess(UNDETERMINED, 0.0)
    code, confidence = _get_identifier().classify(cleaned)
    confidence = min(max(float(confidence), 0.0), 1.0)
    if confidence < (MIN_CONFIDENCE_SHORT if letters < SHORT_LETTERS else MIN_CONFIDENCE):
        return LanguageGuess(UNDETERMINED, round(confidence, 4))
    return LanguageGuess(str(code), round(confidence, 4))


def sentiment_policy(lang: str) -> str | None:
    """Why sentiment is skipped for a language, or None when the model reads it."""
    code = lang.split("-", maxsplit=1)[0].lower()
    if code in SENTIMENT_LANGUAGES:
        return None
    return f"language {code} not supported by the sentiment model"
