"""Raw payloads → keyed, encoded enriched mentions or failures, one per payload, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from common.taxonomy import Taxonomy
from devkit.events import example_mention, numbered_mentions
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Enricher, Keyed, enrich_payloads
from pipelines.steps.language import detect_language, sentiment_policy
from pipelines.steps.topics import TopicTagger
from schemas.codec import decode, encode
from schemas.deadletter import Failure
from schemas.models import EnrichedMention, Locality, PlaceHint, Point, SentimentLabel

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Score:
    label: str
    score: float
    probabilities: Mapping[SentimentLabel, float] = field(
        default_factory=lambda: {"negative": 0.05, "neutral": 0.05, "positive": 0.9}
    )
    mixed: bool = False


class Model:
    """Scores every text positive, and fails a whole batch that holds ``poison``."""

    model_id = "test-model"

    def __init__(self, poison: str | None = None) -> None:
        self.poison = poison

    def predict(self, texts: Sequence[str]) -> list[Score]:
        if self.poison and any(self.poison in t for t in texts):
            raise ValueError(f"cannot score {self.poison!r}")
        return [Score("positive", 0.9) for _ in texts]


class NoPlace:
    def tag(
        self,
        text: str,
        geo: Point | None = None,
        place_hint: PlaceHint | None = None,
        context: Sequence[str] = (),
    ) -> Locality:
        return Locality()


def enricher(model: Model) -> Enricher:
    return Enricher(
        sentiment=model,
        locality=NoPlace(),
        topics=TopicTagger(Taxonomy.load(PipelineSettings().config_dir / "topics.yaml")),
        detect_language=detect_language,
        sentiment_skip_reason=sentiment_policy,
    )


def test_each_payload_gets_its_own_outcome_in_order() -> None:
    good = example_mention()
    payloads = [b"{not json", encode(good), b'{"schema": "mention.v1"}']

    outcomes = enrich_payloads(enricher(Model()), payloads, NOW)

    assert [type(o) for o in outcomes] == [Failure, Keyed, Failure]
    first, enriched, last = outcomes
    assert isinstance(first, Failure) and isinstance(last, Failure)
    assert first.error_class == "ContractError" and first.message
    assert last.error_class == "ContractError" and last.message
    assert isinstance(enriched, Keyed)
    result = decode(enriched.value, EnrichedMention)
    assert result.mention_id == good.mention_id
    assert result.enriched_at == NOW
    assert result.sentiment is not None and result.sentiment.label == "positive"
    assert enriched.key.startswith((b"link:", b"text:", b"id:"))


def test_a_mention_that_breaks_the_batch_fails_alone() -> None:
    mentions = numbered_mentions(4)
    poison = mentions[2].text
    outcomes = enrich_payloads(enricher(Model(poison=poison)), [encode(m) for m in mentions], NOW)

    assert [type(o) for o in outcomes] == [Keyed, Keyed, Failure, Keyed]
    failed = outcomes[2]
    assert isinstance(failed, Failure)
    assert failed.error_class == "ValueError" and "cannot score" in failed.message
    ids = [decode(o.value, EnrichedMention).mention_id for o in outcomes if isinstance(o, Keyed)]
    assert ids == [m.mention_id for i, m in enumerate(mentions) if i != 2]


def test_copies_of_one_text_share_a_dedupe_key() -> None:
    original = example_mention()
    copy = original.model_copy(update={"mention_id": "0" * 32})
    outcomes = enrich_payloads(enricher(Model()), [encode(original), encode(copy)], NOW)

    keys = [o.key for o in outcomes if isinstance(o, Keyed)]
    assert len(keys) == 2 and keys[0] == keys[1]
