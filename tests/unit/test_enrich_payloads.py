"""Raw payloads → enriched, routed outcomes or failures, one per payload, in order; copies marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from common.dedupe import partition_key
from common.routing.load import load_routing, taxonomy_topics
from devkit.events import example_mention, numbered_mentions
from pipelines.enrichment import language, topics
from pipelines.enrichment.locality import LocalityStep
from pipelines.enrichment.sentiment import SentimentStep
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Draft, Enricher
from pipelines.steps.prepare import Enriched, enrich_payloads, mark_copies, version_of
from pipelines.steps.rules import RuleEngine
from schemas.codec import decode, encode
from schemas.deadletter import Failure
from schemas.ids import alert_id
from schemas.models import (
    Alert,
    CodedArea,
    EnrichedMention,
    Locality,
    Mention,
    PlaceHint,
    Point,
    SentimentLabel,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SETTINGS = PipelineSettings()


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
        self.calls = 0

    def predict(self, texts: Sequence[str]) -> list[Score]:
        self.calls += 1
        if self.poison and any(self.poison in t for t in texts):
            raise ValueError(f"cannot score {self.poison!r}")
        return [Score("positive", 0.9) for _ in texts]


class Tottenham:
    """Puts every post in Haringey's Tottenham Hale ward (what the routing rules listen for)."""

    def tag(
        self,
        text: str,
        geo: Point | None = None,
        place_hint: PlaceHint | None = None,
        context: Sequence[str] = (),
    ) -> Locality:
        return Locality(
            council=CodedArea(code="E09000014", name="Haringey"),
            ward=CodedArea(code="E05013602", name="Tottenham Hale"),
            confidence=0.9,
        )


def enricher(model: Model) -> Enricher:
    return Enricher(
        [
            language.build(SETTINGS),
            SentimentStep(model),
            LocalityStep(Tottenham()),
            topics.build(SETTINGS),
        ]
    )


def engine() -> RuleEngine:
    path = SETTINGS.config_dir / "departments.yaml"
    return RuleEngine(load_routing(path, taxonomy_topics(SETTINGS.config_dir)))


def pothole(**changes: object) -> bytes:
    mention = example_mention().model_copy(
        update={"created_at": NOW - timedelta(minutes=5), **changes}
    )
    return encode(mention)


def test_each_payload_gets_its_own_outcome_in_order() -> None:
    good = decode(pothole(), Mention)
    payloads = [b"{not json", pothole(), b'{"schema": "mention.v1"}']

    outcomes = enrich_payloads(enricher(Model()), engine(), payloads, NOW)

    assert [type(o) for o in outcomes] == [Failure, Enriched, Failure]
    first, enriched, last = outcomes
    assert isinstance(first, Failure) and first.error_class == "ContractError" and first.message
    assert isinstance(last, Failure) and last.error_class == "ContractError" and last.message
    assert isinstance(enriched, Enriched)
    result = decode(enriched.value, EnrichedMention)
    assert result.mention_id == enriched.mention_id == good.mention_id
    assert result.enriched_at == NOW
    assert result.sentiment is not None and result.sentiment.label == "positive"
    assert result.sentiment.probabilities is not None
    assert result.sentiment.probabilities.positive == 0.9 and result.sentiment.mixed is False
    assert enriched.key == partition_key(result)
    assert enriched.created_at == result.created_at.timestamp()
    assert enriched.version == version_of(result)


def test_a_mention_is_routed_where_it_is_enriched() -> None:
    (enriched,) = enrich_payloads(enricher(Model()), engine(), [pothole()], NOW)
    assert isinstance(enriched, Enriched)
    alerts = [decode(a.value, Alert) for a in enriched.alerts]
    assert [a.department for a in alerts] == ["haringey-highways"]
    assert enriched.alerts[0].key == alert_id(enriched.mention_id, alerts[0].rule_id).encode()
    assert {t.topic for t in enriched.ticks} == {"highways"}
    assert enriched.route_failure is None


def test_a_mention_that_breaks_the_batch_fails_alone() -> None:
    mentions = numbered_mentions(4)
    poison = mentions[2].text
    outcomes = enrich_payloads(
        enricher(Model(poison=poison)), engine(), [encode(m) for m in mentions], NOW
    )

    assert [type(o) for o in outcomes] == [Enriched, Enriched, Failure, Enriched]
    failed = outcomes[2]
    assert isinstance(failed, Failure)
    assert failed.error_class == "ValueError" and "cannot score" in failed.message
    ids = [o.mention_id for o in outcomes if isinstance(o, Enriched)]
    assert ids == [m.mention_id for i, m in enumerate(mentions) if i != 2]


def test_copies_of_one_text_share_a_partition_key() -> None:
    original = pothole()
    copy = pothole(mention_id="0" * 32)
    outcomes = enrich_payloads(enricher(Model()), engine(), [original, copy], NOW)
    keys = [o.key for o in outcomes if isinstance(o, Enriched)]
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith((b"link:", b"text:"))


def test_a_copy_is_marked_and_alerts_under_the_first_ones_id_without_spike_ticks() -> None:
    (first,) = enrich_payloads(enricher(Model()), engine(), [pothole()], NOW)
    (copy,) = enrich_payloads(enricher(Model()), engine(), [pothole(mention_id="c" * 32)], NOW)
    assert isinstance(first, Enriched) and isinstance(copy, Enriched)

    (marked,) = mark_copies([(copy.value, first.mention_id)], engine(), NOW)

    assert isinstance(marked, Enriched)
    assert decode(marked.value, EnrichedMention).duplicate_of == first.mention_id
    assert [a.key for a in marked.alerts] == [a.key for a in first.alerts]
    assert marked.ticks == ()
    assert marked.mention_id == "c" * 32 and marked.key == copy.key


def test_an_edit_is_a_newer_version_of_the_same_mention() -> None:
    (original,) = enrich_payloads(enricher(Model()), engine(), [pothole()], NOW)
    edited_text = pothole(text="EDIT: the pothole on Philip Lane has been filled, thanks")
    edit = decode(edited_text, Mention)
    edit_bytes = encode(edit.model_copy(update={"edited_at": NOW - timedelta(minutes=1)}))
    (edited,) = enrich_payloads(enricher(Model()), engine(), [edit_bytes], NOW)
    assert isinstance(original, Enriched) and isinstance(edited, Enriched)
    assert edited.mention_id == original.mention_id
    assert edited.version > original.version
    # one alert per mention and rule, ever: the edit's alerts carry the original's ids
    assert {a.key for a in edited.alerts} <= {a.key for a in original.alerts}


def test_the_chain_runs_every_step_once_per_batch_in_order() -> None:
    model = Model()
    drafts_seen: list[str] = []

    def spy(drafts: Sequence[Draft]) -> None:
        drafts_seen.extend(d.language.code if d.language else "none" for d in drafts)

    chain = Enricher([language.build(SETTINGS), spy, SentimentStep(model)])
    out = chain.enrich([decode(pothole(), EnrichedMention.__base__)] * 3, NOW)  # type: ignore[arg-type]
    assert drafts_seen == ["en", "en", "en"]  # the spy ran after the language step
    assert model.calls == 1 and len(out) == 3
