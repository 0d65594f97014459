"""Language step: what language a mention is in, and whether the sentiment model reads it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Draft, EnrichmentStep
from pipelines.steps.language import detect_language, sentiment_policy
from schemas.models import Language, Mention


class LanguageGuess(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def confidence(self) -> float: ...


class LanguageStep:
    """Sets ``language`` and, for languages the model does not read, ``sentiment_skipped``."""

    def __init__(
        self,
        detect: Callable[[str], LanguageGuess] = detect_language,
        skip_reason: Callable[[str], str | None] = sentiment_policy,
    ) -> None:
        self._detect = detect
        self._skip_reason = skip_reason

    def language(self, mention: Mention) -> Language:
        """Detected language; the source's declaration decides when detection is unsure."""
        guess = self._detect(mention.text if mention.text.strip() else (mention.title or ""))
        declared = (mention.lang or "").split("-")[0].lower()
        if declared and (guess.code == "und" or guess.confidence < 0.5):
            return Language(code=declared, confidence=max(guess.confidence, 0.5))
        return Language(code=guess.code, confidence=round(min(max(guess.confidence, 0.0), 1.0), 4))

    def __call__(self, drafts: Sequence[Draft]) -> None:
        for draft in drafts:
            draft.language = self.language(draft.mention)
            draft.sentiment_skipped = self._skip_reason(draft.language.code)


def build(settings: PipelineSettings) -> EnrichmentStep:
    """The language step (the identifier model loads on first use)."""
    del settings
    return LanguageStep()
