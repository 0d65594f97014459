"""The dedupe stage: first sightings stay as they are and are logged, later copies are marked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
from faust.types import EventT

from pipelines.batch import Batch, Item
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.stages.dedupe import Dedupe, FirstSightings
from pipelines.steps.prepare import Enriched, Outcome

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
KEY = b"text:0123456789abcdef"


class Table(dict[bytes, bytes]):
    """What the stage uses of a Faust table: its store, and deletion through the table."""

    @property
    def data(self) -> dict[bytes, bytes]:
        return self


def sightings(table: Table | None = None) -> FirstSightings:
    return FirstSightings(cast(Any, Table() if table is None else table), timedelta(hours=72))


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


@dataclass
class Producer:
    sent: list[tuple[str, bytes | None, bytes | None, int | None]] = field(default_factory=list)

    async def send(
        self, topic: str, key: bytes, value: bytes, partition: int | None, *args: object
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value, partition))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@dataclass
class App:
    producer: Producer = field(default_factory=Producer)


class Changelog:
    def get_topic_name(self) -> str:
        return "changelog"


@dataclass(frozen=True)
class Message:
    partition: int = 0


@dataclass(frozen=True)
class Event:
    message: Message = Message()


def batch(app: App, *items: Enriched) -> Batch:
    event = cast(EventT[bytes], Event())
    return Batch(cast(Any, app), [event] * len(items), [Item(event, e) for e in items], NOW, 1)


def test_first_sighting_then_copy_then_redelivery() -> None:
    seen = sightings()
    first, record = seen.sight(KEY, "a", 100.0)
    assert first is None and record == b"a 100.0"
    assert seen.sight(KEY, "b", 200.0) == ("a", None)
    assert seen.sight(KEY, "a", 100.0) == (None, None)  # a redelivery is not its own copy


def test_mentions_without_a_dedupe_key_never_meet() -> None:
    seen = sightings()
    assert seen.sight(b"0123abcd", "a", 100.0) == (None, None)
    assert seen.sight(b"0123abcd", "b", 100.0) == (None, None)


def test_a_copy_outside_the_window_is_a_new_first_and_old_sightings_expire() -> None:
    table = Table()
    seen = sightings(table)
    assert seen.sight(KEY, "a", 0.0)[0] is None
    four_days = 4 * 24 * 3600.0
    assert seen.sight(KEY, "b", four_days)[0] is None
    assert seen.sight(KEY, "c", four_days + 60)[0] == "b"
    table[b"text:old"] = b"z 0.0"
    table[b"text:junk"] = b"written by an older version"
    assert seen.expire(now=four_days + 3 * 24 * 3600.0) == 2
    assert list(table) == [KEY]


async def test_the_stage_marks_copies_logs_first_sightings_and_asks_the_processes_once() -> None:
    marker, app = Marker(), App()
    stage = Dedupe(sightings(), cast(faust.TopicT, Changelog()), cast(EnrichmentProcesses, marker))
    other = enriched("z", key=b"text:other")
    work = batch(app, enriched("a"), other, enriched("b"), enriched("c"))

    await stage(work)
    await work.durable()

    values = [item.enriched.value for item in work.items]
    assert values == [b"a", b"z", b"b copy of a", b"c copy of a"]
    assert marker.calls == 1
    assert app.producer.sent == [  # to the raw record's partition, which is its key's
        ("changelog", KEY, b"a 1000000.0", 0),
        ("changelog", b"text:other", b"z 1000000.0", 0),
    ]


async def test_a_batch_without_copies_costs_no_round_trip() -> None:
    marker = Marker()
    stage = Dedupe(sightings(), cast(faust.TopicT, Changelog()), cast(EnrichmentProcesses, marker))
    await stage(batch(App(), enriched("a"), enriched("z", key=b"text:other")))
    assert marker.calls == 0
