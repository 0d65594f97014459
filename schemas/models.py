"""Typed, frozen views of the event contracts in ``schemas/contracts``.

The JSON Schemas are the contract; these models are how Python code holds an
event. ``schemas.codec`` validates against the JSON Schema before building a
model, and a contract test checks that every example round-trips unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]
SourceKind = Literal["rss", "mastodon", "bluesky", "reddit", "x", "webhook"]
SentimentLabel = Literal["negative", "neutral", "positive"]
Severity = Literal["low", "medium", "high", "critical"]
Delivery = Literal["immediate", "digest"]


class Contract(BaseModel):
    """Base for every event part: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(Contract):
    kind: SourceKind
    instance: str
    native_id: str
    url: str | None = None


class Author(Contract):
    id: str
    scheme: Literal["hmac-sha256", "raw"]
    handle: str | None = None


class Point(Contract):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PlaceHint(Contract):
    name: str
    country_code: str | None = None
    bbox: tuple[float, float, float, float] | None = None


class Match(Contract):
    kind: Literal["feed", "hashtag", "query", "subreddit", "account", "firehose", "webhook"]
    value: str


class Thread(Contract):
    parent_id: str | None = None
    root_id: str | None = None


class Mention(Contract):
    """A post heard by an ingestion service (topic ``mentions.raw.v1``)."""

    mention_id: str
    source: Source
    text: str
    title: str | None = None
    lang: str | None = None
    created_at: UtcDatetime
    edited_at: UtcDatetime | None = None
    fetched_at: UtcDatetime
    author: Author | None = None
    geo: Point | None = None
    place_hint: PlaceHint | None = None
    matched_by: tuple[Match, ...] = ()
    thread: Thread | None = None


class Span(Contract):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class CodedArea(Contract):
    code: str
    name: str


class Language(Contract):
    code: str
    confidence: float = Field(ge=0, le=1)


class SentimentProbabilities(Contract):
    negative: float = Field(ge=0, le=1)
    neutral: float = Field(ge=0, le=1)
    positive: float = Field(ge=0, le=1)


class Sentiment(Contract):
    label: SentimentLabel
    score: float = Field(ge=0, le=1)
    model: str
    probabilities: SentimentProbabilities | None = None
    """Every class's probability; absent from events made before they were kept."""
    mixed: bool | None = None
    """Both polarities strongly present; absent from events made before it existed."""


PlaceKind = Literal[
    "postcode",
    "district",
    "ward",
    "place",
    "street",
    "landmark",
    "community_area",
    "council",
    "alias",
]
EvidenceKind = Literal[
    "coordinates", "postcode", "gazetteer", "community_area", "district", "place_hint", "context"
]


class Place(Contract):
    name: str
    kind: PlaceKind
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    council_code: str | None = None
    ward_code: str | None = None


class Evidence(Contract):
    kind: EvidenceKind
    value: str
    weight: float | None = Field(default=None, ge=0, le=1)


class Locality(Contract):
    council: CodedArea | None = None
    ward: CodedArea | None = None
    community_areas: tuple[str, ...] = ()
    places: tuple[Place, ...] = ()
    point: Point | None = None
    confidence: float = Field(default=0.0, ge=0, le=1)
    evidence: tuple[Evidence, ...] = ()
    near_boundary: bool = False


class Topic(Contract):
    id: str
    spans: tuple[Span, ...] = ()


class EnrichedMention(Mention):
    """A Mention plus enrichment (topic ``mentions.enriched.v1``)."""

    enriched_at: UtcDatetime
    language: Language
    sentiment: Sentiment | None
    sentiment_skipped: str | None = None
    locality: Locality
    topics: tuple[Topic, ...]
    departments: tuple[str, ...]
    duplicate_of: str | None = None


class Reason(Contract):
    clause: str
    detail: str
    spans: tuple[Span, ...] = ()


class MentionSnapshot(Contract):
    """What an email needs to describe a mention, frozen at routing time."""

    mention_id: str
    source_kind: str
    source_instance: str | None = None
    url: str | None = None
    title: str | None = None
    text: str
    created_at: UtcDatetime
    edited_at: UtcDatetime | None = None
    """The mention's edit time, when this snapshot is of an edit (the notifier audits edits)."""
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    council: CodedArea | None = None
    ward: CodedArea | None = None
    places: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    near_boundary: bool = False


class Spike(Contract):
    ward_code: str
    ward_name: str | None = None
    topic: str
    count: int = Field(ge=0)
    baseline: float = Field(ge=0)
    window_start: UtcDatetime
    window_end: UtcDatetime


class Alert(Contract):
    """One routing decision for one department (topic ``alerts.v1``)."""

    alert_id: str
    kind: Literal["rule", "spike"]
    rule_id: str
    department: str
    severity: Severity
    delivery: Delivery
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...] = ()
    created_at: UtcDatetime
    mention: MentionSnapshot | None = None
    spike: Spike | None = None


class DeadLetter(Contract):
    """A message a stage could not process (topics ``*.dlq``)."""

    original_b64: str
    original_key_b64: str | None = None
    original_topic: str | None = None
    original_partition: int | None = None
    original_offset: int | None = None
    source: str | None = None
    stage: str
    error_class: str
    error_message: str
    failed_at: UtcDatetime
    original_size: int | None = None
    original_sha256: str | None = None
    excerpt: bool | None = None
