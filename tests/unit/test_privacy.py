"""Retention arithmetic, the retention file, tombstones and the index agent's erasure check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from common.privacy import Pseudonymiser
from common.retry import Retryable
from common.topics import declarations
from common.yamlconfig import ConfigError
from pipelines.steps.erasure import (
    TombstoneGuard,
    TombstoneReader,
    Tombstones,
    author_pseudonym,
    is_erased,
)
from schemas.models import Author
from services.privacy.retention import dead_letter_topics, expired, load_policy

ROOT = Path(__file__).resolve().parents[2]
P = Pseudonymiser(SecretStr("a-test-secret-of-some-length"))


def test_expired_keeps_whole_months_and_touches_only_monthly_names() -> None:
    names = [
        "earshot-mentions-2025.03",
        "earshot-mentions-2025.04",
        "earshot-mentions-2025.05",
        "earshot-mentions-2026.05",
        "earshot-mentions-2024.13",  # not a month
        "earshot-mentions-2024.01-restored",
        "earshot-mentions",
        "other-earshot-mentions-2020.01",
        "earshot-alerts-2020.01",
    ]
    old = expired(names, "earshot", "mentions", 12, date(2026, 5, 31))
    assert old == ["earshot-mentions-2025.03", "earshot-mentions-2025.04"]
    assert (
        expired(names, "earshot", "mentions", 12, date(2026, 6, 1))[-1]
        == "earshot-mentions-2025.05"
    )
    assert expired(names, "earshot", "alerts", 24, date(2026, 5, 1)) == ["earshot-alerts-2020.01"]


def test_retention_file_loads_and_dead_letter_topics_follow_it() -> None:
    policy = load_policy(ROOT / "deploy" / "config" / "retention.yaml")
    assert policy.months("mentions") >= 1
    topics = dead_letter_topics()
    assert topics, "no dead-letter topics declared"
    for name in topics:
        declared = int(declarations()[name].config["retention.ms"])
        assert declared == policy.dead_letter_ms, (
            f"{name} keeps {declared} ms but retention.yaml says {policy.dead_letter_ms} ms"
        )


def test_a_bad_retention_file_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "retention.yaml"
    path.write_text("version: 1\nkeep_months:\n  mentions: 0\n  alerts: 24\n  dead_letters: 3\n")
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert caught.value.line == 3 and caught.value.field == "keep_months.mentions"


def test_tombstones_erase_and_a_null_lifts() -> None:
    t = Tombstones()
    t.apply(b"p1:aa", b"{}")
    t.apply(b"p1:bb", b"{}")
    t.apply(b"p1:bb", None)
    t.apply(None, b"{}")
    assert "p1:aa" in t and "p1:bb" not in t and len(t) == 1


def test_erased_authors_are_found_by_pseudonym_in_either_scheme() -> None:
    t = Tombstones()
    t.apply(P.pseudonym("mastodon", "42").encode(), b"{}")
    hashed = Author(id=P.pseudonym("mastodon", "42"), scheme="hmac-sha256")
    raw = Author(id="mastodon:42", scheme="raw", handle="someone@example.social")
    assert author_pseudonym(raw, P) == hashed.id
    assert is_erased(hashed, t) and is_erased(raw, t, P)
    assert not is_erased(raw, t)  # without the secret a raw id cannot be matched
    assert not is_erased(None, t)
    assert not is_erased(Author(id=P.pseudonym("rss", "42"), scheme="hmac-sha256"), t)


@dataclass
class Record:
    key: bytes | None
    value: bytes | None


class FakeConsumer:
    """Enough of KafkaConsumer for the reader: one partition, records appended by the test."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.pos = 0
        self.closed = False

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def assign(self, partitions: list[Any]) -> None:
        self.tp = partitions[0]

    def assignment(self) -> set[Any]:
        return {self.tp}

    def seek_to_beginning(self, *partitions: Any) -> None:
        self.pos = 0

    def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        return {self.tp: len(self.records)}

    def position(self, tp: Any) -> int:
        return self.pos

    def poll(self, timeout_ms: int) -> dict[Any, list[Record]]:
        batch = self.records[self.pos :]
        self.pos = len(self.records)
        return {self.tp: batch} if batch else {}

    def close(self) -> None:
        self.closed = True


def test_reader_catches_up_incrementally() -> None:
    records = [Record(b"p1:aa", b"{}")]
    consumer = FakeConsumer(records)
    reader = TombstoneReader("unused", "privacy.tombstones.v1", Tombstones(), lambda: consumer)
    assert reader.catch_up() == 1 and "p1:aa" in reader.tombstones
    records.append(Record(b"p1:bb", b"{}"))
    assert reader.catch_up() == 1 and "p1:bb" in reader.tombstones
    assert reader.catch_up() == 0


def test_a_failed_catch_up_drops_its_consumer_and_the_next_one_connects_afresh() -> None:
    records = [Record(b"p1:aa", b"{}")]
    made: list[FakeConsumer] = []

    def factory() -> FakeConsumer:
        made.append(FakeConsumer(records))
        return made[-1]

    reader = TombstoneReader("unused", "privacy.tombstones.v1", Tombstones(), factory)
    assert reader.catch_up() == 1

    def down(partitions: list[Any]) -> dict[Any, int]:
        raise OSError("broker restarted")

    made[0].end_offsets = down  # type: ignore[method-assign]
    with pytest.raises(OSError):
        reader.catch_up()
    assert made[0].closed and len(made) == 1
    records.append(Record(b"p1:bb", b"{}"))
    reader.catch_up()
    assert len(made) == 2 and "p1:bb" in reader.tombstones and "p1:aa" in reader.tombstones


class FlakyReader(TombstoneReader):
    def __init__(self) -> None:
        super().__init__("unused", "t", Tombstones(), lambda: None)
        self.fail = False
        self.calls = 0

    def catch_up(self, timeout_s: float = 30.0) -> int:
        self.calls += 1
        if self.fail:
            raise OSError("broker down")
        return 0


def test_guard_refreshes_on_schedule_and_refuses_a_stale_set() -> None:
    now = [0.0]
    reader = FlakyReader()
    guard = TombstoneGuard(reader, None, refresh_s=2.0, max_stale_s=10.0, clock=lambda: now[0])
    asyncio.run(guard.refresh(force=True))
    asyncio.run(guard.refresh())
    assert reader.calls == 1  # not due yet
    now[0] = 3.0
    reader.fail = True
    asyncio.run(guard.refresh())  # fails, but the set is 3 s old: keep going
    now[0] = 11.0
    with pytest.raises(Retryable, match="tombstones not readable"):
        asyncio.run(guard.refresh())
    reader.fail = False
    asyncio.run(guard.refresh())
    reader.tombstones.apply(b"p1:aa", b"{}")
    assert guard.erased(Author(id="p1:aa", scheme="hmac-sha256")) and guard.skipped == 1
