"""The dedupe stage: first sightings pass through untouched, later copies are marked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from faust.types import EventT

from devkit.events import example_enriched
from pipelines.agents.enrich import CREATED_AT_HEADER, MENTION_ID_HEADER, DedupeState, dedupe_one
from schemas.codec import decode, encode
from schemas.models import EnrichedMention

KEY = b"text:0123456789abcdef"


@dataclass
class Record:
    """What the stage reads of a Faust event."""

    value: bytes
    key: bytes = KEY
    headers: dict[str, bytes] = field(default_factory=dict)


def event(mention: EnrichedMention, *, with_headers: bool = True) -> EventT[bytes]:
    headers = (
        {
            MENTION_ID_HEADER: mention.mention_id.encode(),
            CREATED_AT_HEADER: repr(mention.created_at.timestamp()).encode(),
        }
        if with_headers
        else {}
    )
    return cast(EventT[bytes], Record(encode(mention), headers=headers))


def state() -> DedupeState:
    table: dict[str, Any] = {}
    return DedupeState(cast(Any, table), timedelta(hours=72))


def test_a_first_sighting_passes_through_as_the_same_bytes() -> None:
    first = example_enriched()
    record = event(first)
    mention_id, value = dedupe_one(record, state())
    assert mention_id == first.mention_id
    assert value is record.value


def test_a_later_copy_is_marked_duplicate_of_the_first() -> None:
    first = example_enriched()
    copy = first.model_copy(update={"mention_id": "f" * 32})
    seen = state()
    dedupe_one(event(first), seen)

    mention_id, value = dedupe_one(event(copy), seen)

    assert mention_id == copy.mention_id
    assert decode(value, EnrichedMention).duplicate_of == first.mention_id


def test_records_without_headers_are_decoded_and_deduped_the_same() -> None:
    first = example_enriched()
    copy = first.model_copy(update={"mention_id": "f" * 32})
    seen = state()
    assert dedupe_one(event(first, with_headers=False), seen)[0] == first.mention_id

    _, value = dedupe_one(event(copy, with_headers=False), seen)

    assert decode(value, EnrichedMention).duplicate_of == first.mention_id


def test_the_same_mention_again_is_not_its_own_duplicate() -> None:
    first = example_enriched()
    seen = state()
    dedupe_one(event(first), seen)
    _, value = dedupe_one(event(first), seen)
    assert decode(value, EnrichedMention).duplicate_of is None
