"""``earshot deadletters`` on the real broker: counts per topic and the latest letters with why."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaProducer

from common.topics import ensure_topics
from schemas.deadletter import dead_letter, dead_letter_headers, encode_dead_letter
from services.deadletters import cli


def _send_letters(bootstrap: str, topic: str, count: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for i in range(count):
            letter = dead_letter(
                f'{{"broken": {i}'.encode(),
                stage="enrich",
                error=ValueError(f"not JSON number {i}"),
                topic="mentions.raw.v1",
                partition=i % 4,
                offset=100 + i,
            )
            producer.send(topic, encode_dead_letter(letter), headers=dead_letter_headers(letter))
        producer.flush()
        producer.send(topic, b"\xff not a dead letter", partition=0)
        producer.flush()
    finally:
        producer.close()


def test_counts_and_latest_with_origin_and_reason(
    kafka_bootstrap: str,
    unique_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    _send_letters(kafka_bootstrap, f"{unique_prefix}mentions.raw.v1.dlq", 7)
    monkeypatch.setenv("EARSHOT_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("EARSHOT_TOPIC_PREFIX", unique_prefix)

    assert cli.main(["--latest", "3", "--json"]) == 0
    report = {t["topic"]: t for t in json.loads(capsys.readouterr().out)}
    raw = report[f"{unique_prefix}mentions.raw.v1.dlq"]
    assert raw["count"] == 8
    assert report[f"{unique_prefix}alerts.v1.dlq"]["count"] == 0
    readable = [x for x in raw["latest"] if "unreadable" not in x]
    assert "unreadable" in raw["latest"][0], "the newest record, not a letter, is shown first"
    assert readable, raw["latest"]
    assert all(
        x["stage"] == "enrich" and x["origin"]["topic"] == "mentions.raw.v1" for x in readable
    )
    assert all(x["error"].startswith("ValueError: not JSON number") for x in readable)

    assert cli.main(["--topic", "mentions.raw.v1.dlq", "--latest", "2"]) == 0
    table = capsys.readouterr().out
    assert table.startswith(f"{unique_prefix}mentions.raw.v1.dlq: 8 letters")
    assert "why: ValueError: not JSON number" in table
    assert "from mentions.raw.v1[" in table
    assert "alerts.v1.dlq" not in table


def test_unknown_topic_is_refused(monkeypatch: pytest.MonkeyPatch, kafka_bootstrap: str) -> None:
    monkeypatch.setenv("EARSHOT_KAFKA_BOOTSTRAP", kafka_bootstrap)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--topic", "mentions.raw.v1"])
    assert stopped.value.code == 2
