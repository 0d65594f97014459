"""Raw payloads in, everything the worker's sinks need out: prepared where the model runs.

Pure and Faust-free; runs inside the enrichment processes, so the worker's own
loop never decodes a mention. For each raw ``mentions.raw.v1`` payload it
returns either a :class:`~schemas.deadletter.Failure` (for the DLQ) or an
:class:`Enriched`: the encoded enriched mention (also the Elasticsearch
document), its partition key, its version for Elasticsearch, and the alerts
and spike ticks the current rules give it as a first sighting. A copy that the
worker's dedupe table recognises comes back through :func:`mark_copies`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.dedupe import partition_key
from pipelines.steps.enrich import Enricher
from pipelines.steps.rules import RuleEngine
from pipelines.steps.spikes import SpikeTick, ticks
from schemas.codec import decode, encode
from schemas.deadletter import Failure
from schemas.models import Author, EnrichedMention, Mention

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Record:
    """A Kafka key and value, ready to produce."""

    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Enriched:
    """One enriched mention as the worker's sinks need it; plain data, so it crosses processes."""

    key: bytes
    """Partition key (:func:`common.dedupe.partition_key`): copies share it."""
    value: bytes
    """The ``mentions.enriched.v1`` value, validated; also the Elasticsearch document."""
    mention_id: str
    created_at: float
    """Epoch seconds; the dedupe window and the monthly index follow it."""
    version: int
    """Elasticsearch external version: the edit time, else the creation time, in ms."""
    author: Author | None
    alerts: tuple[Record, ...] = ()
    ticks: tuple[SpikeTick, ...] = ()
    route_failure: Failure | None = None
    """Why routing failed (dead-lettered at stage ``route``; the mention is still indexed)."""


Outcome = Enriched | Failure


def version_of(mention: Mention) -> int:
    """Newest wins: the mention's own edit time, else its creation time, in milliseconds."""
    return int((mention.edited_at or mention.created_at).timestamp() * 1000)


def prepare(mention: EnrichedMention, engine: RuleEngine, now: datetime) -> Enriched:
    """Encode ``mention`` and route it; raises only if it cannot be encoded."""
    value = encode(mention)
    alerts: tuple[Record, ...] = ()
    counted: tuple[SpikeTick, ...] = ()
    failure = None
    try:
        alerts = tuple(Record(a.alert_id.encode(), encode(a)) for a in engine.route(mention, now))
        counted = tuple(ticks(mention, engine.config.spikes, now))
    except Exception as exc:  # whatever breaks routing one mention must not lose it
        failure = Failure.of(exc)
    return Enriched(
        key=partition_key(mention),
        value=value,
        mention_id=mention.mention_id,
        created_at=mention.created_at.timestamp(),
        version=version_of(mention),
        author=mention.author,
        alerts=alerts,
        ticks=counted,
        route_failure=failure,
    )


def enrich_payloads(
    enricher: Enricher, engine: RuleEngine, payloads: Sequence[bytes], now: datetime
) -> list[Outcome]:
    """One outcome per payload, in order; a payload that breaks fails alone."""
    outcomes: dict[int, Outcome] = {}
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
            outcomes[slot] = _one(enricher, engine, mention, now)
    else:
        for (slot, _), result in zip(mentions, enriched, strict=True):
            outcomes[slot] = _prepared(result, engine, now)
    return [outcomes[slot] for slot in range(len(payloads))]


def mark_copies(
    copies: Sequence[tuple[bytes, str]], engine: RuleEngine, now: datetime
) -> list[Outcome]:
    """``(enriched value, first mention id)`` pairs → the values marked ``duplicate_of``, routed
    again (a copy alerts under the first's alert id, and is not counted for spikes)."""
    out: list[Outcome] = []
    for value, first in copies:
        try:
            marked = decode(value, EnrichedMention).model_copy(update={"duplicate_of": first})
            out.append(prepare(marked, engine, now))
        except Exception as exc:
            out.append(Failure.of(exc))
    return out


def _one(enricher: Enricher, engine: RuleEngine, mention: Mention, now: datetime) -> Outcome:
    try:
        return prepare(enricher.enrich([mention], now)[0], engine, now)
    except Exception as exc:
        return Failure.of(exc)


def _prepared(mention: EnrichedMention, engine: RuleEngine, now: datetime) -> Outcome:
    try:
        return prepare(mention, engine, now)
    except Exception as exc:
        return Failure.of(exc)
