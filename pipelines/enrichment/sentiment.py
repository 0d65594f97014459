"""Sentiment step: the model scores, in one call, every mention of the batch it reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pipelines.sentiment import default_model_dir
from pipelines.sentiment.classifier import SentimentClassifier
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Draft, EnrichmentStep
from schemas.models import Mention, Sentiment, SentimentLabel, SentimentProbabilities


class ScoredLabel(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def probabilities(self) -> Mapping[SentimentLabel, float]: ...
    @property
    def mixed(self) -> bool: ...


class SentimentPredictor(Protocol):
    """What enrichment needs of a sentiment model."""

    @property
    def model_id(self) -> str: ...

    def predict(self, texts: Sequence[str]) -> Sequence[ScoredLabel]: ...


def sentiment_text(mention: Mention) -> str:
    """What the sentiment model reads: the headline matters for news items."""
    if mention.title and mention.title not in mention.text:
        return f"{mention.title}. {mention.text}"
    return mention.text


class SentimentStep:
    """Sets ``sentiment`` on drafts the language step left unskipped (run it after that step)."""

    def __init__(self, model: SentimentPredictor) -> None:
        self._model = model

    def __call__(self, drafts: Sequence[Draft]) -> None:
        wanted = [d for d in drafts if d.sentiment_skipped is None]
        scores = self._model.predict([sentiment_text(d.mention) for d in wanted])
        for draft, scored in zip(wanted, scores, strict=True):
            draft.sentiment = Sentiment(
                label=scored.label,
                score=round(float(scored.score), 4),
                model=self._model.model_id,
                probabilities=SentimentProbabilities(
                    **{label: round(float(p), 4) for label, p in scored.probabilities.items()}
                ),
                mixed=scored.mixed,
            )


def build(settings: PipelineSettings) -> EnrichmentStep:
    """The step over the built model; raises saying ``make model`` when it is not built."""
    model_dir = settings.sentiment_model_dir or default_model_dir()
    return SentimentStep(
        SentimentClassifier.load(model_dir, threads=settings.threads_per_enrichment_process())
    )
