"""Enrichment of a batch of mentions: language, sentiment, locality, topics, departments.

Pure and Faust-free: the enrich agent hands it decoded mentions and produces
what it returns. Sentiment runs once per batch (micro-batched inside the
classifier); everything else is per mention.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pipelines.steps.dedupe import dedupe_key
from pipelines.steps.topics import TopicTagger
from schemas.codec import decode, encode
from schemas.deadletter import Failure
from schemas.models import (
    EnrichedMention,
    Language,
    Locality,
    Mention,
    PlaceHint,
    Point,
    Sentiment,
    SentimentLabel,
    SentimentProbabilities,
)

log = logging.getLogger(__name__)


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


class LocalityFinder(Protocol):
    """What enrichment needs of the locality tagger."""

    def tag(
        self,
        text: str,
        geo: Point | None = None,
        place_hint: PlaceHint | None = None,
        context: Sequence[str] = (),
    ) -> Locality: ...


class LanguageGuess(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def confidence(self) -> float: ...


def sentiment_text(mention: Mention) -> str:
    """What the sentiment model reads: the headline matters for news items."""
    if mention.title and mention.title not in mention.text:
        return f"{mention.title}. {mention.text}"
    return mention.text


def locality_context(mention: Mention) -> tuple[str, ...]:
    """Source hints that say where a post comes from: the hashtag, subreddit, feed or instance."""
    hints = [m.value for m in mention.matched_by]
    hints.append(mention.source.instance)
    return tuple(hints)


class Enricher:
    """Turns Mentions into EnrichedMentions (duplicate_of is decided later, by the dedupe agent)."""

    def __init__(
        self,
        *,
        sentiment: SentimentPredictor,
        locality: LocalityFinder,
        topics: TopicTagger,
        detect_language: Callable[[str], LanguageGuess],
        sentiment_skip_reason: Callable[[str], str | None],
    ) -> None:
        self._sentiment = sentiment
        self._locality = locality
        self._topics = topics
        self._detect = detect_language
        self._skip_reason = sentiment_skip_reason

    def language(self, mention: Mention) -> Language:
        """Detected language; the source's declaration decides when detection is unsure."""
        guess = self._detect(mention.text if mention.text.strip() else (mention.title or ""))
        declared = (mention.lang or "").split("-")[0].lower()
        if declared and (guess.code == "und" or guess.confidence < 0.5):
            return Language(code=declared, confidence=max(guess.confidence, 0.5))
        return Language(code=guess.code, confidence=round(min(max(guess.confidence, 0.0), 1.0), 4))

    def enrich(self, mentions: Sequence[Mention], now: datetime) -> list[EnrichedMention]:
        """Enrich a batch; output order matches input order."""
        languages = [self.language(m) for m in mentions]
        reasons = [self._skip_reason(lang.code) for lang in languages]
        wanted = [i for i, reason in enumerate(reasons) if reason is None]
        scores = self._sentiment.predict([sentiment_text(mentions[i]) for i in wanted])
        sentiments: dict[int, Sentiment] = {
            i: Sentiment(
                label=s.label,
                score=round(float(s.score), 4),
                model=self._sentiment.model_id,
                probabilities=SentimentProbabilities(
                    **{label: round(float(p), 4) for label, p in s.probabilities.items()}
                ),
                mixed=s.mixed,
            )
            for i, s in zip(wanted, scores, strict=True)
        }
        out = []
        for i, mention in enumerate(mentions):
            topics = self._topics.tag(mention.text)
            locality = self._locality.tag(
                mention.text, mention.geo, mention.place_hint, locality_context(mention)
            )
            out.append(
                EnrichedMention(
                    **dict(mention),
                    enriched_at=now,
                    language=languages[i],
                    sentiment=sentiments.get(i),
                    sentiment_skipped=reasons[i],
                    locality=locality,
                    topics=topics,
                    departments=self._topics.departments(topics),
                )
            )
        return out


@dataclass(frozen=True)
class Keyed:
    """An enriched mention ready to produce: keyed by its dedupe key, so copies meet.

    ``mention_id`` and ``created_at`` (epoch seconds) travel as headers, so the dedupe
    stage decides without decoding the value.
    """

    key: bytes
    value: bytes
    mention_id: str
    created_at: float


def enrich_payloads(
    enricher: Enricher, payloads: Sequence[bytes], now: datetime
) -> list[Keyed | Failure]:
    """Raw ``mentions.raw.v1`` values in, one outcome per payload out, in order.

    A payload that does not decode, enrich or encode becomes a Failure (for the DLQ)
    and the rest of the batch is unaffected.
    """
    outcomes: dict[int, Keyed | Failure] = {}
    mentions: list[tuple[int, Mention]] = []
    for slot, payload in enumerate(payloads):
        try:
            mentions.append((slot, decode(payload, Mention)))
        except Exception as exc:  # any bad payload, whatever the cause, goes to the DLQ
            outcomes[slot] = Failure.of(exc)
    try:
        enriched = enricher.enrich([m for _, m in mentions], now)
    except Exception:
        log.exception("batch enrichment failed; isolating the message that breaks it")
        for slot, mention in mentions:
            outcomes[slot] = _enrich_one(enricher, mention, now)
    else:
        for (slot, mention), result in zip(mentions, enriched, strict=True):
            outcomes[slot] = _keyed(mention, result)
    return [outcomes[slot] for slot in range(len(payloads))]


def _enrich_one(enricher: Enricher, mention: Mention, now: datetime) -> Keyed | Failure:
    try:
        return _keyed(mention, enricher.enrich([mention], now)[0])
    except Exception as exc:
        return Failure.of(exc)


def _keyed(mention: Mention, enriched: EnrichedMention) -> Keyed | Failure:
    try:
        value = encode(enriched)
    except Exception as exc:
        return Failure.of(exc)
    key = dedupe_key(mention) or f"id:{mention.mention_id}"
    return Keyed(key.encode(), value, mention.mention_id, mention.created_at.timestamp())
