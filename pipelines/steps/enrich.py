"""Enrichment as a chain of steps: each step fills its part of every mention of a batch.

Pure and Faust-free. A step is any callable taking the batch's :class:`Draft`
records and filling its fields in place (language, sentiment, locality, topics
and departments today); batching is the step's own business (the sentiment
model scores the whole batch at once, the rest go mention by mention). The
chain is declared once, in :mod:`pipelines.enrichment`: adding a step is one
file there and one line in its ``CHAIN``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from schemas.models import EnrichedMention, Language, Locality, Mention, Sentiment, Topic


@dataclass(slots=True)
class Draft:
    """One mention on its way through the chain; each step sets the fields it owns."""

    mention: Mention
    language: Language | None = None
    sentiment: Sentiment | None = None
    sentiment_skipped: str | None = None
    locality: Locality = field(default_factory=Locality)
    topics: tuple[Topic, ...] = ()
    departments: tuple[str, ...] = ()

    def finish(self, now: datetime) -> EnrichedMention:
        """The enriched mention (``duplicate_of`` is decided later, by the worker's dedupe)."""
        if self.language is None:
            raise ValueError("no language step ran: the chain must start with one")
        return EnrichedMention(
            **dict(self.mention),
            enriched_at=now,
            language=self.language,
            sentiment=self.sentiment,
            sentiment_skipped=self.sentiment_skipped,
            locality=self.locality,
            topics=self.topics,
            departments=self.departments,
        )


class EnrichmentStep(Protocol):
    """One link of the chain: fill this step's fields on every draft of the batch, in place."""

    def __call__(self, drafts: Sequence[Draft]) -> None: ...


class Enricher:
    """Runs the chain over a batch; output order matches input order."""

    def __init__(self, steps: Sequence[EnrichmentStep]) -> None:
        self.steps = tuple(steps)

    def enrich(self, mentions: Sequence[Mention], now: datetime) -> list[EnrichedMention]:
        """Enrich a batch; raises whatever a step raises (the caller isolates the culprit)."""
        drafts = [Draft(m) for m in mentions]
        for step in self.steps:
            step(drafts)
        return [d.finish(now) for d in drafts]
