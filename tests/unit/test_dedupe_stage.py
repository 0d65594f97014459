"""The dedupe stage: first sightings stay as they are, later copies are marked by the processes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from faust.types import EventT

from pipelines.batch import Batch, Item
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.stages.dedupe import Dedupe, FirstSightings
from pipelines.steps.prepare import Enriched, Outcome

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = b"text:0123456789abcdef"


def sightings() -> FirstSightings:
    table: dict[str, Any] = {}
    return FirstSightings(cast(Any, table), timedelta(hours=72))


def enriched(mention_id: str, *, key: bytes = KEY, at: float = 1_000_000.0) -> Enriched:
    return Enriched(
        key=key,
        value=mention_id.encode(),
        mention_id=mention_id,
        created_at=at,
        version=int(at * 1000),
        author=None,
    )


@dataclass
class Marker:
    """Stands in for the enrichment processes: 'marks' a copy by tagging its value."""

    calls: int = 0

    async def mark_copies(
        self, copies: list[tuple[bytes, str]], now: datetime, rules_generation: int
    ) -> list[Outcome]:
        self.calls += 1
        return [
            replace(enriched(value.decode()), value=value + b" copy of " + first.encode())
            for value, first in copies
        ]


def batch(*items: Enriched) -> Batch:
    event = cast(EventT[bytes], object())
    return Batch(cast(Any, None), [event] * len(items), [Item(event, e) for e in items], NOW, 1)


def test_first_sighting_then_copy_then_redelivery() -> None:
    seen = sightings()
    assert seen.first_of(KEY.decode(), "a", 100.0) is None
    assert seen.first_of(KEY.decode(), "b", 200.0) == "a"
    assert seen.first_of(KEY.decode(), "a", 100.0) is None  # a redelivery is not its own copy


def test_mentions_without_a_dedupe_key_never_meet() -> None:
    seen = sightings()
    assert seen.first_of("0123abcd", "a", 100.0) is None
    assert seen.first_of("0123abcd", "b", 100.0) is None


def test_a_copy_outside_the_window_is_a_new_first_and_old_sightings_expire() -> None:
    seen = sightings()
    assert seen.first_of(KEY.decode(), "a", 0.0) is None
    four_days = 4 * 24 * 3600.0
    assert seen.first_of(KEY.decode(), "b", four_days) is None
    assert seen.first_of(KEY.decode(), "c", four_days + 60) == "b"
    assert seen.expire(now=four_days + 7 * 24 * 3600.0) == 1


async def test_the_stage_marks_only_copies_and_asks_the_processes_once_per_batch() -> None:
    marker = Marker()
    stage = Dedupe(sightings(), cast(EnrichmentProcesses, marker))
    other = enriched("z", key=b"text:other")
    work = batch(enriched("a"), other, enriched("b"), enriched("c"))

    await stage(work)

    values = [item.enriched.value for item in work.items]
    assert values == [b"a", b"z", b"b copy of a", b"c copy of a"]
    assert marker.calls == 1


async def test_a_batch_without_copies_costs_no_round_trip() -> None:
    marker = Marker()
    stage = Dedupe(sightings(), cast(EnrichmentProcesses, marker))
    await stage(batch(enriched("a"), enriched("z", key=b"text:other")))
    assert marker.calls == 0
